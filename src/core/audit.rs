//! The audit record: one per governed request, never containing prompt text, keys or PII.
//! Every field is documented in `docs/audit.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use serde_json::{Map, Value};

use crate::core::pii::PiiTally;
use crate::core::reason::Reason;

/// Decision taken for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Forwarded upstream (possibly rewritten).
    #[default]
    Allow,
    /// Refused by policy: a request (402/403/429), or an answer withheld after the request was
    /// forwarded (502: output blocked, served by an unapproved provider).
    Deny,
    /// Refused because it could not be checked (400/413/415/404).
    Reject,
    /// Internal fault; refused (500).
    Error,
}

/// One audit record. Serialised as one JSON line in the access log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditRecord {
    /// Version of the record schema.
    pub schema: u32,
    /// Request start, RFC 3339 UTC with milliseconds.
    pub ts: String,
    /// `x-request-id`.
    pub request_id: Option<String>,
    /// `:authority` as received.
    pub authority: Option<String>,
    /// HTTP method.
    pub method: Option<String>,
    /// Path as recorded: the canonical endpoint path, or a known read-only path; never free text.
    pub path: Option<String>,
    /// Hex SHA-256 of the path as sent (without query string) when it differs from `path`.
    pub path_sha256: Option<String>,
    /// Endpoint name (`chat/completions`, …, `other`).
    pub endpoint: Option<&'static str>,
    /// Profile applied.
    pub profile: Option<String>,
    /// End user.
    pub user: Option<String>,
    /// Where `user` came from: `header` (trusted) or `body`.
    pub user_source: Option<&'static str>,
    /// Canonical `model` of the request.
    pub model_requested: Option<String>,
    /// Every model the request could reach (model, fallbacks, preset).
    pub models: Vec<String>,
    /// Whether the request was streamed (`"stream": true`).
    pub stream: bool,
    /// Decision.
    pub decision: Decision,
    /// Status sent by the filter (rejections) or received from the upstream.
    pub status: Option<u16>,
    /// Reason codes: why it was refused, and every place policy overruled the client.
    pub reasons: Vec<Reason>,
    /// Provider routing injected.
    pub provider_injected: bool,
    /// SHA-256 (hex) of the exact body sent upstream; `null` when nothing was sent.
    pub prompt_sha256: Option<String>,
    /// Request body bytes received from the client.
    pub bytes_in: u64,
    /// Request body bytes sent upstream.
    pub bytes_out: u64,
    /// Microseconds spent in the filter (request and response callbacks).
    pub filter_us: u64,
    /// Milliseconds from the request's arrival to the first response header.
    pub latency_first_byte_ms: Option<u64>,
    /// Milliseconds from the request's arrival to the end of the response.
    pub latency_ms: Option<u64>,
    /// Findings per entity type and action: `{"EMAIL": {"redact": 2}}`.
    pub redactions: Findings,
    /// `mask` placeholders in the answer: `{"restored": 3, "unknown": 1, "mangled": 0}`; `null`
    /// when the request issued none.
    pub restore: Option<RestoreCounts>,
    /// Spend control: the request's worst case, and each limit it was counted against; `null`
    /// when no cost guard or limit applied (docs/spend.md).
    pub spend: Option<SpendAudit>,
    /// Findings in the model's output per entity type and action (`output_pii`):
    /// `{"PHONE": {"flag": 1}}`; empty when output inspection is off or found nothing.
    pub output_findings: Findings,
    /// Response-side summary (generation id, served model and provider, usage, cost, …).
    #[serde(flatten)]
    pub response: ResponseFields,
}

/// The `spend` object of the record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpendAudit {
    /// Upper bound on prompt tokens (`null`: unknown, e.g. a file given by URL).
    pub prompt_tokens_max: Option<u64>,
    /// Output cap (`null`: none).
    pub output_tokens_max: Option<u64>,
    /// Worst-case cost in USD over every reachable model (`null`: unknown).
    pub cost_max_usd: Option<f64>,
    /// Every limit that applied, in configuration order.
    pub limits: Vec<LimitAudit>,
    /// The worst case as budgets count it.
    #[serde(skip)]
    pub worst: Option<crate::core::worst::Worst>,
}

/// One limit in the record's `spend.limits`.
#[derive(Debug, Clone, Serialize)]
pub struct LimitAudit {
    /// The limit's name.
    pub name: String,
    /// `requests`, `tokens` or `cost` (USD).
    pub unit: &'static str,
    /// `admitted`, `over` (refused), `shadow_over` (admitted over a shadow limit), `unbounded`
    /// (worst case unknown: refused), `shadow_unbounded`, `store_error_open`,
    /// `store_error_closed` (refused), `release_failed`.
    pub outcome: &'static str,
    /// The worst case reserved for the request.
    pub reserved: Value,
    /// What was charged when the exchange ended.
    pub charged: Value,
    /// Charged in the window so far (other requests included), as last seen.
    pub used: Value,
    /// Reserved by requests in flight (this one included until it ends), as last seen.
    pub in_flight: Value,
    /// The limit per window.
    pub max: Value,
    /// For metrics, in counting units (micro-USD for cost): charged, last seen used, max.
    #[serde(skip)]
    pub units: LimitUnits,
}

