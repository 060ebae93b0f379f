//! What the filter learned from a response (filled by `response`'s observer, read by the served
//! provider check, embedded in the audit record). A leaf: `audit` embeds it and `response` fills
//! it, and neither imports the other for it.

use crate::core::decode::Coding;

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
    pub(crate) prompt_tokens: Option<u64>,
    /// Completion tokens (`completion_tokens`, or `output_tokens`).
    pub(crate) completion_tokens: Option<u64>,
    /// Total tokens.
    pub(crate) total_tokens: Option<u64>,
    /// Cost in USD credits.
    pub cost: Option<f64>,
    /// `usage.prompt_tokens_details.cached_tokens`.
    pub(crate) cached_tokens: Option<u64>,
    /// `usage.completion_tokens_details.reasoning_tokens`.
    pub(crate) reasoning_tokens: Option<u64>,
    /// Last `finish_reason` seen (`other` when it is not a short token).
    pub finish_reason: Option<String>,
    /// Numeric `error.code` of an error body or mid-stream error.
    pub(crate) error_code: Option<i64>,
    /// A non-numeric `error.code` such as `server_error` (`other` when it is not a short token).
    pub error_type: Option<String>,
    /// HTTP status of the response.
    pub status: Option<u16>,
    /// Whether the response was an SSE stream.
    pub(crate) streamed: bool,
    /// Whether the body was inspected (false: too large, or not JSON/SSE); see `not_inspected`.
    pub(crate) inspected: bool,
    /// Why the body was not (fully) inspected; one of the `response::reason` constants.
    pub(crate) not_inspected: Option<&'static str>,
    /// The content coding the body arrived in and was decoded from to be read.
    pub(crate) decoded_from: Option<Coding>,
    /// Whether the stream ended with `data: [DONE]`.
    pub done: bool,
    /// Body bytes seen.
    pub body_bytes: u64,
    /// SSE events with data.
    pub events: u32,
    /// SSE events whose data was neither JSON nor `[DONE]`.
    pub(crate) bad_events: u32,
    /// SSE lines (or events) over the length limit, skipped.
    pub(crate) skipped_lines: u32,
    /// Usage figures out of bounds (see `response::usage_bounds`): field name → the number as sent,
    /// at most `usage_bounds::MAX_RAW` bytes. The field itself keeps its last plausible value.
    pub(crate) usage_suspect: Vec<(&'static str, String)>,
}

impl ResponseSummary {
    /// [`ResponseSummary::usage_suspect`] as the record prints it: (field, the number as sent),
    /// fields in byte order; `None` when every figure was plausible.
    pub fn usage_suspect_sorted(&self) -> Option<Vec<(&'static str, &str)>> {
        if self.usage_suspect.is_empty() {
            return None;
        }
        let mut out: Vec<(&'static str, &str)> = Vec::with_capacity(self.usage_suspect.len());
        for (field, raw) in &self.usage_suspect {
            if let Err(i) = out.binary_search_by(|(f, _)| f.cmp(field)) {
                out.insert(i, (field, raw.as_str()));
            }
        }
        Some(out)
    }
}
