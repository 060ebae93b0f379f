//! The response side of `Guard`: feeds headers and body chunks to the core's
//! [`ResponseObserver`] without holding streams back, and folds the summary into the audit record.

use proxy_wasm::types::{Action, BufferType, MapType};

use crate::core::audit::{Decision, ResponseFields};
use crate::core::headers::{response_text, REASON_RESPONSE};
use crate::core::reply::Rejection;
use crate::core::response::session::Session;
use crate::core::response::{ObserverLimits, ResponseObserver, Verdict};
use crate::core::served::{check_served, unapproved_reply, verdict_name};
use crate::wasm::host;
use crate::wasm::http::{Guard, REASON_BYPASSED};

/// Per-response state.
pub struct ResponseState {
    observer: ResponseObserver,
    /// Whole-body hold: `enforce_served` or rewriting (non-streaming responses only).
    held: bool,
    /// The served provider is enforced (an unapproved one is replaced by a 502).
    enforce: bool,
    /// Rewriting of the body (restore of `mask` placeholders), when the request issued any.
    pub(super) rewrite: Option<Session>,
    /// Whether the response came from the upstream (not a reply Envoy generated itself, such as
    /// a 503 after an upstream reset or a 413 from its buffer limit).
    from_upstream: bool,
    finished: bool,
}

