//! The stream context of a VM without a policy: applies the core's refusal
//! (`core/stream/no_policy.rs`: 500 `no_policy`, an error line).
//!
//! Envoy does not create streams after `on_configure` failed, so this is defensive: it exists
//! because the SDK's dispatcher panics when `create_http_context` returns None, and a panic
//! would take the whole VM down instead of failing this one request closed.

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use crate::core::stream::no_policy;
use crate::wasm::effects;
use crate::wasm::hold::HoldWatch;
use crate::wasm::metrics::Metrics;

/// Stream context that refuses everything.
pub(crate) struct Unconfigured {
    context_id: u32,
    metrics: Rc<Metrics>,
    hold: Rc<HoldWatch>,
}

impl Unconfigured {
    /// The context of stream `context_id`.
    pub(crate) fn new(context_id: u32, metrics: Rc<Metrics>, hold: Rc<HoldWatch>) -> Self {
        Self { context_id, metrics, hold }
    }
}

impl Context for Unconfigured {}

impl HttpContext for Unconfigured {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let outcome = no_policy::refused();
        for effect in outcome.effects {
            let _ = effects::apply(self.context_id, &self.hold, &self.metrics, effect);
        }
        effects::action(outcome.flow)
    }
}
