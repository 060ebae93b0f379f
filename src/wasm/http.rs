//! `Guard`: one per HTTP stream. Each callback reads what Envoy has, calls the core, and applies
//! the outcome (local reply, body replacement, header edits, audit record).
//!
//! Which callbacks decide (docs/design.md, "No path escapes the decision"): a governed request is
//! held from its headers on; the decision is taken exactly where the request ends — the headers
//! callback when they carry end-of-stream, the body callback with end-of-stream (last DATA frame,
//! an empty DATA frame, content-length reached, last chunk), or the trailers callback (HTTP/2
//! trailers; HTTP/1.1 chunked trailers when the codec keeps them). Response headers that arrive
//! for a governed request no callback decided mean the filter lost control: they are replaced.

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};

use crate::core::audit::{AuditRecord, Decision};
use crate::core::chain::AuditChain;
use crate::core::headers::{self, REASON_PASSED};
use crate::core::pii::mask::Masks;
use crate::core::policy::Policy;
use crate::core::reply::Rejection;
use crate::core::request::{self, Plan, RequestHead};
use crate::core::spend::{self, Reservation};
use crate::core::timefmt::rfc3339_millis;
use crate::wasm::hold::HoldWatch;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;
use crate::wasm::response::ResponseState;
use crate::wasm::store::SharedStore;

/// Audit reason and metric for a stream whose request reached the upstream without a decision.
pub(super) const REASON_BYPASSED: &str = "filter_bypassed";
/// Audit note: request trailers were removed before forwarding.
const REASON_TRAILERS_DROPPED: &str = "request_trailers_dropped";
/// Counter of streams that took a path the filter does not expect (docs/metrics.md).
pub(super) const METRIC_UNEXPECTED: &str = "openrouter_guard_unexpected_path_total";

/// Per-stream state.
pub struct Guard {
    pub(super) context_id: u32,
    pub(super) policy: Rc<Policy>,
    pub(super) metrics: Rc<Metrics>,
    pub(super) chain: Rc<RefCell<AuditChain>>,
    pub(super) hold: Rc<HoldWatch>,
    /// Set by the first request-headers callback.
    headers_seen: bool,
    /// Whether this request is bound for OpenRouter.
    pub(super) governed: bool,
    /// Set once the filter answered the request itself.
    pub(super) replied: bool,
    /// Set once the request reached a decision (forwarded or answered).
    pub(super) decided: bool,
    /// Set once the audit record was published (exactly once per governed request).
    pub(super) published: bool,
    pub(super) plan: Option<Plan>,
    pub(super) audit: AuditRecord,
    /// Size of the buffered request body at the last body callback.
    body_seen: usize,
    /// Nanoseconds spent inside filter callbacks.
    pub(super) busy_ns: u64,
    /// When the request headers arrived (ns since the epoch).
    pub(super) start_ns: u64,
    /// Response-side state, once response headers arrive.
    pub(super) response: Option<ResponseState>,
    /// The request's `mask` placeholders (in this stream's memory only), until the response
    /// pipeline takes them.
    pub(super) masks: Masks,
    /// Budget reservations held while the request is in flight; released in `on_log`.
    reservations: Vec<Reservation>,
}

impl Guard {
    /// A stream context sharing `policy`.
    pub fn new(
        context_id: u32,
        policy: Rc<Policy>,
        metrics: Rc<Metrics>,
        chain: Rc<RefCell<AuditChain>>,
        hold: Rc<HoldWatch>,
    ) -> Self {
        Self {
            context_id,
            policy,
            metrics,
            chain,
            hold,
            headers_seen: false,
            governed: false,
            replied: false,
            decided: false,
            published: false,
            plan: None,
            audit: AuditRecord::new(),
            body_seen: 0,
            busy_ns: 0,
            start_ns: 0,
            response: None,
            masks: Masks::default(),
            reservations: Vec::new(),
        }
    }

    /// Answers the request with `r`. Returns Pause: nothing more of this request may move.
    pub(super) fn reply(&mut self, r: &Rejection) -> Action {
        self.replied = true;
        self.decided = true;
        self.hold.release(self.context_id);
        if let Err(e) = host::send_reply(r) {
            host::log(LogLevel::Error, &format!("#{} openrouter-guard: local reply failed: {e:?}", self.context_id));
        }
        Action::Pause
    }

    /// Records `r` in the audit record and answers with it.
    fn refuse(&mut self, r: &Rejection) -> Action {
        request::record_rejection(&mut self.audit, r);
        self.reply(r)
    }

