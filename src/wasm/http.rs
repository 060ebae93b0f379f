//! `Guard`: one per HTTP stream. It translates: each callback hands what Envoy gave to the core's
//! [`Stream`] state machine (through [`EnvoyStream`], the [`StreamHost`] that reads what the core
//! asks for) and applies the [`Outcome`]: edits, local replies, log lines, metrics, the audit line.
//! Every decision is the core's (src/core/stream).

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, MapType};

use crate::core::chain::AuditChain;
use crate::core::headers::RawHeader;
use crate::core::policy::Policy;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::spend::CounterStore;
use crate::core::stream::{Effect, HostFailure, Outcome, Property, Stream, StreamHost};
use crate::wasm::effects;
use crate::wasm::hold::HoldWatch;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;
use crate::wasm::store::SharedStore;

/// Per-stream context: the core's state machine and what applying its outcomes needs.
pub struct Guard {
    context_id: u32,
    stream: Stream,
    metrics: Rc<Metrics>,
    hold: Rc<HoldWatch>,
}

/// The host as the core's state machine sees it, for one stream.
struct EnvoyStream<'a> {
    context_id: u32,
    hold: &'a HoldWatch,
    store: SharedStore,
}

impl StreamHost for EnvoyStream<'_> {
    fn now_ns(&mut self) -> u64 {
        host::now_ns()
    }

    fn request_header(&mut self, name: &str) -> Option<Vec<u8>> {
        host::header_bytes(MapType::HttpRequestHeaders, name)
    }

    fn request_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        host::headers(MapType::HttpRequestHeaders).map_err(|_| HostFailure)
    }

    fn request_trailers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        host::headers(MapType::HttpRequestTrailers).map_err(|_| HostFailure)
    }

    fn response_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        host::headers(MapType::HttpResponseHeaders).map_err(|_| HostFailure)
    }

    fn request_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure> {
        host::buffer(BufferType::HttpRequestBody, max).map_err(|_| HostFailure)
    }

    fn response_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure> {
        host::buffer(BufferType::HttpResponseBody, max).map_err(|_| HostFailure)
    }

    fn property(&mut self, p: Property) -> Option<Vec<u8>> {
        host::property(p.path())
    }

    fn hold_refusal(&mut self) -> Option<Rejection> {
        self.hold.refusal(self.context_id)
    }

    fn counters(&mut self) -> &mut dyn CounterStore {
        &mut self.store
    }
}

impl Guard {
    /// A stream context sharing `policy`.
    pub fn new(
        context_id: u32,
        policy: Rc<Policy>,
        metrics: Rc<Metrics>,
        chain: Rc<RefCell<AuditChain>>,
        hold: Rc<HoldWatch>,
    ) -> Self {
        Self { context_id, stream: Stream::new(policy, chain), metrics, hold }
    }

    /// Runs one callback of the state machine and applies its outcome.
    fn run(&mut self, f: impl FnOnce(&mut Stream, &mut EnvoyStream<'_>) -> Outcome) -> Action {
        let hold = Rc::clone(&self.hold);
        let mut env = EnvoyStream { context_id: self.context_id, hold: &hold, store: SharedStore };
        let outcome = f(&mut self.stream, &mut env);
        self.apply(outcome)
    }

    /// Applies the effects in order; a failed edit stops them and applies the core's fail-closed
    /// answer instead.
    fn apply(&mut self, outcome: Outcome) -> Action {
        for effect in outcome.effects {
            if let Err(reason) = self.effect(effect) {
                let fallback = self.stream.edit_failed(reason);
                for effect in fallback.effects {
                    // A failure here has no further fallback: the reply is already the 500.
                    let _ = self.effect(effect);
                }
                return effects::action(fallback.flow);
            }
        }
        effects::action(outcome.flow)
    }

    /// Applies one effect; `Err(reason)` when a checked edit failed.
    fn effect(&self, effect: Effect) -> Result<(), Reason> {
        effects::apply(self.context_id, &self.hold, &self.metrics, effect)
    }
}

impl Context for Guard {
    fn on_done(&mut self) -> bool {
        self.run(|s, h| s.on_log(h));
        true
    }
}

impl HttpContext for Guard {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.run(|s, h| s.on_request_headers(h, end_of_stream))
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.run(|s, h| s.on_request_body(h, body_size, end_of_stream))
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        self.run(|s, h| s.on_request_trailers(h))
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.run(|s, h| s.on_response_headers(h, end_of_stream))
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.run(|s, h| s.on_response_body(h, body_size, end_of_stream))
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        self.run(|s, h| s.on_response_trailers(h))
    }

    fn on_log(&mut self) {
        self.run(|s, h| s.on_log(h));
    }
}
