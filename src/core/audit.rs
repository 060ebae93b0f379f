//! The audit record: one per governed request, never containing prompt text, keys or PII.
//! Every field is documented in `docs/audit.md`.

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::core::json_value::JsonValue;

use crate::core::pii::PiiTally;
use crate::core::reason::Reason;
use crate::core::summary::ResponseSummary;

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
    /// Refused because of a fault or a check that could not be made: an internal error (500), a
    /// budget store that failed closed or prices gone stale (503).
    Error,
}

/// One audit record. Serialised as one JSON line in the access log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditRecord {
    /// Version of the record schema.
    pub(crate) schema: u32,
    /// Request start, RFC 3339 UTC with milliseconds.
    pub(crate) ts: String,
    /// `x-request-id`.
    pub(crate) request_id: Option<String>,
    /// `:authority` as received.
    pub(crate) authority: Option<String>,
    /// HTTP method.
    pub(crate) method: Option<String>,
    /// Path as recorded: the canonical endpoint path, or a known read-only path; never free text.
    pub path: Option<String>,
    /// Hex SHA-256 of the path as sent (without query string) when it differs from `path`.
    pub(crate) path_sha256: Option<String>,
    /// Endpoint name (`chat/completions`, …, `other`).
    pub endpoint: Option<&'static str>,
    /// Profile applied.
    pub profile: Option<String>,
    /// End user.
    pub user: Option<String>,
    /// Where `user` came from: `header` (trusted) or `body`.
    pub(crate) user_source: Option<&'static str>,
    /// Team from the trusted `spend.team_header` (never a key: with per-team OpenRouter keys, the
    /// team whose key Envoy injects).
    pub team: Option<String>,
    /// Canonical `model` of the request.
    pub(crate) model_requested: Option<String>,
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
    pub(crate) provider_injected: bool,
    /// SHA-256 (hex) of the exact body sent upstream; `null` when nothing was sent.
    pub(crate) prompt_sha256: Option<String>,
    /// Request body bytes received from the client.
    pub bytes_in: u64,
    /// Request body bytes sent upstream.
    pub(crate) bytes_out: u64,
    /// Microseconds spent in the filter (request and response callbacks).
    pub(crate) filter_us: u64,
    /// Milliseconds from the request's arrival to the first response header.
    pub(crate) latency_first_byte_ms: Option<u64>,
    /// Milliseconds from the request's arrival to the end of the response.
    pub(crate) latency_ms: Option<u64>,
    /// Findings per entity type and action: `{"EMAIL": {"redact": 2}}`.
    pub redactions: Findings,
    /// `mask` placeholders in the answer: `{"restored": 3, "unknown": 1, "mangled": 0}`; `null`
    /// when the request issued none.
    pub(crate) restore: Option<RestoreCounts>,
    /// Spend control: the request's worst case, and each limit it was counted against; `null`
    /// when no cost guard or limit applied (docs/spend.md).
    pub(crate) spend: Option<SpendAudit>,
    /// Findings in the model's output per entity type and action (`output_pii`):
    /// `{"PHONE": {"flag": 1}}`; empty when output inspection is off or found nothing.
    pub(crate) output_findings: Findings,
    /// Response-side summary (generation id, served model and provider, usage, cost, …).
    #[serde(flatten)]
    pub response: ResponseFields,
}

/// The `spend` object of the record.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct SpendAudit {
    /// Upper bound on prompt tokens (`null`: unknown, e.g. a file given by URL).
    pub(crate) prompt_tokens_max: Option<u64>,
    /// Output cap (`null`: none).
    pub(crate) output_tokens_max: Option<u64>,
    /// Worst-case cost in USD over every reachable model (`null`: unknown).
    pub(crate) cost_max_usd: Option<f64>,
    /// Every limit that applied, in configuration order.
    pub(crate) limits: Vec<LimitAudit>,
    /// The worst case as budgets count it.
    #[serde(skip)]
    pub(crate) worst: Option<crate::core::worst::Worst>,
}

/// One limit in the record's `spend.limits`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LimitAudit {
    /// The limit's name.
    pub name: String,
    /// `requests`, `tokens` or `cost` (USD).
    pub(crate) unit: &'static str,
    /// `admitted`, `over` (refused), `shadow_over` (admitted over a shadow limit), `unbounded`
    /// (worst case unknown: refused), `shadow_unbounded`, `store_error_open`,
    /// `store_error_closed` (refused), `release_failed`.
    pub outcome: &'static str,
    /// The worst case reserved for the request.
    pub(crate) reserved: JsonValue,
    /// What was charged when the exchange ended.
    pub(crate) charged: JsonValue,
    /// Charged in the window so far (other requests included), as last seen.
    pub used: JsonValue,
    /// Reserved by requests in flight (this one included until it ends), as last seen.
    pub(crate) in_flight: JsonValue,
    /// The limit per window.
    pub max: JsonValue,
    /// For metrics, in counting units (micro-USD for cost): charged, last seen used, max.
    #[serde(skip)]
    pub(crate) units: LimitUnits,
}

