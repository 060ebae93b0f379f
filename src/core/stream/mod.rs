//! One HTTP stream as a state machine: every per-stream decision of the filter, driven by what
//! Envoy gave (headers, body sizes, end of stream, properties) and answering with an [`Outcome`]
//! (go on or wait, and the effects: edits, a local reply, log lines, metrics, the audit line).
//! The adapter (`src/wasm/http.rs`) only translates: it calls one method per callback through a
//! [`StreamHost`] that reads what the state machine asks for, and applies the outcome.
//!
//! Phases ([`Phase`]):
//!
//! ```text
//! Idle ──request headers──► Ungoverned (not bound for OpenRouter: everything passes)
//!   │
//!   └─governed─► RequestHeld ──end of request, allowed──► Forwarded ──response headers──► Response
//!                   │   (headers held, body buffered)                                       │
//!                   ├──refused / fail closed──► Replied ◄──served_unapproved / lost control─┤
//!                   └──response headers (the filter lost control, or Envoy answered)        ▼
//!                                                                                      ResponseDone
//! any governed phase ──on_log / on_done──► Logged (the audit record is sealed exactly once)
//! ```
//!
//! Which callbacks decide (docs/design.md, "No path escapes the decision"): a governed request is
//! held from its headers on; the decision is taken exactly where the request ends — the headers
//! callback when they carry end-of-stream, the body callback with end-of-stream, or the trailers
//! callback. Response headers that arrive for a governed request no callback decided mean the
//! filter lost control: they are replaced.

mod finish;
pub(crate) mod hold;
mod host;
pub(crate) mod metrics;
pub mod no_policy;
mod outcome;
mod request_side;
mod response_side;
mod rewrite;
mod spend_gate;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::rc::Rc;

use crate::core::audit::{AuditRecord, Decision};
use crate::core::chain::AuditChain;
use crate::core::pii::mask::Masks;
use crate::core::policy::Policy;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::request::{self, Plan};
use crate::core::response::session::Session;
use crate::core::spend::{PendingAdmission, Reservation};

pub use host::{HostFailure, Property, StreamHost};
pub use outcome::{Edit, Effect, Flow, Level, MetricKind, MetricOp, Outcome};
use response_side::Observed;

/// Whether the request behind a response was decided by a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// No callback decided it (Envoy answered it, or the filter lost control).
    Undecided,
    /// Forwarded as decided (or answered by the hold watch).
    Decided,
}

/// Where a stream is.
#[derive(Debug)]
pub enum Phase {
    /// Nothing seen yet.
    Idle,
    /// Not bound for OpenRouter: every callback lets everything pass.
    Ungoverned,
    /// Governed; headers held until the request ends and is decided.
    RequestHeld,
    /// Decided and forwarded; no response yet.
    Forwarded,
    /// The filter answered; nothing more of the request or response moves.
    Replied,
    /// Response headers seen; the body is observed (streamed through, or held whole).
    Response(Fate, Box<Observed>),
    /// The response was summarised (it ended, or was cut).
    ResponseDone(Fate),
    /// The audit record was sealed and published.
    Logged,
}

/// One governed (or not) HTTP stream.
pub struct Stream {
    policy: Rc<Policy>,
    chain: Rc<RefCell<AuditChain>>,
    phase: Phase,
    plan: Option<Plan>,
    audit: AuditRecord,
    /// The request's `mask` placeholders, for restoring them in the response: in this stream's
    /// memory only, gone with it.
    masks: Masks,
    /// Budget reservations held while the request is in flight; settled at the stream's end.
    reservations: Vec<Reservation>,
    /// The reservation call to the rate-limit service, while the request waits for its answer.
    pending: Option<PendingAdmission>,
    /// Size of the buffered request body at the last body callback.
    body_seen: usize,
    /// Nanoseconds spent in governed callbacks.
    busy_ns: u64,
    /// When the request headers arrived (ns since the epoch).
    start_ns: u64,
    /// When the current timed callback started (ns since the epoch): the clock is read once per
    /// callback, not again by what the callback does (each read is a host call).
    now_ns: u64,
}

