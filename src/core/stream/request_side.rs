//! The request side: governed or not, the plan from the headers, buffering, and the decision
//! where the request ends.

use std::rc::Rc;

use super::host::{property_text, StreamHost};
use super::spend_gate;
use super::{Edit, Effect, Flow, Outcome, Phase, Stream};
use crate::core::headers;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::request::{self, RequestHead};
use crate::core::timefmt::rfc3339_millis;

fn edit(edit: Edit, on_fail: Reason) -> Effect {
    Effect::Edit { edit, on_fail: Some(on_fail) }
}

impl Stream {
    /// First request headers: governed or not; then the plan, or a refusal.
    pub(super) fn request_headers(
        &mut self,
        host: &mut impl StreamHost,
        end_of_stream: bool,
        fx: &mut Vec<Effect>,
    ) -> Flow {
        // Read as bytes: a value that is not UTF-8 (Latin-1 `é` from Python clients) is normal
        // network input. Such an authority matches no configured host name; the cluster still can.
        let authority = host.request_header(":authority");
        let authority = authority.as_deref().and_then(|a| std::str::from_utf8(a).ok());
        let traffic = &self.policy.traffic;
        // The cluster is looked up only when the host alone does not decide (one host call less
        // on every governed request).
        let governed = traffic.host_is_governed(authority)
            || (traffic.has_clusters()
                && traffic.cluster_is_governed(property_text(host, super::Property::ClusterName).as_deref()));
        if !governed {
            self.phase = Phase::Ungoverned;
            return Flow::Continue;
        }
        self.phase = Phase::RequestHeld;
        self.start_ns = self.now_ns;
        self.audit.ts = rfc3339_millis(self.start_ns / 1_000_000);
        let Ok(raw) = host.request_headers() else {
            return self.refuse(&Rejection::internal(Reason::ReadHeadersFailed), fx);
        };
        let policy = Rc::clone(&self.policy);
        let mut interpreted = vec![policy.profile_header.as_str()];
        interpreted.extend(policy.user_header.as_deref());
        interpreted.extend(policy.spend.team_header.as_deref());
        let text = headers::request_text(raw, &interpreted);
        if text.passed_opaque > 0 {
            self.audit.reason(Reason::HeaderNotUtf8Passed);
        }
        if let Some(r) = &text.refused {
            // Only for the audit record: the refusal below wins over any path problem.
            let _ = request::describe_head(&text.headers, &mut self.audit);
            // Best effort: the request is refused either way.
            self.scrub_logged_headers(&text.headers, false, fx);
            return self.refuse(r, fx);
        }
        let head = RequestHead { headers: &text.headers, end_of_stream };
        let head = request::on_head(&policy, head, &mut self.audit);
        self.scrub_logged_headers(&text.headers, true, fx);
        let mut plan = match head {
            Ok(p) => p,
            Err(r) => return self.reply(&r, fx),
        };
        if let Some(refresh) = policy.spend.refresh() {
            plan.prices = refresh.view(host.fetched_prices(), host.now_ns());
        }
        // The upstream must get the path the request was classified by.
        if let Some(p) = &plan.rewrite_path {
            fx.push(edit(Edit::SetRequestHeader(":path", p.clone()), Reason::HeaderEditFailed));
        }
        for n in &plan.remove_headers {
            fx.push(edit(Edit::RemoveRequestHeader(n.clone()), Reason::HeaderEditFailed));
        }
        for (n, v) in &plan.set_headers {
            fx.push(edit(Edit::SetRequestHeader(n, (*v).to_owned()), Reason::HeaderEditFailed));
        }
        for (n, v) in &plan.redacted_headers {
            fx.push(edit(Edit::ReplaceRequestHeader(n.clone(), v.clone()), Reason::HeaderEditFailed));
        }
        #[cfg(feature = "test-hooks")]
        if let Some(flow) = self.test_hook(host, fx) {
            self.plan = Some(plan);
            return flow;
        }
        if end_of_stream {
            // No body follows: decide now, on an empty body.
            if let Err(r) = request::on_body(&policy, &plan, &[], &mut self.audit) {
                return self.reply(&r, fx);
            }
            self.plan = Some(plan);
            self.phase = Phase::Forwarded;
            return Flow::Continue;
        }
        self.plan = Some(plan);
        // Hold the headers (needs allow_on_headers_stop_iteration) so no upstream request starts
        // before the body is decided. The watch notices when Envoy cannot hold them (wasm/hold.rs).
        fx.push(Effect::Watch);
        Flow::Pause
    }

