//! The plugin configuration as written by users: each type, its fields and its reader defined
//! once ([`super::schema`]); the PII and spend sections are in [`super::pii_types`] and
//! [`super::spend_types`].
//!
//! Every struct denies unknown fields so that a typo (`allow_fallback`) fails the load instead of
//! silently weakening the policy. Defaults exist only where the default is the safe choice.
//! Compiled, ready-to-run counterparts live in [`crate::core::policy`].

use std::collections::BTreeMap;

use super::pii_types::PiiConfig;
use super::read::{self, Path};
use super::spend_types::SpendConfig;
use super::ConfigError;
use crate::core::json::{Kind, Node};

config_struct! {
    /// The whole plugin configuration (one JSON document).
    pub struct GuardConfig {
        /// Authorities that are OpenRouter (compared case-insensitively, port 443 and trailing dot ignored).
        hosts: Vec<String> = default(read::strings, default_hosts()),
        /// Envoy cluster names that lead to OpenRouter (`xds.cluster_name`); traffic routed there is governed
        /// whatever its `Host` header says.
        clusters: Vec<String> = default(read::strings, Vec::new()),
        /// Largest request body accepted, in bytes; larger bodies get 413.
        max_body_bytes: u64 = default(read::uint, 1024 * 1024),
        /// Deepest JSON nesting accepted in a request body; deeper bodies get 400.
        max_json_depth: u32 = default(read::uint32, 64),
        /// Request header that selects the profile (removed before the upstream).
        profile_header: String = default(read::string, "x-data-classification".into()),
        /// Profile used when the profile header is absent.
        default_profile: String = required(read::string),
        /// Trusted request header carrying the end-user id (set by the mesh).
        user_header: Option<String> = optional(read::string),
        /// Write the user id from `user_header` into the body's `user` field.
        write_user: bool = default(read::boolean, false),
        /// What to do with POST bodies on paths the filter has no field map for.
        unknown_endpoints: UnknownEndpoints = default(UnknownEndpoints::read, UnknownEndpoints::default()),
        /// Key for the `hash` PII action (HMAC-SHA-256 pseudonyms); at least 16 bytes.
        pseudonym_key: Option<String> = optional(read::string),
        /// Named data-classification profiles.
        profiles: BTreeMap<String, ProfileConfig> = required(|v, at| read::map(v, at, ProfileConfig::read)),
        /// Prices, budgets and rate limits (docs/spend.md).
        spend: SpendConfig = default(SpendConfig::read, SpendConfig::default()),
    }
}

config_enum! {
    /// Treatment of governed requests with a body on paths without a known field map.
    #[derive(Default)]
    pub enum UnknownEndpoints {
        /// Check the model if present (and then inject provider routing), scan every string value
        /// for PII; a body naming no model is forwarded with no model check.
        Scan = "scan",
        /// Refuse them with 404 (the default: OpenRouter keeps adding endpoints that take a model —
        /// audio, images, videos — and a body with no model would run the account's default model).
        #[default]
        Reject = "reject",
    }
}

config_struct! {
    /// One data-classification profile.
    pub struct ProfileConfig {
        /// Ordered model rules; first match wins; no match (or no rules) denies.
        models: Vec<ModelRuleConfig> = required(|v, at| read::list(v, at, ModelRuleConfig::read)),
        /// Provider routing injected into every request of this profile.
        provider: Option<ProviderConfig> = optional(ProviderConfig::read),
        /// Cap on `max_tokens` / `max_completion_tokens` / `max_output_tokens`.
        max_tokens: Option<u64> = optional(read::uint),
        /// What to do when a request asks for more than `max_tokens`.
        max_tokens_action: CapAction = default(CapAction::read, CapAction::default()),
        /// PII and secret handling.
        pii: PiiConfig = default(PiiConfig::read, PiiConfig::default()),
        /// Inspection of model output (responses, JSON and SSE) with the same engine; absent: off.
        /// Actions `flag`, `redact`, `block` (and `off`); `hash` is refused.
        output_pii: Option<PiiConfig> = optional(PiiConfig::read),
        /// Whether a client-supplied `Authorization` header is refused (the key must be injected by Envoy).
        reject_client_keys: bool = default(read::boolean, false),
        /// Replace a non-streaming response served by a provider or model outside the policy with a
        /// 502 error (otherwise such responses are only flagged in the audit record and metrics).
        enforce_served: bool = default(read::boolean, false),
        /// Largest worst-case cost of one request, in USD (docs/spend.md); over it the request is
        /// refused with 402 before the upstream sees it.
        max_cost_per_request: Option<f64> = optional(read::number),
        /// OpenRouter plugins (and the `:online` variant) the profile allows, by id and engine
        /// (docs/configuration.md). Absent: every plugin, unless the profile's `provider` restricts
        /// where prompts go (`only`, `zdr`, `data_collection: deny`, `order` without fallbacks):
        /// then none.
        plugins: Option<Vec<PluginRuleConfig>> = optional(|v, at| read::list(v, at, PluginRuleConfig::read)),
    }
}

