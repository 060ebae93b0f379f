//! Builds the `spend` section ([`SpendConfig`]) from the JSON tree, with the same fields, defaults
//! and refusals as its serde attributes in [`super::spend_types`].

use super::read::{self, Path};
use super::spend_types::{
    LimitConfig, LimitKey, LimitMode, LimitUnit, LimitWindow, PriceConfig, SpendConfig, StoreFailure,
};
use super::ConfigError;
use crate::core::json::Node;

/// Fields of [`SpendConfig`], in declaration order (as serde lists them).
pub(super) const SPEND_FIELDS: &[&str] = &["prices", "assume_output_tokens", "team_header", "limits"];

/// Fields of [`PriceConfig`].
pub(super) const PRICE_FIELDS: &[&str] = &["model", "prompt", "completion", "request"];

/// Fields of [`LimitConfig`].
pub(super) const LIMIT_FIELDS: &[&str] =
    &["name", "per", "window", "unit", "max", "profiles", "models", "mode", "on_store_error"];

/// `spend`.
pub fn spend(node: &Node<'_>, at: Path<'_>) -> Result<SpendConfig, ConfigError> {
    let mut out = SpendConfig::default();
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "prices" => out.prices = read::list(v, here, price)?,
            "assume_output_tokens" => out.assume_output_tokens = read::optional(v, here, read::uint)?,
            "team_header" => out.team_header = read::optional(v, here, read::string)?,
            "limits" => out.limits = read::list(v, here, limit)?,
            other => return Err(read::unknown_field(here, other, SPEND_FIELDS)),
        }
    }
    Ok(out)
}

/// One `spend.prices` entry.
fn price(node: &Node<'_>, at: Path<'_>) -> Result<PriceConfig, ConfigError> {
    let (mut model, mut prompt, mut completion, mut request) = (None, None, None, 0.0);
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "model" => model = Some(read::string(v, here)?),
            "prompt" => prompt = Some(read::number(v, here)?),
            "completion" => completion = Some(read::number(v, here)?),
            "request" => request = read::number(v, here)?,
            other => return Err(read::unknown_field(here, other, PRICE_FIELDS)),
        }
    }
    Ok(PriceConfig {
        model: read::required(model, at, "model")?,
        prompt: read::required(prompt, at, "prompt")?,
        completion: read::required(completion, at, "completion")?,
        request,
    })
}

/// One `spend.limits` entry.
fn limit(node: &Node<'_>, at: Path<'_>) -> Result<LimitConfig, ConfigError> {
    let (mut name, mut per, mut window, mut unit, mut max) = (None, Vec::new(), None, None, None);
    let (mut profiles, mut models, mut mode, mut on_store_error) =
        (Vec::new(), None, LimitMode::default(), StoreFailure::default());
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "name" => name = Some(read::string(v, here)?),
            "per" => per = read::list(v, here, limit_key)?,
            "window" => window = Some(limit_window(v, here)?),
            "unit" => unit = Some(limit_unit(v, here)?),
            "max" => max = Some(read::number(v, here)?),
            "profiles" => profiles = read::strings(v, here)?,
            "models" => models = read::optional(v, here, read::string)?,
            "mode" => mode = read::variant(v, here, &[("enforce", LimitMode::Enforce), ("shadow", LimitMode::Shadow)])?,
            "on_store_error" => {
                on_store_error =
                    read::variant(v, here, &[("closed", StoreFailure::Closed), ("open", StoreFailure::Open)])?
            }
            other => return Err(read::unknown_field(here, other, LIMIT_FIELDS)),
        }
    }
    Ok(LimitConfig {
        name: read::required(name, at, "name")?,
        per,
        window: read::required(window, at, "window")?,
        unit: read::required(unit, at, "unit")?,
        max: read::required(max, at, "max")?,
        profiles,
        models,
        mode,
        on_store_error,
    })
}

fn limit_key(node: &Node<'_>, at: Path<'_>) -> Result<LimitKey, ConfigError> {
    read::variant(
        node,
        at,
        &[
            ("user", LimitKey::User),
            ("team", LimitKey::Team),
            ("profile", LimitKey::Profile),
            ("model", LimitKey::Model),
        ],
    )
}

fn limit_window(node: &Node<'_>, at: Path<'_>) -> Result<LimitWindow, ConfigError> {
    read::variant(
        node,
        at,
        &[
            ("minute", LimitWindow::Minute),
            ("hour", LimitWindow::Hour),
            ("day", LimitWindow::Day),
            ("month", LimitWindow::Month),
        ],
    )
}

fn limit_unit(node: &Node<'_>, at: Path<'_>) -> Result<LimitUnit, ConfigError> {
    read::variant(
        node,
        at,
        &[("requests", LimitUnit::Requests), ("tokens", LimitUnit::Tokens), ("cost", LimitUnit::Cost)],
    )
}