    /// Test builds only: `x-openrouter-guard-test-hook: trap` traps the VM; `skip-decision` lets
    /// the request go on undecided (to prove the lost-control path); `corrupt-store` breaks two
    /// limits' counters (to prove a failing budget store fails closed or open as configured).
    #[cfg(feature = "test-hooks")]
    fn test_hook(&mut self, host: &mut impl StreamHost, fx: &mut Vec<Effect>) -> Option<Flow> {
        match host.request_header("x-openrouter-guard-test-hook")?.as_slice() {
            b"trap" => {
                fx.push(Effect::Trap);
                Some(Flow::Pause)
            }
            b"skip-decision" => Some(Flow::Continue),
            b"corrupt-store" => {
                // Values that are no counter record in the keys of the limits named `store-closed`
                // and `store-open`, then on as usual (a failing budget store, end to end).
                for key in ["openrouter_guard/limit/store-closed", "openrouter_guard/limit/store-open"] {
                    let _ = host.counters().set(key, b"not a counter", 0);
                }
                None
            }
            _ => None,
        }
    }

    /// Envoy's operator log prints `x-request-id` and the path: replace a request id the record
    /// would not carry as sent by its recorded (hashed) form, and publish the recorded path as
    /// filter state `wasm.log_path` for the log to print (docs/audit.md, "Envoy's own logs").
    /// `must` = a failed edit refuses the request (else best effort).
    fn scrub_logged_headers(&mut self, headers: &[(String, String)], must: bool, fx: &mut Vec<Effect>) {
        let on_fail = |reason| must.then_some(reason);
        let raw_id = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-request-id")).map(|(_, v)| v.as_str());
        if let (Some(raw), Some(recorded)) = (raw_id, self.audit.request_id.as_deref()) {
            if raw != recorded {
                fx.push(Effect::Edit {
                    edit: Edit::SetRequestHeader("x-request-id", recorded.to_owned()),
                    on_fail: on_fail(Reason::HeaderEditFailed),
                });
            }
        }
        let path = self.audit.path.as_deref().unwrap_or("-").to_owned();
        fx.push(Effect::Edit { edit: Edit::SetLogPath(path), on_fail: on_fail(Reason::LogPathFailed) });
    }

    /// A request body callback: `body_size` bytes buffered so far.
    pub(super) fn request_body(
        &mut self,
        host: &mut impl StreamHost,
        body_size: usize,
        end_of_stream: bool,
        fx: &mut Vec<Effect>,
    ) -> Flow {
        fx.push(Effect::Unwatch);
        self.body_seen = body_size;
        if body_size as u64 > self.policy.max_body_bytes {
            let r = request::body_too_large(&self.policy, &mut self.audit);
            return self.reply(&r, fx);
        }
        if !end_of_stream {
            return Flow::Pause; // keep buffering
        }
        match host.request_body(body_size) {
            Ok(body) => self.decide(host, &body, fx),
            Err(_) => self.refuse(&Rejection::internal(Reason::ReadBodyFailed), fx),
        }
    }

    /// The request ends with trailers: the body buffered so far is the whole body (Envoy 1.40
    /// keeps it readable and replaceable here, and the headers are still held). Trailers are
    /// never forwarded unread: they are removed, then the body is decided like at end-of-stream.
    pub(super) fn request_trailers(&mut self, host: &mut impl StreamHost, fx: &mut Vec<Effect>) -> Flow {
        fx.push(Effect::Unwatch);
        let Ok(trailers) = host.request_trailers() else {
            return self.refuse(&Rejection::internal(Reason::TrailersEditFailed), fx);
        };
        if !trailers.is_empty() {
            self.audit.reason(Reason::RequestTrailersDropped);
        }
        for (name, _) in trailers {
            fx.push(edit(Edit::RemoveRequestTrailer(name), Reason::TrailersEditFailed));
        }
        // Read one byte past the limit to tell "at the limit" from "over it".
        let limit = usize::try_from(self.policy.max_body_bytes).unwrap_or(usize::MAX).saturating_add(1);
        match host.request_body(limit.max(self.body_seen)) {
            Ok(body) if body.len() as u64 > self.policy.max_body_bytes => {
                let r = request::body_too_large(&self.policy, &mut self.audit);
                self.reply(&r, fx)
            }
            Ok(body) => self.decide(host, &body, fx),
            Err(_) => self.refuse(&Rejection::internal(Reason::ReadBodyFailed), fx),
        }
    }

