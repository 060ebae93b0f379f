//! Builds [`GuardConfig`] and its profile, model-rule and provider types from the JSON tree, with
//! the same fields, defaults and refusals as their serde attributes in [`super::types`] (a unit
//! test in [`super`] checks the two agree). PII settings are read by [`super::build_pii`].

use super::build_pii::pii;
use super::build_spend::spend;
use super::read::{self, Path};
use super::types::{
    default_hosts, default_max_body_bytes, default_max_json_depth, default_profile_header, CapAction, DataCollection,
    GuardConfig, MaxPrice, ModelRuleConfig, ProfileConfig, ProviderConfig, ProviderSort, UnknownEndpoints,
};
use super::ConfigError;
use crate::core::json::{Kind, Node};

/// Fields of [`GuardConfig`], in declaration order (as serde lists them).
pub(super) const GUARD_FIELDS: &[&str] = &[
    "hosts",
    "clusters",
    "max_body_bytes",
    "max_json_depth",
    "profile_header",
    "default_profile",
    "user_header",
    "write_user",
    "unknown_endpoints",
    "pseudonym_key",
    "profiles",
    "spend",
];

/// Fields of [`ProfileConfig`].
pub(super) const PROFILE_FIELDS: &[&str] = &[
    "models",
    "provider",
    "max_tokens",
    "max_tokens_action",
    "pii",
    "output_pii",
    "reject_client_keys",
    "enforce_served",
    "max_cost_per_request",
];

/// Fields of [`ProviderConfig`].
pub(super) const PROVIDER_FIELDS: &[&str] = &[
    "order",
    "allow_fallbacks",
    "require_parameters",
    "data_collection",
    "zdr",
    "only",
    "ignore",
    "quantizations",
    "sort",
    "max_price",
    "enforce_distillable_text",
];

/// Fields of [`MaxPrice`].
pub(super) const MAX_PRICE_FIELDS: &[&str] = &["prompt", "completion", "request", "image", "audio"];

/// The keys of a [`ModelRuleConfig`] object.
const MODEL_RULE_VARIANTS: &[&str] = &["allow", "deny"];

/// The whole configuration document.
pub fn guard(node: &Node<'_>, at: Path<'_>) -> Result<GuardConfig, ConfigError> {
    let mut hosts = default_hosts();
    let mut clusters = Vec::new();
    let mut max_body_bytes = default_max_body_bytes();
    let mut max_json_depth = default_max_json_depth();
    let mut profile_header = default_profile_header();
    let mut default_profile = None;
    let mut user_header = None;
    let mut write_user = false;
    let mut unknown_endpoints = UnknownEndpoints::default();
    let mut pseudonym_key = None;
    let mut profiles = None;
    let mut spend_config = None;
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "hosts" => hosts = read::strings(v, here)?,
            "clusters" => clusters = read::strings(v, here)?,
            "max_body_bytes" => max_body_bytes = read::uint(v, here)?,
            "max_json_depth" => max_json_depth = read::uint32(v, here)?,
            "profile_header" => profile_header = read::string(v, here)?,
            "default_profile" => default_profile = Some(read::string(v, here)?),
            "user_header" => user_header = read::optional(v, here, read::string)?,
            "write_user" => write_user = read::boolean(v, here)?,
            "unknown_endpoints" => unknown_endpoints = unknown_endpoints_value(v, here)?,
            "pseudonym_key" => pseudonym_key = read::optional(v, here, read::string)?,
            "profiles" => profiles = Some(read::map(v, here, profile)?),
            "spend" => spend_config = Some(spend(v, here)?),
            other => return Err(read::unknown_field(here, other, GUARD_FIELDS)),
        }
    }
    Ok(GuardConfig {
        hosts,
        clusters,
        max_body_bytes,
        max_json_depth,
        profile_header,
        default_profile: read::required(default_profile, at, "default_profile")?,
        user_header,
        write_user,
        unknown_endpoints,
        pseudonym_key,
        profiles: read::required(profiles, at, "profiles")?,
        spend: spend_config.unwrap_or_default(),
    })
}

