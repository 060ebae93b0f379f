//! The `spend` section of the configuration (serde input types): the price table, the output
//! assumed for uncapped requests, and budgets and rate limits (docs/spend.md). Compiled
//! counterparts live in [`crate::core::spend`].

use serde::Deserialize;

/// `spend`: prices and limits shared by every profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendConfig {
    /// Price table; the first entry whose glob matches a model id prices it.
    #[serde(default)]
    pub prices: Vec<PriceConfig>,
    /// Output tokens assumed for a request that names no output cap (neither the request nor its
    /// profile); without it such a request is refused wherever a worst case is needed.
    #[serde(default)]
    pub assume_output_tokens: Option<u64>,
    /// Trusted request header carrying the team (or workspace) id, for limits `per` team.
    #[serde(default)]
    pub team_header: Option<String>,
    /// Budgets and rate limits.
    #[serde(default)]
    pub limits: Vec<LimitConfig>,
}

/// One price-table entry: USD per million tokens (and per request).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceConfig {
    /// Model glob (as in model rules: `*` matches any run, variants included).
    pub model: String,
    /// USD per million prompt tokens.
    pub prompt: f64,
    /// USD per million completion tokens.
    pub completion: f64,
    /// USD per request (web search, fixed fees).
    #[serde(default)]
    pub request: f64,
}

/// One budget or rate limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Unique name: in the 429, the audit record and metric labels.
    pub name: String,
    /// What the counter is kept per; empty: one counter for every matching request.
    #[serde(default)]
    pub per: Vec<LimitKey>,
    /// Fixed UTC window the counter resets at.
    pub window: LimitWindow,
    /// What is counted.
    pub unit: LimitUnit,
    /// Largest amount per window (USD for `cost`).
    pub max: f64,
    /// Profiles the limit applies to; empty: all.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Model glob: the limit applies when a model the request can reach matches; absent: all.
    #[serde(default)]
    pub models: Option<String>,
    /// `enforce` (refuse over the limit) or `shadow` (count and audit only).
    #[serde(default)]
    pub mode: LimitMode,
    /// What happens when the counter store fails.
    #[serde(default)]
    pub on_store_error: StoreFailure,
}

/// A dimension of a limit's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKey {
    /// The trusted user header's value.
    User,
    /// `spend.team_header`'s value.
    Team,
    /// The profile applied.
    Profile,
    /// The requested model (`model`, else the first of `models`).
    Model,
}

/// A limit's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitWindow {
    /// 60 s.
    Minute,
    /// 3600 s.
    Hour,
    /// A UTC day.
    Day,
    /// A UTC calendar month.
    Month,
}

/// A limit's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// Requests admitted.
    Requests,
    /// Prompt plus completion tokens (the response's `usage`).
    Tokens,
    /// USD (the response's `usage.cost`).
    Cost,
}

/// Enforce or only observe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitMode {
    /// Refuse requests over the limit with 429.
    #[default]
    Enforce,
    /// Count and audit; never refuse.
    Shadow,
}

/// A limit's behaviour when its counter cannot be read or written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreFailure {
    /// Refuse the request (503).
    #[default]
    Closed,
    /// Admit the request uncounted.
    Open,
}
