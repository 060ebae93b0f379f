//! `Guard`: one per HTTP stream. Each callback reads what Envoy has, calls the core, and applies
//! the outcome (local reply, body replacement, header edits, audit record).

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};

use crate::core::audit::{AuditRecord, Decision};
use crate::core::chain::AuditChain;
use crate::core::policy::Policy;
use crate::core::reply::Rejection;
use crate::core::request::{self, Plan, RequestHead};
use crate::core::timefmt::rfc3339_millis;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;
use crate::wasm::response::ResponseState;

/// Per-stream state.
pub struct Guard {
    pub(super) context_id: u32,
    pub(super) policy: Rc<Policy>,
    pub(super) metrics: Rc<Metrics>,
    pub(super) chain: Rc<RefCell<AuditChain>>,
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
    /// Nanoseconds spent inside filter callbacks.
    pub(super) busy_ns: u64,
    /// When the request headers arrived (ns since the epoch).
    pub(super) start_ns: u64,
    /// Response-side state, once response headers arrive.
    pub(super) response: Option<ResponseState>,
}

impl Guard {
    /// A stream context sharing `policy`.
    pub fn new(context_id: u32, policy: Rc<Policy>, metrics: Rc<Metrics>, chain: Rc<RefCell<AuditChain>>) -> Self {
        Self {
            context_id,
            policy,
            metrics,
            chain,
            governed: false,
            replied: false,
            decided: false,
            published: false,
            plan: None,
            audit: AuditRecord::new(),
            busy_ns: 0,
            start_ns: 0,
            response: None,
        }
    }

    /// Answers the request with `r`. Returns Pause: nothing more of this request may move.
    pub(super) fn reply(&mut self, r: &Rejection) -> Action {
        self.replied = true;
        self.decided = true;
        if let Err(e) = host::send_json(r.status, &r.body()) {
            host::log(LogLevel::Error, &format!("#{} openrouter-guard: local reply failed: {e:?}", self.context_id));
        }
        Action::Pause
    }

    /// Seals the audit record into this VM's chain and publishes it as filter state. Called once,
    /// from `on_log`, which Envoy runs before its access loggers (checked in Envoy 1.40), on every
    /// path including local replies; sealing there keeps chain order equal to log order.
    fn publish_audit(&mut self) {
        self.audit.filter_us = self.busy_ns / 1000;
        let json = self.audit.to_json();
        let line = match self.chain.try_borrow_mut().map(|mut c| c.seal_object(&json)) {
            Ok(Ok(line)) => line,
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
        let authority = host::header(MapType::HttpRequestHeaders, ":authority");
        let traffic = &self.policy.traffic;
        // The cluster is looked up only when the host alone does not decide (one host call less
        // on every governed request).
        let governed = traffic.host_is_governed(authority.as_deref())
            || (traffic.has_clusters()
                && traffic.cluster_is_governed(host::property_string(vec!["xds", "cluster_name"]).as_deref()));
        if !governed {
            return Action::Continue;
        }
        self.governed = true;
        self.start_ns = host::now_ns();
        self.audit.ts = rfc3339_millis(self.start_ns / 1_000_000);
        let headers = match host::request_headers() {
            Ok(h) => h,
            Err(_) => {
                let r = Rejection::internal("read_headers_failed");
                request::record_rejection(&mut self.audit, &r);
                return self.reply(&r);
            }
        };
        let policy = Rc::clone(&self.policy);
        let plan = match request::on_head(&policy, RequestHead { headers: &headers, end_of_stream }, &mut self.audit) {
            Ok(p) => p,
            Err(r) => return self.reply(&r),
        };
        for name in &plan.remove_headers {
            if host::remove_request_header(name).is_err() {
                let r = Rejection::internal("header_edit_failed");
                request::record_rejection(&mut self.audit, &r);
                return self.reply(&r);
            }
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
        // before the body is decided.
        Action::Pause
    }

    fn on_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let policy = Rc::clone(&self.policy);
        if body_size as u64 > policy.max_body_bytes {
            let r = request::body_too_large(&policy, &mut self.audit);
            return self.reply(&r);
        }
        if !end_of_stream {
            return Action::Pause; // keep buffering
        }
        let Some(plan) = self.plan.take() else {
            let r = Rejection::internal("missing_plan");
            request::record_rejection(&mut self.audit, &r);
            return self.reply(&r);
        };
        let body = match host::buffer(BufferType::HttpRequestBody, body_size) {
            Ok(b) => b,
            Err(_) => {
                let r = Rejection::internal("read_body_failed");
                request::record_rejection(&mut self.audit, &r);
                return self.reply(&r);
            }
        };
        let outcome = request::on_body(&policy, &plan, &body, &mut self.audit);
        self.plan = Some(plan);
        self.decided = true;
        match outcome {
            Err(r) => self.reply(&r),
            Ok(None) => Action::Continue,
            Ok(Some(new_body)) => {
                let written = host::replace_buffer(BufferType::HttpRequestBody, body_size, &new_body)
                    .and_then(|_| host::set_request_header("content-length", &new_body.len().to_string()));
                if written.is_err() {
                    let r = Rejection::internal("write_body_failed");
                    request::record_rejection(&mut self.audit, &r);
                    return self.reply(&r);
                }
                Action::Continue
            }
        }
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
        let t0 = host::now_ns();
        let action = self.on_headers(end_of_stream);
        self.busy_ns += host::now_ns().saturating_sub(t0);
        action
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.governed || self.replied {
            return if self.replied { Action::Pause } else { Action::Continue };
        }
        let t0 = host::now_ns();
        let action = self.on_body(body_size, end_of_stream);
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
        if !self.decided {
            // The stream ended before the filter saw the whole request: the client went away,
            // or Envoy itself refused it (e.g. its own buffer limit). Nothing was forwarded.
            self.audit.decision = Decision::Reject;
            self.audit.reason("request_incomplete");
        }
        self.finish_response(false, false);
        let end = host::now_ns();
        if self.start_ns > 0 {
            self.audit.latency_ms = Some(end.saturating_sub(self.start_ns) / 1_000_000);
        }
        self.publish_audit();
        self.metrics.emit(&self.audit);
    }
}