/// One profile, `profiles.<name>`.
fn profile(node: &Node<'_>, at: Path<'_>) -> Result<ProfileConfig, ConfigError> {
    let mut models = None;
    let mut provider = None;
    let mut max_tokens = None;
    let mut max_tokens_action = CapAction::default();
    let mut pii_config = None;
    let mut output_pii = None;
    let mut reject_client_keys = false;
    let mut enforce_served = false;
    let mut max_cost_per_request = None;
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "models" => models = Some(read::list(v, here, model_rule)?),
            "provider" => provider = read::optional(v, here, provider_config)?,
            "max_tokens" => max_tokens = read::optional(v, here, read::uint)?,
            "max_tokens_action" => max_tokens_action = cap_action(v, here)?,
            "pii" => pii_config = Some(pii(v, here)?),
            "output_pii" => output_pii = read::optional(v, here, pii)?,
            "reject_client_keys" => reject_client_keys = read::boolean(v, here)?,
            "enforce_served" => enforce_served = read::boolean(v, here)?,
            "max_cost_per_request" => max_cost_per_request = read::optional(v, here, read::number)?,
            other => return Err(read::unknown_field(here, other, PROFILE_FIELDS)),
        }
    }
    Ok(ProfileConfig {
        models: read::required(models, at, "models")?,
        provider,
        max_tokens,
        max_tokens_action,
        pii: pii_config.unwrap_or_default(),
        output_pii,
        reject_client_keys,
        enforce_served,
        max_cost_per_request,
    })
}

/// One model rule: an object with exactly one key, `allow` or `deny`, whose value is a glob.
fn model_rule(node: &Node<'_>, at: Path<'_>) -> Result<ModelRuleConfig, ConfigError> {
    const EXPECTED: &str = "an object with one key, `allow` or `deny`";
    let Kind::Object(members) = &node.kind else { return Err(read::invalid_type(node, at, EXPECTED)) };
    let [m] = members.as_slice() else {
        return Err(at.error(format!("invalid length {}, expected {EXPECTED}", members.len())));
    };
    let here = at.key(&m.key);
    match m.key.as_ref() {
        "allow" => Ok(ModelRuleConfig::Allow(read::string(&m.value, here)?)),
        "deny" => Ok(ModelRuleConfig::Deny(read::string(&m.value, here)?)),
        other => Err(read::unknown_variant(here, other, MODEL_RULE_VARIANTS)),
    }
}

/// `profiles.<name>.provider`.
fn provider_config(node: &Node<'_>, at: Path<'_>) -> Result<ProviderConfig, ConfigError> {
    let mut out = ProviderConfig::default();
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "order" => out.order = read::optional(v, here, read::strings)?,
            "allow_fallbacks" => out.allow_fallbacks = read::optional(v, here, read::boolean)?,
            "require_parameters" => out.require_parameters = read::optional(v, here, read::boolean)?,
            "data_collection" => out.data_collection = read::optional(v, here, data_collection)?,
            "zdr" => out.zdr = read::optional(v, here, read::boolean)?,
            "only" => out.only = read::optional(v, here, read::strings)?,
            "ignore" => out.ignore = read::optional(v, here, read::strings)?,
            "quantizations" => out.quantizations = read::optional(v, here, read::strings)?,
            "sort" => out.sort = read::optional(v, here, provider_sort)?,
            "max_price" => out.max_price = read::optional(v, here, max_price)?,
            "enforce_distillable_text" => out.enforce_distillable_text = read::optional(v, here, read::boolean)?,
            other => return Err(read::unknown_field(here, other, PROVIDER_FIELDS)),
        }
    }
    Ok(out)
}

/// `provider.max_price`.
fn max_price(node: &Node<'_>, at: Path<'_>) -> Result<MaxPrice, ConfigError> {
    let mut out = MaxPrice::default();
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        let slot = match m.key.as_ref() {
            "prompt" => &mut out.prompt,
            "completion" => &mut out.completion,
            "request" => &mut out.request,
            "image" => &mut out.image,
            "audio" => &mut out.audio,
            other => return Err(read::unknown_field(here, other, MAX_PRICE_FIELDS)),
        };
        *slot = read::optional(v, here, read::number)?;
    }
    Ok(out)
}

/// `unknown_endpoints`: `"scan"` or `"reject"`.
fn unknown_endpoints_value(node: &Node<'_>, at: Path<'_>) -> Result<UnknownEndpoints, ConfigError> {
    read::variant(node, at, &[("scan", UnknownEndpoints::Scan), ("reject", UnknownEndpoints::Reject)])
}

/// `max_tokens_action`: `"clamp"` or `"reject"`.
fn cap_action(node: &Node<'_>, at: Path<'_>) -> Result<CapAction, ConfigError> {
    read::variant(node, at, &[("clamp", CapAction::Clamp), ("reject", CapAction::Reject)])
}

/// `provider.data_collection`: `"allow"` or `"deny"`.
fn data_collection(node: &Node<'_>, at: Path<'_>) -> Result<DataCollection, ConfigError> {
    read::variant(node, at, &[("allow", DataCollection::Allow), ("deny", DataCollection::Deny)])
}

/// `provider.sort`: `"price"`, `"throughput"` or `"latency"`.
fn provider_sort(node: &Node<'_>, at: Path<'_>) -> Result<ProviderSort, ConfigError> {
    read::variant(
        node,
        at,
        &[("price", ProviderSort::Price), ("throughput", ProviderSort::Throughput), ("latency", ProviderSort::Latency)],
    )
}
