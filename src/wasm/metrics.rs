//! Envoy stats for the filter. Names carry their labels as `.<label>.<value>` pairs, e.g.
//! `openrouter_guard_requests_total.decision.allow.profile.confidential`; the shipped Envoy
//! configs turn those pairs into Prometheus labels with `stats_tags` (see docs/metrics.md).
//! Envoy stores them under the `wasmcustom.` namespace.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::core::audit::{AuditRecord, Decision};
use crate::wasm::abi;
use proxy_wasm::types::MetricType;

/// Lazily defined metrics, cached by full name (one VM is single-threaded).
#[derive(Default)]
pub struct Metrics {
    ids: RefCell<HashMap<String, u32>>,
}

/// Replaces characters that would break the `.`-separated label encoding.
fn label(v: &str) -> String {
    v.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// `base.<label>.<value>…`
fn labelled(base: &str, labels: &[(&str, &str)]) -> String {
    let mut name = base.to_string();
    for (k, v) in labels {
        name.push('.');
        name.push_str(k);
        name.push('.');
        name.push_str(&label(v));
    }
    name
}

impl Metrics {
    fn id(&self, kind: MetricType, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.borrow().get(name) {
            return Some(*id);
        }
        let id = abi::define_metric(kind, name).ok()?;
        self.ids.borrow_mut().insert(name.to_string(), id);
        Some(id)
    }

    /// Adds `n` to counter `base` with `labels`.
    pub fn count(&self, base: &str, labels: &[(&str, &str)], n: u64) {
        if n == 0 {
            return;
        }
        let name = labelled(base, labels);
        if let Some(id) = self.id(MetricType::Counter, &name) {
            let _ = abi::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Sets gauge `base` with `labels` to `value`.
    pub fn set_gauge(&self, base: &str, labels: &[(&str, &str)], value: u64) {
        if let Some(id) = self.id(MetricType::Gauge, &labelled(base, labels)) {
            let _ = abi::record_metric(id, value);
        }
    }

    /// Records `value` in histogram `name`.
    pub fn record(&self, name: &str, value: u64) {
        if let Some(id) = self.id(MetricType::Histogram, name) {
            let _ = abi::record_metric(id, value);
        }
    }
}

impl Metrics {
    /// Counts one finished request (see docs/metrics.md).
    pub fn emit(&self, a: &AuditRecord) {
        let profile = a.profile.as_deref().unwrap_or("none");
        let decision = match a.decision {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Reject => "reject",
            Decision::Error => "error",
        };
        self.count("openrouter_guard_requests_total", &[("decision", decision), ("profile", profile)], 1);
        if a.decision != Decision::Allow {
            if let Some(reason) = a.reasons.last() {
                self.count("openrouter_guard_denials_total", &[("reason", reason)], 1);
            }
        }
        if a.decision == Decision::Error {
            self.count("openrouter_guard_fail_closed_total", &[], 1);
        }
        let request_parse = ["invalid_json", "invalid_utf8", "duplicate_key", "too_deep", "invalid_encoding"]
            .iter()
            .any(|k| a.reasons.iter().any(|r| r == k));
        if request_parse {
            self.count("openrouter_guard_parse_failures_total", &[("kind", "request")], 1);
        }
        let r = &a.response;
        if matches!(r.response_not_inspected, Some("bad_json" | "bad_encoding")) {
            self.count("openrouter_guard_parse_failures_total", &[("kind", "response")], 1);
        }
        for (entity, actions) in &a.redactions {
            if let Some(actions) = actions.as_object() {
                for (action, n) in actions {
                    let n = n.as_u64().unwrap_or(0);
                    self.count("openrouter_guard_redactions_total", &[("entity", entity), ("action", action)], n);
                }
            }
        }
        for (entity, actions) in &a.output_findings {
            if let Some(actions) = actions.as_object() {
                for (action, n) in actions {
                    let n = n.as_u64().unwrap_or(0);
                    self.count("openrouter_guard_output_findings_total", &[("entity", entity), ("action", action)], n);
                }
            }
        }
        self.count("openrouter_guard_prompt_tokens_total", &[("profile", profile)], r.prompt_tokens.unwrap_or(0));
        self.count(
            "openrouter_guard_completion_tokens_total",
            &[("profile", profile)],
            r.completion_tokens.unwrap_or(0),
        );
        if let Some(cost) = r.cost.filter(|c| c.is_finite() && *c > 0.0) {
            // micro-dollars; `as` saturates
            let micro = (cost * 1_000_000.0).round() as u64;
            self.count("openrouter_guard_cost_microdollars_total", &[("profile", profile)], micro);
        }
        for field in r.usage_suspect.iter().flat_map(|m| m.keys()) {
            self.count("openrouter_guard_usage_suspect_total", &[("kind", field)], 1);
        }
        if r.provider_verdict == Some("unapproved") {
            let reason = r.provider_verdict_reason.unwrap_or("unapproved");
            self.count(
                "openrouter_guard_provider_verification_failures_total",
                &[("profile", profile), ("reason", reason)],
                1,
            );
        }
        for l in a.spend.iter().flat_map(|s| &s.limits) {
            let name = l.name.as_str();
            self.count("openrouter_guard_limit_checks_total", &[("limit", name), ("outcome", l.outcome)], 1);
            self.count("openrouter_guard_limit_charged_total", &[("limit", name)], l.units.charged);
            if let (true, Some(used)) = (l.units.global, l.units.used) {
                self.set_gauge("openrouter_guard_limit_used", &[("limit", name)], used);
                self.set_gauge(
                    "openrouter_guard_limit_remaining",
                    &[("limit", name)],
                    l.units.max.saturating_sub(used),
                );
            }
        }
        self.record("openrouter_guard_filter_duration_us", a.filter_us);
    }
}
