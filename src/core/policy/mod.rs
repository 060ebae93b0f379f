//! The compiled policy: everything from the configuration, ready to run, built once per config load.

use crate::core::plugins::PluginPolicy;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::core::config::{self, CapAction, ConfigError, GuardConfig, UnknownEndpoints};
use crate::core::hostmatch::TrafficMatcher;
use crate::core::model::ModelRules;
use crate::core::pii::Redactor;
use crate::core::provider::ProviderPolicy;
use crate::core::spend::{self, Spend};

/// Hard ceiling for `max_json_depth` (the parser recurses; wasm stacks are small).
pub const MAX_JSON_DEPTH_CEILING: u32 = 256;

/// One compiled profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile name as configured.
    pub name: String,
    /// Model rules.
    pub models: ModelRules,
    /// Provider routing to inject, if any.
    pub provider: Option<ProviderPolicy>,
    /// Cap on output tokens.
    pub max_tokens: Option<u64>,
    /// Clamp or reject when the cap is exceeded.
    pub(crate) max_tokens_action: CapAction,
    /// PII engine.
    pub redactor: Redactor,
    /// Output inspection engine (`output_pii`); `None` when off.
    pub output: Option<Rc<Redactor>>,
    /// Refuse client-supplied `Authorization` headers.
    pub(crate) reject_client_keys: bool,
    /// Replace non-streaming responses from unapproved providers/models with a 502.
    pub(crate) enforce_served: bool,
    /// Largest worst-case cost of one request, micro-USD (docs/spend.md).
    pub(crate) max_cost_per_request: Option<u64>,
    /// The plugins (and `:online`) it allows.
    pub(crate) plugins: PluginPolicy,
}

/// The whole compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Which traffic is governed.
    pub(crate) traffic: TrafficMatcher,
    /// Largest accepted body.
    pub max_body_bytes: u64,
    /// Deepest accepted JSON nesting.
    pub max_json_depth: u32,
    /// Lower-cased profile header name.
    pub profile_header: String,
    /// Index of the default profile in `profiles`.
    pub default_profile: usize,
    /// Lower-cased trusted user header name.
    pub user_header: Option<String>,
    /// Write the trusted user id into the body's `user`.
    pub(crate) write_user: bool,
    /// Treatment of unknown endpoints.
    pub(crate) unknown_endpoints: UnknownEndpoints,
    /// Profiles, sorted by name.
    pub profiles: Vec<Profile>,
    /// Prices, budgets and rate limits.
    pub(crate) spend: Spend,
}

fn header_name(raw: &str, path: &str) -> Result<String, ConfigError> {
    let h = raw.trim().to_ascii_lowercase();
    let ok = !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b));
    if !ok {
        return Err(ConfigError::new(path, "not a valid HTTP header name"));
    }
    if h.starts_with(':')
        || ["host", "content-length", "content-type", "authorization", "transfer-encoding"].contains(&h.as_str())
    {
        return Err(ConfigError::new(path, "this header cannot be used for policy selection"));
    }
    Ok(h)
}

