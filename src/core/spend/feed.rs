//! Prices fetched from OpenRouter's public model list (`GET /api/v1/models`, `spend.prices_refresh`,
//! docs/spend.md): the answer parsed with the filter's own JSON parser, how a fetched price and the
//! policy's `spend.prices` combine (the dearer of the two, per component), and when the fetched table
//! is too old to use (`prices_stale`: every worst case that needs a cost fails closed).

use std::rc::Rc;

use crate::core::config::{ConfigError, PricesRefreshConfig};
use crate::core::json::{self, Kind, Node};
use crate::core::worst::Unknown;

use super::price::{Price, PriceTable};

/// Nesting of the model list (`data[].architecture.input_modalities[]` is 4 deep): room to spare.
const MAX_DEPTH: u32 = 32;

/// Largest price accepted from the list (USD per million tokens, per request or per image): above it
/// the entry is dropped (unpriced), as a negative one (`"-1"`: a router's variable price).
const MAX_PRICE_USD: f64 = 1_000_000.0;

/// The compiled `spend.prices_refresh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PricesRefresh {
    pub(crate) cluster: String,
    pub(crate) authority: String,
    pub(crate) path: String,
    pub(crate) interval_ns: u64,
    pub(crate) max_age_ns: u64,
    pub(crate) timeout_ms: u64,
    pub(crate) max_bytes: usize,
}

const NS: u64 = 1_000_000_000;

impl PricesRefresh {
    /// Compiles `spend.prices_refresh`.
    pub(crate) fn compile(cfg: &PricesRefreshConfig) -> Result<Self, ConfigError> {
        let at = "spend.prices_refresh";
        let text_ok = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic());
        if !text_ok(&cfg.cluster, 100) {
            return Err(ConfigError::new(format!("{at}.cluster"), "1 to 100 printable ASCII characters"));
        }
        let authority = cfg.authority.clone().unwrap_or_else(|| "openrouter.ai".into());
        if !text_ok(&authority, 253) {
            return Err(ConfigError::new(format!("{at}.authority"), "1 to 253 printable ASCII characters"));
        }
        let path = cfg.path.clone().unwrap_or_else(|| "/api/v1/models".into());
        if !text_ok(&path, 1000) || !path.starts_with('/') {
            return Err(ConfigError::new(format!("{at}.path"), "a path starting with `/` (printable ASCII)"));
        }
        let interval_s = match cfg.interval_s.unwrap_or(3600) {
            s @ 1..=604_800 => s,
            _ => return Err(ConfigError::new(format!("{at}.interval_s"), "must be 1 to 604800 (7 days)")),
        };
        let max_age_s = match cfg.max_age_s.unwrap_or(86_400) {
            s @ 1..=2_678_400 if s >= interval_s => s,
            _ => {
                return Err(ConfigError::new(
                    format!("{at}.max_age_s"),
                    "must be at least interval_s and at most 2678400 (31 days)",
                ))
            }
        };
        let timeout_ms = match cfg.timeout_ms.unwrap_or(10_000) {
            t @ 1..=60_000 => t,
            _ => return Err(ConfigError::new(format!("{at}.timeout_ms"), "must be 1 to 60000")),
        };
        let max_bytes = match cfg.max_bytes.unwrap_or(8 << 20) {
            b @ 1024..=67_108_864 => usize::try_from(b).unwrap_or(8 << 20),
            _ => return Err(ConfigError::new(format!("{at}.max_bytes"), "must be 1024 to 67108864")),
        };
        Ok(Self {
            cluster: cfg.cluster.clone(),
            authority,
            path,
            interval_ns: interval_s * NS,
            max_age_ns: max_age_s * NS,
            timeout_ms,
            max_bytes,
        })
    }

    /// What a request sees at `now_ns`: the fetched table while it is younger than `max_age_s`,
    /// else stale (never fetched included).
    pub(crate) fn view(&self, fetched: Option<Rc<FetchedPrices>>, now_ns: u64) -> PriceView {
        match fetched {
            Some(f) if now_ns.saturating_sub(f.fetched_at_ns) <= self.max_age_ns && f.fetched_at_ns > 0 => {
                PriceView::Fresh(f)
            }
            _ => PriceView::Stale,
        }
    }

    /// Whether a fetch is due at `now_ns` after a good fetch at `last_ns` (0: never).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "the wasm adapter's tick calls it"))]
    pub(crate) fn due(&self, last_ns: u64, now_ns: u64) -> bool {
        last_ns == 0 || now_ns.saturating_sub(last_ns) >= self.interval_ns
    }

    /// How long a failed fetch blocks the next attempt (every worker): the interval, at most 30 s.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "the wasm adapter's tick calls it"))]
    pub(crate) fn retry_ns(&self) -> u64 {
        self.interval_ns.min(30 * NS)
    }
}