    /// Seals the audit record into this VM's chain and publishes it as filter state. Called once,
    /// from `on_log`, which Envoy runs before its access loggers (checked in Envoy 1.40), on every
    /// path including local replies; sealing there keeps chain order equal to log order.
    fn publish_audit(&mut self) {
        self.audit.filter_us = self.busy_ns / 1000;
        let json = self.audit.to_json();
        let sealed = self.chain.try_borrow_mut().map(|mut c| {
            let line = c.seal_object(&json);
            (line, c.chain_id().to_owned(), c.last_seq())
        });
        let line = match sealed {
            Ok((Ok(line), chain_id, seq)) => {
                // Checkpoint of the chain head outside the log file (docs/audit-chain.md).
                self.metrics.set_gauge("openrouter_guard_audit_chain_last_seq", &[("chain", &chain_id)], seq);
                line
            }
            _ => json, // unsealed beats missing; the verifier reports the gap
        };
        self.metrics.count("openrouter_guard_audit_records_total", &[], 1);
        if let Err(e) = host::set_audit(&line) {
            host::log(
                LogLevel::Error,
                &format!("#{} openrouter-guard: cannot publish audit record: {e:?}", self.context_id),
            );
        }
    }

    fn on_headers(&mut self, end_of_stream: bool) -> Action {
        // Read as bytes: a value that is not UTF-8 (Latin-1 `é` from Python clients) is normal
        // network input. Such an authority matches no configured host name; the cluster still can.
        let authority = host::header_bytes(MapType::HttpRequestHeaders, ":authority");
        let authority = authority.as_deref().and_then(|a| std::str::from_utf8(a).ok());
        let traffic = &self.policy.traffic;
        // The cluster is looked up only when the host alone does not decide (one host call less
        // on every governed request).
        let governed = traffic.host_is_governed(authority)
            || (traffic.has_clusters()
                && traffic.cluster_is_governed(host::property_string(&["xds", "cluster_name"]).as_deref()));
        if !governed {
            return Action::Continue;
        }
        self.governed = true;
        self.start_ns = host::now_ns();
        self.audit.ts = rfc3339_millis(self.start_ns / 1_000_000);
        let raw = match host::headers(MapType::HttpRequestHeaders) {
            Ok(h) => h,
            Err(_) => return self.refuse(&Rejection::internal("read_headers_failed")),
        };
        let policy = Rc::clone(&self.policy);
        let mut interpreted = vec![policy.profile_header.as_str()];
        interpreted.extend(policy.user_header.as_deref());
        interpreted.extend(policy.spend.team_header.as_deref());
        let text = headers::request_text(&raw, &interpreted);
        if text.passed_opaque > 0 {
            self.audit.reason(REASON_PASSED);
        }
        if let Some(r) = &text.refused {
            // Only for the audit record: the refusal below wins over any path problem.
            let _ = request::describe_head(&text.headers, &mut self.audit);
            // Best effort: the request is refused either way.
            let _ = self.scrub_logged_headers(&text.headers);
            return self.refuse(r);
        }
        let head = RequestHead { headers: &text.headers, end_of_stream };
        let head = request::on_head(&policy, head, &mut self.audit);
        if let Err(r) = self.scrub_logged_headers(&text.headers) {
            return self.refuse(&r);
        }
        let plan = match head {
            Ok(p) => p,
            Err(r) => return self.reply(&r),
        };
        // The upstream must get the path the request was classified by.
        let edited = plan
            .rewrite_path
            .as_deref()
            .map_or(Ok(()), |p| host::set_request_header(":path", p))
            .and_then(|()| plan.remove_headers.iter().try_for_each(|n| host::remove_request_header(n)))
            .and_then(|()| plan.set_headers.iter().try_for_each(|(n, v)| host::set_request_header(n, v)));
        if edited.is_err() {
            return self.refuse(&Rejection::internal("header_edit_failed"));
        }
        #[cfg(feature = "test-hooks")]
        if let Some(action) = crate::wasm::test_hooks::on_governed_headers() {
            self.plan = Some(plan);
            return action;
        }
        if end_of_stream {
            // No body follows: decide now, on an empty body.
            if let Err(r) = request::on_body(&policy, &plan, &[], &mut self.audit) {
                return self.reply(&r);
            }
            self.plan = Some(plan);
            self.decided = true;
            return Action::Continue;
        }
        self.plan = Some(plan);
        // Hold the headers (needs allow_on_headers_stop_iteration) so no upstream request starts
        // before the body is decided. The watch notices when Envoy cannot hold them (wasm/hold.rs).
        self.hold.watch(self.context_id);
        Action::Pause
    }

