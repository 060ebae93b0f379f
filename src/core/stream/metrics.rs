//! Metric names and the counters one finished request adds (docs/metrics.md). Names carry their
//! labels as `.<label>.<value>` pairs, e.g.
//! `openrouter_guard_requests_total.decision.allow.profile.confidential`; the shipped Envoy
//! configs turn those pairs into Prometheus labels with `stats_tags`.

use super::outcome::{MetricKind, MetricOp};
use crate::core::audit::{AuditRecord, Decision};
use crate::core::response::reason as not_inspected;
use crate::core::response::ResponseSummary;

/// Streams that took a path the filter does not expect.
pub(crate) const UNEXPECTED_PATH: &str = "openrouter_guard_unexpected_path_total";
/// Audit records published.
pub(crate) const AUDIT_RECORDS: &str = "openrouter_guard_audit_records_total";
/// Gauge: the last sequence number of each worker's audit chain.
pub(crate) const CHAIN_LAST_SEQ: &str = "openrouter_guard_audit_chain_last_seq";
/// Streams that ended with trailers while a held tail waited (dropped, never sent unread).
pub(crate) const RESPONSE_TAIL_DROPPED: &str = "openrouter_guard_response_tail_dropped_total";
/// Streams the hold watch answered.
pub(crate) const HEADERS_NOT_HELD: &str = "openrouter_guard_headers_not_held_total";

/// Whether `c` stays as it is in a label value.
fn label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Appends `v` with the characters that would break the `.`-separated label encoding replaced by `_`, at
/// most 64 of them. A value that needs nothing replaced (every value of a request to a known profile,
/// decision, provider…) is copied as is, without a pass per character (issue 17: metric names were ~4 % of a
/// 1 KB request's instructions).
fn push_label(name: &mut String, v: &str) {
    if v.len() <= 64 && v.bytes().all(|b| label_char(char::from(b))) {
        name.push_str(v);
    } else {
        name.extend(v.chars().take(64).map(|c| if label_char(c) { c } else { '_' }));
    }
}

/// `base.<label>.<value>…`
pub(crate) fn labelled(base: &str, labels: &[(&str, &str)]) -> String {
    let len = labels.iter().fold(base.len(), |n, (k, v)| n.saturating_add(k.len() + v.len().min(256) + 2));
    let mut name = String::with_capacity(len);
    name.push_str(base);
    for (k, v) in labels {
        name.push('.');
        name.push_str(k);
        name.push('.');
        push_label(&mut name, v);
    }
    name
}

/// Adds `n` to counter `base` with `labels`.
pub(crate) fn count(base: &str, labels: &[(&str, &str)], n: u64) -> MetricOp {
    MetricOp { kind: MetricKind::Counter, name: labelled(base, labels), value: n }
}

/// Sets gauge `base` with `labels`.
pub(crate) fn gauge(base: &str, labels: &[(&str, &str)], value: u64) -> MetricOp {
    MetricOp { kind: MetricKind::Gauge, name: labelled(base, labels), value }
}

/// Adds `n` to counter `base` with `labels` when `n` > 0 (the name is not even built for 0: a
/// request without tokens, cost or charge is the common case).
fn count_some(out: &mut Vec<MetricOp>, base: &str, labels: &[(&str, &str)], n: u64) {
    if n > 0 {
        out.push(count(base, labels, n));
    }
}