/// A limit's figures in counting units (metrics).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LimitUnits {
    /// Charged when the exchange ended.
    pub(crate) charged: u64,
    /// Last seen used.
    pub used: Option<u64>,
    /// The limit.
    pub max: u64,
    /// One counter for every request (no `per`): `used` and `max` describe the whole limit.
    pub(crate) global: bool,
}

/// Response-side fields of the record, printed among its top-level fields, each `null` before
/// (or without) a response: the response summary, and what the stream made of it.
#[derive(Debug, Clone, Default)]
pub struct ResponseFields {
    /// What was learned from the response; `None` when no response was observed.
    pub(crate) summary: Option<ResponseSummary>,
    /// HTTP status the upstream answered with (`None` for a reply of Envoy's own).
    pub(crate) upstream_status: Option<u16>,
    /// Why the response body was not (fully) inspected.
    pub(crate) response_not_inspected: Option<&'static str>,
    /// Served provider/model check: `approved`, `unapproved`, `unknown`.
    pub(crate) provider_verdict: Option<&'static str>,
    /// Why (`in_order`, `not_in_only`, `model_denied`, `no_provider_reported`, …).
    pub(crate) provider_verdict_reason: Option<&'static str>,
}

impl ResponseFields {
    /// A summary figure (`None` without a response).
    pub fn figure<T>(&self, figure: impl FnOnce(&ResponseSummary) -> Option<T>) -> Option<T> {
        self.summary.as_ref().and_then(figure)
    }
}

/// The record's response fields, in this order (docs/audit.md): usage figures out of bounds are
/// printed as `usage_suspect` (field → the number as sent; `null` when every figure was plausible).
impl Serialize for ResponseFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.summary.as_ref();
        let mut st = serializer.serialize_struct("ResponseFields", 19)?;
        st.serialize_field("generation_id", &s.and_then(|s| s.generation_id.as_ref()))?;
        st.serialize_field("model_used", &s.and_then(|s| s.model_used.as_ref()))?;
        st.serialize_field("provider", &s.and_then(|s| s.provider.as_ref()))?;
        st.serialize_field("prompt_tokens", &s.and_then(|s| s.prompt_tokens))?;
        st.serialize_field("completion_tokens", &s.and_then(|s| s.completion_tokens))?;
        st.serialize_field("total_tokens", &s.and_then(|s| s.total_tokens))?;
        st.serialize_field("cost", &s.and_then(|s| s.cost))?;
        st.serialize_field("finish_reason", &s.and_then(|s| s.finish_reason.as_ref()))?;
        st.serialize_field("cached_tokens", &s.and_then(|s| s.cached_tokens))?;
        st.serialize_field("reasoning_tokens", &s.and_then(|s| s.reasoning_tokens))?;
        st.serialize_field("error_code", &s.and_then(|s| s.error_code))?;
        st.serialize_field("error_type", &s.and_then(|s| s.error_type.as_ref()))?;
        st.serialize_field("upstream_status", &self.upstream_status)?;
        st.serialize_field("streamed", &s.map(|s| s.streamed))?;
        st.serialize_field("response_inspected", &s.map(|s| s.inspected))?;
        st.serialize_field("response_not_inspected", &self.response_not_inspected)?;
        st.serialize_field("provider_verdict", &self.provider_verdict)?;
        st.serialize_field("provider_verdict_reason", &self.provider_verdict_reason)?;
        let suspect = s.and_then(ResponseSummary::usage_suspect_sorted);
        st.serialize_field("usage_suspect", &suspect.as_deref().map(AsMap))?;
        st.end()
    }
}

/// What restore did to one response (the audit record's `restore` object).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct RestoreCounts {
    /// Placeholders replaced by their value.
    pub(crate) restored: u64,
    /// Well-formed tags of a masked entity that this request did not issue: left as they are.
    pub(crate) unknown: u64,
    /// Near-tags of a masked entity (`[EMAIL 1]`, `[email_1]`): left as they are.
    pub(crate) mangled: u64,
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
/// then actions, in byte order: both lists are kept sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings(Vec<(String, Vec<(&'static str, u64)>)>);

