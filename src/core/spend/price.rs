//! The price table: USD per million prompt and completion tokens (and per request) by model
//! glob; the first matching entry prices a model. Amounts are kept in micro-USD (integers), so
//! budgets add up exactly.

use crate::core::config::{ConfigError, PriceConfig};
use crate::core::glob::Glob;

/// Largest price accepted (USD per million tokens or per request): a typo such as `3e9` would
/// make every worst case saturate.
const MAX_PRICE_USD: f64 = 1_000_000.0;

/// Prompt tokens allowed per image given by URL (or `file_id`) on a model whose price entry names
/// no `image_tokens`: above the most any model OpenRouter serves is known to bill for one image
/// (docs/spend.md): `openai/gpt-4o-mini` at high detail 2,833 + 5,667 per 512 px tile, at most 8
/// tiles = 48,169; Qwen2-VL / Qwen2.5-VL up to 16,384 visual tokens; `gpt-4.1-nano` 1,536
/// patches x 2.46 = 3,779; Anthropic ~1,600.
pub(crate) const DEFAULT_IMAGE_TOKENS: u64 = 50_000;
const _: () = assert!(DEFAULT_IMAGE_TOKENS >= 2_833 + 8 * 5_667, "gpt-4o-mini, high detail, 8 tiles");

/// Largest `image_tokens` accepted: far above any model, far below saturating a worst case.
const MAX_IMAGE_TOKENS: u64 = 10_000_000;

/// One model's price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Price {
    /// USD per million prompt tokens (= micro-USD per token).
    pub(crate) prompt: f64,
    /// USD per million completion tokens.
    pub(crate) completion: f64,
    /// USD per request.
    pub(crate) request: f64,
    /// USD per image in the prompt (OpenRouter's `pricing.image`; 0 in the policy's table), on top
    /// of the image's tokens.
    pub(crate) image: f64,
    /// Prompt tokens one image given by URL may cost.
    pub(crate) image_tokens: u64,
}

impl Price {
    /// The cost of `prompt` prompt and `completion` completion tokens, in micro-USD, rounded up.
    pub(crate) fn micro_usd(&self, prompt: u64, completion: u64) -> u64 {
        #[allow(clippy::cast_precision_loss)] // token counts far below 2^52 are exact; above, the bound only grows
        let usd_micro = prompt as f64 * self.prompt + completion as f64 * self.completion + self.request * 1e6;
        usd_to_micro_ceil(usd_micro / 1e6)
    }
}

/// USD to micro-USD, rounded up; negative and NaN give 0, too large saturates (`as` saturates).
pub(crate) fn usd_to_micro_ceil(usd: f64) -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // `as` saturates; NaN gives 0
    let v = (usd * 1e6 - 1e-6).ceil().max(0.0) as u64;
    v
}

/// Micro-USD to USD (for the audit record and messages).
pub(crate) fn micro_to_usd(micro: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // amounts below 2^53 micro-USD are exact
    let usd = micro as f64 / 1e6;
    usd
}

/// The compiled price table.
#[derive(Debug, Clone, Default)]
pub(crate) struct PriceTable {
    entries: Vec<(Glob, Price)>,
}

