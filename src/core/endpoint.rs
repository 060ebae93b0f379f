//! OpenRouter endpoints: classifying a request path and knowing each endpoint's token-limit fields.

/// An OpenRouter API endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/chat/completions`
    ChatCompletions,
    /// `/completions`
    Completions,
    /// `/responses`
    Responses,
    /// `/messages` (Anthropic shape)
    Messages,
    /// `/embeddings`
    Embeddings,
    /// `/rerank`
    Rerank,
    /// Anything else.
    Other,
}

/// A classified request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Preset slug from a `/presets/{slug}/…` path (lower-cased).
    pub preset: Option<String>,
    /// The normalised path without query string (the one forwarded), for the audit record.
    pub path: String,
}

impl Endpoint {
    /// Stable name for audit records and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat/completions",
            Endpoint::Completions => "completions",
            Endpoint::Responses => "responses",
            Endpoint::Messages => "messages",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Rerank => "rerank",
            Endpoint::Other => "other",
        }
    }

    /// Whether requests here run a model (and so must name one the policy allows).
    pub fn is_inference(self) -> bool {
        !matches!(self, Endpoint::Other)
    }

    /// Fields holding an output-token limit, primary first (the one inserted when none is sent).
    pub fn token_limit_fields(self) -> &'static [&'static str] {
        match self {
            Endpoint::ChatCompletions => &["max_tokens", "max_completion_tokens"],
            Endpoint::Completions | Endpoint::Messages => &["max_tokens"],
            Endpoint::Responses => &["max_output_tokens"],
            Endpoint::Embeddings | Endpoint::Rerank | Endpoint::Other => &[],
        }
    }
}

/// Classifies a normalised request path ([`crate::core::urlpath::normalize`]: decoded, no dot or
/// empty segments, no query). Case and a trailing slash do not change the result, nor does the
/// prefix: `/api/v1/…`, `/api/alpha/…` (OpenRouter's beta Responses API), `/v1/…` and none at all
/// classify alike, so a spelling can never move a request to a laxer treatment.
pub fn classify(normalized_path: &str) -> Route {
    let lower = normalized_path.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    let mut rest: &[&str] = &segs;
    if let ["api", tail @ ..] = rest {
        rest = tail;
    }
    if let ["v1" | "alpha", tail @ ..] = rest {
        rest = tail;
    }
    let mut preset = None;
    if let ["presets", slug, tail @ ..] = rest {
        preset = Some((*slug).to_string());
        rest = tail;
    }
    let endpoint = match rest {
        ["chat", "completions"] => Endpoint::ChatCompletions,
        ["completions"] => Endpoint::Completions,
        ["responses"] => Endpoint::Responses,
        ["messages"] => Endpoint::Messages,
        ["embeddings"] => Endpoint::Embeddings,
        ["rerank"] => Endpoint::Rerank,
        _ => Endpoint::Other,
    };
    Route { endpoint, preset, path: normalized_path.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_endpoint_and_spelling() {
        for (p, e) in [
            ("/api/v1/chat/completions", Endpoint::ChatCompletions),
            ("/api/v1/Chat/Completions/", Endpoint::ChatCompletions),
            ("/v1/chat/completions", Endpoint::ChatCompletions),
            ("/chat/completions", Endpoint::ChatCompletions),
            ("/api/v1/completions", Endpoint::Completions),
            ("/api/v1/responses", Endpoint::Responses),
            ("/api/alpha/responses", Endpoint::Responses),
            ("/api/alpha/chat/completions", Endpoint::ChatCompletions),
            ("/api/v1/messages", Endpoint::Messages),
            ("/api/v1/embeddings", Endpoint::Embeddings),
            ("/api/v1/rerank", Endpoint::Rerank),
            ("/api/v1/models", Endpoint::Other),
            ("/api/v1/chat/completions/x", Endpoint::Other),
            ("/api/v2/chat/completions", Endpoint::Other),
            ("/api/v1/x/chat/completions", Endpoint::Other),
        ] {
            assert_eq!(classify(p).endpoint, e, "{p}");
        }
    }

    #[test]
    fn preset_paths_name_their_preset() {
        let r = classify("/api/v1/presets/My-Preset/chat/completions");
        assert_eq!(r.endpoint, Endpoint::ChatCompletions);
        assert_eq!(r.preset.as_deref(), Some("my-preset"));
        assert_eq!(r.path, "/api/v1/presets/My-Preset/chat/completions");
    }
}
