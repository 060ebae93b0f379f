//! Compiled budgets and rate limits (`spend.limits`).

use crate::core::config::{ConfigError, LimitConfig, LimitKey, LimitMode, LimitUnit, LimitWindow, StoreFailure};
use crate::core::glob::Glob;
use crate::core::model::{id_kind, IdKind};

use super::price::usd_to_micro_ceil;

/// Largest `max` accepted for a count (requests, tokens): far below `u64::MAX` so sums of
/// amounts never saturate in practice.
const MAX_COUNT: f64 = 1e15;

/// One compiled limit.
#[derive(Debug, Clone)]
pub(crate) struct Limit {
    /// Name (`[A-Za-z0-9_-]`, unique: a metric label value).
    pub(crate) name: String,
    /// Dimensions of the key, in configured order.
    pub(crate) per: Vec<LimitKey>,
    pub(crate) window: LimitWindow,
    pub(crate) unit: LimitUnit,
    /// Largest amount per window: requests, tokens, or micro-USD.
    pub(crate) max: u64,
    /// Lower-cased profile names it applies to; empty: all.
    pub(crate) profiles: Vec<String>,
    /// Applies when a reachable model matches; `None`: always.
    pub(crate) models: Option<Glob>,
    /// Count and audit only.
    pub(crate) shadow: bool,
    /// Admit uncounted when the store fails.
    pub(crate) fail_open: bool,
}

impl Limit {
    /// Compiles `spend.limits[i]`; `profiles` are the policy's profile names.
    pub(crate) fn compile(cfg: &LimitConfig, at: &str, profiles: &[String]) -> Result<Self, ConfigError> {
        let name_ok = !cfg.name.is_empty()
            && cfg.name.len() <= 64
            && cfg.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
        if !name_ok {
            return Err(ConfigError::new(
                format!("{at}.name"),
                "1 to 64 characters of A-Z a-z 0-9 _ - (it is a metric label)",
            ));
        }
        let max = match cfg.unit {
            LimitUnit::Cost if cfg.max > 0.0 && cfg.max <= 1e9 => usd_to_micro_ceil(cfg.max),
            LimitUnit::Requests | LimitUnit::Tokens
                if cfg.max >= 1.0 && cfg.max <= MAX_COUNT && cfg.max.fract() == 0.0 =>
            {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked: an integer in range
                let n = cfg.max as u64;
                n
            }
            LimitUnit::Cost => return Err(ConfigError::new(format!("{at}.max"), "must be more than 0 USD")),
            _ => return Err(ConfigError::new(format!("{at}.max"), "must be a whole number of at least 1")),
        };
        let mut per = Vec::new();
        for (i, k) in cfg.per.iter().enumerate() {
            if per.contains(k) {
                return Err(ConfigError::new(format!("{at}.per[{i}]"), "named twice"));
            }
            per.push(*k);
        }
        let mut names = Vec::new();
        for (i, p) in cfg.profiles.iter().enumerate() {
            let lower = p.trim().to_ascii_lowercase();
            if !profiles.iter().any(|n| n.eq_ignore_ascii_case(&lower)) {
                return Err(ConfigError::new(format!("{at}.profiles[{i}]"), "names no profile in `profiles`"));
            }
            names.push(lower);
        }
        let models = match &cfg.models {
            None => None,
            Some(g) => Some(Glob::new(g).ok_or_else(|| ConfigError::new(format!("{at}.models"), "empty glob"))?),
        };
        Ok(Self {
            name: cfg.name.clone(),
            per,
            window: cfg.window,
            unit: cfg.unit,
            max,
            profiles: names,
            models,
            shadow: cfg.mode == LimitMode::Shadow,
            // A shadow limit never refuses, not even when the store fails.
            fail_open: cfg.on_store_error == StoreFailure::Open || cfg.mode == LimitMode::Shadow,
        })
    }

    /// Whether the limit applies to a request of `profile` reaching `models`. A model OpenRouter
    /// resolves itself ([`resolved_upstream`]) matches every `models` glob: it may be served by any
    /// model, one under the glob included.
    pub(crate) fn applies(&self, profile: &str, models: &[String]) -> bool {
        let profile_ok = self.profiles.is_empty() || self.profiles.iter().any(|p| p.eq_ignore_ascii_case(profile));
        let model_ok = self.models.as_ref().is_none_or(|g| models.iter().any(|m| g.matches(m) || resolved_upstream(m)));
        profile_ok && model_ok
    }

    /// Whether the limit keeps a counter per model.
    pub(crate) fn per_model(&self) -> bool {
        self.per.contains(&LimitKey::Model)
    }

    /// The unit's name (audit record, metrics).
    pub(crate) fn unit_name(&self) -> &'static str {
        match self.unit {
            LimitUnit::Requests => "requests",
            LimitUnit::Tokens => "tokens",
            LimitUnit::Cost => "cost",
        }
    }
}

/// Whether OpenRouter picks the model behind `model` only when it serves the request: a router
/// (`openrouter/auto`), an alias (`~anthropic/claude-opus-latest`) or a preset (`@preset/…`);
/// an id that is not one (never the case for a canonical id) counts as one too.
pub(crate) fn resolved_upstream(model: &str) -> bool {
    !matches!(id_kind(model), Some(IdKind::Model))
}