impl PriceTable {
    /// Compiles `spend.prices`.
    pub(crate) fn compile(cfg: &[PriceConfig], path: &str) -> Result<Self, ConfigError> {
        let mut entries = Vec::with_capacity(cfg.len());
        for (i, p) in cfg.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let glob = Glob::new(&p.model).ok_or_else(|| ConfigError::new(format!("{at}.model"), "empty glob"))?;
            for (field, v) in [("prompt", p.prompt), ("completion", p.completion), ("request", p.request)] {
                if !(0.0..=MAX_PRICE_USD).contains(&v) {
                    return Err(ConfigError::new(format!("{at}.{field}"), "must be between 0 and 1000000 (USD)"));
                }
            }
            let image_tokens = match p.image_tokens {
                None => DEFAULT_IMAGE_TOKENS,
                Some(t @ 1..=MAX_IMAGE_TOKENS) => t,
                Some(_) => {
                    return Err(ConfigError::new(
                        format!("{at}.image_tokens"),
                        "must be 1 to 10000000 (tokens per image)",
                    ))
                }
            };
            entries.push((
                glob,
                Price { prompt: p.prompt, completion: p.completion, request: p.request, image: 0.0, image_tokens },
            ));
        }
        Ok(Self { entries })
    }

    /// The price of a canonical model id: the first entry whose glob matches.
    pub(crate) fn lookup(&self, model: &str) -> Option<&Price> {
        self.entries.iter().find(|(g, _)| g.matches(model)).map(|(_, p)| p)
    }

    /// Prompt tokens one image given by URL may cost on `model`: its price entry's
    /// `image_tokens`, [`DEFAULT_IMAGE_TOKENS`] when it has none or no price.
    pub(crate) fn image_tokens(&self, model: &str) -> u64 {
        self.lookup(model).map_or(DEFAULT_IMAGE_TOKENS, |p| p.image_tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: &[(&str, f64, f64, f64)]) -> PriceTable {
        let cfg: Vec<PriceConfig> = json
            .iter()
            .map(|(m, p, c, r)| PriceConfig {
                model: (*m).into(),
                prompt: *p,
                completion: *c,
                request: *r,
                image_tokens: None,
            })
            .collect();
        PriceTable::compile(&cfg, "spend.prices").unwrap()
    }

    #[test]
    fn the_first_matching_glob_prices_a_model_variants_included() {
        let t = table(&[("*:free", 0.0, 0.0, 0.0), ("anthropic/*", 3.0, 15.0, 0.0)]);
        assert_eq!(t.lookup("anthropic/claude-3.5-sonnet:free").unwrap().prompt, 0.0);
        assert_eq!(t.lookup("anthropic/claude-3.5-sonnet:thinking").unwrap().completion, 15.0);
        assert!(t.lookup("openai/gpt-4o").is_none());
    }

    #[test]
    fn costs_are_micro_usd_rounded_up() {
        let p = Price { prompt: 3.0, completion: 15.0, request: 0.0, image: 0.0, image_tokens: 1 };
        // 1000 prompt tokens at $3/M = $0.003; 100 completion at $15/M = $0.0015.
        assert_eq!(p.micro_usd(1000, 100), 4500);
        let p = Price { prompt: 0.1, completion: 0.0, request: 0.005, image: 0.0, image_tokens: 1 };
        assert_eq!(p.micro_usd(1, 0), 5001); // 0.1 micro rounds up to 1
        assert_eq!(usd_to_micro_ceil(0.0042), 4200);
        assert_eq!(usd_to_micro_ceil(-1.0), 0);
        assert_eq!(usd_to_micro_ceil(f64::NAN), 0);
        assert_eq!(usd_to_micro_ceil(1e300), u64::MAX);
    }

    #[test]
    fn prices_out_of_range_are_refused_with_their_path() {
        let bad =
            [PriceConfig { model: "a/*".into(), prompt: -1.0, completion: 0.0, request: 0.0, image_tokens: None }];
        assert_eq!(PriceTable::compile(&bad, "spend.prices").unwrap_err().path, "spend.prices[0].prompt");
        let bad = [PriceConfig { model: " ".into(), prompt: 1.0, completion: 0.0, request: 0.0, image_tokens: None }];
        assert_eq!(PriceTable::compile(&bad, "spend.prices").unwrap_err().path, "spend.prices[0].model");
        for t in [0, 10_000_001] {
            let bad = [PriceConfig {
                model: "a/*".into(),
                prompt: 1.0,
                completion: 0.0,
                request: 0.0,
                image_tokens: Some(t),
            }];
            assert_eq!(PriceTable::compile(&bad, "spend.prices").unwrap_err().path, "spend.prices[0].image_tokens");
        }
    }

    #[test]
    fn an_image_costs_its_entrys_allowance_else_the_largest_any_model_bills() {
        let cfg = [
            PriceConfig {
                model: "anthropic/*".into(),
                prompt: 3.0,
                completion: 15.0,
                request: 0.0,
                image_tokens: Some(1600),
            },
            PriceConfig { model: "*".into(), prompt: 1.0, completion: 1.0, request: 0.0, image_tokens: None },
        ];
        let t = PriceTable::compile(&cfg, "spend.prices").unwrap();
        assert_eq!(t.image_tokens("anthropic/claude-3.5-sonnet"), 1600);
        assert_eq!(t.image_tokens("qwen/qwen2.5-vl-72b-instruct"), DEFAULT_IMAGE_TOKENS);
        assert_eq!(PriceTable::default().image_tokens("openai/gpt-4o-mini"), DEFAULT_IMAGE_TOKENS);
    }
}