impl Guard {
    /// Response headers: start observing; hold them only when the profile enforces the served
    /// provider on a non-streaming response (it may have to be replaced by a 502).
    pub(super) fn observe_response_headers(&mut self, end_of_stream: bool) -> Action {
        if self.hold.was_refused(self.context_id) {
            // The hold watch answered this stream (wasm/hold.rs): this is its reply.
            self.replied = true;
            return Action::Continue;
        }
        let now = host::now_ns();
        if self.start_ns > 0 {
            self.audit.latency_first_byte_ms = Some(now.saturating_sub(self.start_ns) / 1_000_000);
        }
        // One host call for all response headers, read as bytes: an upstream may send any byte.
        let headers = host::headers(MapType::HttpResponseHeaders).unwrap_or_default();
        let mut lossy = false;
        let mut find = |name: &str| -> Option<String> {
            let (_, v) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))?;
            let (text, was_lossy) = response_text(v);
            lossy |= was_lossy;
            Some(text)
        };
        // A status or generation id that is not UTF-8 is treated as absent; a content type or
        // encoding as lossy text, which never equals a known token (the body is then not read).
        let status_text = find(":status");
        let content_type = find("content-type");
        let encoding = find("content-encoding");
        let generation_text = find("x-generation-id");
        let status = status_text.as_deref().and_then(|s| s.parse::<u16>().ok());
        let generation = generation_text.filter(|g| !g.contains('\u{fffd}'));
        if lossy {
            self.audit.reason(REASON_RESPONSE);
        }
        // Envoy marks responses relayed from the upstream with code details `via_upstream`.
        let from_upstream = host::property_string(&["response", "code_details"]).is_none_or(|d| d == "via_upstream");
        if !self.decided && (from_upstream || Self::reached_upstream()) {
            // Response headers for a request no callback decided: the request went upstream
            // unread. Replace the response: the client must not receive what an undecided
            // request produced.
            self.lost_control("response headers");
            self.audit.response.upstream_status = status;
            let r = Rejection::new(
                502,
                "internal_error",
                REASON_BYPASSED,
                "openrouter-guard lost control of this request; the response was withheld",
            );
            self.audit.status = Some(r.status);
            self.replied = true;
            self.decided = true;
            if host::send_json(r.status, &r.body()).is_err() {
                let _ = host::reset_response();
            }
            return Action::Pause;
        }
        if let Some(s) = status {
            self.audit.status = Some(s);
        }
        let content_type = content_type.as_deref();
        let encoding = encoding.as_deref();
        let generation = generation.as_deref();
        let mut observer = ResponseObserver::new(ObserverLimits::default());
        observer.on_headers(status.unwrap_or(0), content_type, encoding, generation);
        let streaming = content_type.is_some_and(|c| c.to_ascii_lowercase().starts_with("text/event-stream"));
        let enforce =
            self.plan.as_ref().and_then(|p| self.policy.profiles.get(p.profile)).is_some_and(|p| p.enforce_served);
        let enforce = enforce && !streaming && !end_of_stream && status.is_some_and(|s| (200..300).contains(&s));
        let rewrite = match self.start_rewrite(streaming, content_type, encoding) {
            Ok(r) => r,
            Err(r) => {
                self.response = Some(ResponseState {
                    observer,
                    held: false,
                    enforce: false,
                    rewrite: None,
                    from_upstream,
                    finished: false,
                });
                return self.withhold_response(&r);
            }
        };
        let held = enforce || (!end_of_stream && rewrite.as_ref().is_some_and(Session::holds_body));
        self.response = Some(ResponseState { observer, held, enforce, rewrite, from_upstream, finished: false });
        if end_of_stream {
            return self.finish_response(true, true);
        }
        if held {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    /// Response body: streams pass chunk by chunk (each callback sees only new bytes); a held
    /// body is read once, whole, at its end.
    pub(super) fn observe_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(state) = self.response.as_mut() else { return Action::Continue };
        if state.held && !end_of_stream {
            if body_size <= ObserverLimits::default().max_json_bytes {
                return Action::Pause;
            }
            // Too large to inspect: withhold it now rather than buffer up to Envoy's own limit.
            let rewriting = state.rewrite.is_some();
            let action = self.finish_response(false, true);
            self.audit.response.response_not_inspected = Some(crate::core::response::reason::TOO_LARGE);
            if rewriting && !self.replied {
                return self.withhold_response(&Session::too_large());
            }
            return action;
        }
        let held = state.held;
        if let Ok(chunk) = host::buffer(BufferType::HttpResponseBody, body_size) {
            state.observer.on_chunk(&chunk);
            if held {
                if let Err(r) = self.rewrite_held(&chunk) {
                    self.finish_response(true, false);
                    return self.withhold_response(&r);
                }
            } else {
                self.rewrite_stream(&chunk, end_of_stream);
            }
        }
        if end_of_stream {
            return self.finish_response(true, true);
        }
        Action::Continue
    }

    /// Ends observation once (complete = the response ended normally); copies the summary and
    /// the served-provider verdict into the audit record. A held response that is not approved
    /// (or could not be checked) is replaced by a 502 — only when `may_reply`: from the log
    /// callback the stream is already being torn down and a reply would crash Envoy.
    pub(super) fn finish_response(&mut self, complete: bool, may_reply: bool) -> Action {
        let Some(state) = self.response.as_mut() else { return Action::Continue };
        if state.finished {
            return Action::Continue;
        }
        state.finished = true;
        let held = state.held && state.enforce;
        if let Some(rw) = &state.rewrite {
            rw.record(&mut self.audit);
        }
        let Some(state) = self.response.as_mut() else { return Action::Continue };
        let summary = state.observer.finish(complete);
        if let Some(coding) = summary.decoded_from {
            self.audit.reason(coding.response_note());
        }
        let mut fields = ResponseFields::from_summary(&summary);
        if !state.from_upstream {
            fields.upstream_status = None;
        }
        let profile = self.plan.as_ref().and_then(|p| self.policy.profiles.get(p.profile));
        let mut unapproved = false;
        if let Some(profile) = profile {
            let verdict = check_served(profile, &summary);
            fields.provider_verdict = Some(verdict_name(verdict.verdict));
            fields.provider_verdict_reason = Some(verdict.reason);
            // Under enforcement anything short of "approved" (unapproved, no provider reported, body
            // not readable) is withheld: fail closed.
            unapproved = verdict.verdict != Verdict::Approved;
        }
        self.audit.response = fields;
        if held && unapproved && may_reply {
            self.audit.reason("served_unapproved");
            self.audit.decision = Decision::Deny;
            let r = unapproved_reply();
            self.audit.status = Some(r.status);
            self.replied = true;
            if host::send_json(r.status, &r.body()).is_err() {
                let _ = host::reset_response();
            }
            return Action::Pause;
        }
        Action::Continue
    }

    /// Replaces the response with `r` (response headers still held): the answer is withheld.
    pub(super) fn withhold_response(&mut self, r: &Rejection) -> Action {
        self.audit.reason(r.reason);
        self.audit.decision = Decision::Deny;
        self.audit.status = Some(r.status);
        self.replied = true;
        if host::send_json(r.status, &r.body()).is_err() {
            let _ = host::reset_response();
        }
        Action::Pause
    }
}
