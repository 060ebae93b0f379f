//! The hold watch: notices when Envoy cannot hold request headers and answers instead of hanging.
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
//! cannot govern). The watch, run from the root context's tick, then answers that stream with a
//! 503 `headers_not_held`, logs an error naming the flag, and counts it.

use std::cell::RefCell;
use std::collections::HashMap;

use proxy_wasm::types::LogLevel;

use crate::core::reply::Rejection;
use crate::wasm::abi;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;

/// Tick period of the watch (ms): a request stuck behind the missing flag is answered within
/// about two periods.
pub(super) const TICK_MS: u32 = 500;
/// Audit reason and error code of the reply.
const REASON: &str = "headers_not_held";
/// Counter of streams answered by the watch.
const METRIC: &str = "openrouter_guard_headers_not_held_total";

struct Held {
    /// `request.total_size` when the headers were held (headers only: no body bytes yet).
    baseline: Option<u64>,
    /// Ticks seen with body bytes received and no body callback.
    stalled_ticks: u32,
}

/// Streams held in their headers callback, shared by the root context and its streams (one VM
/// is single-threaded).
#[derive(Default)]
pub(crate) struct HoldWatch {
    held: RefCell<HashMap<u32, Held>>,
    refused: RefCell<HashMap<u32, Rejection>>,
}

fn total_size() -> Option<u64> {
    host::property_u64(&["request", "total_size"])
}

fn reply() -> Rejection {
    Rejection::new(
        503,
        "internal_error",
        REASON,
        "openrouter-guard cannot hold request headers in this Envoy configuration \
         (allow_on_headers_stop_iteration is off); the request was not forwarded",
    )
}

impl HoldWatch {
    /// A stream's headers are held: watch it (called from that stream's callback).
    pub(crate) fn watch(&self, context_id: u32) {
        if let Ok(mut held) = self.held.try_borrow_mut() {
            held.insert(context_id, Held { baseline: total_size(), stalled_ticks: 0 });
        }
    }

    /// The stream moved on (a body or trailers callback came, or it was answered or ended).
    pub(crate) fn release(&self, context_id: u32) {
        if let Ok(mut held) = self.held.try_borrow_mut() {
            held.remove(&context_id);
        }
    }

    /// The reply the watch sent for this stream, once (for its audit record).
    pub(crate) fn take_refused(&self, context_id: u32) -> Option<Rejection> {
        self.release(context_id);
        self.refused.try_borrow_mut().ok()?.remove(&context_id)
    }

    /// Whether the watch answered this stream.
    pub(crate) fn was_refused(&self, context_id: u32) -> bool {
        self.refused.try_borrow().is_ok_and(|r| r.contains_key(&context_id))
    }

    /// The root context's tick: answers every held stream that Envoy has body bytes for but
    /// never handed to the filter.
    pub(crate) fn on_tick(&self, root_context_id: u32, metrics: &Metrics) {
        let Ok(mut held) = self.held.try_borrow_mut() else { return };
        if held.is_empty() {
            return;
        }
        let mut stuck = Vec::new();
        held.retain(|&id, h| {
            if abi::set_effective_context(id).is_err() {
                return false; // the stream is gone
            }
            let grew = matches!((h.baseline, total_size()), (Some(b), Some(now)) if now > b);
            if grew {
                h.stalled_ticks += 1;
            }
            if h.stalled_ticks >= 2 {
                stuck.push(id);
                return false;
            }
            true
        });
        drop(held);
        for id in stuck {
            if abi::set_effective_context(id).is_err() {
                continue;
            }
            let r = reply();
            let sent = host::send_json(r.status, &r.body());
            host::log(
                LogLevel::Error,
                &format!(
                    "#{id} openrouter-guard: request headers cannot be held (set allow_on_headers_stop_iteration: true \
                     in the Wasm filter config); governed request refused with 503 ({})",
                    if sent.is_ok() { "reply sent" } else { "reply failed" }
                ),
            );
            metrics.count(METRIC, &[], 1);
            if let Ok(mut refused) = self.refused.try_borrow_mut() {
                refused.insert(id, r);
            }
        }
        let _ = abi::set_effective_context(root_context_id);
    }
}
