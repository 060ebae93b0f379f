//! The audit record's JSON, written directly (no serde): the same bytes `serde_json::to_string` gives for
//! the derived `Serialize` of [`AuditRecord`] (field order, `null`s, escapes, number formats; a unit test
//! compares the two), at about half the work: serde's generic map machinery and the `#[serde(flatten)]` of
//! the response fields were ~7 % of a 1 KB request's instructions (docs/benchmarks.md, issue 17).

use std::fmt::Write as _;

use crate::core::audit::{AuditRecord, Decision, Findings, LimitAudit, ResponseFields, RestoreCounts, SpendAudit};
use crate::core::json_value::{str_lit, write_float};
use crate::core::summary::ResponseSummary;

/// Bytes a record usually needs (the bench's 1 KB request writes ~1.4 KB).
const TYPICAL_LEN: usize = 1_600;

impl AuditRecord {
    /// The record as one JSON line (no trailing newline): the bytes `serde_json::to_string` gives for the
    /// derived `Serialize`, written without serde.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        write_members(self, &mut out);
        out.push('}');
        out
    }
}

/// The record's members, `"schema":1,…,"usage_suspect":null`, appended to `out` without the braces.
pub(crate) fn write_members(r: &AuditRecord, out: &mut String) {
    out.reserve(TYPICAL_LEN);
    let mut w = Members { out, first: true };
    w.key("schema");
    w.num(u64::from(r.schema));
    w.key("ts");
    str_lit(w.out, &r.ts);
    w.opt_str("request_id", r.request_id.as_deref());
    w.opt_str("authority", r.authority.as_deref());
    w.opt_str("method", r.method.as_deref());
    w.opt_str("path", r.path.as_deref());
    w.opt_str("path_sha256", r.path_sha256.as_deref());
    w.opt_str("endpoint", r.endpoint);
    w.opt_str("profile", r.profile.as_deref());
    w.opt_str("user", r.user.as_deref());
    w.opt_str("user_source", r.user_source);
    w.opt_str("team", r.team.as_deref());
    w.opt_str("model_requested", r.model_requested.as_deref());
    w.list("models", &r.models, |out, m| str_lit(out, m));
    w.bool("stream", r.stream);
    w.key("decision");
    str_lit(w.out, decision_name(r.decision));
    w.opt_num("status", r.status.map(u64::from));
    w.list("reasons", &r.reasons, |out, reason| str_lit(out, reason.as_str()));
    w.bool("provider_injected", r.provider_injected);
    w.opt_str("prompt_sha256", r.prompt_sha256.as_deref());
    w.key("bytes_in");
    w.num(r.bytes_in);
    w.key("bytes_out");
    w.num(r.bytes_out);
    w.key("filter_us");
    w.num(r.filter_us);
    w.opt_num("latency_first_byte_ms", r.latency_first_byte_ms);
    w.opt_num("latency_ms", r.latency_ms);
    w.key("redactions");
    findings(w.out, &r.redactions);
    w.key("restore");
    match &r.restore {
        Some(c) => restore(w.out, c),
        None => w.out.push_str("null"),
    }
    w.key("spend");
    match &r.spend {
        Some(s) => spend(w.out, s),
        None => w.out.push_str("null"),
    }
    w.key("output_findings");
    findings(w.out, &r.output_findings);
    response(&mut w, &r.response);
}

