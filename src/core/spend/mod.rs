//! Spend control (docs/spend.md): the price table, the worst case of a request, the
//! per-request cost guard, and budgets and rate limits kept in a counter store.

pub(crate) mod budget;
pub(crate) mod estimate;
pub(crate) mod feed;
pub(crate) mod ledger;
pub(crate) mod limit;
pub(crate) mod parts;
pub(crate) mod plugin_price;
pub(crate) mod price;
pub(crate) mod remote;
mod rls_wire;
pub(crate) mod window;

use crate::core::audit::SpendAudit;
use crate::core::config::{AssumeOutput, ConfigError, SpendConfig, StoreConfig, StoreKind};
use crate::core::reason::Reason;
use crate::core::reply::Rejection;

use crate::core::config::LimitKey;

pub(crate) use budget::Reservation;
pub use ledger::{CounterStore, SetError, StoreError};
pub(crate) use remote::PendingAdmission;
pub use remote::{StoreAnswer, StoreCall};

use estimate::{Unknown, Worst};
use limit::Limit;
use plugin_price::PluginPrices;
use price::{micro_to_usd, PriceTable};

/// The compiled `spend` section.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spend {
    pub(crate) prices: PriceTable,
    pub(crate) assume_output_tokens: Option<AssumeOutput>,
    /// Lower-cased trusted team header.
    pub(crate) team_header: Option<String>,
    pub(crate) limits: Vec<Limit>,
    pub(crate) plugin_prices: PluginPrices,
    /// The rate-limit service holding the counters (`spend.store` kind `rls`); `None`: the
    /// embedded store.
    pub(crate) remote: Option<remote::RemoteStore>,
    /// Prices fetched from OpenRouter's model list (`spend.prices_refresh`).
    pub(crate) refresh: Option<feed::PricesRefresh>,
}

impl Spend {
    /// Compiles `spend`; `profiles` are the policy's profile names, `team_header` already
    /// checked as a header name.
    pub(crate) fn compile(
        cfg: &SpendConfig,
        profiles: &[String],
        team_header: Option<String>,
    ) -> Result<Self, ConfigError> {
        let prices = PriceTable::compile(&cfg.prices, "spend.prices")?;
        match cfg.assume_output_tokens {
            Some(AssumeOutput::Tokens(0)) => {
                return Err(ConfigError::new("spend.assume_output_tokens", "must be at least 1"));
            }
            Some(AssumeOutput::ModelContext) if cfg.prices_refresh.is_none() => {
                return Err(ConfigError::new(
                    "spend.assume_output_tokens",
                    "`model_context` needs spend.prices_refresh (the model list names each model's limit)",
                ));
            }
            _ => {}
        }
        let mut limits: Vec<Limit> = Vec::with_capacity(cfg.limits.len());
        for (i, l) in cfg.limits.iter().enumerate() {
            let at = format!("spend.limits[{i}]");
            let limit = Limit::compile(l, &at, profiles)?;
            if limits.iter().any(|x| x.name == limit.name) {
                return Err(ConfigError::new(format!("{at}.name"), "limit names must be unique"));
            }
            if limit.per.contains(&LimitKey::Team) && team_header.is_none() {
                return Err(ConfigError::new(format!("{at}.per"), "`team` needs spend.team_header"));
            }
            limits.push(limit);
        }
        let plugin_prices = PluginPrices::compile(&cfg.plugin_prices, "spend.plugin_prices")?;
        let remote = compile_store(cfg.store.as_ref())?;
        let refresh = cfg.prices_refresh.as_ref().map(feed::PricesRefresh::compile).transpose()?;
        Ok(Self {
            prices,
            assume_output_tokens: cfg.assume_output_tokens,
            team_header,
            limits,
            plugin_prices,
            remote,
            refresh,
        })
    }

    /// The rate-limit service, when the counters live there.
    pub(crate) fn remote(&self) -> Option<&remote::RemoteStore> {
        self.remote.as_ref()
    }

    /// The price refresh, when configured.
    pub(crate) fn refresh(&self) -> Option<&feed::PricesRefresh> {
        self.refresh.as_ref()
    }

    /// Whether any budget or rate limit is configured.
    pub(crate) fn has_limits(&self) -> bool {
        !self.limits.is_empty()
    }
}

