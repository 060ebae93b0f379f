//! OpenRouter endpoints: classifying a request path and knowing which body fields carry user text.

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

    /// Top-level body fields whose subtrees carry user text. `None`: scan every string value.
    pub fn text_roots(self) -> Option<&'static [&'static str]> {
        match self {
            // Besides the conversation: predicted output and JSON-schema descriptions reach the
            // model, stop sequences the provider, a web plugin's `search_prompt` a search engine.
            Endpoint::ChatCompletions => {
                Some(&["messages", "tools", "functions", "prompt", "prediction", "response_format", "stop", "plugins"])
            }
            Endpoint::Completions => Some(&["prompt", "suffix", "stop", "response_format", "plugins"]),
            // `prompt.variables` are substituted into a stored prompt; `text` holds the output schema.
            Endpoint::Responses => Some(&["input", "instructions", "tools", "prompt", "text", "plugins"]),
            Endpoint::Messages => Some(&["system", "messages", "tools", "metadata", "stop_sequences"]),
            Endpoint::Embeddings => Some(&["input"]),
            Endpoint::Rerank => Some(&["query", "documents"]),
            Endpoint::Other => None,
        }
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
    fn every_field_that_reaches_a_model_or_provider_is_a_text_root() {
        let roots = |e: Endpoint| e.text_roots().unwrap_or_default().to_vec();
        for f in ["messages", "prediction", "response_format", "stop", "plugins"] {
            assert!(roots(Endpoint::ChatCompletions).contains(&f), "{f}");
        }
        for f in ["input", "instructions", "prompt", "text", "plugins"] {
            assert!(roots(Endpoint::Responses).contains(&f), "{f}");
        }
        for f in ["system", "messages", "metadata", "stop_sequences"] {
            assert!(roots(Endpoint::Messages).contains(&f), "{f}");
        }
        // Routing and identity fields never are: they are ids the policy checks, not text.
        for e in [Endpoint::ChatCompletions, Endpoint::Responses, Endpoint::Messages, Endpoint::Completions] {
            for f in ["model", "models", "provider", "preset", "user", "session_id"] {
                assert!(!roots(e).contains(&f), "{e:?} {f}");
            }
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
