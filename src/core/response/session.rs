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
//! - A body that is not a stream ([`sniff::is_stream`]) is held whole (at most
//!   [`ObserverLimits::max_json_bytes`]) and rewritten at its end in the grammar its bytes have
//!   (JSON, SSE or text, [`sniff`]); the caller drops `content-length` at the headers and sets the
//!   new one with the body.
//! - A stream is read in the grammar its first bytes have: an event stream is rewritten chunk by
//!   chunk (a block or an unreadable event ends it with an OpenAI-shaped error event and `[DONE]`,
//!   and every later byte is dropped); a JSON document is held to its end and rewritten whole.

use std::rc::Rc;

use super::outscan_stage::OutputInspection;
use super::restore::Restore;
use super::rewrite::{self, error_tail, Pipeline, RewriteError, SseRewriter};
use super::sniff::{self, Grammar};
use super::stage::TextStage;
use super::ObserverLimits;
use crate::core::audit::AuditRecord;
use crate::core::decode::{self, Coding, DecodeError};
use crate::core::pii::mask::Masks;
use crate::core::pii::Redactor;
use crate::core::reason::{Reason, Unreadable};
use crate::core::reply::Rejection;

/// How the body moves.
enum Body {
    /// Held whole, read at its end in the grammar its bytes have ([`sniff::held_grammar`]); `true`:
    /// labelled JSON, so anything but a JSON document is unreadable.
    Held(Pipeline, bool),
    /// A stream whose first bytes have not decided its grammar yet (empty, whitespace, part of a
    /// BOM): held here until they do.
    Sniffing(Pipeline, Vec<u8>),
    /// An event stream, rewritten chunk by chunk.
    Sse(SseRewriter),
    /// A stream that is one JSON document (a mislabelled answer, an error): held here, rewritten
    /// at its end.
    StreamJson(Pipeline, Vec<u8>),
    /// A stream that already ended with an error: later bytes are dropped.
    Ended(Pipeline),
}

impl Body {
    /// Ends the body: later bytes are dropped; the pipeline stays for its counts.
    fn end(&mut self) {
        let p = match std::mem::replace(self, Body::Ended(Pipeline::new(Vec::new()))) {
            Body::Held(p, _) | Body::Sniffing(p, _) | Body::StreamJson(p, _) | Body::Ended(p) => p,
            Body::Sse(s) => s.into_pipeline(),
        };
        *self = Body::Ended(p);
    }
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

/// Most bytes held to read one body or event.
fn max_bytes() -> usize {
    ObserverLimits::default().max_json_bytes
}

/// An event stream read whole: every event, then the stream's end.
fn sse_whole(s: &mut SseRewriter, body: &[u8]) -> Result<Vec<u8>, RewriteError> {
    let mut out = s.on_chunk(body)?;
    out.extend(s.finish()?);
    Ok(out)
}

impl Session {
    /// Response headers. `streaming`: the body is rewritten chunk by chunk
    /// ([`sniff::is_stream`]), else held whole. `Ok(None)`: no stage, nothing to rewrite; `Err`:
    /// the reply replacing a response that cannot be read. The content-type label decides nothing
    /// else: a body is read in the grammar its bytes have ([`sniff`]); a held body labelled JSON
    /// that is no JSON document (empty, an event stream, text) disagrees with its label: unreadable.
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
            Some(_) => return Err(withheld(&RewriteError::Unreadable(Unreadable::Encoded))),
        };
        let pipeline = Pipeline::new(stages);
        let body = if streaming {
            Body::Sniffing(pipeline, Vec::new())
        } else {
            Body::Held(pipeline, sniff::label_is_json(content_type))
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
        matches!(self.body, Body::Held(..))
    }

    /// The reply for a held body over the size bound.
    pub(crate) fn too_large() -> Rejection {
        withheld(&RewriteError::Unreadable(Unreadable::TooLarge))
    }

    /// The reply when a rewritten body could not be written back.
    pub(crate) fn write_failed() -> Rejection {
        withheld(&RewriteError::Unreadable(Unreadable::WriteFailed))
    }

    /// The reply when a held body could not be read.
    pub(crate) fn read_failed() -> Rejection {
        withheld(&RewriteError::Unreadable(Unreadable::ReadFailed))
    }

    /// A held body's end: `Ok(Some(new))` replaces it (with a new `content-length`), `Ok(None)`
    /// leaves it, `Err` is the reply that replaces the response.
    pub(crate) fn held_body(&mut self, body: &[u8]) -> Result<Option<Vec<u8>>, Rejection> {
        let decoded = match self.coding {
            Some(c) => Some(decode::decode(c, body, max_bytes()).map_err(|e| {
                withheld(&RewriteError::Unreadable(if e == DecodeError::TooLarge {
                    Unreadable::TooLarge
                } else {
                    Unreadable::BadEncoding
                }))
            })?),
            None => None,
        };
        let plain = decoded.as_deref().unwrap_or(body);
        let Body::Held(p, json_label) = &mut self.body else { return Ok(None) };
        let result = match sniff::held_grammar(plain) {
            Grammar::Json => rewrite::rewrite_json(sniff::strip_bom(plain), p),
            _ if *json_label => Err(RewriteError::Unreadable(Unreadable::BadJson)),
            Grammar::Text => rewrite::rewrite_text(plain, p),
            Grammar::Sse => {
                let events = sniff::strip_bom(plain);
                let mut s = SseRewriter::new(std::mem::replace(p, Pipeline::new(Vec::new())), max_bytes());
                let out = sse_whole(&mut s, events);
                *p = s.into_pipeline();
                out.map(|o| (o.as_slice() != events).then_some(o))
            }
        };
        // A decoded body goes on decoded even when no stage changed it (its coding is gone).
        Ok(result.map_err(|e| withheld(&e))?.or(decoded))
    }

