//! Token renderings of an answer (`logprobs`) under output inspection.
//!
//! `choices[].logprobs.content[].token` (with its UTF-8 `bytes` and `top_logprobs`), a legacy
//! completion's `logprobs.tokens`, `/responses` `output_text` `logprobs`: the answer's text again,
//! token by token, outside every text channel. A stream sends them at once while the channel holds
//! the text they spell (attack round 3, finding 16: a blocked key went out whole in them), and a
//! redacted value stays spelled in them. They cannot be edited consistently with the text they
//! shadow, so under output inspection every `logprobs` member holding an object becomes `null` and
//! one holding an array becomes `[]` (the shapes clients accept for "none"), in JSON bodies and in
//! every stream event.

use std::ops::Range;

use crate::core::edit::Edit;
use crate::core::json::{Kind, Node};

/// Adds an edit emptying every `logprobs` member under `node` (object → `null`, array → `[]`)
/// to `edits`, and its value's span to `dropped` (nothing inside is read).
pub(crate) fn strip(node: &Node<'_>, edits: &mut Vec<Edit>, dropped: &mut Vec<Range<usize>>) {
    match &node.kind {
        Kind::Object(members) => {
            for m in members {
                let empty: Option<&[u8]> = match (&m.value.kind, m.key.as_ref()) {
                    (Kind::Object(_), "logprobs") => Some(b"null"),
                    (Kind::Array(_), "logprobs") => Some(b"[]"),
                    _ => None,
                };
                match empty {
                    Some(bytes) => {
                        edits.push(Edit { start: m.value.start, end: m.value.end, bytes: bytes.to_vec() });
                        dropped.push(m.value.start..m.value.end);
                    }
                    None => strip(&m.value, edits, dropped),
                }
            }
        }
        Kind::Array(items) => items.iter().for_each(|n| strip(n, edits, dropped)),
        Kind::Null | Kind::Bool(_) | Kind::Number(_) | Kind::Str(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::edit;
    use crate::core::json;

    fn stripped(src: &str) -> String {
        let root = json::parse(src.as_bytes(), 64).unwrap();
        let (mut edits, mut dropped) = (Vec::new(), Vec::new());
        strip(&root, &mut edits, &mut dropped);
        assert_eq!(edits.len(), dropped.len());
        String::from_utf8(edit::apply(src.as_bytes(), edits).unwrap()).unwrap()
    }

    #[test]
    fn every_logprobs_object_or_array_is_emptied_wherever_it_is() {
        let chat = r#"{"choices":[{"index":0,"delta":{"content":"sk"},"logprobs":{"content":[{"token":"sk","bytes":[115,107],"top_logprobs":[{"token":"sk"}]}]}}]}"#;
        assert_eq!(stripped(chat), r#"{"choices":[{"index":0,"delta":{"content":"sk"},"logprobs":null}]}"#);
        let responses = r#"{"type":"response.output_text.delta","delta":"a","logprobs":[{"token":"a"}]}"#;
        assert_eq!(stripped(responses), r#"{"type":"response.output_text.delta","delta":"a","logprobs":[]}"#);
        let body = r#"{"output":[{"content":[{"text":"a","logprobs":[{"token":"a"}]}]}],"top_logprobs":3,"logprobs":null}"#;
        assert_eq!(stripped(body), r#"{"output":[{"content":[{"text":"a","logprobs":[]}]}],"top_logprobs":3,"logprobs":null}"#);
    }
}
