//! The response side's rewriting, as the core's [`Session`] decides it (restore of `mask`
//! placeholders, output inspection, decoding a held gzip/deflate/zstd body): this turns its
//! answers into edits and replies. A held body is replaced once, with an exact `content-length`;
//! a stream's chunks are replaced as they pass; what cannot be read is withheld (502).

use super::{Edit, Effect, Flow, Phase, Stream};
use crate::core::audit::{AuditRecord, Decision};
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::response::session::{self, Session};

/// A held body's end: the edits that replace it whole. `Err` is the reply that replaces an
/// answer that cannot be read or that a stage blocks.
pub(crate) fn held(session: &mut Session, body: &[u8], fx: &mut Vec<Effect>) -> Result<(), Rejection> {
    let Some(new) = session.held_body(body)? else { return Ok(()) };
    // A failed write withholds the answer (Stream::edit_failed).
    let on_fail = Some(Reason::ResponseUnreadable);
    let len = new.len().to_string();
    fx.push(Effect::Edit { edit: Edit::ReplaceResponseBody { old_len: body.len(), bytes: new }, on_fail });
    fx.push(Effect::Edit { edit: Edit::SetResponseHeader("content-length", len), on_fail });
    Ok(())
}

/// One stream chunk (`chunk` = the bytes of this callback); `end` = the stream ends here. A
/// blocked or unreadable stream ends with an error event and `[DONE]` (reason recorded).
pub(crate) fn chunk(session: &mut Session, chunk: &[u8], end: bool, audit: &mut AuditRecord, fx: &mut Vec<Effect>) {
    let out = session.stream_chunk(chunk, end);
    if let Some(reason) = out.reason {
        audit.reason(reason);
    }
    if let Some(bytes) = out.replace {
        fx.push(Effect::Edit { edit: Edit::ReplaceResponseBody { old_len: chunk.len(), bytes }, on_fail: None });
    }
}

impl Stream {
    /// The rewriting a response needs, if any (response headers of a governed request). `Err` is
    /// the reply that replaces a response that cannot be read.
    pub(super) fn start_rewrite(
        &mut self,
        streaming: bool,
        content_type: Option<&str>,
        encoding: Option<&str>,
        fx: &mut Vec<Effect>,
    ) -> Result<Option<Session>, Rejection> {
        let profile = self.plan.as_ref().and_then(|p| self.policy.profiles.get(p.profile));
        let (input, output) = (profile.map(|p| &p.redactor), profile.and_then(|p| p.output.clone()));
        let stages = session::stages(std::mem::take(&mut self.masks), input, output);
        let session = Session::start(stages, streaming, content_type, encoding)?;
        if let Some(s) = &session {
            if s.drops_encoding() {
                // Sent decoded; its failure withholds the answer (Stream::edit_failed).
                let edit = Edit::RemoveResponseHeader("content-encoding");
                fx.push(Effect::Edit { edit, on_fail: Some(Reason::ResponseUnreadable) });
            }
            // The length changes: drop it (a held body gets its exact length back at its end).
            fx.push(Effect::Edit { edit: Edit::RemoveResponseHeader("content-length"), on_fail: None });
        }
        Ok(session)
    }

    /// Replaces the response with `r` (response headers still held): the answer is withheld.
    pub(super) fn withhold_response(&mut self, r: &Rejection, fx: &mut Vec<Effect>) -> Flow {
        self.audit.reason(r.reason);
        self.audit.decision = Decision::Deny;
        self.audit.status = Some(r.status);
        self.phase = Phase::Replied;
        fx.push(Effect::ReplaceResponse(r.clone()));
        Flow::Pause
    }
}