    /// One stream chunk (`end`: the stream ends with it).
    pub(crate) fn stream_chunk(&mut self, chunk: &[u8], end: bool) -> ChunkOut {
        if matches!(self.body, Body::Held(..)) {
            return ChunkOut::default();
        }
        match self.stream_step(chunk, end) {
            Ok(out) => ChunkOut { replace: (out.as_slice() != chunk).then_some(out), reason: None },
            Err(e) => {
                let r = withheld(&e);
                // A JSON document gets the error as JSON, an event stream as an event and `[DONE]`.
                let json = matches!(self.body, Body::StreamJson(..));
                self.body.end();
                ChunkOut { replace: Some(if json { r.body() } else { error_tail(&r) }), reason: Some(r.reason) }
            }
        }
    }

    /// The bytes to send for one stream chunk.
    fn stream_step(&mut self, chunk: &[u8], end: bool) -> Result<Vec<u8>, RewriteError> {
        if let Body::Sniffing(_, buf) = &mut self.body {
            buf.extend_from_slice(chunk);
            let json = match sniff::starts_json(buf) {
                Some(json) => json,
                None if end => return Ok(std::mem::take(buf)),
                None if buf.len() > max_bytes() => return Err(RewriteError::Unreadable(Unreadable::TooLarge)),
                None => return Ok(Vec::new()),
            };
            let Body::Sniffing(p, buf) = std::mem::replace(&mut self.body, Body::Ended(Pipeline::new(Vec::new())))
            else {
                return Ok(Vec::new());
            };
            if json {
                self.body = Body::StreamJson(p, buf);
                return self.stream_step(&[], end);
            }
            self.body = Body::Sse(SseRewriter::new(p, max_bytes()));
            return self.stream_step(sniff::strip_bom(&buf), end);
        }
        match &mut self.body {
            Body::Sse(s) => {
                let mut out = s.on_chunk(chunk)?;
                if end {
                    out.extend(s.finish()?);
                }
                Ok(out)
            }
            Body::StreamJson(p, buf) => {
                buf.extend_from_slice(chunk);
                if buf.len() > max_bytes() {
                    return Err(RewriteError::Unreadable(Unreadable::TooLarge));
                }
                if !end {
                    return Ok(Vec::new());
                }
                match rewrite::rewrite_json(sniff::strip_bom(buf), p)? {
                    Some(new) => Ok(new),
                    None => Ok(std::mem::take(buf)),
                }
            }
            Body::Held(..) | Body::Sniffing(..) | Body::Ended(_) => Ok(Vec::new()),
        }
    }

    /// Adds every stage's counts to the audit record.
    pub(crate) fn record(&self, audit: &mut AuditRecord) {
        match &self.body {
            Body::Held(p, _) | Body::Sniffing(p, _) | Body::StreamJson(p, _) | Body::Ended(p) => p.record(audit),
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
        let r = Session::start(restore_only(), false, None, Some("br")).err().unwrap();
        assert_eq!((r.status, r.reason), (502, Reason::ResponseUnreadable));
        let s = Session::start(restore_only(), false, None, Some("identity")).unwrap().unwrap();
        assert!(s.holds_body());
    }

    #[test]
    fn held_json_and_text_bodies_are_rewritten_and_bad_json_withheld() {
        let mut s =
            Session::start(restore_only(), false, Some("application/json; charset=utf-8"), None).unwrap().unwrap();
        let out = s.held_body(br#"{"a":"[EMAIL_1]"}"#).unwrap().unwrap();
        assert_eq!(out, br#"{"a":"a@x.co"}"#);
        assert_eq!(s.held_body(b"{").unwrap_err().reason, Reason::ResponseUnreadable);
        // Labelled JSON and not a JSON document (a body gone at the trailers reads empty): unreadable.
        assert_eq!(s.held_body(b"").unwrap_err().reason, Reason::ResponseUnreadable);
        assert_eq!(s.held_body(b"data: {}\n\n").unwrap_err().reason, Reason::ResponseUnreadable);
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
        assert!(Session::start(restore_only(), true, None, Some("gzip")).is_err());
        assert!(Session::start(restore_only(), false, None, Some("br")).is_err());
    }

    #[test]
    fn a_stream_that_cannot_be_read_ends_with_an_error_event_and_drops_the_rest() {
        let mut s = Session::start(restore_only(), true, None, None).unwrap().unwrap();
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

#[cfg(test)]
#[path = "session_tests.rs"]
mod grammar_tests;
