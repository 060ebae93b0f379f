//! Observing OpenRouter responses (placeholder; JSON and SSE parsing land with the response issue).

/// What the filter learned from a response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseSummary {
    /// Generation id (`id` / `X-Generation-Id`).
    pub generation_id: Option<String>,
    /// Model that served the request.
    pub model_used: Option<String>,
    /// Provider that served the request.
    pub provider: Option<String>,
    /// Prompt tokens.
    pub prompt_tokens: Option<u64>,
    /// Completion tokens.
    pub completion_tokens: Option<u64>,
    /// Total tokens.
    pub total_tokens: Option<u64>,
    /// Cost in USD credits.
    pub cost: Option<f64>,
    /// Last `finish_reason` seen.
    pub finish_reason: Option<String>,
    /// `error.code` of an error body or mid-stream error.
    pub error_code: Option<i64>,
    /// Whether the response was an SSE stream.
    pub streamed: bool,
    /// Whether the body was inspected (false: too large, or not JSON/SSE); see `not_inspected`.
    pub inspected: bool,
    /// Why the body was not (fully) inspected.
    pub not_inspected: Option<&'static str>,
}
