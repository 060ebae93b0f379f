//! What a response body is, decided by its bytes rather than by its `content-type` label: an
//! upstream (or anything between it and the filter) may label a JSON answer `text/plain`, an event
//! stream `application/x-ndjson`, or send no label, and a client still reads it with the grammar it
//! expects (the OpenAI SDKs parse a `stream: true` answer as SSE whatever its label, and try JSON on
//! any other). So the rewriting reads a body in the grammar its bytes have:
//!
//! - **JSON**: the first byte after an optional UTF-8 BOM and JSON whitespace is `{`, `[` or `"`.
//!   It must then parse as JSON (else it cannot be read: withheld).
//! - **SSE**: a stream (the label says `text/event-stream`, or the request asked for a stream and
//!   the label is not JSON) that is not JSON; a held body with a `data` line anywhere (the only lines
//!   an SSE client turns into events). SSE is a total grammar: every other line is a field or a
//!   comment, scanned as text too.
//! - **Text**: any other held body (an error page): scanned as the raw text a reader sees.
//!
//! A held body labelled JSON that is no JSON document (empty, an event stream, text) disagrees with
//! its label: it cannot be read (withheld), as before.

/// The UTF-8 byte order mark: SSE decoders strip one at the start of a stream, and JSON readers
/// accept one before a document (Python's `json.loads` on bytes, `fetch().json()`).
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    /// One JSON document.
    Json,
    /// An event stream.
    Sse,
    /// Raw text.
    Text,
}

/// `b` without a leading BOM.
pub(crate) fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(BOM).unwrap_or(b)
}

/// Whether the first bytes of a stream are a JSON document (`Some(true)`), something else
/// (`Some(false)`), or cannot tell yet (`None`: empty, only whitespace, or part of a BOM).
pub(crate) fn starts_json(b: &[u8]) -> Option<bool> {
    if b.len() < BOM.len() && BOM.starts_with(b) {
        return None;
    }
    let first = strip_bom(b).iter().find(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))?;
    Some(matches!(first, b'{' | b'[' | b'"'))
}

/// Whether an SSE client would dispatch anything from `b`: a line whose field name is `data`.
pub(crate) fn has_data_line(b: &[u8]) -> bool {
    let is_data = |line: &[u8]| line.strip_prefix(b"data").is_some_and(|r| matches!(r.first(), None | Some(b':')));
    b.split(|&c| c == b'\n' || c == b'\r').any(is_data)
}

/// The grammar of a whole held body.
pub(crate) fn held_grammar(body: &[u8]) -> Grammar {
    if starts_json(body) == Some(true) {
        Grammar::Json
    } else if has_data_line(strip_bom(body)) {
        Grammar::Sse
    } else {
        Grammar::Text
    }
}

/// Whether a label names JSON (`application/json`, `…+json`, parameters ignored).
pub(crate) fn label_is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| {
        let media = c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        media == "application/json" || media.ends_with("+json")
    })
}

/// Whether a response is streamed (rewritten chunk by chunk) rather than held whole: its label says
/// event stream and the request asked for one, or the request asked for a stream and the label is
/// not JSON (a mislabelled stream). A stream label on an answer to a request that asked for none
/// is held and read whole, like any other body.
pub(crate) fn is_stream(stream_requested: bool, content_type: Option<&str>) -> bool {
    stream_requested && !label_is_json(content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_decide_the_grammar() {
        assert_eq!(starts_json(b""), None);
        assert_eq!(starts_json(b"\xEF\xBB"), None);
        assert_eq!(starts_json(b" \r\n\t"), None);
        assert_eq!(starts_json(b"\xEF\xBB\xBF {"), Some(true));
        assert_eq!(starts_json(b"\n[1]"), Some(true));
        assert_eq!(starts_json(b"\"str\""), Some(true));
        assert_eq!(starts_json(b"data: {}"), Some(false));
        assert_eq!(starts_json(b": ping"), Some(false));
        assert_eq!(held_grammar(b"\xEF\xBB\xBF{\"a\":1}"), Grammar::Json);
        assert_eq!(held_grammar(b"{broken"), Grammar::Json);
        assert_eq!(held_grammar(b"data: x\n\n"), Grammar::Sse);
        assert_eq!(held_grammar(b"\xEF\xBB\xBFdata:x"), Grammar::Sse);
        assert_eq!(held_grammar(b"oops\r\ndata\r\n"), Grammar::Sse);
        assert_eq!(held_grammar(b"hello\nevent: x\n: c\ndatax: 1\n"), Grammar::Text);
        assert_eq!(held_grammar(b"Internal error"), Grammar::Text);
    }

    #[test]
    fn labels_decide_only_whether_a_requested_stream_is_streamed() {
        assert!(label_is_json(Some("Application/JSON; charset=utf-8")));
        assert!(label_is_json(Some("application/problem+json")));
        assert!(!label_is_json(Some("text/plain")) && !label_is_json(None));
        assert!(is_stream(true, Some("text/event-stream")));
        assert!(is_stream(true, Some("text/plain")) && is_stream(true, None));
        assert!(is_stream(true, Some("application/x-ndjson")));
        assert!(!is_stream(true, Some("application/json")));
        assert!(!is_stream(false, Some("text/event-stream")));
    }
}
