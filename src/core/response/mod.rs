//! Observing OpenRouter responses without slowing them: non-streaming JSON bodies (buffered up to
//! a limit) and SSE streams (parsed incrementally, never buffered), summarised for the audit record,
//! plus checks of the served provider and model against the policy.
//!
//! Use: one [`ResponseObserver`] per response; `on_headers`, `on_chunk` per new body bytes,
//! `finish`; then [`verify_served`] / [`verify_served_model`] on the summary.

mod channel_index;
mod json_body;
mod json_canon;
mod observer;
pub mod outscan;
/// The stages of a rewritten response: driven by the wasm adapter through `core::stream`; a native
/// build reaches them through tests only (one allowance for these modules).
macro_rules! adapter_driven {
    ($($name:ident),*) => {
        $(
            #[cfg_attr(
                not(target_arch = "wasm32"),
                allow(dead_code, reason = "driven by the wasm adapter; native builds reach it through tests")
            )]
            pub(crate) mod $name;
        )*
    };
}
adapter_driven!(logprobs, outscan_stage, restore, rewrite, session, stage, stream_end);
pub(crate) mod sniff;
pub mod sse;
mod sse_frame;
mod verify;

#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::core::audit::ResponseFields;
pub use observer::{ObserverLimits, ResponseObserver};
pub use verify::{same_provider, verify_served, verify_served_model, ServedVerdict, Subject, Verdict};

/// Values of [`ResponseSummary::not_inspected`].
pub mod reason {
    /// A JSON body larger than `max_json_bytes` (compressed or decoded); it passed through unread.
    pub const TOO_LARGE: &str = "too_large";
    /// A content type that is neither JSON nor an event stream.
    pub const NOT_JSON: &str = "not_json";
    /// Declared (or presumed) JSON that did not parse.
    pub const BAD_JSON: &str = "bad_json";
    /// A `content-encoding` the filter does not decode (unknown, stacked, `br`), or any coding on
    /// an event stream.
    pub const ENCODED: &str = "encoded";
    /// A compressed JSON body that did not decode (corrupt, truncated, trailing bytes).
    pub const BAD_ENCODING: &str = "bad_encoding";
    /// The stream was cut (client abort, upstream reset) before its end.
    pub const INCOMPLETE: &str = "incomplete";
    /// No body.
    pub const EMPTY: &str = "empty";
    /// `finish` came without `on_headers`.
    pub const NO_HEADERS: &str = "no_headers";
}

/// What the filter learned from a response. Never holds generated text or error messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseSummary {
    /// Generation id (`X-Generation-Id`, else the body's `id`).
    pub generation_id: Option<String>,
    /// Model that served the request.
    pub model_used: Option<String>,
    /// Provider that served the request (display name, as OpenRouter reports it).
    pub provider: Option<String>,
    /// Prompt tokens (`prompt_tokens`, or `input_tokens` on `/responses` and `/messages`).
    pub prompt_tokens: Option<u64>,
    /// Completion tokens (`completion_tokens`, or `output_tokens`).
    pub completion_tokens: Option<u64>,
    /// Total tokens.
    pub total_tokens: Option<u64>,
    /// Cost in USD credits.
    pub cost: Option<f64>,
    /// `usage.prompt_tokens_details.cached_tokens`.
    pub cached_tokens: Option<u64>,
    /// `usage.completion_tokens_details.reasoning_tokens`.
    pub reasoning_tokens: Option<u64>,
    /// Last `finish_reason` seen (`other` when it is not a short token).
    pub finish_reason: Option<String>,
    /// Numeric `error.code` of an error body or mid-stream error.
    pub error_code: Option<i64>,
    /// A non-numeric `error.code` such as `server_error` (`other` when it is not a short token).
    pub error_type: Option<String>,
    /// HTTP status of the response.
    pub status: Option<u16>,
    /// Whether the response was an SSE stream.
    pub streamed: bool,
    /// Whether the body was inspected (false: too large, or not JSON/SSE); see `not_inspected`.
    pub inspected: bool,
    /// Why the body was not (fully) inspected; one of the [`reason`] constants.
    pub not_inspected: Option<&'static str>,
    /// The content coding the body arrived in and was decoded from to be read.
    pub decoded_from: Option<crate::core::decode::Coding>,
    /// Whether the stream ended with `data: [DONE]`.
    pub done: bool,
    /// Body bytes seen.
    pub body_bytes: u64,
    /// SSE events with data.
    pub events: u32,
    /// SSE events whose data was neither JSON nor `[DONE]`.
    pub bad_events: u32,
    /// SSE lines (or events) over the length limit, skipped.
    pub skipped_lines: u32,
    /// Usage figures out of bounds (see [`usage_bounds`]): field name → the number as sent,
    /// at most [`usage_bounds::MAX_RAW`] bytes. The field itself keeps its last plausible value.
    pub usage_suspect: Vec<(&'static str, String)>,
}

impl ResponseFields {
    /// Copies a response summary in (the record's response fields).
    pub fn from_summary(s: &ResponseSummary) -> Self {
        Self {
            generation_id: s.generation_id.clone(),
            model_used: s.model_used.clone(),
            provider: s.provider.clone(),
            prompt_tokens: s.prompt_tokens,
            completion_tokens: s.completion_tokens,
            total_tokens: s.total_tokens,
            cost: s.cost,
            finish_reason: s.finish_reason.clone(),
            cached_tokens: s.cached_tokens,
            reasoning_tokens: s.reasoning_tokens,
            error_code: s.error_code,
            error_type: s.error_type.clone(),
            upstream_status: s.status,
            streamed: Some(s.streamed),
            response_inspected: Some(s.inspected),
            response_not_inspected: s.not_inspected,
            provider_verdict: None,
            provider_verdict_reason: None,
            usage_suspect: (!s.usage_suspect.is_empty())
                .then(|| s.usage_suspect.iter().map(|(k, v)| ((*k).to_string(), Value::String(v.clone()))).collect()),
        }
    }
}

/// Bounds on usage figures reported by the upstream. A figure outside them is not recorded as a
/// number nor counted in a metric: it is kept as text in `usage_suspect` and counted as suspect.
pub mod usage_bounds {
    /// Largest token count accepted for one request (the largest context windows are ~2 M tokens).
    pub const MAX_TOKENS: u64 = 100_000_000;
    /// Largest cost accepted for one request, in USD credits.
    pub const MAX_COST: f64 = 1_000.0;
    /// Longest raw number kept in `usage_suspect`, in bytes.
    pub const MAX_RAW: usize = 40;
}