/// The prices a request is estimated with.
#[derive(Debug, Clone, Default)]
pub(crate) enum PriceView {
    /// No refresh configured: the policy's table alone.
    #[default]
    Policy,
    /// Refresh configured, and no fetched table younger than `max_age_s`.
    Stale,
    /// A fetched table, young enough.
    Fresh(Rc<FetchedPrices>),
}

/// One model's fetched price, in the units of [`Price`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FetchedPrice {
    prompt: f64,
    completion: f64,
    request: f64,
    image: f64,
    /// Most output tokens the model may produce: `top_provider.max_completion_tokens`, else
    /// `context_length`; `None` when the list gives neither as a positive integer.
    output_limit: Option<u64>,
}

/// A fetched model list: prices by model id (sorted), and when it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedPrices {
    pub(crate) fetched_at_ns: u64,
    entries: Vec<(String, FetchedPrice)>,
    /// Models listed without a usable price (routers' `"-1"`, missing or malformed fields).
    pub(crate) unpriced: usize,
}

/// Why a model list was not taken (never its content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedError {
    /// Not JSON, or too deep (byte offset when known).
    NotJson(usize),
    /// No `data` array of objects.
    NoData,
    /// A `data` array without a single priced model.
    NoPrices,
}

impl FeedError {
    /// For the log line.
    pub fn describe(self) -> String {
        match self {
            FeedError::NotJson(at) => format!("not JSON (at byte {at})"),
            FeedError::NoData => "no `data` array".into(),
            FeedError::NoPrices => "no priced model".into(),
        }
    }
}

/// A decimal string (or number) of USD per unit, as `per` times that (USD per million tokens: 1e6).
fn amount(node: Option<&Node<'_>>, per: f64) -> Option<f64> {
    let v = match node.map(|n| &n.kind) {
        None => return Some(0.0),
        Some(Kind::Str(s)) => s.decode().trim().parse::<f64>().ok()?,
        Some(Kind::Number(t)) => t.parse::<f64>().ok()?,
        Some(_) => return None,
    };
    let v = v * per;
    (v.is_finite() && (0.0..=MAX_PRICE_USD).contains(&v)).then_some(v)
}

/// A `pricing` object's price: `prompt` and `completion` required, `request`, `image` and
/// `internal_reasoning` 0 when absent; any value negative, too large or not a number: none.
fn priced(p: &Node<'_>) -> Option<FetchedPrice> {
    let field = |k: &str, per: f64| amount(p.get(k), per);
    let prompt = field("prompt", 1e6).filter(|_| p.get("prompt").is_some())?;
    let completion = field("completion", 1e6).filter(|_| p.get("completion").is_some())?;
    Some(FetchedPrice {
        prompt,
        // Reasoning is billed as output: the dearer of the two bounds it.
        completion: completion.max(field("internal_reasoning", 1e6)?),
        request: field("request", 1.0)?,
        image: field("image", 1.0)?,
        output_limit: None,
    })
}

/// A model's output limit: `top_provider.max_completion_tokens`, else `context_length` (a
/// provider's completion cap is at most its context; `null` or absent: the context bounds it).
fn output_limit(m: &Node<'_>) -> Option<u64> {
    let int = |n: Option<&Node<'_>>| match n.map(|n| &n.kind) {
        Some(Kind::Number(t)) => json::positive_integer(t),
        _ => None,
    };
    int(m.get("top_provider").and_then(|t| t.get("max_completion_tokens"))).or_else(|| int(m.get("context_length")))
}

