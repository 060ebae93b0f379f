//! The response side's rewriting: when the request issued `mask` placeholders or the profile
//! inspects output (`output_pii`), the response body goes through the core's text pipeline ([`crate::core::response::rewrite`]) before the client
//! sees it. JSON (and any other non-stream body) is held whole and replaced once, with an exact
//! `content-length`; an SSE stream is rewritten chunk by chunk (each callback's bytes replaced by
//! what may be sent now). A held body in gzip, deflate or zstd (an upstream that ignored
//! `accept-encoding: identity`) is decoded first and forwarded decoded. What cannot be read is
//! never passed on: a compressed stream, another coding, or a body over the size bound is
//! replaced by a 502; a stream a stage blocks, or that cannot be read, ends with an OpenAI-shaped
//! error event and `[DONE]`.

use proxy_wasm::types::BufferType;

use crate::core::decode::{self, Coding, DecodeError};
use crate::core::reply::Rejection;
use crate::core::response::outscan_stage::{OutputInspection, REASON_OUTPUT_BLOCKED};
use crate::core::response::restore::Restore;
use crate::core::response::rewrite::{self, error_tail, Pipeline, RewriteError, SseRewriter};
use crate::core::response::stage::TextStage;
use crate::core::response::ObserverLimits;
use crate::wasm::host;
use crate::wasm::http::Guard;

/// Audit reason: the answer could not be read for restoring placeholders or inspecting output
/// (compressed, too large, not parseable); it was withheld.
pub(super) const REASON_UNREADABLE: &str = "response_unreadable";

/// How a response body is rewritten.
pub(crate) enum Rewrite {
    /// Held whole, rewritten at its end: JSON; decoded first when it came in a content coding
    /// (then forwarded decoded: `content-encoding` was removed with the headers).
    Json(Pipeline, Option<Coding>),
    /// Held whole, rewritten at its end as one text (neither JSON nor SSE); decoded like `Json`.
    Text(Pipeline, Option<Coding>),
    /// Rewritten chunk by chunk.
    Sse(SseRewriter),
    /// A stream that already ended with an error event: later bytes are dropped.
    Ended(Pipeline),
}

impl Rewrite {
    /// The pipeline (for the audit counts).
    pub(crate) fn pipeline(&self) -> &Pipeline {
        match self {
            Rewrite::Json(p, _) | Rewrite::Text(p, _) | Rewrite::Ended(p) => p,
            Rewrite::Sse(s) => s.pipeline(),
        }
    }

    /// Whether the body is held whole.
    pub(crate) fn holds_body(&self) -> bool {
        matches!(self, Rewrite::Json(..) | Rewrite::Text(..))
    }
}

/// The 502 that replaces an answer the pipeline could not read or that a stage blocked.
fn withheld(e: &RewriteError) -> Rejection {
    match e {
        RewriteError::Blocked(entity) => Rejection::new(
            502,
            "output_blocked",
            REASON_OUTPUT_BLOCKED,
            format!("openrouter-guard withheld this answer: it contained {entity}"),
        ),
        RewriteError::Unreadable(_) => Rejection::new(
            502,
            "response_unreadable",
            REASON_UNREADABLE,
            "openrouter-guard could not read this answer to restore or inspect it; it was withheld",
        ),
    }
}