impl Stream {
    /// A stream under `policy`, sealing its audit record into `chain`.
    pub fn new(policy: Rc<Policy>, chain: Rc<RefCell<AuditChain>>) -> Self {
        Self {
            policy,
            chain,
            phase: Phase::Idle,
            plan: None,
            audit: AuditRecord::new(),
            masks: Masks::default(),
            reservations: Vec::new(),
            pending: None,
            body_seen: 0,
            busy_ns: 0,
            start_ns: 0,
            now_ns: 0,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The audit record so far.
    pub fn audit(&self) -> &AuditRecord {
        &self.audit
    }

    /// Whether the request is governed and still waits for its decision.
    fn undecided(&self) -> bool {
        matches!(
            self.phase,
            Phase::RequestHeld | Phase::Response(Fate::Undecided, _) | Phase::ResponseDone(Fate::Undecided)
        )
    }

    /// Request headers (`on_http_request_headers`).
    pub fn on_request_headers(&mut self, host: &mut impl StreamHost, end_of_stream: bool) -> Outcome {
        match self.phase {
            Phase::Idle => self.timed(host, |s, h, fx| s.request_headers(h, end_of_stream, fx)),
            // Envoy calls this once per stream; a second call changes nothing already decided.
            _ if matches!(self.phase, Phase::Replied | Phase::Logged) || self.undecided() => Outcome::pause(),
            _ => Outcome::proceed(),
        }
    }

    /// A request body chunk: `body_size` bytes are buffered in all.
    pub fn on_request_body(&mut self, host: &mut impl StreamHost, body_size: usize, end_of_stream: bool) -> Outcome {
        if self.undecided() {
            if !end_of_stream
                && matches!(self.phase, Phase::RequestHeld)
                && body_size as u64 <= self.policy.max_body_bytes
            {
                // Still buffering: nothing to decide, so no clock reads (two host calls per body
                // callback, 128 of them for a 1 MB body in 16 KiB pieces).
                let mut effects = Vec::new();
                let flow = self.request_body(host, body_size, false, &mut effects);
                return Outcome { flow, effects };
            }
            return self.timed(host, |s, h, fx| s.request_body(h, body_size, end_of_stream, fx));
        }
        self.passive_request_outcome()
    }

    /// Request trailers: the request ends here.
    pub fn on_request_trailers(&mut self, host: &mut impl StreamHost) -> Outcome {
        if self.undecided() {
            return self.timed(host, |s, h, fx| s.request_trailers(h, fx));
        }
        self.passive_request_outcome()
    }

    /// What a request callback answers once the request no longer needs the filter.
    fn passive_request_outcome(&self) -> Outcome {
        match self.phase {
            Phase::Replied | Phase::Logged => Outcome::pause(),
            _ => Outcome::proceed(),
        }
    }

    /// Response headers.
    pub fn on_response_headers(&mut self, host: &mut impl StreamHost, end_of_stream: bool) -> Outcome {
        match self.phase {
            Phase::RequestHeld | Phase::Forwarded | Phase::Response(..) | Phase::ResponseDone(_) => {
                self.timed(host, |s, h, fx| s.response_headers(h, end_of_stream, fx))
            }
            _ => Outcome::proceed(),
        }
    }

    /// A response body chunk of `body_size` new bytes (the whole body so far when it is held).
    pub fn on_response_body(&mut self, host: &mut impl StreamHost, body_size: usize, end_of_stream: bool) -> Outcome {
        match self.phase {
            Phase::Response(..) => self.timed(host, |s, h, fx| s.response_body(h, body_size, end_of_stream, fx)),
            _ => Outcome::proceed(),
        }
    }

    /// Response trailers: the response ends here (its last body callback did not say so).
    pub fn on_response_trailers(&mut self, host: &mut impl StreamHost) -> Outcome {
        match self.phase {
            Phase::Response(..) => self.timed(host, |s, h, fx| s.response_trailers(h, fx)),
            _ => Outcome::proceed(),
        }
    }

    /// `on_log`: completes, seals and publishes the audit record and counts the request — once.
    /// `on_done` calls it too, as a safety net should Envoy ever tear a stream down without the
    /// log callback.
    pub fn on_log(&mut self, host: &mut impl StreamHost) -> Outcome {
        let mut effects = Vec::new();
        self.finalize(host, &mut effects);
        Outcome { flow: Flow::Continue, effects }
    }

    /// An edit of an earlier outcome failed: fail closed with a 500 naming `reason`. On the
    /// request side the request is refused (nothing was forwarded); on the response side the
    /// response is replaced (or reset when its headers already left): the client must not get a
    /// body the filter meant to change.
    pub fn edit_failed(&mut self, reason: Reason) -> Outcome {
        let mut effects = Vec::new();
        let r = Rejection::internal(reason);
        let flow = match self.phase {
            // Rewritten bytes that could not be written: the answer is withheld like one that
            // cannot be read.
            Phase::Response(..) | Phase::ResponseDone(_) if reason == Reason::ResponseUnreadable => {
                self.withhold_response(&Session::write_failed(), &mut effects)
            }
            Phase::Response(..) | Phase::ResponseDone(_) => {
                self.audit.decision = Decision::Error;
                self.audit.reason(reason);
                self.audit.status = Some(r.status);
                self.phase = Phase::Replied;
                effects.push(Effect::ReplaceResponse(r));
                Flow::Pause
            }
            _ => self.refuse(&r, &mut effects),
        };
        Outcome { flow, effects }
    }

    /// Runs `f`, adding its time to the filter's busy time.
    fn timed<H: StreamHost>(
        &mut self,
        host: &mut H,
        f: impl FnOnce(&mut Self, &mut H, &mut Vec<Effect>) -> Flow,
    ) -> Outcome {
        let t0 = host.now_ns();
        self.now_ns = t0;
        let mut effects = Vec::new();
        let flow = f(self, host, &mut effects);
        self.busy_ns += host.now_ns().saturating_sub(t0);
        Outcome { flow, effects }
    }

    /// Answers the request with `r`. Nothing more of this request may move.
    fn reply(&mut self, r: &Rejection, fx: &mut Vec<Effect>) -> Flow {
        self.phase = Phase::Replied;
        fx.push(Effect::Unwatch);
        fx.push(Effect::Reply(r.clone()));
        Flow::Pause
    }

    /// Records `r` in the audit record and answers with it.
    fn refuse(&mut self, r: &Rejection, fx: &mut Vec<Effect>) -> Flow {
        request::record_rejection(&mut self.audit, r);
        self.reply(r, fx)
    }
}