impl FetchedPrices {
    /// Parses OpenRouter's model list (`{"data": [{"id", "pricing": {"prompt", "completion",
    /// "request", "image", "internal_reasoning", …}}, …]}`, prices as decimal strings in USD per
    /// token, per request and per image). A model without a usable prompt and completion price
    /// (a router's `"-1"`, garbage) is left out: unpriced, it falls to the policy's table.
    pub fn parse(body: &[u8], fetched_at_ns: u64) -> Result<Self, FeedError> {
        let root = json::parse(body, MAX_DEPTH).map_err(|e| match e {
            json::JsonError::Syntax(at) | json::JsonError::DuplicateKey(at) => FeedError::NotJson(at),
            json::JsonError::InvalidUtf8 | json::JsonError::TooDeep(_) => FeedError::NotJson(0),
        })?;
        let Some(Kind::Array(models)) = root.get("data").map(|n| &n.kind) else { return Err(FeedError::NoData) };
        let mut entries = Vec::with_capacity(models.len());
        let mut unpriced = 0;
        for m in models {
            let Some(id) = m.get("id").and_then(Node::as_str) else {
                unpriced += 1;
                continue;
            };
            match m.get("pricing").and_then(priced).map(|p| FetchedPrice { output_limit: output_limit(m), ..p }) {
                Some(price) => entries.push((id.trim().to_ascii_lowercase(), price)),
                None => unpriced += 1,
            }
        }
        if entries.is_empty() {
            return Err(FeedError::NoPrices);
        }
        Ok(Self { fetched_at_ns, entries, unpriced })
    }

    /// Models priced (a model listed twice counts twice).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no model is priced (never for a parsed list).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The price of a canonical model id: its own entry, else its base model's (`author/slug`
    /// without `:variant`s: `:nitro`, `:floor`, `:thinking` are not listed apart; a `:free` id
    /// that is not listed costs what its base does).
    /// A model listed twice costs the dearer of each component. (A linear scan: a few hundred
    /// entries, a few models per request; a sort would cost kilobytes of .wasm.)
    fn lookup(&self, model: &str) -> Option<FetchedPrice> {
        let find = |id: &str| {
            self.entries.iter().filter(|(k, _)| k == id).map(|(_, p)| *p).reduce(|a, b| FetchedPrice {
                prompt: a.prompt.max(b.prompt),
                completion: a.completion.max(b.completion),
                request: a.request.max(b.request),
                image: a.image.max(b.image),
                // Listed twice: the larger limit, unless one entry has none (then none: unknown).
                output_limit: a.output_limit.zip(b.output_limit).map(|(x, y)| x.max(y)),
            })
        };
        let base = model.split(':').next().unwrap_or(model);
        find(model).or_else(|| find(base))
    }
}

/// The policy's table and what was fetched, as one price source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prices<'a> {
    pub(crate) table: &'a PriceTable,
    pub(crate) fetched: &'a PriceView,
}

impl Prices<'_> {
    /// The price of a model. With a fresh fetched table, a model priced by both gets the dearer of
    /// each component (a stale policy entry never under-prices what OpenRouter lists today, and an
    /// operator may price above it); priced by one, that one; by neither, none. Stale: unknown.
    pub(crate) fn price(&self, model: &str) -> Result<Price, Unknown> {
        let own = self.table.lookup(model).copied();
        match self.fetched {
            PriceView::Policy => own.ok_or(Unknown::NoPrice),
            PriceView::Stale => Err(Unknown::PricesStale),
            PriceView::Fresh(f) => match (own, f.lookup(model)) {
                (None, None) => Err(Unknown::NoPrice),
                (Some(p), None) => Ok(p),
                (own, Some(fp)) => {
                    let base = own.unwrap_or(Price {
                        prompt: 0.0,
                        completion: 0.0,
                        request: 0.0,
                        image: 0.0,
                        image_tokens: self.table.image_tokens(model),
                    });
                    Ok(Price {
                        prompt: base.prompt.max(fp.prompt),
                        completion: base.completion.max(fp.completion),
                        request: base.request.max(fp.request),
                        image: base.image.max(fp.image),
                        image_tokens: base.image_tokens,
                    })
                }
            },
        }
    }

    /// The output limit of `model` in the fetched list (`spend.assume_output_tokens:
    /// "model_context"`): not fetched or stale, `PricesStale`; not listed, or listed without a
    /// limit, `NoOutputCap` (the request must cap its output).
    pub(crate) fn output_limit(&self, model: &str) -> Result<u64, Unknown> {
        match self.fetched {
            PriceView::Policy => Err(Unknown::NoOutputCap),
            PriceView::Stale => Err(Unknown::PricesStale),
            PriceView::Fresh(f) => f.lookup(model).and_then(|p| p.output_limit).ok_or(Unknown::NoOutputCap),
        }
    }

    /// Prompt tokens one image given by URL may cost on `model` (the policy's table: the list has
    /// no such figure).
    pub(crate) fn image_tokens(&self, model: &str) -> u64 {
        self.table.image_tokens(model)
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
