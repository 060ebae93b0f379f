//! A `provider` object as a typed struct ([`Routing`]), and the client's read into one with the
//! filter's JSON parser.
//!
//! Fields are checked in one fixed order (the first wrong one is the error reported), each with
//! its own message; nothing the client wrote is echoed. A field the policy fixes outright (`sort`)
//! is not read: its value never reaches OpenRouter.

use crate::core::config::{DataCollection, MaxPrice, ProviderConfig, ProviderSort};
use crate::core::json::{Kind, Node};
use crate::core::json_value::JsonValue;

/// Provider fields OpenRouter accepts from a client besides those a policy may set
/// ([`ProviderConfig::FIELDS`]); it rejects unknown keys. Pure preferences: passed through.
pub(crate) const CLIENT_ONLY_FIELDS: [&str; 2] = ["preferred_min_throughput", "preferred_max_latency"];

/// Why a client `provider` object was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderError(pub String);

/// A `provider` object, typed: the client's as read here, or the policy's as compiled. Slugs are
/// trimmed and lower-cased.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Routing {
    pub(crate) order: Option<Vec<String>>,
    pub(crate) only: Option<Vec<String>>,
    pub(crate) ignore: Option<Vec<String>>,
    pub(crate) allow_fallbacks: Option<bool>,
    pub(crate) require_parameters: Option<bool>,
    pub(crate) zdr: Option<bool>,
    pub(crate) enforce_distillable_text: Option<bool>,
    pub(crate) data_collection: Option<DataCollection>,
    pub(crate) quantizations: Option<Vec<String>>,
    /// `None` also when the policy fixes the sort (not read).
    pub(crate) sort: Option<ProviderSort>,
    /// Price caps by field, in field-name order.
    pub(crate) max_price: Vec<(String, f64)>,
    /// The pure preferences present, as they will be sent.
    pub(crate) preferences: Vec<(&'static str, JsonValue)>,
}

/// serde_json's nesting limit, which the client object was once read with: a deeper object is
/// refused the same way.
const MAX_NESTING: u32 = 127;

impl Routing {
    /// Reads the client's `provider` value (`None`: absent); `sort_fixed` when the policy sets `sort`.
    pub(crate) fn read(node: Option<&Node<'_>>, sort_fixed: bool) -> Result<Self, ProviderError> {
        let Some(node) = node else { return Ok(Self::default()) };
        if !within_number_and_nesting_limits(node, 1) {
            return Err(ProviderError("provider is not valid JSON".into()));
        }
        let members = match &node.kind {
            Kind::Null => return Ok(Self::default()),
            Kind::Object(members) => members,
            _ => return Err(ProviderError("provider must be an object".into())),
        };
        if members
            .iter()
            .any(|m| !ProviderConfig::FIELDS.contains(&m.key.as_ref()) && !CLIENT_ONLY_FIELDS.contains(&m.key.as_ref()))
        {
            return Err(ProviderError("provider has a field OpenRouter does not accept".into()));
        }
        let get = |key: &str| node.get(key).filter(|v| !matches!(v.kind, Kind::Null));
        let slugs = |key: &str| get(key).map(|v| slugs(v, key)).transpose();
        let flag = |key: &str| get(key).map(|v| flag(v, key)).transpose();
        let mut c = Self {
            order: slugs("order")?,
            only: slugs("only")?,
            ignore: slugs("ignore")?,
            allow_fallbacks: flag("allow_fallbacks")?,
            require_parameters: flag("require_parameters")?,
            zdr: flag("zdr")?,
            enforce_distillable_text: flag("enforce_distillable_text")?,
            ..Self::default()
        };
        c.data_collection = get("data_collection")
            .map(|v| {
                v.as_str()
                    .and_then(|s| DataCollection::from_name(&s))
                    .ok_or_else(|| ProviderError("provider.data_collection must be \"allow\" or \"deny\"".into()))
            })
            .transpose()?;
        c.quantizations = slugs("quantizations")?;
        if !sort_fixed {
            c.sort = get("sort")
                .map(|v| {
                    v.as_str()
                        .and_then(|s| ProviderSort::from_name(&s))
                        .ok_or_else(|| ProviderError("provider.sort must be price, throughput or latency".into()))
                })
                .transpose()?;
        }
        if let Some(v) = get("max_price") {
            c.max_price = max_price(v)?;
        }
        for key in CLIENT_ONLY_FIELDS {
            let Some(v) = node.get(key) else { continue };
            if !matches!(v.kind, Kind::Number(_) | Kind::Object(_) | Kind::Null) {
                return Err(ProviderError("provider preference has the wrong type".into()));
            }
            let value = JsonValue::from_node(v).ok_or_else(|| ProviderError("provider is not valid JSON".into()))?;
            c.preferences.push((key, value));
        }
        Ok(c)
    }
}

/// False when serde_json, which read this object before, refused it: a number beyond `f64`, or
/// containers nested past its limit.
fn within_number_and_nesting_limits(node: &Node<'_>, depth: u32) -> bool {
    match &node.kind {
        Kind::Number(raw) => raw.parse::<f64>().is_ok_and(f64::is_finite),
        Kind::Array(items) => {
            depth <= MAX_NESTING && items.iter().all(|n| within_number_and_nesting_limits(n, depth + 1))
        }
        Kind::Object(members) => {
            depth <= MAX_NESTING && members.iter().all(|m| within_number_and_nesting_limits(&m.value, depth + 1))
        }
        Kind::Null | Kind::Bool(_) | Kind::Str(_) => true,
    }
}

fn slugs(node: &Node<'_>, key: &str) -> Result<Vec<String>, ProviderError> {
    let wrong = || ProviderError(format!("provider.{key} must be a list of strings"));
    let Kind::Array(items) = &node.kind else { return Err(wrong()) };
    items.iter().map(|v| v.as_str().map(|s| s.trim().to_ascii_lowercase()).ok_or_else(wrong)).collect()
}

fn flag(node: &Node<'_>, key: &str) -> Result<bool, ProviderError> {
    match node.kind {
        Kind::Bool(b) => Ok(b),
        _ => Err(ProviderError(format!("provider.{key} must be a boolean"))),
    }
}

/// `max_price`: an object of non-negative numbers named by [`MaxPrice::FIELDS`]. Of several
/// wrong members, the one first in field-name order is reported.
fn max_price(node: &Node<'_>) -> Result<Vec<(String, f64)>, ProviderError> {
    let Kind::Object(members) = &node.kind else {
        return Err(ProviderError("provider.max_price must be an object".into()));
    };
    let mut prices = Vec::with_capacity(members.len());
    let mut first_wrong: Option<(&str, &'static str)> = None;
    for m in members {
        let price = match &m.value.kind {
            Kind::Number(raw) => raw.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0),
            _ => None,
        };
        let wrong = match price {
            _ if !MaxPrice::FIELDS.contains(&m.key.as_ref()) => "provider.max_price has an unknown field",
            None => "provider.max_price values must be non-negative numbers",
            Some(price) => {
                prices.push((m.key.to_string(), price));
                continue;
            }
        };
        if first_wrong.is_none_or(|(key, _)| m.key.as_ref() < key) {
            first_wrong = Some((m.key.as_ref(), wrong));
        }
    }
    match first_wrong {
        Some((_, wrong)) => Err(ProviderError(wrong.into())),
        None => Ok(prices),
    }
}