impl Guard {
    /// The rewriting a response needs, if any (response headers of a governed request). `Err` is
    /// the reply that replaces a response that cannot be read.
    pub(super) fn start_rewrite(
        &mut self,
        streaming: bool,
        content_type: Option<&str>,
        encoding: Option<&str>,
    ) -> Result<Option<Rewrite>, Rejection> {
        let profile = self.plan.as_ref().and_then(|p| self.policy.profiles.get(p.profile));
        let output = profile.and_then(|p| p.output.clone());
        if self.masks.is_empty() && output.is_none() {
            return Ok(None);
        }
        // Stage 1 restores the request's placeholders; stage 2 inspects what the model wrote and
        // leaves the restored values alone.
        let mut stages: Vec<Box<dyn TextStage>> = Vec::new();
        if !self.masks.is_empty() {
            let masked = profile.map(|p| p.redactor.masked_names()).unwrap_or_default();
            stages.push(Box::new(Restore::new(std::mem::take(&mut self.masks), masked)));
        }
        if let Some(r) = output {
            stages.push(Box::new(OutputInspection::new(r)));
        }
        let pipeline = Pipeline::new(stages);
        // The filter asked for identity (core::request::ACCEPT_ENCODING). A held body that came
        // compressed anyway in a coding the core decodes is decoded, rewritten and forwarded
        // decoded; a compressed stream, or any other coding, cannot be read: withheld.
        let coding = decode::parse_coding(encoding.unwrap_or_default())
            .ok()
            .filter(|c| !(streaming && c.is_some()))
            .ok_or_else(|| withheld(&RewriteError::Unreadable("encoded")))?;
        if coding.is_some() && host::remove_response_header("content-encoding").is_err() {
            return Err(withheld(&RewriteError::Unreadable("write_failed")));
        }
        // The length changes: drop it (a held body gets its exact length back at its end).
        let _ = host::remove_response_header("content-length");
        let json = content_type.is_none_or(|c| {
            let media = c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        });
        Ok(Some(if streaming {
            Rewrite::Sse(SseRewriter::new(pipeline, ObserverLimits::default().max_sse_line))
        } else if json {
            Rewrite::Json(pipeline, coding)
        } else {
            Rewrite::Text(pipeline, coding)
        }))
    }

    /// A held body's end: rewrite it whole. Returns the reply that replaces it when it cannot be
    /// read or a stage blocks it.
    pub(super) fn rewrite_held(&mut self, body: &[u8]) -> Result<(), Rejection> {
        let Some(state) = self.response.as_mut() else { return Ok(()) };
        let (p, coding, json) = match state.rewrite.as_mut() {
            Some(Rewrite::Json(p, coding)) => (p, *coding, true),
            Some(Rewrite::Text(p, coding)) => (p, *coding, false),
            _ => return Ok(()),
        };
        let decoded = match coding {
            None => None,
            Some(c) => Some(decode::decode(c, body, ObserverLimits::default().max_json_bytes).map_err(|e| {
                withheld(&RewriteError::Unreadable(if e == DecodeError::TooLarge {
                    "too_large"
                } else {
                    "bad_encoding"
                }))
            })?),
        };
        let plain = decoded.as_deref().unwrap_or(body);
        let result = if json { rewrite::rewrite_json(plain, p) } else { rewrite::rewrite_text(plain, p) };
        // A decoded body is forwarded decoded, rewritten or not (its content-encoding is gone).
        let result = match (result, decoded) {
            (Ok(None), Some(d)) => Ok(Some(d)),
            (r, _) => r,
        };
        match result {
            Ok(None) => Ok(()),
            Ok(Some(new)) => {
                let written = host::replace_buffer(BufferType::HttpResponseBody, body.len(), &new)
                    .and_then(|()| host::set_response_header("content-length", &new.len().to_string()));
                written.map_err(|_| withheld(&RewriteError::Unreadable("write_failed")))
            }
            Err(e) => Err(withheld(&e)),
        }
    }

    /// One stream chunk (`chunk` = the bytes of this callback); `end` = the stream ends here.
    pub(super) fn rewrite_stream(&mut self, chunk: &[u8], end: bool) {
        let Some(state) = self.response.as_mut() else { return };
        let Some(rw) = state.rewrite.as_mut() else { return };
        let result = match rw {
            Rewrite::Sse(s) => s.on_chunk(chunk).and_then(|mut out| {
                if end {
                    out.extend(s.finish()?);
                }
                Ok(out)
            }),
            Rewrite::Ended(_) => Ok(Vec::new()),
            Rewrite::Json(..) | Rewrite::Text(..) => return,
        };
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let reason = match &e {
                    RewriteError::Blocked(_) => REASON_OUTPUT_BLOCKED,
                    RewriteError::Unreadable(_) => REASON_UNREADABLE,
                };
                let tail = error_tail(&withheld(&e));
                if let Rewrite::Sse(s) = std::mem::replace(rw, Rewrite::Ended(Pipeline::new(Vec::new()))) {
                    *rw = Rewrite::Ended(s.into_pipeline());
                }
                self.audit.reason(reason);
                tail
            }
        };
        if out.as_slice() != chunk {
            let _ = host::replace_buffer(BufferType::HttpResponseBody, chunk.len(), &out);
        }
    }
}
