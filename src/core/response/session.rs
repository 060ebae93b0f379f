//! One response's rewriting, free of any host: which text stages it needs, whether its body is
//! held whole or rewritten chunk by chunk, and what replaces a body that cannot be read. The
//! adapter (or the stream state machine) only moves bytes and headers as told.
//!
//! - Stages: restore (stage 1) when the request issued `mask` placeholders, output inspection
//!   (stage 2) when the profile has `output_pii`. Neither: nothing is rewritten.
//! - A compressed non-stream body (`gzip`, `deflate`, `zstd`; the filter asks for identity, an
//!   upstream may still compress) is decoded (within the same 1 MiB bound), rewritten and sent
//!   decoded: the caller drops `content-encoding` at the headers ([`Session::drops_encoding`]).
//!   Any other coding, a compressed stream, or a body that does not decode cannot be read:
//!   withheld (502).
//! - JSON, and any other body that is not an event stream, is held whole (at most
//!   [`ObserverLimits::max_json_bytes`]) and rewritten at its end; the caller drops
//!   `content-length` at the headers and sets the new one with the body.
//! - An SSE stream is rewritten chunk by chunk; a block or an unreadable event ends it with an
//!   OpenAI-shaped error event and `[DONE]`, and every later byte is dropped.

use std::rc::Rc;

use super::outscan_stage::OutputInspection;
use super::restore::Restore;
use super::rewrite::{self, error_tail, Pipeline, RewriteError, SseRewriter};
use super::stage::TextStage;
use super::ObserverLimits;
use crate::core::audit::AuditRecord;
use crate::core::decode::{self, Coding, DecodeError};
use crate::core::pii::mask::Masks;
use crate::core::pii::Redactor;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;

/// How the body moves.
enum Body {
    /// Held whole, rewritten at its end: JSON.
    Json(Pipeline),
    /// Held whole, rewritten at its end as one text (neither JSON nor SSE).
    Text(Pipeline),
    /// Rewritten chunk by chunk.
    Sse(SseRewriter),
    /// A stream that already ended with an error event: later bytes are dropped.
    Ended(Pipeline),
}

/// The rewriting of one response.
pub(crate) struct Session {
    body: Body,
    /// The held body's content coding (decoded before it is read).
    coding: Option<Coding>,
}

/// What one stream chunk becomes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ChunkOut {
    /// The bytes to send instead of the chunk, when they differ from it.
    pub(crate) replace: Option<Vec<u8>>,
    /// A reason for the audit record (the stream was ended).
    pub(crate) reason: Option<Reason>,
}

/// The text stages a response needs: restore when `masks` holds placeholders (`input`: the
/// profile's request redactor, which names the masked entities), output inspection when the
/// profile inspects output (`output`: its engine).
pub(crate) fn stages(masks: Masks, input: Option<&Redactor>, output: Option<Rc<Redactor>>) -> Vec<Box<dyn TextStage>> {
    let mut out: Vec<Box<dyn TextStage>> = Vec::new();
    if !masks.is_empty() {
        let masked = input.map(Redactor::masked_names).unwrap_or_default();
        out.push(Box::new(Restore::new(masks, masked)));
    }
    if let Some(engine) = output {
        out.push(Box::new(OutputInspection::new(engine)));
    }
    out
}

/// The reply that replaces an answer that could not be read or that a stage blocked.
pub(crate) fn withheld(e: &RewriteError) -> Rejection {
    match e {
        RewriteError::Blocked(entity) => Rejection::new(
            502,
            "output_blocked",
            Reason::OutputBlocked,
            format!("openrouter-guard withheld this answer: it contained {entity}"),
        ),
        RewriteError::Unreadable(_) => Rejection::new(
            502,
            "response_unreadable",
            Reason::ResponseUnreadable,
            "openrouter-guard could not read this answer to restore or inspect it; it was withheld",
        ),
    }
}

