//! The host side of the hold watch (the decision is the core's: `core/stream/hold.rs`): records
//! held streams' `request.total_size`, looks at them from the root context's tick, and sends the
//! core's reply to the stuck ones.

use std::cell::RefCell;

use proxy_wasm::types::LogLevel;

use crate::core::reply::Rejection;
use crate::core::stream::hold::{self, HoldTracker, Seen};
use crate::core::stream::metrics as stream_metrics;
use crate::wasm::abi;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;

pub(super) use crate::core::stream::hold::TICK_MS;

/// Streams held in their headers callback, shared by the root context and its streams (one VM
/// is single-threaded).
#[derive(Default)]
pub(crate) struct HoldWatch {
    tracker: RefCell<HoldTracker>,
}

fn total_size() -> Option<u64> {
    host::property_u64(&["request", "total_size"])
}

impl HoldWatch {
    /// A stream's headers are held: watch it (called from that stream's callback).
    pub(crate) fn watch(&self, context_id: u32) {
        if let Ok(mut t) = self.tracker.try_borrow_mut() {
            t.watch(context_id, total_size());
        }
    }

    /// The stream moved on (a body or trailers callback came, or it was answered).
    pub(crate) fn release(&self, context_id: u32) {
        if let Ok(mut t) = self.tracker.try_borrow_mut() {
            t.release(context_id);
        }
    }

    /// The reply the watch sent for this stream, if it answered it.
    pub(crate) fn refusal(&self, context_id: u32) -> Option<Rejection> {
        self.tracker.try_borrow().ok()?.refusal(context_id)
    }

    /// The stream ended: stop watching it and forget the watch's reply to it.
    pub(crate) fn forget(&self, context_id: u32) {
        if let Ok(mut t) = self.tracker.try_borrow_mut() {
            t.forget(context_id);
        }
    }

    /// The root context's tick: answers every held stream that Envoy has body bytes for but
    /// never handed to the filter.
    pub(crate) fn on_tick(&self, root_context_id: u32, metrics: &Metrics) {
        let Ok(mut t) = self.tracker.try_borrow_mut() else { return };
        if t.is_idle() {
            return;
        }
        let stuck = t.on_tick(|id| {
            if abi::set_effective_context(id).is_err() {
                return Seen::Gone;
            }
            Seen::Size(total_size())
        });
        drop(t);
        for (id, r) in stuck {
            if abi::set_effective_context(id).is_err() {
                continue;
            }
            let sent = host::send_json(r.status, &r.body());
            host::log(LogLevel::Error, &format!("#{id} {}", hold::log_line(sent.is_ok())));
            metrics.apply(&stream_metrics::count(stream_metrics::HEADERS_NOT_HELD, &[], 1));
        }
        let _ = abi::set_effective_context(root_context_id);
    }
}
