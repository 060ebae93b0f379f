//! The worst case of one request, before the upstream sees it: an upper bound on its prompt
//! tokens, its output cap, and the largest cost over every model it can reach.
//!
//! **Prompt tokens ≤ bytes of the body sent.** Every tokenizer OpenRouter's models use is a
//! byte-level BPE or a SentencePiece with byte fallback: a token covers at least one byte of
//! text, so a text never has more tokens than UTF-8 bytes. The chat template adds a few tokens
//! per message (role markers), fewer than the JSON syntax each message costs in the body
//! (`{"role":"user","content":""}` alone is 28 bytes). Real prompts run about 4 bytes per token
//! in English prose and code, 2–3 in other Latin and Cyrillic text, 1.5–3 in CJK (a 3-byte
//! character is one or two tokens), and JSON overhead adds bytes no token is billed for: the
//! bound is 1.5–5× the true count, never below it (docs/spend.md).
//!
//! Two things in a body cost more tokens than their bytes, and are accounted for apart:
//! an image given by URL (a few hundred bytes, up to 16,384 tokens on Qwen2.5-VL and 48,169 on
//! gpt-4o-mini: its model's `image_tokens` each, [`DEFAULT_IMAGE_TOKENS`] unless the price entry
//! says less), and a file, document, audio or video given by URL or
//! `file_id` (no bound at all: the worst case is unknown and a request that needs it is refused,
//! as is a content part of a type the endpoint does not know: [`parts`]). Inline (`data:`)
//! media are counted by their base64 bytes, far more than their tokens.

use crate::core::config::AssumeOutput;
use crate::core::endpoint::Endpoint;
use crate::core::json::{self, Kind, Node};
pub(crate) use crate::core::worst::{Unknown, Worst};

use super::feed::Prices;
use super::parts;
use super::price::{usd_to_micro_ceil, DEFAULT_IMAGE_TOKENS};

/// The worst case of a request whose body (as sent upstream) is `sent_len` bytes, `root` parsed
/// from the body as received, reaching `models` (canonical ids).
pub(crate) fn worst_case(
    prices: Prices<'_>,
    assume_output_tokens: Option<AssumeOutput>,
    max_tokens: Option<u64>,
    endpoint: Endpoint,
    root: &Node<'_>,
    sent_len: usize,
    models: &[String],
) -> Worst {
    let bytes = u64::try_from(sent_len).unwrap_or(u64::MAX);
    let images = parts::images(endpoint, root);
    // Body bytes plus each image given by reference at the model's allowance.
    let bound = |images: u64, per_image: u64| bytes.saturating_add(images.saturating_mul(per_image));
    // The bound of every model at once (tokens budgets, the record): the largest allowance.
    let per_image = models.iter().map(|m| prices.image_tokens(m)).max().unwrap_or(DEFAULT_IMAGE_TOKENS);
    let prompt_tokens = images.map(|n| bound(n, per_image));
    let n = choices(root);
    // The output one model may produce: the request's (or profile's) cap, else the assumption.
    let cap = output_cap(max_tokens, endpoint, root);
    let output_of = |m: &str| -> Result<u64, Unknown> {
        let o = match (cap, assume_output_tokens) {
            (Some(c), _) | (None, Some(AssumeOutput::Tokens(c))) => c,
            (None, Some(AssumeOutput::ModelContext)) => prices.output_limit(m)?,
            (None, None) => return Err(Unknown::NoOutputCap),
        };
        Ok(o.saturating_mul(n))
    };
    // The largest over every model (tokens budgets, the record); no model named: unknown.
    let output_tokens = match models {
        [] => output_of(""),
        _ => models.iter().try_fold(0u64, |worst, m| Ok(worst.max(output_of(m)?))),
    };
    let cost_micro = match (images, output_tokens) {
        (Ok(n), Ok(_)) => models.iter().try_fold(0u64, |worst, m| {
            let price = prices.price(m)?;
            #[allow(clippy::cast_precision_loss)] // image counts far below 2^52
            let images_usd = n as f64 * price.image;
            let o = output_of(m)?;
            let cost = price.micro_usd(bound(n, price.image_tokens), o).saturating_add(usd_to_micro_ceil(images_usd));
            Ok(worst.max(cost))
        }),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    Worst { prompt_tokens, output_tokens, cost_micro }
}

/// The output tokens the upstream may produce per choice: the largest token-limit field the request
/// sends (lowered to the profile's cap, which `request.rs` clamps to or refuses over), the profile's
/// cap when the request sends none (it is inserted) or `null`; `None`: uncapped (then
/// `assume_output_tokens` decides).
fn output_cap(profile_max: Option<u64>, endpoint: Endpoint, root: &Node<'_>) -> Option<u64> {
    let mut cap: Option<u64> = None;
    let mut uncapped = false;
    for f in endpoint.token_limit_fields() {
        let limit = match root.get(f).map(|n| &n.kind) {
            None => continue,
            Some(Kind::Number(t)) => json::positive_integer(t),
            Some(_) => None,
        };
        match limit {
            Some(v) => {
                let v = profile_max.map_or(v, |c| v.min(c));
                cap = Some(cap.map_or(v, |c| c.max(v)));
            }
            // null: replaced by the profile cap, or no limit. 0, a negative or a fraction is refused
            // before the estimate (`request.rs`); were one to reach here, it bounds nothing either.
            None => uncapped = true,
        }
    }
    let cap = match (cap, uncapped) {
        (Some(c), false) => Some(c),
        (Some(c), true) => Some(profile_max.map_or(u64::MAX, |p| c.max(p))),
        (None, _) => profile_max,
    };
    cap.filter(|c| *c != u64::MAX)
}

/// The choices the request asks for (`n`, at least 1).
fn choices(root: &Node<'_>) -> u64 {
    match root.get("n").map(|n| &n.kind) {
        Some(Kind::Number(t)) => t.parse::<u64>().unwrap_or(u64::MAX).max(1),
        _ => 1,
    }
}

#[cfg(test)]
#[path = "estimate_tests.rs"]
mod tests;
