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
    /// The path without query string (as sent), for the audit record.
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
            Endpoint::ChatCompletions => Some(&["messages", "tools", "functions", "prompt"]),
            Endpoint::Completions => Some(&["prompt", "suffix"]),
            Endpoint::Responses => Some(&["input", "instructions", "tools"]),
            Endpoint::Messages => Some(&["system", "messages", "tools"]),
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

/// Classifies a request path (`:path` header). Case, query strings, repeated and trailing slashes
/// do not change the result, so spelling tricks cannot move a request to a laxer treatment.
pub fn classify(raw_path: &str) -> Route {
    let path = raw_path.split(['?', '#']).next().unwrap_or_default().to_string();
    let lower = percent_decode(&path).to_ascii_lowercase();
    // Path parameters (`;x`) are dropped from each segment, as servers commonly ignore them.
    let segs: Vec<&str> = lower
        .split('/')
        .map(|s| s.split(';').next().unwrap_or_default())
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let mut rest: &[&str] = &segs;
    if let [first, tail @ ..] = rest {
        if *first == "api" {
            rest = tail;
        }
    }
    if let [first, tail @ ..] = rest {
        if *first == "v1" {
            rest = tail;
        }
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
    Route { endpoint, preset, path }
}

/// Decodes `%XX` escapes (invalid ones are kept as written). Decoding before classifying means
/// `/api/v1/%63hat/completions` cannot dodge the chat field map.
fn percent_decode(p: &str) -> String {
    if !p.contains('%') {
        return p.to_string();
    }
    let b = p.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |j: usize| b.get(j).and_then(|h| (*h as char).to_digit(16));
        match (c, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_endpoint_and_spelling() {
        for (p, e) in [
            ("/api/v1/chat/completions", Endpoint::ChatCompletions),
            ("/api/v1/chat/completions?x=1", Endpoint::ChatCompletions),
            ("//api//v1/Chat/Completions/", Endpoint::ChatCompletions),
            ("/v1/chat/completions", Endpoint::ChatCompletions),
            ("/api/v1/./chat/completions", Endpoint::ChatCompletions),
            ("/api/v1/completions", Endpoint::Completions),
            ("/api/v1/responses", Endpoint::Responses),
            ("/api/v1/messages", Endpoint::Messages),
            ("/api/v1/embeddings", Endpoint::Embeddings),
            ("/api/v1/rerank", Endpoint::Rerank),
            ("/api/v1/models", Endpoint::Other),
            ("/api/v1/chat/completions/x", Endpoint::Other),
            ("/api/v1/chat/completions;x", Endpoint::ChatCompletions),
            ("/api/v1/%63hat/%43ompletions", Endpoint::ChatCompletions),
            ("/api/v1%2Fchat%2Fcompletions", Endpoint::ChatCompletions),
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
