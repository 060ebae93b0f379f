//! The hold watch's decision: when a governed request held in its headers callback is stuck
//! because Envoy cannot hold headers, and the reply it then gets.
//!
//! The filter pauses a governed request in its headers callback until the body is decided. That
//! needs `allow_on_headers_stop_iteration: true` in the Wasm `PluginConfig`; without it (Istio's
//! `WasmPlugin` cannot set it) Envoy turns the pause into StopAllIterationAndWatermark: it buffers
//! the body but never calls the filter's body callback, and the request hangs until a timeout.
//! The filter cannot read the flag, but it can see the symptom: Envoy has received body bytes
//! for a held stream (`request.total_size` grew since the headers callback) and the body callback
//! never came. With the flag on, Envoy hands each body chunk to the filter as it arrives, so a
//! held stream with bytes received and no body callback for a whole tick is the flag being off
//! (or another filter before this one holding the body back — also a configuration this filter
//! cannot govern). The watch, run from the root context's tick (`wasm/hold.rs` does the host
//! side), then answers that stream with a 503 `headers_not_held`, logs an error naming the flag,
//! and counts it.

use std::collections::HashMap;

use super::metrics;
use super::outcome::{Effect, Flow, Level, Outcome};
use crate::core::reason::Reason;
use crate::core::reply::Rejection;

/// Tick period of the watch (ms): a request stuck behind the missing flag is answered within
/// about two periods.
pub const TICK_MS: u32 = 500;
/// Ticks with body bytes received and no body callback before a stream counts as stuck.
const STALLED_TICKS: u32 = 2;

struct Held {
    /// `request.total_size` when the headers were held (headers only: no body bytes yet).
    baseline: Option<u64>,
    /// Ticks seen with body bytes received and no body callback.
    stalled_ticks: u32,
}

/// What a tick learned about one held stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The stream no longer exists.
    Gone,
    /// Its `request.total_size` now (`None` when unknown).
    Size(Option<u64>),
}

/// Streams held in their headers callback and the replies the watch sent (one per VM).
#[derive(Default)]
pub struct HoldTracker {
    held: HashMap<u32, Held>,
    refused: HashMap<u32, Rejection>,
}

/// The reply to a stuck stream.
pub(crate) fn reply() -> Rejection {
    Rejection::new(
        503,
        "internal_error",
        Reason::HeadersNotHeld,
        "openrouter-guard cannot hold request headers in this Envoy configuration \
         (allow_on_headers_stop_iteration is off); the request was not forwarded",
    )
}

/// The error line for a stuck stream (without the stream id prefix; a reply that cannot be sent
/// is logged on its own line by the adapter, like every local reply).
pub(crate) fn log_line() -> String {
    "openrouter-guard: request headers cannot be held (set allow_on_headers_stop_iteration: true \
     in the Wasm filter config); governed request refused with 503"
        .to_owned()
}

/// What the adapter does for a stuck stream, in that stream's context: the reply, the error line,
/// the counter.
pub(crate) fn refusal(r: Rejection) -> Outcome {
    Outcome {
        flow: Flow::Pause,
        effects: vec![
            Effect::Reply(r),
            Effect::Log(Level::Error, log_line()),
            Effect::Metric(metrics::count(metrics::HEADERS_NOT_HELD, &[], 1)),
        ],
    }
}

impl HoldTracker {
    /// Stream `id`'s headers are held; `baseline` is its `request.total_size` now.
    pub fn watch(&mut self, id: u32, baseline: Option<u64>) {
        self.held.insert(id, Held { baseline, stalled_ticks: 0 });
    }

    /// The stream moved on (a body or trailers callback came, or it was answered).
    pub fn release(&mut self, id: u32) {
        self.held.remove(&id);
    }

    /// The stream ended: forget it and the watch's reply to it.
    pub fn forget(&mut self, id: u32) {
        self.held.remove(&id);
        self.refused.remove(&id);
    }

    /// The reply the watch sent to stream `id`, if it answered it.
    pub fn refusal(&self, id: u32) -> Option<Rejection> {
        self.refused.get(&id).cloned()
    }

    /// Whether any stream is held (else a tick has nothing to look at).
    pub fn is_idle(&self) -> bool {
        self.held.is_empty()
    }

    /// One tick: `seen(id)` looks at each held stream. Returns the streams to answer now, each
    /// with what to do in its context ([`refusal`]; the reply is recorded as sent).
    pub fn on_tick(&mut self, mut seen: impl FnMut(u32) -> Seen) -> Vec<(u32, Outcome)> {
        let mut stuck = Vec::new();
        self.held.retain(|&id, h| {
            let now = match seen(id) {
                Seen::Gone => return false,
                Seen::Size(now) => now,
            };
            if matches!((h.baseline, now), (Some(b), Some(now)) if now > b) {
                h.stalled_ticks += 1;
            }
            if h.stalled_ticks >= STALLED_TICKS {
                stuck.push(id);
                return false;
            }
            true
        });
        stuck.sort_unstable();
        stuck
            .into_iter()
            .map(|id| {
                let r = reply();
                self.refused.insert(id, r.clone());
                (id, refusal(r))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_stream_with_body_bytes_and_no_body_callback_is_answered_after_two_ticks() {
        let mut t = HoldTracker::default();
        t.watch(7, Some(300));
        assert!(t.on_tick(|_| Seen::Size(Some(300))).is_empty(), "no body bytes: a slow client");
        assert!(t.on_tick(|_| Seen::Size(Some(400))).is_empty(), "one tick is not enough");
        let stuck = t.on_tick(|_| Seen::Size(Some(400)));
        assert_eq!(stuck.len(), 1);
        let Effect::Reply(r) = &stuck[0].1.effects[0] else { panic!("{stuck:?}") };
        assert_eq!((stuck[0].0, r.status, r.reason), (7, 503, Reason::HeadersNotHeld));
        assert!(
            matches!(&stuck[0].1.effects[1], Effect::Log(Level::Error, l) if l.contains("allow_on_headers_stop_iteration"))
        );
        assert!(matches!(&stuck[0].1.effects[2], Effect::Metric(m) if m.name == metrics::HEADERS_NOT_HELD));
        assert_eq!(t.refusal(7).map(|r| r.status), Some(503));
        assert!(t.is_idle(), "answered streams are no longer watched");
        t.forget(7);
        assert_eq!(t.refusal(7), None);
    }

    #[test]
    fn released_gone_or_unknown_size_streams_are_never_answered() {
        let mut t = HoldTracker::default();
        t.watch(1, Some(10));
        t.watch(2, Some(10));
        t.watch(3, None);
        t.release(1);
        for _ in 0..4 {
            let stuck = t.on_tick(|id| if id == 2 { Seen::Gone } else { Seen::Size(Some(99)) });
            assert!(stuck.is_empty());
        }
        assert!(!t.is_idle(), "stream 3 (size unknown) is still watched");
    }
}