    /// Decides on the whole request body: forward (possibly rewritten with an exact
    /// content-length) or answer.
    fn decide(&mut self, host: &mut impl StreamHost, body: &[u8], fx: &mut Vec<Effect>) -> Flow {
        let policy = Rc::clone(&self.policy);
        let Some(plan) = self.plan.take() else {
            return self.refuse(&Rejection::internal(Reason::MissingPlan), fx);
        };
        // Budgets are checked last, once everything else allowed the request: only a request that
        // will be forwarded reserves anything.
        let mut store_call = None;
        let outcome =
            request::on_body_rewrite(&policy, &plan, body, &mut self.audit, &mut self.masks).and_then(|out| {
                let admitted = if policy.spend.remote().is_some() {
                    // Mesh-wide store: the reservation is a call; the request waits for its answer
                    // (on_store_answer), its edits applied but the upstream not contacted.
                    spend_gate::admit_remote(&policy, &plan, &mut self.audit).map(|call| {
                        if let Some((pending, call)) = call {
                            self.pending = Some(pending);
                            store_call = Some(call);
                        }
                    })
                } else {
                    let now_s = self.now_ns / 1_000_000_000;
                    spend_gate::admit(&policy, &plan, now_s, host.counters(), &mut self.audit)
                        .map(|held| self.reservations = held)
                };
                match admitted {
                    Ok(()) => Ok(out),
                    Err(r) => {
                        request::record_rejection(&mut self.audit, &r);
                        Err(r)
                    }
                }
            });
        let decoded = plan.body_decoded();
        self.plan = Some(plan);
        match outcome {
            Err(r) => self.reply(&r, fx),
            Ok(new_body) => {
                if store_call.is_none() {
                    self.mark_decided();
                }
                if let Some(rw) = new_body {
                    // Only the rewritten prefix goes back to the host (Envoy drains `cut` bytes and
                    // prepends the new ones); the rest of the buffered body stays where it is.
                    let len = rw.len(body).to_string();
                    let old_len = rw.cut;
                    fx.push(edit(Edit::ReplaceRequestBody { old_len, bytes: rw.prefix }, Reason::WriteBodyFailed));
                    fx.push(edit(Edit::SetRequestHeader("content-length", len), Reason::WriteBodyFailed));
                    if decoded {
                        // Forwarded decoded: the coding header goes with the compressed bytes.
                        fx.push(edit(Edit::RemoveRequestHeader("content-encoding".into()), Reason::WriteBodyFailed));
                    }
                }
                match store_call {
                    Some(call) => {
                        fx.push(Effect::StoreCall(call));
                        Flow::Pause
                    }
                    None => Flow::Continue,
                }
            }
        }
    }

    /// The rate-limit service answered the reservation call (or the call failed): forward the
    /// held request, or answer it (429, or 503 when a limit fails closed). Nothing to do when
    /// the stream moved on meanwhile (the client went away, Envoy answered).
    pub fn on_store_answer(&mut self, host: &mut impl StreamHost, answer: crate::core::spend::StoreAnswer) -> Outcome {
        let started = host.now_ns();
        let mut fx = Vec::new();
        let Some(pending) = self.pending.take() else { return Outcome::pause() };
        if !matches!(self.phase, Phase::RequestHeld) {
            return Outcome::pause();
        }
        let policy = Rc::clone(&self.policy);
        let (admitted, release) = spend_gate::admitted_remote(&policy, pending, answer, &mut self.audit);
        if let Some(call) = release {
            fx.push(Effect::StoreCommit(call));
        }
        let flow = match admitted {
            Ok(held) => {
                self.reservations = held;
                self.mark_decided();
                Flow::Continue
            }
            Err(r) => self.refuse(&r, &mut fx),
        };
        self.busy_ns = self.busy_ns.saturating_add(host.now_ns().saturating_sub(started));
        Outcome { flow, effects: fx }
    }

    /// The request is decided (forwarded as decided, or answered by the hold watch); the
    /// response side, if any, keeps observing.
    pub(super) fn mark_decided(&mut self) {
        self.phase = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Response(_, o) => Phase::Response(super::Fate::Decided, o),
            Phase::ResponseDone(_) => Phase::ResponseDone(super::Fate::Decided),
            Phase::RequestHeld => Phase::Forwarded,
            other => other,
        };
    }
}