/// The response fields (`null` each without a response), in the order of the record's `Serialize`.
fn response(w: &mut Members<'_>, f: &ResponseFields) {
    let s = f.summary.as_ref();
    w.opt_str("generation_id", s.and_then(|s| s.generation_id.as_deref()));
    w.opt_str("model_used", s.and_then(|s| s.model_used.as_deref()));
    w.opt_str("provider", s.and_then(|s| s.provider.as_deref()));
    w.opt_num("prompt_tokens", s.and_then(|s| s.prompt_tokens));
    w.opt_num("completion_tokens", s.and_then(|s| s.completion_tokens));
    w.opt_num("total_tokens", s.and_then(|s| s.total_tokens));
    w.key("cost");
    float(w.out, s.and_then(|s| s.cost));
    w.opt_str("finish_reason", s.and_then(|s| s.finish_reason.as_deref()));
    w.opt_num("cached_tokens", s.and_then(|s| s.cached_tokens));
    w.opt_num("reasoning_tokens", s.and_then(|s| s.reasoning_tokens));
    w.key("error_code");
    match s.and_then(|s| s.error_code) {
        Some(n) => {
            let _ = write!(w.out, "{n}");
        }
        None => w.out.push_str("null"),
    }
    w.opt_str("error_type", s.and_then(|s| s.error_type.as_deref()));
    w.opt_num("upstream_status", f.upstream_status.map(u64::from));
    w.opt_bool("streamed", s.map(|s| s.streamed));
    w.opt_bool("response_inspected", s.map(|s| s.inspected));
    w.opt_str("response_not_inspected", f.response_not_inspected);
    w.opt_str("provider_verdict", f.provider_verdict);
    w.opt_str("provider_verdict_reason", f.provider_verdict_reason);
    w.key("usage_suspect");
    match s.and_then(ResponseSummary::usage_suspect_sorted) {
        Some(pairs) => {
            w.out.push('{');
            for (i, (field, raw)) in pairs.into_iter().enumerate() {
                if i > 0 {
                    w.out.push(',');
                }
                str_lit(w.out, field);
                w.out.push(':');
                str_lit(w.out, raw);
            }
            w.out.push('}');
        }
        None => w.out.push_str("null"),
    }
}

fn restore(out: &mut String, c: &RestoreCounts) {
    let _ = write!(out, "{{\"restored\":{},\"unknown\":{},\"mangled\":{}}}", c.restored, c.unknown, c.mangled);
}

fn spend(out: &mut String, s: &SpendAudit) {
    out.push('{');
    let mut w = Members { out, first: true };
    w.opt_num("prompt_tokens_max", s.prompt_tokens_max);
    w.opt_num("output_tokens_max", s.output_tokens_max);
    w.key("cost_max_usd");
    float(w.out, s.cost_max_usd);
    w.list("limits", &s.limits, limit);
    w.out.push('}');
}

fn limit(out: &mut String, l: &LimitAudit) {
    out.push('{');
    let mut w = Members { out, first: true };
    w.key("name");
    str_lit(w.out, &l.name);
    w.key("unit");
    str_lit(w.out, l.unit);
    w.key("outcome");
    str_lit(w.out, l.outcome);
    for (name, v) in [
        ("reserved", &l.reserved),
        ("charged", &l.charged),
        ("used", &l.used),
        ("in_flight", &l.in_flight),
        ("max", &l.max),
    ] {
        w.key(name);
        v.write(w.out);
    }
    w.out.push('}');
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
        Decision::Reject => "reject",
        Decision::Error => "error",
    }
}

/// Members of one object: `"name":` with the separating commas.
struct Members<'a> {
    out: &'a mut String,
    first: bool,
}

impl Members<'_> {
    /// `,"name":` (no comma before the first member). Names are plain ASCII: no escaping.
    #[inline(never)] // one call per member keeps the writer small (.wasm budget)
    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(name);
        self.out.push_str("\":");
    }

    /// `,"name":[…]`, each item written by `item`.
    fn list<T>(&mut self, name: &str, items: &[T], item: impl Fn(&mut String, &T)) {
        self.key(name);
        self.out.push('[');
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            item(self.out, x);
        }
        self.out.push(']');
    }

    #[inline(never)] // one call per member keeps the writer small (.wasm budget)
    fn num(&mut self, n: u64) {
        let _ = write!(self.out, "{n}");
    }

    #[inline(never)] // one call per member keeps the writer small (.wasm budget)
    fn bool(&mut self, name: &str, b: bool) {
        self.key(name);
        self.out.push_str(if b { "true" } else { "false" });
    }

    #[inline(never)] // one call per member keeps the writer small (.wasm budget)
    fn opt_bool(&mut self, name: &str, b: Option<bool>) {
        match b {
            Some(b) => self.bool(name, b),
            None => {
                self.key(name);
                self.out.push_str("null");
            }
        }
    }

    #[inline(never)] // one call per member keeps the writer small (.wasm budget)
    fn opt_num(&mut self, name: &str, n: Option<u64>) {
        self.key(name);
        match n {
            Some(n) => self.num(n),
            None => self.out.push_str("null"),
        }
    }

    #[inline(never)] // one call per member keeps the writer small (.wasm budget)
    fn opt_str(&mut self, name: &str, s: Option<&str>) {
        self.key(name);
        match s {
            Some(s) => str_lit(self.out, s),
            None => self.out.push_str("null"),
        }
    }
}

