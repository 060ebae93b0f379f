//! What one callback of the state machine asks the adapter to do: go on or wait, and the effects
//! to apply, in order.

use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::spend::StoreCall;

/// Whether the stream moves on after the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Let the headers or data go on.
    Continue,
    /// Hold them (buffering for the body callbacks; after a local reply, nothing moves).
    Pause,
}

/// An edit of the stream's headers, trailers or body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Set (or replace) a request header.
    SetRequestHeader(&'static str, String),
    /// Set (or replace) a request header named at run time: (name as sent, value), e.g. a header
    /// whose value was redacted (`core::head_pii`).
    ReplaceRequestHeader(String, String),
    /// Remove a request header (every value).
    RemoveRequestHeader(String),
    /// Remove a request trailer (every value); the name as the host gave it.
    RemoveRequestTrailer(Vec<u8>),
    /// Replace the first `old_len` bytes of the buffered request body (the rest is kept).
    ReplaceRequestBody {
        /// Bytes replaced.
        old_len: usize,
        /// What replaces them.
        bytes: Vec<u8>,
    },
    /// Publish the recorded path as filter state `wasm.log_path` (for Envoy's operator log).
    SetLogPath(String),
    /// Set (or replace) a response header (from the response-headers callback).
    SetResponseHeader(&'static str, String),
    /// Remove a response header (from the response-headers callback), e.g. `content-length`
    /// before a body is rewritten.
    RemoveResponseHeader(&'static str),
    /// Replace the first `old_len` bytes of the response body buffer: this callback's chunk when
    /// streaming, the whole body when it is held.
    ReplaceResponseBody {
        /// Bytes replaced.
        old_len: usize,
        /// The new bytes.
        bytes: Vec<u8>,
    },
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something the operator must fix or know.
    Error,
}

/// Kind of an Envoy stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Adds the value.
    Counter,
    /// Sets the value.
    Gauge,
    /// Records the value.
    Histogram,
}

/// One metric update; `name` carries its labels (core/stream/metrics.rs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricOp {
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// Full name with `.label.value` pairs.
    pub name: String,
    /// Increment, gauge value or sample.
    pub value: u64,
}

/// One thing the adapter does for the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A host edit. When it fails, the adapter stops applying this outcome and applies
    /// [`Stream::edit_failed`](super::Stream::edit_failed) with `on_fail` instead; `None` means
    /// best effort (the failure is ignored).
    Edit {
        /// The edit.
        edit: Edit,
        /// Reason of the 500 the request gets when the edit fails.
        on_fail: Option<Reason>,
    },
    /// Answer the request with a local reply; a failure is logged.
    Reply(Rejection),
    /// Answer instead of the upstream's response; when the reply cannot be sent the response is
    /// reset (the client must not get the original).
    ReplaceResponse(Rejection),
    /// Watch the held request headers (the hold watch, wasm/hold.rs).
    Watch,
    /// Stop watching this stream.
    Unwatch,
    /// Stop watching this stream and forget the hold watch's reply to it (stream end).
    ForgetWatch,
    /// A log line (the adapter prefixes the stream id). Never request or response content.
    Log(Level, String),
    /// A metric update.
    Metric(MetricOp),
    /// Publish the (sealed) audit line as filter state `wasm.audit`.
    PublishAudit(String),
    /// Call the rate-limit service for this stream; its answer (or the failure to make the call)
    /// goes to [`Stream::on_store_answer`](super::Stream::on_store_answer).
    StoreCall(StoreCall),
    /// Call the rate-limit service without waiting (commit or release): made by the root
    /// context, which outlives the stream.
    StoreCommit(StoreCall),
    /// Test builds only: trap the VM (`x-openrouter-guard-test-hook: trap`).
    #[cfg(feature = "test-hooks")]
    Trap,
}

/// The answer to one callback.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Go on or wait.
    pub(crate) flow: Flow,
    /// Effects, applied in order.
    pub effects: Vec<Effect>,
}

impl Outcome {
    /// Go on, nothing to do.
    pub fn proceed() -> Self {
        Self { flow: Flow::Continue, effects: Vec::new() }
    }

    /// Wait, nothing to do.
    pub fn pause() -> Self {
        Self { flow: Flow::Pause, effects: Vec::new() }
    }
}
