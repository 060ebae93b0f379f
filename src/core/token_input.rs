//! Token ids instead of text (attack round 4, finding 2): `/embeddings` `input` and `/completions`
//! `prompt` may be given as token ids (`[73, 1395, 374]`, or a list of such lists), as OpenAI's API
//! allows and LangChain's `OpenAIEmbeddings` sends by default (it tokenizes with tiktoken first).
//! Ids are text the PII engine cannot read — decoding them needs the model's vocabulary, megabytes
//! the filter does not carry — so under an active `pii` profile such a request is refused
//! (400 `token_input_unreadable`) instead of forwarding an e-mail spelled in ids unread.

use crate::core::endpoint::Endpoint;
use crate::core::json::{Kind, Node};

/// The field that may carry token ids on `endpoint`.
fn field(endpoint: Endpoint) -> Option<&'static str> {
    match endpoint {
        Endpoint::Embeddings => Some("input"),
        Endpoint::Completions => Some("prompt"),
        _ => None,
    }
}

/// Whether `node` is a number, or a list holding one at its first or second level.
fn holds_ids(node: &Node<'_>, depth: u8) -> bool {
    match &node.kind {
        Kind::Number(_) => true,
        Kind::Array(items) if depth < 2 => items.iter().any(|i| holds_ids(i, depth + 1)),
        _ => false,
    }
}

/// Whether the body gives its text as token ids.
pub(crate) fn has_token_ids(endpoint: Endpoint, root: &Node<'_>) -> bool {
    field(endpoint).and_then(|f| root.get(f)).is_some_and(|n| holds_ids(n, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json;

    fn ids(endpoint: Endpoint, body: &str) -> bool {
        has_token_ids(endpoint, &json::parse(body.as_bytes(), 16).unwrap())
    }

    #[test]
    fn token_ids_are_found_and_text_is_not() {
        for body in
            [r#"{"input":[73,1395]}"#, r#"{"input":[[73,1395],[12]]}"#, r#"{"input":["a",[5]]}"#, r#"{"input":7}"#]
        {
            assert!(ids(Endpoint::Embeddings, body), "{body}");
        }
        assert!(ids(Endpoint::Completions, r#"{"prompt":[73,1395]}"#));
        for body in [r#"{"input":"text"}"#, r#"{"input":["a","b"]}"#, r#"{"input":[{"type":"text","text":"a"}]}"#, "{}"]
        {
            assert!(!ids(Endpoint::Embeddings, body), "{body}");
        }
        // Other endpoints' fields of that name are not token ids.
        assert!(!ids(Endpoint::ChatCompletions, r#"{"input":[1,2],"prompt":[3]}"#));
        assert!(!ids(Endpoint::Completions, r#"{"prompt":"text","input":[1]}"#));
    }
}