    /// Envoy's operator log prints `x-request-id` and the path: replace a request id the record
    /// would not carry as sent by its recorded (hashed) form, and publish the recorded path as
    /// filter state `wasm.log_path` for the log to print (docs/audit.md, "Envoy's own logs").
    fn scrub_logged_headers(&mut self, headers: &[(String, String)]) -> Result<(), Rejection> {
        let raw_id = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-request-id")).map(|(_, v)| v.as_str());
        if let (Some(raw), Some(recorded)) = (raw_id, self.audit.request_id.as_deref()) {
            if raw != recorded && host::set_request_header("x-request-id", recorded).is_err() {
                return Err(Rejection::internal("header_edit_failed"));
            }
        }
        host::set_log_path(self.audit.path.as_deref().unwrap_or("-"))
            .map_err(|_| Rejection::internal("log_path_failed"))
    }

    fn on_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.hold.release(self.context_id);
        self.body_seen = body_size;
        if body_size as u64 > self.policy.max_body_bytes {
            let r = request::body_too_large(&self.policy, &mut self.audit);
            return self.reply(&r);
        }
        if !end_of_stream {
            return Action::Pause; // keep buffering
        }
        match host::buffer(BufferType::HttpRequestBody, body_size) {
            Ok(body) => self.decide(&body),
            Err(_) => self.refuse(&Rejection::internal("read_body_failed")),
        }
    }

    /// The request ends with trailers: the body buffered so far is the whole body (Envoy 1.40
    /// keeps it readable and replaceable here, and the headers are still held). Trailers are
    /// never forwarded unread: they are removed, then the body is decided like at end-of-stream.
    fn on_trailers(&mut self) -> Action {
        self.hold.release(self.context_id);
        match host::drop_request_trailers() {
            Ok(0) => {}
            Ok(_) => self.audit.reason(REASON_TRAILERS_DROPPED),
            Err(_) => return self.refuse(&Rejection::internal("trailers_edit_failed")),
        }
        // Read one byte past the limit to tell "at the limit" from "over it".
        let limit = usize::try_from(self.policy.max_body_bytes).unwrap_or(usize::MAX).saturating_add(1);
        match host::buffer(BufferType::HttpRequestBody, limit.max(self.body_seen)) {
            Ok(body) if body.len() as u64 > self.policy.max_body_bytes => {
                let r = request::body_too_large(&self.policy, &mut self.audit);
                self.reply(&r)
            }
            Ok(body) => self.decide(&body),
            Err(_) => self.refuse(&Rejection::internal("read_body_failed")),
        }
    }

    /// Decides on the whole request body: forward (possibly rewritten with an exact
    /// content-length) or answer.
    fn decide(&mut self, body: &[u8]) -> Action {
        let policy = Rc::clone(&self.policy);
        let Some(plan) = self.plan.take() else {
            return self.refuse(&Rejection::internal("missing_plan"));
        };
        // Budgets are checked last, once everything else allowed the request: only a request that
        // will be forwarded reserves anything.
        let outcome = request::on_body_masked(&policy, &plan, body, &mut self.audit, &mut self.masks).and_then(|out| {
            let now_s = host::now_ns() / 1_000_000_000;
            match spend::admit(&policy, &plan, now_s, &mut SharedStore, &mut self.audit) {
                Ok(held) => {
                    self.reservations = held;
                    Ok(out)
                }
                Err(r) => {
                    request::record_rejection(&mut self.audit, &r);
                    Err(r)
                }
            }
        });
        let decoded = plan.body_decoded();
        self.plan = Some(plan);
        self.decided = true;
        match outcome {
            Err(r) => self.reply(&r),
            Ok(None) => Action::Continue,
            Ok(Some(new_body)) => {
                let written = host::replace_buffer(BufferType::HttpRequestBody, body.len(), &new_body)
                    .and_then(|_| host::set_request_header("content-length", &new_body.len().to_string()))
                    .and_then(|()| if decoded { host::remove_request_header("content-encoding") } else { Ok(()) });
                if written.is_err() {
                    return self.refuse(&Rejection::internal("write_body_failed"));
                }
                Action::Continue
            }
        }
    }

    /// Whether this stream's request reached an upstream host (Envoy's `upstream.address`).
    pub(super) fn reached_upstream() -> bool {
        host::has_property(&["upstream", "address"])
    }

    /// The filter lost control of a governed stream: its request went upstream although no
    /// callback decided it (a path the filter does not expect). Recorded as its own reason,
    /// counted and logged at error level; the caller replaces the response when it still can.
    pub(super) fn lost_control(&mut self, during: &str) {
        self.audit.decision = Decision::Error;
        self.audit.reason(REASON_BYPASSED);
        // What was forwarded: the body as received (nothing rewrote it); its digest is unknown.
        self.audit.prompt_sha256 = None;
        if let Some(n) = host::property_u64(&["request", "size"]) {
            self.audit.bytes_in = n;
            self.audit.bytes_out = n;
        }
        self.metrics.count(METRIC_UNEXPECTED, &[], 1);
        host::log(
            LogLevel::Error,
            &format!(
                "#{} openrouter-guard: a governed request reached the upstream without a decision ({during}); \
                 the filter lost control of this stream",
                self.context_id
            ),
        );
    }
}