/// A limit's figures in counting units (metrics).
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitUnits {
    /// Charged when the exchange ended.
    pub charged: u64,
    /// Last seen used.
    pub used: Option<u64>,
    /// The limit.
    pub max: u64,
    /// One counter for every request (no `per`): `used` and `max` describe the whole limit.
    pub global: bool,
}

/// Response-side fields of the record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResponseFields {
    /// Generation id.
    pub generation_id: Option<String>,
    /// Served model.
    pub model_used: Option<String>,
    /// Served provider.
    pub provider: Option<String>,
    /// Prompt tokens.
    pub prompt_tokens: Option<u64>,
    /// Completion tokens.
    pub completion_tokens: Option<u64>,
    /// Total tokens.
    pub total_tokens: Option<u64>,
    /// Cost in USD.
    pub cost: Option<f64>,
    /// Last finish reason.
    pub finish_reason: Option<String>,
    /// Cached prompt tokens.
    pub cached_tokens: Option<u64>,
    /// Reasoning tokens.
    pub reasoning_tokens: Option<u64>,
    /// Upstream error code (numeric `error.code`).
    pub error_code: Option<i64>,
    /// Upstream error type (non-numeric `error.code`).
    pub error_type: Option<String>,
    /// HTTP status the upstream answered with.
    pub upstream_status: Option<u16>,
    /// Response streamed as SSE.
    pub streamed: Option<bool>,
    /// Whether the response body was inspected.
    pub response_inspected: Option<bool>,
    /// Why not.
    pub response_not_inspected: Option<&'static str>,
    /// Served provider/model check: `approved`, `unapproved`, `unknown`.
    pub provider_verdict: Option<&'static str>,
    /// Why (`in_order`, `not_in_only`, `model_denied`, `no_provider_reported`, …).
    pub provider_verdict_reason: Option<&'static str>,
    /// Usage figures the upstream reported out of bounds: field → the number as sent (the field
    /// itself is then null). `null` when every figure was plausible.
    pub usage_suspect: Option<Map<String, Value>>,
}

/// What restore did to one response (the audit record's `restore` object).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RestoreCounts {
    /// Placeholders replaced by their value.
    pub restored: u64,
    /// Well-formed tags of a masked entity that this request did not issue: left as they are.
    pub unknown: u64,
    /// Near-tags of a masked entity (`[EMAIL 1]`, `[email_1]`): left as they are.
    pub mangled: u64,
}

impl AuditRecord {
    /// A fresh record (schema version set).
    pub fn new() -> Self {
        Self { schema: 1, ..Self::default() }
    }

    /// Adds a reason code once.
    #[inline(never)]
    pub fn reason(&mut self, code: Reason) {
        if !self.reasons.contains(&code) {
            self.reasons.push(code);
        }
    }

    /// Copies PII counts in (entity → action → count).
    pub fn set_redactions(&mut self, tally: &PiiTally) {
        self.redactions = Findings::from_tally(tally);
    }

    /// Copies the output-inspection counts in (entity → action → count).
    pub fn set_output_findings(&mut self, tally: &PiiTally) {
        self.output_findings = Findings::from_tally(tally);
    }
}

/// Findings counted per entity type and action, printed as `{"EMAIL": {"redact": 2}}` (entities,
/// then actions, in byte order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Findings(BTreeMap<String, BTreeMap<&'static str, u64>>);

impl Findings {
    /// The counts of a tally.
    pub fn from_tally(tally: &PiiTally) -> Self {
        let mut map: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
        for (entity, action, n) in &tally.counts {
            let count = map.entry(entity.clone()).or_default().entry(*action).or_default();
            *count = count.saturating_add(*n);
        }
        Self(map)
    }

    /// Every (entity, action, count).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'static str, u64)> {
        self.0.iter().flat_map(|(entity, actions)| actions.iter().map(move |(a, n)| (entity.as_str(), *a, *n)))
    }

    /// The count of one entity and action (`None`: none found).
    #[cfg(test)]
    pub fn get(&self, entity: &str, action: &str) -> Option<u64> {
        self.0.get(entity).and_then(|actions| actions.get(action)).copied()
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha256_hex_parts(&[bytes])
}

/// Lower-case hex SHA-256 of the concatenation of `parts` (without building it).
pub fn sha256_hex_parts(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    crate::core::hex::to_hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn findings_print_entities_then_actions_in_byte_order() {
        let mut tally = PiiTally::default();
        for (entity, action) in [("PHONE", "redact"), ("EMAIL", "redact"), ("EMAIL", "flag"), ("PHONE", "redact")] {
            tally.add(entity, action);
        }
        let f = Findings::from_tally(&tally);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"EMAIL":{"flag":1,"redact":1},"PHONE":{"redact":2}}"#);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [("EMAIL", "flag", 1), ("EMAIL", "redact", 1), ("PHONE", "redact", 2)]
        );
        assert_eq!(serde_json::to_string(&Findings::default()).unwrap(), "{}");
    }

    #[test]
    fn record_serialises_every_field_with_nulls() {
        let mut r = AuditRecord::new();
        r.reason(Reason::ModelDenied);
        r.reason(Reason::ModelDenied);
        let v: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["reasons"], serde_json::json!(["model_denied"]));
        assert_eq!(v["decision"], "allow");
        assert!(v.get("generation_id").unwrap().is_null());
        assert!(v.get("prompt_sha256").unwrap().is_null());
    }
}