/// The metric updates for one finished request.
pub(crate) fn for_record(a: &AuditRecord) -> Vec<MetricOp> {
    let mut out = Vec::with_capacity(8);
    let profile = a.profile.as_deref().unwrap_or("none");
    let decision = match a.decision {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
        Decision::Reject => "reject",
        Decision::Error => "error",
    };
    count_some(&mut out, "openrouter_guard_requests_total", &[("decision", decision), ("profile", profile)], 1);
    if a.decision != Decision::Allow {
        if let Some(reason) = a.reasons.last() {
            count_some(&mut out, "openrouter_guard_denials_total", &[("reason", reason.as_str())], 1);
        }
    }
    if a.decision == Decision::Error {
        count_some(&mut out, "openrouter_guard_fail_closed_total", &[], 1);
    }
    if a.reasons.iter().any(|r| r.is_request_parse_failure()) {
        count_some(&mut out, "openrouter_guard_parse_failures_total", &[("kind", "request")], 1);
    }
    let r = &a.response;
    if matches!(r.response_not_inspected, Some(not_inspected::BAD_JSON | not_inspected::BAD_ENCODING)) {
        count_some(&mut out, "openrouter_guard_parse_failures_total", &[("kind", "response")], 1);
    }
    for (entity, action, n) in a.redactions.iter() {
        count_some(&mut out, "openrouter_guard_redactions_total", &[("entity", entity), ("action", action)], n);
    }
    for (entity, action, n) in a.output_findings.iter() {
        count_some(&mut out, "openrouter_guard_output_findings_total", &[("entity", entity), ("action", action)], n);
    }
    let by_profile = [("profile", profile)];
    count_some(
        &mut out,
        "openrouter_guard_prompt_tokens_total",
        &by_profile,
        r.figure(|s| s.prompt_tokens).unwrap_or(0),
    );
    count_some(
        &mut out,
        "openrouter_guard_completion_tokens_total",
        &by_profile,
        r.figure(|s| s.completion_tokens).unwrap_or(0),
    );
    if let Some(cost) = r.figure(|s| s.cost).filter(|c| c.is_finite() && *c > 0.0) {
        // micro-dollars; `as` saturates
        let micro = (cost * 1_000_000.0).round() as u64;
        count_some(&mut out, "openrouter_guard_cost_microdollars_total", &by_profile, micro);
    }
    for (field, _) in r.summary.iter().filter_map(ResponseSummary::usage_suspect_sorted).flatten() {
        count_some(&mut out, "openrouter_guard_usage_suspect_total", &[("kind", field)], 1);
    }
    if r.provider_verdict == Some("unapproved") {
        let reason = r.provider_verdict_reason.unwrap_or("unapproved");
        let labels = [("profile", profile), ("reason", reason)];
        count_some(&mut out, "openrouter_guard_provider_verification_failures_total", &labels, 1);
    }
    for l in a.spend.iter().flat_map(|s| &s.limits) {
        let name = l.name.as_str();
        count_some(&mut out, "openrouter_guard_limit_checks_total", &[("limit", name), ("outcome", l.outcome)], 1);
        count_some(&mut out, "openrouter_guard_limit_charged_total", &[("limit", name)], l.units.charged);
        if let (true, Some(used)) = (l.units.global, l.units.used) {
            out.push(gauge("openrouter_guard_limit_used", &[("limit", name)], used));
            out.push(gauge("openrouter_guard_limit_remaining", &[("limit", name)], l.units.max.saturating_sub(used)));
        }
    }
    out.push(MetricOp {
        kind: MetricKind::Histogram,
        name: "openrouter_guard_filter_duration_us".into(),
        value: a.filter_us,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_cut_to_64_characters_and_only_safe_ones_kept() {
        let long = "a".repeat(70);
        let long_odd = format!("{}.{}", "b".repeat(63), "c".repeat(10));
        for (value, want) in [
            ("allow", "allow".to_owned()),
            ("p.q", "p_q".to_owned()),
            ("with space/slash:é✓", "with_space_slash___".to_owned()),
            ("", String::new()),
            (long.as_str(), "a".repeat(64)),
            (long_odd.as_str(), format!("{}_", "b".repeat(63))),
            ("ééé", "___".to_owned()),
        ] {
            assert_eq!(labelled("m", &[("k", value)]), format!("m.k.{want}"), "{value}");
        }
        assert_eq!(labelled("m", &[]), "m");
        assert_eq!(labelled("m", &[("a", "1"), ("b", "x.y")]), "m.a.1.b.x_y");
    }
}