impl Policy {
    /// Parses and compiles the plugin configuration JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigError> {
        Self::compile(config::parse(bytes)?)
    }

    /// Compiles a parsed configuration; the first problem is reported with its JSON path.
    pub fn compile(cfg: GuardConfig) -> Result<Self, ConfigError> {
        if cfg.hosts.is_empty() && cfg.clusters.is_empty() {
            return Err(ConfigError::new("hosts", "at least one host or cluster is required, or nothing is governed"));
        }
        let traffic = TrafficMatcher::compile(&cfg.hosts, &cfg.clusters)?;
        if cfg.max_body_bytes == 0 || cfg.max_body_bytes > 64 * 1024 * 1024 {
            return Err(ConfigError::new("max_body_bytes", "must be between 1 and 67108864"));
        }
        if cfg.max_json_depth == 0 || cfg.max_json_depth > MAX_JSON_DEPTH_CEILING {
            return Err(ConfigError::new("max_json_depth", format!("must be between 1 and {MAX_JSON_DEPTH_CEILING}")));
        }
        let profile_header = header_name(&cfg.profile_header, "profile_header")?;
        let user_header = cfg.user_header.as_deref().map(|h| header_name(h, "user_header")).transpose()?;
        if user_header.as_deref() == Some(profile_header.as_str()) {
            return Err(ConfigError::new("user_header", "must differ from profile_header"));
        }
        if cfg.write_user && user_header.is_none() {
            return Err(ConfigError::new("write_user", "requires user_header"));
        }
        let key = cfg.pseudonym_key.as_ref().map(|k| crate::core::pii::pseudonym_key(k.as_bytes())).transpose()?;
        if cfg.profiles.is_empty() {
            return Err(ConfigError::new("profiles", "at least one profile is required"));
        }
        let mut profiles = Vec::with_capacity(cfg.profiles.len());
        let mut lower_names: BTreeMap<String, &str> = BTreeMap::new();
        for (name, p) in &cfg.profiles {
            let base = format!("profiles.{name}");
            let lname = name.trim().to_ascii_lowercase();
            if lname.is_empty() || name.trim() != name {
                return Err(ConfigError::new(base, "profile names must be non-empty without surrounding spaces"));
            }
            if lower_names.insert(lname, name).is_some() {
                return Err(ConfigError::new(base, "profile names must be unique ignoring case"));
            }
            let models = ModelRules::compile(&p.models, &format!("{base}.models"))?;
            let provider =
                p.provider.as_ref().map(|pc| ProviderPolicy::compile(pc, &format!("{base}.provider"))).transpose()?;
            if p.max_tokens == Some(0) {
                return Err(ConfigError::new(format!("{base}.max_tokens"), "must be at least 1"));
            }
            let redactor = Redactor::compile(&p.pii, key, &format!("{base}.pii"))?;
            let max_cost_per_request =
                spend::max_cost(p.max_cost_per_request, &format!("{base}.max_cost_per_request"))?;
            let plugins = PluginPolicy::compile(p.plugins.as_deref(), p.provider.as_ref(), &format!("{base}.plugins"))?;
            let output = match &p.output_pii {
                Some(o) => crate::core::response::outscan::compile(o, &format!("{base}.output_pii"))?.map(Rc::new),
                None => None,
            };
            if let Some(out) = &output {
                crate::core::response::outscan::refuse_restored_secrets(&redactor, out, &format!("{base}.output_pii"))?;
            }
            profiles.push(Profile {
                name: name.clone(),
                models,
                provider,
                max_tokens: p.max_tokens,
                max_tokens_action: p.max_tokens_action,
                redactor,
                output,
                reject_client_keys: p.reject_client_keys,
                enforce_served: p.enforce_served,
                max_cost_per_request,
                plugins,
            });
        }
        let default_profile = profiles
            .iter()
            .position(|p| p.name == cfg.default_profile)
            .ok_or_else(|| ConfigError::new("default_profile", "names no profile in `profiles`"))?;
        let team_header = cfg.spend.team_header.as_deref().map(|h| header_name(h, "spend.team_header")).transpose()?;
        if team_header.is_some() && (team_header == user_header || team_header.as_ref() == Some(&profile_header)) {
            return Err(ConfigError::new("spend.team_header", "must differ from profile_header and user_header"));
        }
        let names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
        let spend = Spend::compile(&cfg.spend, &names, team_header)?;
        Ok(Self {
            traffic,
            max_body_bytes: cfg.max_body_bytes,
            max_json_depth: cfg.max_json_depth,
            profile_header,
            default_profile,
            user_header,
            write_user: cfg.write_user,
            unknown_endpoints: cfg.unknown_endpoints,
            profiles,
            spend,
        })
    }

    /// Finds a profile by header value (trimmed, case-insensitive).
    pub fn profile_by_name(&self, value: &str) -> Option<usize> {
        let v = value.trim();
        self.profiles.iter().position(|p| p.name.eq_ignore_ascii_case(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"hosts": ["openrouter.ai"], "default_profile": "confidential",
        "profiles": {"confidential": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}],
        "provider": {"order": ["anthropic"], "allow_fallbacks": false, "data_collection": "deny"}, "max_tokens": 8192}}}"#;

    fn err(json: &str) -> ConfigError {
        Policy::from_json(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn compiles_a_good_config_with_defaults() {
        let p = Policy::from_json(GOOD.as_bytes()).unwrap();
        assert_eq!(p.max_body_bytes, 1024 * 1024);
        assert_eq!(p.profile_header, "x-data-classification");
        assert_eq!(p.profiles.len(), 1);
        assert_eq!(p.profile_by_name(" CONFIDENTIAL "), Some(0));
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let e = err(&GOOD.replace("\"allow_fallbacks\"", "\"allow_fallback\""));
        assert_eq!(e.path, "profiles.confidential.provider.allow_fallback");
        assert!(e.message.contains("allow_fallback"), "{e}");
        let e = err(&GOOD.replace("\"hosts\"", "\"host\""));
        assert!(e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn wrong_types_and_values_are_rejected_with_their_path() {
        assert_eq!(err(&GOOD.replace("8192", "\"lots\"")).path, "profiles.confidential.max_tokens");
        assert_eq!(err(&GOOD.replace("8192", "0")).path, "profiles.confidential.max_tokens");
        assert_eq!(
            err(&GOOD.replace("{\"allow\": \"anthropic/*\"}", "{\"permit\": \"x\"}")).path,
            "profiles.confidential.models[0].permit"
        );
        assert_eq!(
            err(&GOOD.replace("\"deny\"}", "\"sometimes\"}")).path,
            "profiles.confidential.provider.data_collection"
        );
        assert_eq!(
            err(&GOOD.replace("\"default_profile\": \"confidential\"", "\"default_profile\": \"public\"")).path,
            "default_profile"
        );
        assert_eq!(err(r#"{"profiles": 1}"#).path, "profiles");
        assert_eq!(err(&GOOD.replace("{\"hosts\"", "{\"max_json_depth\": 100000, \"hosts\"")).path, "max_json_depth");
        assert_eq!(
            err(&GOOD.replace("{\"hosts\"", "{\"profile_header\": \"bad header\", \"hosts\"")).path,
            "profile_header"
        );
        assert_eq!(err(&GOOD.replace("{\"hosts\"", "{\"write_user\": true, \"hosts\"")).path, "write_user");
        assert_eq!(err(&GOOD.replace("{\"hosts\"", "{\"pseudonym_key\": \"short\", \"hosts\"")).path, "pseudonym_key");
    }

    #[test]
    fn host_names_that_govern_nothing_are_refused_at_load_with_their_path() {
        for (hosts, path) in [
            (r#"["openrouter.ai", "*.openrouter.ai:443"]"#, "hosts[1]"),
            (r#"["openrouter.ai:https"]"#, "hosts[0]"),
            (r#"["openrouter.*"]"#, "hosts[0]"),
            (r#"["https://openrouter.ai/"]"#, "hosts[0]"),
        ] {
            assert_eq!(err(&GOOD.replace(r#"["openrouter.ai"]"#, hosts)).path, path, "{hosts}");
        }
        let p = Policy::from_json(GOOD.replace(r#"["openrouter.ai"]"#, r#"["*.openrouter.ai"]"#).as_bytes()).unwrap();
        assert!(p.traffic.host_is_governed(Some("eu.openrouter.ai")));
        assert!(!p.traffic.host_is_governed(Some("openrouter.ai")));
    }

    #[test]
    fn trailing_garbage_and_non_json_are_rejected() {
        assert!(Policy::from_json(format!("{GOOD} x").as_bytes()).is_err());
        assert!(Policy::from_json(b"").is_err());
    }
}