/// A float as serde_json writes it (shortest round-trip form; `null` when not finite).
fn float(out: &mut String, f: Option<f64>) {
    match f {
        Some(f) => write_float(out, f),
        None => out.push_str("null"),
    }
}

/// `{"EMAIL":{"redact":2},…}`: entities, then actions, in the order the maps keep them.
fn findings(out: &mut String, f: &Findings) {
    out.push('{');
    let mut last: Option<&str> = None;
    for (entity, action, n) in f.iter() {
        if last == Some(entity) {
            out.push(',');
        } else {
            if last.is_some() {
                out.push_str("},");
            }
            str_lit(out, entity);
            out.push_str(":{");
            last = Some(entity);
        }
        str_lit(out, action);
        let _ = write!(out, ":{n}");
    }
    if last.is_some() {
        out.push('}');
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::{LimitUnits, SpendAudit};
    use crate::core::json_value::JsonValue;
    use crate::core::pii::PiiTally;
    use crate::core::reason::Reason;

    fn written(r: &AuditRecord) -> String {
        let mut s = String::from("{");
        write_members(r, &mut s);
        s.push('}');
        s
    }

    #[test]
    fn it_writes_the_bytes_serde_writes() {
        let empty = AuditRecord::new();
        let mut full = AuditRecord::new();
        full.ts = "2026-12-03T13:00:00.000Z".into();
        full.request_id = Some("we\"ird\\ \u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f} é ✓ 😀 </script>".into());
        full.authority = Some("openrouter.ai".into());
        full.endpoint = Some("chat/completions");
        full.user_source = Some("header");
        full.team = Some("finance".into());
        full.models = vec!["openai/gpt-4o".into(), "anthropic/claude-3.5-sonnet".into()];
        full.stream = true;
        full.decision = Decision::Deny;
        full.status = Some(403);
        full.reason(Reason::ModelDenied);
        full.reason(Reason::BodyTooLarge);
        full.provider_injected = true;
        full.prompt_sha256 = Some("ab".repeat(32));
        (full.bytes_in, full.bytes_out, full.filter_us) = (u64::MAX, 0, 17);
        full.latency_first_byte_ms = Some(3);
        let mut tally = PiiTally::default();
        for (entity, action, n) in
            [("EMAIL", "redact", 2), ("API_KEY", "redact", 3), ("API_KEY", "block", 1), ("EMAIL", "redact", 1)]
        {
            tally.counts.push((entity.into(), action, n));
        }
        full.set_redactions(&tally);
        tally.counts = vec![("PHONE".into(), "flag", 1)];
        full.set_output_findings(&tally);
        full.restore = Some(RestoreCounts { restored: 3, unknown: 1, mangled: 0 });
        let limit = |name: &str, v: JsonValue| LimitAudit {
            name: name.into(),
            unit: "cost",
            outcome: "shadow_over",
            reserved: v.clone(),
            charged: JsonValue::Null,
            used: v.clone(),
            in_flight: JsonValue::from(0u64),
            max: v,
            units: LimitUnits::default(),
        };
        full.spend = Some(SpendAudit {
            prompt_tokens_max: Some(412),
            output_tokens_max: None,
            cost_max_usd: Some(0.000_001_956),
            limits: vec![limit("per-user \"x\"", JsonValue::from(1.5e-7)), limit("b", JsonValue::from(12u64))],
            worst: None,
        });
        full.response.summary = Some(ResponseSummary {
            cost: Some(1e21),
            error_code: Some(-429),
            streamed: false,
            inspected: true,
            usage_suspect: vec![("prompt_tokens", "1e400".into()), ("cost", "-1".into())],
            ..ResponseSummary::default()
        });
        full.response.provider_verdict = Some("approved");
        let mut nan = AuditRecord::new();
        nan.response.summary = Some(ResponseSummary { cost: Some(f64::NAN), ..ResponseSummary::default() });
        nan.spend = Some(SpendAudit { cost_max_usd: Some(f64::INFINITY), ..SpendAudit::default() });
        for r in [empty, full, nan] {
            assert_eq!(written(&r), serde_json::to_string(&r).unwrap());
            assert_eq!(r.to_json(), serde_json::to_string(&r).unwrap());
        }
    }

    #[test]
    fn it_escapes_every_control_character_like_serde() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let mut s = String::new();
        str_lit(&mut s, &all);
        assert_eq!(s, serde_json::to_string(&all).unwrap());
    }
}