impl Session {
    /// Response headers. `Ok(None)`: no stage, nothing to rewrite; `Err`: the reply replacing a
    /// response that cannot be read.
    pub(crate) fn start(
        stages: Vec<Box<dyn TextStage>>,
        streaming: bool,
        content_type: Option<&str>,
        encoding: Option<&str>,
    ) -> Result<Option<Session>, Rejection> {
        if stages.is_empty() {
            return Ok(None);
        }
        let coding = match encoding.map(decode::parse_coding) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(c))) if !streaming => Some(c),
            Some(_) => return Err(withheld(&RewriteError::Unreadable("encoded"))),
        };
        let pipeline = Pipeline::new(stages);
        let json = content_type.is_none_or(|c| {
            let media = c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        });
        let body = if streaming {
            // One event is held until complete, bounded like a held JSON body: a `/responses`
            // `response.completed` event carries the whole answer.
            Body::Sse(SseRewriter::new(pipeline, ObserverLimits::default().max_json_bytes))
        } else if json {
            Body::Json(pipeline)
        } else {
            Body::Text(pipeline)
        };
        Ok(Some(Session { body, coding }))
    }

    /// Whether the body arrives compressed and is sent decoded: the response's `content-encoding`
    /// must go (at the headers).
    pub(crate) fn drops_encoding(&self) -> bool {
        self.coding.is_some()
    }

    /// Whether the body is held whole until its end.
    pub(crate) fn holds_body(&self) -> bool {
        matches!(self.body, Body::Json(_) | Body::Text(_))
    }

    /// The reply for a held body over the size bound.
    pub(crate) fn too_large() -> Rejection {
        withheld(&RewriteError::Unreadable("too_large"))
    }

    /// The reply when a rewritten body could not be written back.
    pub(crate) fn write_failed() -> Rejection {
        withheld(&RewriteError::Unreadable("write_failed"))
    }

    /// The reply when a held body could not be read.
    pub(crate) fn read_failed() -> Rejection {
        withheld(&RewriteError::Unreadable("read_failed"))
    }

    /// A held body's end: `Ok(Some(new))` replaces it (with a new `content-length`), `Ok(None)`
    /// leaves it, `Err` is the reply that replaces the response.
    pub(crate) fn held_body(&mut self, body: &[u8]) -> Result<Option<Vec<u8>>, Rejection> {
        let decoded = match self.coding {
            Some(c) => Some(decode::decode(c, body, ObserverLimits::default().max_json_bytes).map_err(|e| {
                withheld(&RewriteError::Unreadable(if e == DecodeError::TooLarge {
                    "too_large"
                } else {
                    "bad_encoding"
                }))
            })?),
            None => None,
        };
        let plain = decoded.as_deref().unwrap_or(body);
        let result = match &mut self.body {
            Body::Json(p) => rewrite::rewrite_json(plain, p),
            Body::Text(p) => rewrite::rewrite_text(plain, p),
            Body::Sse(_) | Body::Ended(_) => return Ok(None),
        };
        // A decoded body goes on decoded even when no stage changed it (its coding is gone).
        Ok(result.map_err(|e| withheld(&e))?.or(decoded))
    }

    /// One stream chunk (`end`: the stream ends with it).
    pub(crate) fn stream_chunk(&mut self, chunk: &[u8], end: bool) -> ChunkOut {
        let result = match &mut self.body {
            Body::Sse(s) => s.on_chunk(chunk).and_then(|mut out| {
                if end {
                    out.extend(s.finish()?);
                }
                Ok(out)
            }),
            Body::Ended(_) => Ok(Vec::new()),
            Body::Json(_) | Body::Text(_) => return ChunkOut::default(),
        };
        match result {
            Ok(out) => ChunkOut { replace: (out.as_slice() != chunk).then_some(out), reason: None },
            Err(e) => {
                let r = withheld(&e);
                if let Body::Sse(s) = std::mem::replace(&mut self.body, Body::Ended(Pipeline::new(Vec::new()))) {
                    self.body = Body::Ended(s.into_pipeline());
                }
                ChunkOut { replace: Some(error_tail(&r)), reason: Some(r.reason) }
            }
        }
    }

    /// Adds every stage's counts to the audit record.
    pub(crate) fn record(&self, audit: &mut AuditRecord) {
        match &self.body {
            Body::Json(p) | Body::Text(p) | Body::Ended(p) => p.record(audit),
            Body::Sse(s) => s.pipeline().record(audit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restore_only() -> Vec<Box<dyn TextStage>> {
        let mut m = Masks::default();
        m.placeholder("EMAIL", "a@x.co");
        stages(m, None, None)
    }

    #[test]
    fn nothing_to_do_without_stages_and_an_unknown_coding_is_withheld() {
        assert!(stages(Masks::default(), None, None).is_empty());
        assert!(matches!(Session::start(Vec::new(), false, None, Some("br")), Ok(None)));
        let r = Session::start(restore_only(), false, Some("application/json"), Some("br")).err().unwrap();
        assert_eq!((r.status, r.reason), (502, Reason::ResponseUnreadable));
        let s = Session::start(restore_only(), false, Some("application/json"), Some("identity")).unwrap().unwrap();
        assert!(s.holds_body());
    }

    #[test]
    fn held_json_and_text_bodies_are_rewritten_and_bad_json_withheld() {
        let mut s =
            Session::start(restore_only(), false, Some("application/json; charset=utf-8"), None).unwrap().unwrap();
        let out = s.held_body(br#"{"a":"[EMAIL_1]"}"#).unwrap().unwrap();
        assert_eq!(out, br#"{"a":"a@x.co"}"#);
        assert_eq!(s.held_body(b"{").unwrap_err().reason, Reason::ResponseUnreadable);
        let mut s = Session::start(restore_only(), false, Some("text/plain"), None).unwrap().unwrap();
        assert_eq!(s.held_body(b"to [EMAIL_1]").unwrap().unwrap(), b"to a@x.co");
    }

    #[test]
    fn a_compressed_held_body_is_decoded_rewritten_and_sent_decoded() {
        use crate::core::decode::testenc;
        for (name, enc) in
            [("gzip", testenc::gzip as fn(&[u8]) -> Vec<u8>), ("deflate", testenc::zlib), ("zstd", testenc::zstd)]
        {
            let mut s = Session::start(restore_only(), false, Some("application/json"), Some(name)).unwrap().unwrap();
            assert!(s.drops_encoding());
            let out = s.held_body(&enc(br#"{"a":"[EMAIL_1]"}"#)).unwrap().unwrap();
            assert_eq!(out, br#"{"a":"a@x.co"}"#, "{name}");
            // Nothing to change: still sent decoded (the coding header is gone).
            assert_eq!(s.held_body(&enc(br#"{"a":"b"}"#)).unwrap().unwrap(), br#"{"a":"b"}"#);
            assert_eq!(s.held_body(b"not compressed").unwrap_err().reason, Reason::ResponseUnreadable);
        }
        assert!(Session::start(restore_only(), true, Some("text/event-stream"), Some("gzip")).is_err());
        assert!(Session::start(restore_only(), false, None, Some("br")).is_err());
    }

    #[test]
    fn a_stream_that_cannot_be_read_ends_with_an_error_event_and_drops_the_rest() {
        let mut s = Session::start(restore_only(), true, Some("text/event-stream"), None).unwrap().unwrap();
        assert!(!s.holds_body());
        assert_eq!(s.stream_chunk(b": ping\n\n", false), ChunkOut::default());
        let out =
            s.stream_chunk(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"[EMAIL_1]\"}}]}\n\n", false);
        assert!(String::from_utf8(out.replace.unwrap()).unwrap().contains("a@x.co"));
        // An event as large as a `/responses` `response.completed` with a long answer is still read.
        let text = format!("{} [EMAIL_1]", "word ".repeat(80_000));
        let event = format!("data: {}\n\n", serde_json::json!({"type": "response.completed", "text": text}));
        let out = s.stream_chunk(event.as_bytes(), false);
        assert!(out.reason.is_none() && String::from_utf8(out.replace.unwrap()).unwrap().contains(" a@x.co\""));
        let big = vec![b'x'; ObserverLimits::default().max_json_bytes + 1];
        let out = s.stream_chunk(&big, false);
        assert_eq!(out.reason, Some(Reason::ResponseUnreadable));
        assert!(out.replace.unwrap().ends_with(b"data: [DONE]\n\n"));
        assert_eq!(s.stream_chunk(b"data: more\n\n", true).replace, Some(Vec::new()));
    }
}
