//! Prices of OpenRouter plugins (`spend.plugin_prices`): USD per use and per web search result,
//! by plugin id and engine. A plugin use adds its price once to the worst case, whatever model
//! serves the request; an unpriced use has no known cost (docs/spend.md).

use crate::core::config::{ConfigError, PluginPriceConfig};
use crate::core::plugins::{rule_key, PluginUse};
use crate::core::worst::Unknown;

use super::price::usd_to_micro_ceil;

/// Largest price accepted (USD per use or per result).
const MAX_PRICE_USD: f64 = 1_000_000.0;

/// One compiled plugin price (micro-USD).
#[derive(Debug, Clone)]
struct PluginPrice {
    id: String,
    engine: Option<String>,
    request: u64,
    per_result: u64,
}

/// The compiled plugin price table.
#[derive(Debug, Clone, Default)]
pub(crate) struct PluginPrices {
    entries: Vec<PluginPrice>,
}

impl PluginPrices {
    /// Compiles `spend.plugin_prices`.
    pub(crate) fn compile(cfg: &[PluginPriceConfig], path: &str) -> Result<Self, ConfigError> {
        let mut entries = Vec::with_capacity(cfg.len());
        for (i, p) in cfg.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let (id, engine) = rule_key(&p.id, p.engine.as_deref(), &at)?;
            for (field, v) in [("request", p.request), ("per_result", p.per_result)] {
                if !(0.0..=MAX_PRICE_USD).contains(&v) {
                    return Err(ConfigError::new(format!("{at}.{field}"), "must be between 0 and 1000000 (USD)"));
                }
            }
            let (request, per_result) = (usd_to_micro_ceil(p.request), usd_to_micro_ceil(p.per_result));
            entries.push(PluginPrice { id, engine, request, per_result });
        }
        Ok(Self { entries })
    }

    /// The cost of every plugin use, micro-USD: per use, the first entry with its id and its
    /// engine (an entry without engine prices only a use that names none). `NoPrice` when a use
    /// has no entry, `PartType` when `plugins` is malformed.
    pub(crate) fn cost(&self, uses: Result<&[PluginUse], &()>) -> Result<u64, Unknown> {
        let uses = uses.map_err(|()| Unknown::PartType)?;
        uses.iter().try_fold(0u64, |sum, u| {
            let p = self.entries.iter().find(|p| p.id == u.id && p.engine == u.engine).ok_or(Unknown::NoPrice)?;
            Ok(sum.saturating_add(p.request).saturating_add(p.per_result.saturating_mul(u.results)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::read_as;
    use crate::core::plugins::DEFAULT_WEB_RESULTS;

    fn use_of(id: &str, engine: Option<&str>, results: u64) -> PluginUse {
        PluginUse { id: id.into(), engine: engine.map(Into::into), results }
    }

    #[test]
    fn each_use_costs_its_request_price_plus_its_results_and_unpriced_uses_are_unknown() {
        let cfg: Vec<PluginPriceConfig> = [
            r#"{"id": "web", "per_result": 0.004}"#,
            r#"{"id": "web", "engine": "exa", "per_result": 0.004}"#,
            r#"{"id": "file-parser", "engine": "pdf-text"}"#,
        ]
        .iter()
        .map(|j| read_as(j, PluginPriceConfig::read).unwrap())
        .collect();
        let t = PluginPrices::compile(&cfg, "spend.plugin_prices").unwrap();
        assert_eq!(t.cost(Ok(&[])), Ok(0));
        // 100 Exa results at $4 per 1,000: $0.40.
        assert_eq!(t.cost(Ok(&[use_of("web", Some("exa"), 100)])), Ok(400_000));
        assert_eq!(
            t.cost(Ok(&[use_of("web", None, DEFAULT_WEB_RESULTS), use_of("file-parser", Some("pdf-text"), 5)])),
            Ok(20_000)
        );
        assert_eq!(t.cost(Ok(&[use_of("web", Some("native"), 5)])), Err(Unknown::NoPrice));
        assert_eq!(t.cost(Ok(&[use_of("file-parser", Some("mistral-ocr"), 5)])), Err(Unknown::NoPrice));
        assert_eq!(t.cost(Ok(&[use_of("file-parser", None, 5)])), Err(Unknown::NoPrice));
        assert_eq!(t.cost(Err(&())), Err(Unknown::PartType));
        // u64::MAX results saturate.
        assert_eq!(t.cost(Ok(&[use_of("web", Some("exa"), u64::MAX)])), Ok(u64::MAX));
        let bad = [read_as(r#"{"id": "web", "per_result": -1}"#, PluginPriceConfig::read).unwrap()];
        assert_eq!(
            PluginPrices::compile(&bad, "spend.plugin_prices").unwrap_err().path,
            "spend.plugin_prices[0].per_result"
        );
    }
}
