//! The host side of the hold watch (the decision is the core's: `core/stream/hold.rs`): records
//! held streams' `request.total_size` and looks at them from the root context's tick; the root
//! applies the core's outcome (reply, log line, counter) to the stuck ones.

use std::cell::RefCell;

use crate::core::reply::Rejection;
use crate::core::stream::hold::{HoldTracker, Seen};
use crate::core::stream::Outcome;
use crate::wasm::abi;
use crate::wasm::host;

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

    /// The root context's tick: the held streams that Envoy has body bytes for but never handed
    /// to the filter, each with what to do in its context (the root applies it). Leaves the
    /// effective context wherever the probing left it: the caller restores its own.
    pub(crate) fn on_tick(&self) -> Vec<(u32, Outcome)> {
        let Ok(mut t) = self.tracker.try_borrow_mut() else { return Vec::new() };
        if t.is_idle() {
            return Vec::new();
        }
        t.on_tick(|id| {
            if abi::set_effective_context(id).is_err() {
                return Seen::Gone;
            }
            Seen::Size(total_size())
        })
    }
}
