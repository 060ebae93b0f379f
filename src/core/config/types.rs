//! The plugin configuration as written by users (serde input types).
//!
//! Every struct denies unknown fields so that a typo (`allow_fallback`) fails the load instead of
//! silently weakening the policy. Defaults exist only where the default is the safe choice.
//! Compiled, ready-to-run counterparts live in [`crate::core::policy`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::pii_types::PiiConfig;
use super::spend_types::SpendConfig;

/// The whole plugin configuration (one JSON document).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// Authorities that are OpenRouter (compared case-insensitively, port 443 and trailing dot ignored).
    #[serde(default = "default_hosts")]
    pub hosts: Vec<String>,
    /// Envoy cluster names that lead to OpenRouter (`xds.cluster_name`); traffic routed there is governed
    /// whatever its `Host` header says.
    #[serde(default)]
    pub clusters: Vec<String>,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// Deepest JSON nesting accepted in a request body; deeper bodies get 400.
    #[serde(default = "default_max_json_depth")]
    pub max_json_depth: u32,
    /// Request header that selects the profile (removed before the upstream).
    #[serde(default = "default_profile_header")]
    pub profile_header: String,
    /// Profile used when the profile header is absent.
    pub default_profile: String,
    /// Trusted request header carrying the end-user id (set by the mesh).
    #[serde(default)]
    pub user_header: Option<String>,
    /// Write the user id from `user_header` into the body's `user` field.
    #[serde(default)]
    pub write_user: bool,
    /// What to do with POST bodies on paths the filter has no field map for.
    #[serde(default)]
    pub unknown_endpoints: UnknownEndpoints,
    /// Key for the `hash` PII action (HMAC-SHA-256 pseudonyms); at least 16 bytes.
    #[serde(default)]
    pub pseudonym_key: Option<String>,
    /// Named data-classification profiles.
    pub profiles: BTreeMap<String, ProfileConfig>,
    /// Prices, budgets and rate limits (docs/spend.md).
    #[serde(default)]
    pub spend: SpendConfig,
}

/// Treatment of governed requests with a body on paths without a known field map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownEndpoints {
    /// Check the model if present (and then inject provider routing), scan every string value
    /// for PII; a body naming no model is forwarded with no model check.
    Scan,
    /// Refuse them with 404 (the default: OpenRouter keeps adding endpoints that take a model —
    /// audio, images, videos — and a body with no model would run the account's default model).
    #[default]
    Reject,
}

/// One data-classification profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Ordered model rules; first match wins; no match (or no rules) denies.
    pub models: Vec<ModelRuleConfig>,
    /// Provider routing injected into every request of this profile.
    #[serde(default)]
    pub provider: Option<ProviderConfig>,
    /// Cap on `max_tokens` / `max_completion_tokens` / `max_output_tokens`.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// What to do when a request asks for more than `max_tokens`.
    #[serde(default)]
    pub max_tokens_action: CapAction,
    /// PII and secret handling.
    #[serde(default)]
    pub pii: PiiConfig,
    /// Inspection of model output (responses, JSON and SSE) with the same engine; absent: off.
    /// Actions `flag`, `redact`, `block` (and `off`); `hash` is refused.
    #[serde(default)]
    pub output_pii: Option<PiiConfig>,
    /// Whether a client-supplied `Authorization` header is refused (the key must be injected by Envoy).
    #[serde(default)]
    pub reject_client_keys: bool,
    /// Replace a non-streaming response served by a provider or model outside the policy with a
    /// 502 error (otherwise such responses are only flagged in the audit record and metrics).
    #[serde(default)]
    pub enforce_served: bool,
    /// Largest worst-case cost of one request, in USD (docs/spend.md); over it the request is
    /// refused with 402 before the upstream sees it.
    #[serde(default)]
    pub max_cost_per_request: Option<f64>,
}

/// One model rule: `{"allow": "glob"}` or `{"deny": "glob"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelRuleConfig {
    /// Models matching the glob are allowed.
    Allow(String),
    /// Models matching the glob are denied.
    Deny(String),
}

/// What a cap does when exceeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapAction {
    /// Lower the value to the cap (and insert the cap when the client sent none).
    #[default]
    Clamp,
    /// Refuse the request with 400.
    Reject,
}

/// The policy's `provider` object; fields mirror OpenRouter's provider preferences.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Providers to try, in order.
    #[serde(default)]
    pub order: Option<Vec<String>>,
    /// Whether OpenRouter may fall back to providers outside `order`.
    #[serde(default)]
    pub allow_fallbacks: Option<bool>,
    /// Only providers that satisfy every request parameter.
    #[serde(default)]
    pub require_parameters: Option<bool>,
    /// `"deny"`: only providers that neither store nor train on prompts.
    #[serde(default)]
    pub data_collection: Option<DataCollection>,
    /// Zero-data-retention endpoints only.
    #[serde(default)]
    pub zdr: Option<bool>,
    /// Only these providers.
    #[serde(default)]
    pub only: Option<Vec<String>>,
    /// Never these providers.
    #[serde(default)]
    pub ignore: Option<Vec<String>>,
    /// Allowed quantizations.
    #[serde(default)]
    pub quantizations: Option<Vec<String>>,
    /// Provider sort preference.
    #[serde(default)]
    pub sort: Option<ProviderSort>,
    /// Price ceilings (USD per million tokens, or per request/image).
    #[serde(default)]
    pub max_price: Option<MaxPrice>,
    /// Only providers that allow distillation of their text output.
    #[serde(default)]
    pub enforce_distillable_text: Option<bool>,
}

/// `provider.data_collection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCollection {
    /// Providers may store or train on data.
    Allow,
    /// Only providers that do not store or train on data.
    Deny,
}

/// `provider.sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderSort {
    /// Cheapest first.
    Price,
    /// Fastest throughput first.
    Throughput,
    /// Lowest latency first.
    Latency,
}

/// `provider.max_price`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrice {
    /// USD per million prompt tokens.
    #[serde(default)]
    pub prompt: Option<f64>,
    /// USD per million completion tokens.
    #[serde(default)]
    pub completion: Option<f64>,
    /// USD per request.
    #[serde(default)]
    pub request: Option<f64>,
    /// USD per image.
    #[serde(default)]
    pub image: Option<f64>,
    /// USD per audio unit.
    #[serde(default)]
    pub audio: Option<f64>,
}

pub(super) fn default_hosts() -> Vec<String> {
    vec!["openrouter.ai".into(), "eu.openrouter.ai".into(), "us.openrouter.ai".into()]
}

pub(super) fn default_max_body_bytes() -> u64 {
    1024 * 1024
}

pub(super) fn default_max_json_depth() -> u32 {
    64
}

pub(super) fn default_profile_header() -> String {
    "x-data-classification".into()
}
