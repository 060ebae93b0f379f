//! `Guard`: one per HTTP stream. It translates: each callback hands what Envoy gave to the core's
//! [`Stream`] state machine (through [`EnvoyStream`], the [`StreamHost`] that reads what the core
//! asks for) and applies the [`Outcome`]: edits, local replies, log lines, metrics, the audit line.
//! Every decision is the core's (src/core/stream).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};

use crate::core::chain::AuditChain;
use crate::core::headers::RawHeader;
use crate::core::policy::Policy;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::spend::feed::FetchedPrices;
use crate::core::spend::{CounterStore, StoreAnswer, StoreCall};
use crate::core::stream::{Effect, HostFailure, Outcome, Property, Stream, StreamHost};
use crate::wasm::abi;
use crate::wasm::effects;
use crate::wasm::hold::HoldWatch;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;
use crate::wasm::prices::PriceFeed;
use crate::wasm::store::SharedStore;
use crate::wasm::store_call;

/// Per-stream context: the core's state machine and what applying its outcomes needs.
pub(crate) struct Guard {
    context_id: u32,
    stream: Stream,
    metrics: Rc<Metrics>,
    hold: Rc<HoldWatch>,
    /// Calls to the rate-limit service that outlive the stream (commits, releases): made by the
    /// root context from its tick.
    commits: Rc<RefCell<Vec<StoreCall>>>,
    /// Prices fetched from OpenRouter's model list (shared with the root context).
    prices: Rc<PriceFeed>,
    /// The reservation call this stream waits for.
    store_token: Cell<Option<u32>>,
    /// The reservation call could not be made (answered as a store failure).
    store_call_failed: Cell<bool>,
}

/// The host as the core's state machine sees it, for one stream.
struct EnvoyStream<'a> {
    context_id: u32,
    hold: &'a HoldWatch,
    store: SharedStore,
    prices: &'a PriceFeed,
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

    fn fetched_prices(&mut self) -> Option<Rc<FetchedPrices>> {
        self.prices.sync();
        self.prices.current()
    }
}

impl Guard {
    /// A stream context sharing `policy`.
    pub(crate) fn new(
        context_id: u32,
        policy: Rc<Policy>,
        metrics: Rc<Metrics>,
        chain: Rc<RefCell<AuditChain>>,
        hold: Rc<HoldWatch>,
        commits: Rc<RefCell<Vec<StoreCall>>>,
        prices: Rc<PriceFeed>,
    ) -> Self {
        Self {
            context_id,
            stream: Stream::new(policy, chain),
            metrics,
            hold,
            commits,
            prices,
            store_token: Cell::new(None),
            store_call_failed: Cell::new(false),
        }
    }

    /// Hands the rate-limit service's answer (or the failure to call it) to the state machine;
    /// a request it admits goes on.
    fn store_answer(&mut self, answer: StoreAnswer) {
        let action = self.run(|s, h| s.on_store_answer(h, answer));
        if action == Action::Continue {
            if let Err(e) = abi::resume_request() {
                host::log(
                    LogLevel::Error,
                    &format!("#{} openrouter-guard: cannot resume request: {e:?}", self.context_id),
                );
            }
        }
    }

    /// Runs one callback of the state machine and applies its outcome.
    fn run(&mut self, f: impl FnOnce(&mut Stream, &mut EnvoyStream<'_>) -> Outcome) -> Action {
        let (hold, prices) = (Rc::clone(&self.hold), Rc::clone(&self.prices));
        let mut env = EnvoyStream { context_id: self.context_id, hold: &hold, store: SharedStore, prices: &prices };
        let outcome = f(&mut self.stream, &mut env);
        self.apply(outcome)
    }

    /// The reservation call was not made: the state machine decides as for a store failure.
    #[inline(never)]
    fn call_not_made(&mut self) -> Action {
        let (hold, prices) = (Rc::clone(&self.hold), Rc::clone(&self.prices));
        let mut env = EnvoyStream { context_id: self.context_id, hold: &hold, store: SharedStore, prices: &prices };
        let outcome = self.stream.on_store_answer(&mut env, Err(None));
        self.apply(outcome)
    }

    /// Applies the effects in order; a failed edit stops them and applies the core's fail-closed
    /// answer instead.
    #[inline(never)]
    fn apply(&mut self, outcome: Outcome) -> Action {
        let action = self.apply_effects(outcome);
        if self.store_call_failed.replace(false) {
            return self.call_not_made();
        }
        action
    }

    fn apply_effects(&mut self, outcome: Outcome) -> Action {
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
    #[inline(never)]
    fn effect(&self, effect: Effect) -> Result<(), Reason> {
        let id = self.context_id;
        match effect {
            Effect::StoreCall(call) => {
                match store_call::send(self, &call) {
                    Ok(token) => self.store_token.set(Some(token)),
                    Err(e) => {
                        host::log(
                            LogLevel::Error,
                            &format!("#{id} openrouter-guard: rate-limit service call failed: {e:?}"),
                        );
                        self.store_call_failed.set(true);
                    }
                }
                Ok(())
            }
            Effect::StoreCommit(call) => {
                if let Ok(mut q) = self.commits.try_borrow_mut() {
                    q.push(call);
                }
                Ok(())
            }
            effect => effects::apply(id, &self.hold, &self.metrics, effect),
        }
    }
}

impl Context for Guard {
    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        if self.store_token.get() != Some(token_id) {
            return;
        }
        self.store_token.set(None);
        let answer = if status_code == 0 {
            host::buffer(BufferType::GrpcReceiveBuffer, response_size).map_err(|_| None)
        } else {
            Err(Some(status_code))
        };
        self.store_answer(answer);
    }

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
