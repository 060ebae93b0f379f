//! The `spend` section of the configuration (one table per type, [`super::schema`]): the price table, the output
//! assumed for uncapped requests, and budgets and rate limits (docs/spend.md). Compiled
//! counterparts live in [`crate::core::spend`].

use super::read::{self, Path};
use super::ConfigError;
use crate::core::json::{Kind, Node};

config_struct! {
    default
    /// `spend`: prices and limits shared by every profile.
    pub struct SpendConfig {
        /// Price table; the first entry whose glob matches a model id prices it.
        prices: Vec<PriceConfig> = default(|v, at| read::list(v, at, PriceConfig::read), Vec::new()),
        /// Output tokens assumed for a request that names no output cap (neither the request nor its
        /// profile): a number, or `"model_context"` (each model's own limit from the fetched model
        /// list); without it such a request is refused wherever a worst case is needed.
        assume_output_tokens: Option<AssumeOutput> = optional(AssumeOutput::read),
        /// Trusted request header carrying the team (or workspace) id, for limits `per` team.
        team_header: Option<String> = optional(read::string),
        /// Budgets and rate limits.
        limits: Vec<LimitConfig> = default(|v, at| read::list(v, at, LimitConfig::read), Vec::new()),
        /// Prices of OpenRouter plugins (web search, PDF parsing engines) and the `:online` variant.
        plugin_prices: Vec<PluginPriceConfig> = default(|v, at| read::list(v, at, PluginPriceConfig::read), Vec::new()),
        /// Where the limits' counters live; absent: the embedded store.
        store: Option<StoreConfig> = optional(StoreConfig::read),
        /// Prices fetched from OpenRouter's public model list; absent: the `prices` table alone.
        prices_refresh: Option<PricesRefreshConfig> = optional(PricesRefreshConfig::read),
    }
}

/// `spend.assume_output_tokens`: a fixed number of tokens, or each model's own output limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssumeOutput {
    /// This many output tokens, whatever the model.
    Tokens(u64),
    /// `"model_context"`: the model's `top_provider.max_completion_tokens` in the fetched model
    /// list, else its `context_length` (needs `spend.prices_refresh`).
    ModelContext,
}

impl AssumeOutput {
    /// A non-negative integer or the string `model_context`.
    fn read(node: &Node<'_>, at: Path<'_>) -> Result<Self, ConfigError> {
        match &node.kind {
            Kind::Str(_) => read::variant(node, at, &[("model_context", Self::ModelContext)]),
            Kind::Number(_) => read::uint(node, at).map(Self::Tokens),
            _ => Err(read::invalid_type(node, at, "an integer or `model_context`")),
        }
    }
}

config_struct! {
    /// `spend.prices_refresh`: fetch `GET /api/v1/models` periodically (docs/spend.md).
    pub struct PricesRefreshConfig {
        /// The Envoy cluster towards OpenRouter (usually the inference cluster).
        cluster: String = required(read::string),
        /// `:authority` of the call (default `openrouter.ai`).
        authority: Option<String> = optional(read::string),
        /// `:path` of the call (default `/api/v1/models`).
        path: Option<String> = optional(read::string),
        /// Seconds between fetches (default 3600).
        interval_s: Option<u64> = optional(read::uint),
        /// Seconds after the last good fetch when the fetched prices are stale (default 86400).
        max_age_s: Option<u64> = optional(read::uint),
        /// Timeout of one fetch in ms (default 10000).
        timeout_ms: Option<u64> = optional(read::uint),
        /// Largest answer accepted, in bytes (default 8 MiB).
        max_bytes: Option<u64> = optional(read::uint),
    }
}

config_struct! {
    /// `spend.store`: the counters of every limit, in this Envoy (`embedded`) or in the rate-limit
    /// service shared by every Envoy (`rls`).
    pub struct StoreConfig {
        /// `embedded` or `rls`.
        kind: StoreKind = required(StoreKind::read),
        /// `rls`: the Envoy cluster of the rate-limit service (HTTP/2).
        cluster: Option<String> = optional(read::string),
        /// `rls`: the RLS domain (default `openrouter-guard`).
        domain: Option<String> = optional(read::string),
        /// `rls`: timeout of one call in ms (default 500).
        timeout_ms: Option<u64> = optional(read::uint),
        /// `rls`: longest life of a reservation never committed, in s (default 900).
        reservation_ttl_s: Option<u64> = optional(read::uint),
        /// `rls`: the `:authority` of the calls (default: the cluster name, which a gRPC server
        /// refuses when it is not a valid authority, as Istio's `outbound|port||host` names).
        authority: Option<String> = optional(read::string),
    }
}