impl Context for Guard {
    fn on_done(&mut self) -> bool {
        self.finalize();
        true
    }
}

impl HttpContext for Guard {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.headers_seen {
            // Envoy calls this once per stream; a second call changes nothing already decided.
            return if self.replied || (self.governed && !self.decided) { Action::Pause } else { Action::Continue };
        }
        self.headers_seen = true;
        let t0 = host::now_ns();
        let action = self.on_headers(end_of_stream);
        self.busy_ns += host::now_ns().saturating_sub(t0);
        action
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.governed || self.replied || self.decided {
            return if self.replied { Action::Pause } else { Action::Continue };
        }
        let t0 = host::now_ns();
        let action = self.on_body(body_size, end_of_stream);
        self.busy_ns += host::now_ns().saturating_sub(t0);
        action
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if !self.governed || self.replied || self.decided {
            return if self.replied { Action::Pause } else { Action::Continue };
        }
        let t0 = host::now_ns();
        let action = self.on_trailers();
        self.busy_ns += host::now_ns().saturating_sub(t0);
        action
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !self.governed || self.replied {
            return Action::Continue;
        }
        let t0 = host::now_ns();
        let action = self.observe_response_headers(end_of_stream);
        self.busy_ns += host::now_ns().saturating_sub(t0);
        action
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.governed || self.replied || self.response.is_none() {
            return Action::Continue;
        }
        let t0 = host::now_ns();
        let action = self.observe_response_body(body_size, end_of_stream);
        self.busy_ns += host::now_ns().saturating_sub(t0);
        action
    }

    fn on_log(&mut self) {
        self.finalize();
    }
}

impl Guard {
    /// Completes, seals and publishes the audit record and counts the request — once. Runs from
    /// `on_log` normally; `on_done` calls it too, as a safety net should Envoy ever tear a stream
    /// down without the log callback, so every governed request still gets its record.
    fn finalize(&mut self) {
        if !self.governed || self.published {
            return;
        }
        self.published = true;
        if let Some(r) = self.hold.take_refused(self.context_id) {
            // The hold watch answered this stream (headers could not be held).
            request::record_rejection(&mut self.audit, &r);
            self.decided = true;
            self.replied = true;
        }
        if !self.decided {
            if Self::reached_upstream() {
                // Forwarded although no callback decided: never expected (see lost_control).
                self.lost_control("stream end");
            } else {
                // The stream ended before the filter saw the whole request: the client went
                // away, or Envoy itself refused it (e.g. its own buffer limit). Nothing was
                // forwarded.
                self.audit.decision = Decision::Reject;
                self.audit.reason("request_incomplete");
            }
        }
        self.finish_response(false, false);
        let end = host::now_ns();
        if !self.reservations.is_empty() {
            // Every path ends here once (client abort, upstream reset, local reply): a
            // reservation is released exactly once and charged what the exchange used.
            let held = std::mem::take(&mut self.reservations);
            let policy = Rc::clone(&self.policy);
            spend::settle(
                &policy,
                held,
                Self::reached_upstream(),
                end / 1_000_000_000,
                &mut SharedStore,
                &mut self.audit,
            );
        }
        if self.start_ns > 0 {
            self.audit.latency_ms = Some(end.saturating_sub(self.start_ns) / 1_000_000);
        }
        self.publish_audit();
        self.metrics.emit(&self.audit);
    }
}
