//! The response side's rewriting: moves bytes and headers as the core's
//! [`Session`](crate::core::response::session::Session) decides (restore of `mask` placeholders,
//! output inspection). A held body is replaced once, with an exact `content-length`; a stream's
//! chunks are replaced as they pass.

use proxy_wasm::types::BufferType;

use crate::core::reply::Rejection;
use crate::core::response::session::{self, Session};
use crate::wasm::host;
use crate::wasm::http::Guard;

impl Guard {
    /// The rewriting a response needs, if any (response headers of a governed request). `Err` is
    /// the reply that replaces a response that cannot be read.
    pub(super) fn start_rewrite(
        &mut self,
        streaming: bool,
        content_type: Option<&str>,
        encoding: Option<&str>,
    ) -> Result<Option<Session>, Rejection> {
        let profile = self.plan.as_ref().and_then(|p| self.policy.profiles.get(p.profile));
        let stages = session::stages(std::mem::take(&mut self.masks), profile);
        let session = Session::start(stages, streaming, content_type, encoding)?;
        if session.as_ref().is_some_and(Session::drops_encoding)
            && host::remove_response_header("content-encoding").is_err()
        {
            return Err(Session::write_failed());
        }
        if session.is_some() {
            // The length changes: drop it (a held body gets its exact length back at its end).
            let _ = host::remove_response_header("content-length");
        }
        Ok(session)
    }

    /// A held body's end: rewrite it whole. Returns the reply that replaces it when it cannot be
    /// read or a stage blocks it.
    pub(super) fn rewrite_held(&mut self, body: &[u8]) -> Result<(), Rejection> {
        let Some(session) = self.response.as_mut().and_then(|s| s.rewrite.as_mut()) else { return Ok(()) };
        let Some(new) = session.held_body(body)? else { return Ok(()) };
        host::replace_buffer(BufferType::HttpResponseBody, body.len(), &new)
            .and_then(|()| host::set_response_header("content-length", &new.len().to_string()))
            .map_err(|_| Session::write_failed())
    }

    /// One stream chunk (`chunk` = the bytes of this callback); `end` = the stream ends here.
    pub(super) fn rewrite_stream(&mut self, chunk: &[u8], end: bool) {
        let Some(session) = self.response.as_mut().and_then(|s| s.rewrite.as_mut()) else { return };
        let out = session.stream_chunk(chunk, end);
        if let Some(reason) = out.reason {
            self.audit.reason(reason);
        }
        if let Some(bytes) = out.replace {
            let _ = host::replace_buffer(BufferType::HttpResponseBody, chunk.len(), &bytes);
        }
    }
}