impl Findings {
    /// The counts of a tally.
    pub fn from_tally(tally: &PiiTally) -> Self {
        let mut entities: Vec<(String, Vec<(&'static str, u64)>)> = Vec::new();
        for (entity, action, n) in &tally.counts {
            let i = entities.binary_search_by(|(e, _)| e.as_str().cmp(entity)).unwrap_or_else(|i| {
                entities.insert(i, (entity.clone(), Vec::new()));
                i
            });
            let Some((_, actions)) = entities.get_mut(i) else { continue };
            match actions.binary_search_by(|(a, _)| a.cmp(action)) {
                Ok(j) => {
                    if let Some((_, count)) = actions.get_mut(j) {
                        *count = count.saturating_add(*n);
                    }
                }
                Err(j) => actions.insert(j, (*action, *n)),
            }
        }
        Self(entities)
    }

    /// Every (entity, action, count).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'static str, u64)> {
        self.0.iter().flat_map(|(entity, actions)| actions.iter().map(move |(a, n)| (entity.as_str(), *a, *n)))
    }

    /// The count of one entity and action (`None`: none found).
    #[cfg(test)]
    pub fn get(&self, entity: &str, action: &str) -> Option<u64> {
        self.iter().find(|(e, a, _)| *e == entity && *a == action).map(|(_, _, n)| n)
    }
}

impl Serialize for Findings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(entity, actions)| (entity, AsMap(actions))))
    }
}

/// Pairs printed as a JSON object, in their order.
struct AsMap<'a, K, V>(&'a [(K, V)]);

impl<K: Serialize, V: Serialize> Serialize for AsMap<'_, K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha256_hex_parts(&[bytes])
}

/// Lower-case hex SHA-256 of the concatenation of `parts` (without building it).
pub(crate) fn sha256_hex_parts(parts: &[&[u8]]) -> String {
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

    /// The response fields print as they did when the record held a copy of each summary field
    /// (these lines were recorded from that code): names, order, nulls.
    #[test]
    fn response_fields_print_from_the_embedded_summary_as_before() {
        use crate::core::summary::ResponseSummary;
        let tail = |r: &AuditRecord| {
            let json = r.to_json();
            let at = json.find("\"output_findings\":{},").unwrap() + "\"output_findings\":{},".len();
            json[at..].to_string()
        };
        let s = ResponseSummary {
            generation_id: Some("gen-1".into()),
            model_used: Some("m/x".into()),
            provider: Some("P".into()),
            prompt_tokens: Some(3),
            completion_tokens: Some(4),
            total_tokens: Some(7),
            cost: Some(0.25),
            cached_tokens: Some(1),
            reasoning_tokens: Some(2),
            finish_reason: Some("stop".into()),
            error_code: Some(429),
            error_type: Some("server_error".into()),
            status: Some(200),
            streamed: true,
            inspected: true,
            not_inspected: Some("bad_json"),
            usage_suspect: vec![("total_tokens", "1e99".into()), ("cost", "-1".into())],
            ..Default::default()
        };
        let mut r = AuditRecord::new();
        r.response = ResponseFields {
            upstream_status: s.status,
            response_not_inspected: s.not_inspected,
            provider_verdict: Some("approved"),
            provider_verdict_reason: Some("in_order"),
            summary: Some(s),
        };
        assert_eq!(
            tail(&r),
            r#""generation_id":"gen-1","model_used":"m/x","provider":"P","prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"cost":0.25,"finish_reason":"stop","cached_tokens":1,"reasoning_tokens":2,"error_code":429,"error_type":"server_error","upstream_status":200,"streamed":true,"response_inspected":true,"response_not_inspected":"bad_json","provider_verdict":"approved","provider_verdict_reason":"in_order","usage_suspect":{"cost":"-1","total_tokens":"1e99"}}"#
        );
        assert_eq!(
            tail(&AuditRecord::new()),
            r#""generation_id":null,"model_used":null,"provider":null,"prompt_tokens":null,"completion_tokens":null,"total_tokens":null,"cost":null,"finish_reason":null,"cached_tokens":null,"reasoning_tokens":null,"error_code":null,"error_type":null,"upstream_status":null,"streamed":null,"response_inspected":null,"response_not_inspected":null,"provider_verdict":null,"provider_verdict_reason":null,"usage_suspect":null}"#
        );
        r.response = ResponseFields { summary: Some(ResponseSummary::default()), ..ResponseFields::default() };
        assert_eq!(
            tail(&r),
            r#""generation_id":null,"model_used":null,"provider":null,"prompt_tokens":null,"completion_tokens":null,"total_tokens":null,"cost":null,"finish_reason":null,"cached_tokens":null,"reasoning_tokens":null,"error_code":null,"error_type":null,"upstream_status":null,"streamed":false,"response_inspected":false,"response_not_inspected":null,"provider_verdict":null,"provider_verdict_reason":null,"usage_suspect":null}"#
        );
    }

    #[test]
    fn record_serialises_every_field_with_nulls() {
        let mut r = AuditRecord::new();
        r.reason(Reason::ModelDenied);
        r.reason(Reason::ModelDenied);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["reasons"], serde_json::json!(["model_denied"]));
        assert_eq!(v["decision"], "allow");
        assert!(v.get("generation_id").unwrap().is_null());
        assert!(v.get("prompt_sha256").unwrap().is_null());
    }
}