config_enum! {
    /// Kind of counter store.
    pub enum StoreKind {
        /// Proxy-wasm shared data of this Envoy.
        Embedded = "embedded",
        /// The rate-limit service (`rls/`, limitador).
        Rls = "rls",
    }
}

config_struct! {
    /// One plugin price: USD per use and per search result, for a plugin id and optionally engine.
    pub struct PluginPriceConfig {
        /// Plugin id (`web`, `file-parser`, …).
        id: String = required(read::string),
        /// Engine it prices; absent: a use that names no engine (OpenRouter picks one).
        engine: Option<String> = optional(read::string),
        /// USD per use.
        request: f64 = default(read::number, 0.0),
        /// USD per search result (`max_results`, 5 when absent).
        per_result: f64 = default(read::number, 0.0),
    }
}

config_struct! {
    /// One price-table entry: USD per million tokens (and per request).
    pub struct PriceConfig {
        /// Model glob (as in model rules: `*` matches any run, variants included).
        model: String = required(read::string),
        /// USD per million prompt tokens.
        prompt: f64 = required(read::number),
        /// USD per million completion tokens.
        completion: f64 = required(read::number),
        /// USD per request (web search, fixed fees).
        request: f64 = default(read::number, 0.0),
        /// Prompt tokens one image given by URL may cost on these models; absent: the largest any
        /// model OpenRouter serves is known to bill (`price::DEFAULT_IMAGE_TOKENS`).
        image_tokens: Option<u64> = optional(read::uint),
    }
}

config_struct! {
    /// One budget or rate limit.
    pub struct LimitConfig {
        /// Unique name: in the 429, the audit record and metric labels.
        name: String = required(read::string),
        /// What the counter is kept per; empty: one counter for every matching request.
        per: Vec<LimitKey> = default(|v, at| read::list(v, at, LimitKey::read), Vec::new()),
        /// Fixed UTC window the counter resets at.
        window: LimitWindow = required(LimitWindow::read),
        /// What is counted.
        unit: LimitUnit = required(LimitUnit::read),
        /// Largest amount per window (USD for `cost`).
        max: f64 = required(read::number),
        /// Profiles the limit applies to; empty: all.
        profiles: Vec<String> = default(read::strings, Vec::new()),
        /// Model glob: the limit applies when a model the request can reach matches; absent: all.
        models: Option<String> = optional(read::string),
        /// `enforce` (refuse over the limit) or `shadow` (count and audit only).
        mode: LimitMode = default(LimitMode::read, LimitMode::default()),
        /// What happens when the counter store fails.
        on_store_error: StoreFailure = default(StoreFailure::read, StoreFailure::default()),
    }
}

config_enum! {
    /// A dimension of a limit's key.
    pub enum LimitKey {
        /// The trusted user header's value.
        User = "user",
        /// `spend.team_header`'s value.
        Team = "team",
        /// The profile applied.
        Profile = "profile",
        /// The requested model (`model`, else the first of `models`).
        Model = "model",
    }
}

config_enum! {
    /// A limit's window.
    pub enum LimitWindow {
        /// 60 s.
        Minute = "minute",
        /// 3600 s.
        Hour = "hour",
        /// A UTC day.
        Day = "day",
        /// A UTC calendar month.
        Month = "month",
    }
}

config_enum! {
    /// A limit's unit.
    pub enum LimitUnit {
        /// Requests admitted.
        Requests = "requests",
        /// Prompt plus completion tokens (the response's `usage`).
        Tokens = "tokens",
        /// USD (the response's `usage.cost`).
        Cost = "cost",
    }
}

config_enum! {
    /// Enforce or only observe.
    #[derive(Default)]
    pub enum LimitMode {
        /// Refuse requests over the limit with 429.
        #[default]
        Enforce = "enforce",
        /// Count and audit; never refuse.
        Shadow = "shadow",
    }
}

config_enum! {
    /// A limit's behaviour when its counter cannot be read or written.
    #[derive(Default)]
    pub enum StoreFailure {
        /// Refuse the request (503).
        #[default]
        Closed = "closed",
        /// Admit the request uncounted.
        Open = "open",
    }
}