/// Compiles `spend.store`.
fn compile_store(cfg: Option<&StoreConfig>) -> Result<Option<remote::RemoteStore>, ConfigError> {
    let Some(cfg) = cfg else { return Ok(None) };
    if cfg.kind == StoreKind::Embedded {
        for (set, field) in [
            (cfg.cluster.is_some(), "cluster"),
            (cfg.domain.is_some(), "domain"),
            (cfg.timeout_ms.is_some(), "timeout_ms"),
            (cfg.reservation_ttl_s.is_some(), "reservation_ttl_s"),
            (cfg.authority.is_some(), "authority"),
        ] {
            if set {
                return Err(ConfigError::new(format!("spend.store.{field}"), "only for kind `rls`"));
            }
        }
        return Ok(None);
    }
    let cluster = cfg.cluster.clone().unwrap_or_default();
    // Sent inside a `GrpcService` message as the SDK's `&str` upstream: short ASCII keeps it UTF-8.
    if cluster.is_empty() || cluster.len() > 100 || !cluster.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            "spend.store.cluster",
            "kind `rls` needs the Envoy cluster of the rate-limit service (1 to 100 printable ASCII characters)",
        ));
    }
    let domain = cfg.domain.clone().unwrap_or_else(|| "openrouter-guard".to_string());
    if domain.is_empty()
        || domain.len() > 64
        || !domain.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err(ConfigError::new("spend.store.domain", "1 to 64 characters of A-Z a-z 0-9 _ - ."));
    }
    let timeout_ms = match cfg.timeout_ms.unwrap_or(500) {
        t @ 1..=60_000 => u32::try_from(t).unwrap_or(500),
        _ => return Err(ConfigError::new("spend.store.timeout_ms", "must be 1 to 60000")),
    };
    let reservation_ttl_s = match cfg.reservation_ttl_s.unwrap_or(900) {
        t @ 1..=2_678_400 => t,
        _ => return Err(ConfigError::new("spend.store.reservation_ttl_s", "must be 1 to 2678400 (31 days)")),
    };
    // host[:port] (a DNS name or an IP, IPv6 in brackets); at most 100 bytes, as the cluster name.
    let authority = cfg.authority.clone();
    if let Some(a) = &authority {
        if a.is_empty() || a.len() > 100 || !a.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b)) {
            return Err(ConfigError::new(
                "spend.store.authority",
                "1 to 100 characters of A-Z a-z 0-9 - . _ : [ ] (host or host:port)",
            ));
        }
    }
    Ok(Some(remote::RemoteStore { cluster, domain, timeout_ms, reservation_ttl_s, authority }))
}

/// Compiles a profile's `max_cost_per_request` (USD) to micro-USD.
pub(crate) fn max_cost(usd: Option<f64>, path: &str) -> Result<Option<u64>, ConfigError> {
    match usd {
        None => Ok(None),
        Some(v) if v > 0.0 && v <= 1_000_000.0 => Ok(Some(price::usd_to_micro_ceil(v))),
        Some(_) => Err(ConfigError::new(path, "must be more than 0 and at most 1000000 (USD)")),
    }
}

/// A worst case with the cost of the request's plugins added (once: they run whatever model serves it).
pub(crate) fn with_plugins(mut worst: Worst, plugins: Result<u64, Unknown>) -> Worst {
    worst.cost_micro = worst.cost_micro.and_then(|c| Ok(c.saturating_add(plugins?)));
    worst
}

/// The audit record's view of a worst case.
pub(crate) fn audit_of(worst: &Worst) -> SpendAudit {
    SpendAudit {
        prompt_tokens_max: worst.prompt_tokens.ok(),
        output_tokens_max: worst.output_tokens.ok(),
        cost_max_usd: worst.cost_micro.ok().map(micro_to_usd),
        limits: Vec::new(),
        worst: Some(*worst),
    }
}

/// `$1.234567` from micro-USD, with integer formatting only (float formatting costs ~50 KB of wasm).
pub(crate) fn usd_text(micro: u64) -> String {
    format!("${}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

/// The refusal for a worst case that is needed but unknown.
pub(crate) fn unknown_rejection(why: Unknown, what: &str) -> Rejection {
    match why {
        Unknown::NoOutputCap => Rejection::bad_request(
            why.reason(),
            format!("{what} needs an output cap: set max_tokens (or the endpoint's token limit)"),
        ),
        Unknown::RemoteMedia => Rejection::forbidden(
            why.reason(),
            format!("{what} cannot bound the tokens of a file, document, audio or video given by URL or file_id; send it inline"),
        ),
        Unknown::PartType => Rejection::forbidden(
            why.reason(),
            format!("{what} cannot bound the tokens of a content part of a type it does not know"),
        ),
        Unknown::ResolvedUpstream => Rejection::forbidden(
            why.reason(),
            format!("{what} is kept per model and cannot count a router, alias or preset (OpenRouter picks the model after the request): name the model"),
        ),
        Unknown::PricesStale => Rejection::new(
            503,
            "internal_error",
            why.reason(),
            format!("{what} needs prices, and the prices fetched from OpenRouter are out of date; the request was not forwarded"),
        ),
        Unknown::NoPrice => {
            Rejection::forbidden(why.reason(), format!("{what} needs a price for every model and plugin the request can reach"))
        }
    }
}

/// The per-request cost guard: refuses with 402 a request whose worst-case cost exceeds the
/// profile's `max_cost_per_request`, and fails closed when that worst case is unknown.
/// `max` is the guard (micro-USD), `profile` the profile's name.
pub(crate) fn check_cost(max: Option<u64>, profile: &str, worst: &Worst) -> Result<(), Rejection> {
    let Some(max) = max else { return Ok(()) };
    let what = format!("profile '{profile}' has a cost guard and");
    let cost = worst.cost_micro.map_err(|why| unknown_rejection(why, &what))?;
    if cost > max {
        return Err(Rejection::new(
            402,
            "insufficient_quota",
            Reason::CostLimitExceeded,
            format!(
                "the worst-case cost of this request ({}) exceeds max_cost_per_request ({}) of profile '{}'; lower max_tokens or shorten the prompt",
                usd_text(cost),
                usd_text(max),
                profile
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