config_struct! {
    /// One allowed plugin: its `id` and, optionally, the engine it must name.
    pub struct PluginRuleConfig {
        /// Plugin id (`web`, `file-parser`, …).
        id: String = required(read::string),
        /// Engine the plugin must name (`native`, `exa`, `pdf-text`, `mistral-ocr`, …); absent: any,
        /// including none (OpenRouter's default engine).
        engine: Option<String> = optional(read::string),
    }
}

/// One model rule: `{"allow": "glob"}` or `{"deny": "glob"}`.
#[derive(Debug, Clone)]
pub enum ModelRuleConfig {
    /// Models matching the glob are allowed.
    Allow(String),
    /// Models matching the glob are denied.
    Deny(String),
}

impl ModelRuleConfig {
    /// The keys of a rule object.
    const VARIANTS: &'static [&'static str] = &["allow", "deny"];

    /// Reads a rule: an object with exactly one key, `allow` or `deny`, whose value is a glob.
    fn read(node: &Node<'_>, at: Path<'_>) -> Result<Self, ConfigError> {
        const EXPECTED: &str = "an object with one key, `allow` or `deny`";
        let Kind::Object(members) = &node.kind else { return Err(read::invalid_type(node, at, EXPECTED)) };
        let [m] = members.as_slice() else {
            return Err(at.error(format!("invalid length {}, expected {EXPECTED}", members.len())));
        };
        let here = at.key(&m.key);
        match m.key.as_ref() {
            "allow" => Ok(ModelRuleConfig::Allow(read::string(&m.value, here)?)),
            "deny" => Ok(ModelRuleConfig::Deny(read::string(&m.value, here)?)),
            other => Err(read::unknown_variant(here, other, Self::VARIANTS)),
        }
    }
}

config_enum! {
    /// What a cap does when exceeded.
    #[derive(Default)]
    pub enum CapAction {
        /// Lower the value to the cap (and insert the cap when the client sent none).
        #[default]
        Clamp = "clamp",
        /// Refuse the request with 400.
        Reject = "reject",
    }
}

config_struct! {
    default
    /// The policy's `provider` object; fields mirror OpenRouter's provider preferences.
    pub struct ProviderConfig {
        /// Providers to try, in order.
        order: Option<Vec<String>> = optional(read::strings),
        /// Whether OpenRouter may fall back to providers outside `order`.
        allow_fallbacks: Option<bool> = optional(read::boolean),
        /// Only providers that satisfy every request parameter.
        require_parameters: Option<bool> = optional(read::boolean),
        /// `"deny"`: only providers that neither store nor train on prompts.
        data_collection: Option<DataCollection> = optional(DataCollection::read),
        /// Zero-data-retention endpoints only.
        zdr: Option<bool> = optional(read::boolean),
        /// Only these providers.
        only: Option<Vec<String>> = optional(read::strings),
        /// Never these providers.
        ignore: Option<Vec<String>> = optional(read::strings),
        /// Allowed quantizations.
        quantizations: Option<Vec<String>> = optional(read::strings),
        /// Provider sort preference.
        sort: Option<ProviderSort> = optional(ProviderSort::read),
        /// Price ceilings (USD per million tokens, or per request/image).
        max_price: Option<MaxPrice> = optional(MaxPrice::read),
        /// Only providers that allow distillation of their text output.
        enforce_distillable_text: Option<bool> = optional(read::boolean),
    }
}

config_enum! {
    /// `provider.data_collection`.
    pub enum DataCollection {
        /// Providers may store or train on data.
        Allow = "allow",
        /// Only providers that do not store or train on data.
        Deny = "deny",
    }
}

config_enum! {
    /// `provider.sort`.
    pub enum ProviderSort {
        /// Cheapest first.
        Price = "price",
        /// Fastest throughput first.
        Throughput = "throughput",
        /// Lowest latency first.
        Latency = "latency",
    }
}

config_struct! {
    default
    /// `provider.max_price`.
    pub struct MaxPrice {
        /// USD per million prompt tokens.
        prompt: Option<f64> = optional(read::number),
        /// USD per million completion tokens.
        completion: Option<f64> = optional(read::number),
        /// USD per request.
        request: Option<f64> = optional(read::number),
        /// USD per image.
        image: Option<f64> = optional(read::number),
        /// USD per audio unit.
        audio: Option<f64> = optional(read::number),
    }
}

/// The hosts governed when the configuration names none.
fn default_hosts() -> Vec<String> {
    vec!["openrouter.ai".into(), "eu.openrouter.ai".into(), "us.openrouter.ai".into()]
}
