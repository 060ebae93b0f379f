//! Provider routing: merging the policy's `provider` object with the client's.
//!
//! The policy always wins. A client may narrow within the policy (a shorter `order`, extra
//! `ignore` entries, `allow_fallbacks: false`, a lower `max_price`) but never widen it. Both sides
//! are one typed [`Routing`] (the client's read by [`Routing::read`] with the filter's parser);
//! [`ProviderPolicy::merge`] is a table: one strategy per field.

use crate::core::config::{ConfigError, DataCollection, ProviderConfig};
use crate::core::json_value::JsonValue;
use crate::core::reason::Reason;

pub(crate) use crate::core::provider_routing::Routing;

/// The compiled provider policy of a profile (slugs lower-cased).
#[derive(Debug, Clone, Default)]
pub struct ProviderPolicy {
    routing: Routing,
}

/// Result of a merge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Merged {
    /// The provider object to send upstream.
    pub value: JsonValue,
    /// Audit notes for each place the client was overruled (codes, no values).
    pub(crate) notes: Vec<Reason>,
}

/// One list of [`Routing`].
type List = fn(&Routing) -> Option<&[String]>;

/// A list the client may narrow: its entries outside `within` (the policy's, when it has that
/// restriction) are dropped, noted with `dropped`; when none is left, or the client sent none, the
/// policy's own list is sent.
struct Narrow {
    key: &'static str,
    list: List,
    within: fn(&ProviderPolicy) -> Option<&[String]>,
    dropped: Option<Reason>,
}

const NARROW: [Narrow; 3] = [
    Narrow {
        key: "order",
        list: |r| r.order.as_deref(),
        within: ProviderPolicy::allowed_set,
        dropped: Some(Reason::ProviderOrderOutsidePolicyDropped),
    },
    Narrow {
        key: "only",
        list: |r| r.only.as_deref(),
        within: ProviderPolicy::allowed_set,
        dropped: Some(Reason::ProviderOnlyOutsidePolicyDropped),
    },
    Narrow {
        key: "quantizations",
        list: |r| r.quantizations.as_deref(),
        within: |p| p.routing.quantizations.as_deref(),
        dropped: None,
    },
];

/// A flag whose `strict` value is the narrower choice: either side's `strict` wins; the client
/// asking for the other value where the policy is strict is noted with `overruled`.
struct Stricter {
    key: &'static str,
    flag: fn(&Routing) -> Option<bool>,
    strict: bool,
    overruled: Reason,
}

const STRICTER: [Stricter; 4] = [
    Stricter {
        key: "allow_fallbacks",
        flag: |r| r.allow_fallbacks,
        strict: false,
        overruled: Reason::ProviderAllowFallbacksOverridden,
    },
    Stricter {
        key: "require_parameters",
        flag: |r| r.require_parameters,
        strict: true,
        overruled: Reason::ProviderFlagOverridden,
    },
    Stricter { key: "zdr", flag: |r| r.zdr, strict: true, overruled: Reason::ProviderFlagOverridden },
    Stricter {
        key: "enforce_distillable_text",
        flag: |r| r.enforce_distillable_text,
        strict: true,
        overruled: Reason::ProviderFlagOverridden,
    },
];

/// The stricter of the policy's and the client's value (`strict` if either has it, else whichever
/// is set); `overruled` is noted when the policy's `strict` overrules the client's other value.
fn stricter<T: Copy + PartialEq>(
    policy: Option<T>,
    client: Option<T>,
    strict: T,
    overruled: Reason,
    notes: &mut Vec<Reason>,
) -> Option<T> {
    if policy == Some(strict) && client.is_some_and(|c| c != strict) {
        notes.push(overruled);
    }
    if policy == Some(strict) || client == Some(strict) {
        return Some(strict);
    }
    policy.or(client)
}

/// The client's list kept within `within` (see [`Narrow`]).
fn narrow(
    policy: Option<&[String]>,
    client: Option<&[String]>,
    within: Option<&[String]>,
    dropped: Option<Reason>,
    notes: &mut Vec<Reason>,
) -> Option<Vec<String>> {
    let Some(client) = client else { return policy.map(<[String]>::to_vec) };
    let Some(within) = within else { return Some(client.to_vec()) };
    let kept: Vec<String> = client.iter().filter(|s| within.contains(s)).cloned().collect();
    if let (true, Some(reason)) = (kept.len() != client.len(), dropped) {
        notes.push(reason);
    }
    if kept.is_empty() {
        policy.map(<[String]>::to_vec)
    } else {
        Some(kept)
    }
}

/// Every entry of `first`, then those of `then` not already there.
fn union(first: Option<&[String]>, then: Option<&[String]>) -> Vec<String> {
    let mut out = first.unwrap_or_default().to_vec();
    for s in then.unwrap_or_default() {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Per field, the lower of the two prices (`capped` noted when the policy's is lower).
fn lower_prices(policy: &[(String, f64)], client: &[(String, f64)], notes: &mut Vec<Reason>) -> JsonValue {
    let mut out = JsonValue::object();
    for (k, v) in policy {
        out.insert(k, JsonValue::from(*v));
    }
    for (k, cv) in client {
        let keep = match policy.iter().find(|(pk, _)| pk == k).map(|(_, pv)| *pv) {
            Some(pv) if pv <= *cv => {
                if pv < *cv {
                    notes.push(Reason::ProviderMaxPriceCapped);
                }
                pv
            }
            _ => *cv,
        };
        out.insert(k, JsonValue::from(keep));
    }
    out
}

fn slugs(list: &Option<Vec<String>>, path: &str) -> Result<Option<Vec<String>>, ConfigError> {
    match list {
        None => Ok(None),
        Some(v) => {
            let mut out = Vec::with_capacity(v.len());
            for (i, s) in v.iter().enumerate() {
                let t = s.trim().to_ascii_lowercase();
                if t.is_empty() {
                    return Err(ConfigError::new(format!("{path}[{i}]"), "empty provider slug"));
                }
                out.push(t);
            }
            Ok(Some(out))
        }
    }
}

impl ProviderPolicy {
    /// Compiles a profile's `provider` object at JSON path `path`.
    pub fn compile(cfg: &ProviderConfig, path: &str) -> Result<Self, ConfigError> {
        let mut max_price = Vec::new();
        if let Some(mp) = &cfg.max_price {
            for (k, v) in [
                ("prompt", mp.prompt),
                ("completion", mp.completion),
                ("request", mp.request),
                ("image", mp.image),
                ("audio", mp.audio),
            ] {
                if let Some(v) = v {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(ConfigError::new(format!("{path}.max_price.{k}"), "must be a non-negative number"));
                    }
                    max_price.push((k.to_string(), v));
                }
            }
        }
        let order = slugs(&cfg.order, &format!("{path}.order"))?;
        let only = slugs(&cfg.only, &format!("{path}.only"))?;
        if cfg.allow_fallbacks == Some(false) && order.as_ref().is_some_and(|o| o.is_empty()) && only.is_none() {
            return Err(ConfigError::new(
                format!("{path}.order"),
                "empty order with allow_fallbacks false leaves no provider",
            ));
        }
        let routing = Routing {
            order,
            allow_fallbacks: cfg.allow_fallbacks,
            require_parameters: cfg.require_parameters,
            data_collection: cfg.data_collection,
            zdr: cfg.zdr,
            only,
            ignore: slugs(&cfg.ignore, &format!("{path}.ignore"))?,
            quantizations: slugs(&cfg.quantizations, &format!("{path}.quantizations"))?,
            sort: cfg.sort,
            max_price,
            enforce_distillable_text: cfg.enforce_distillable_text,
            preferences: Vec::new(),
        };
        Ok(Self { routing })
    }

    /// Providers the policy allows, when it restricts them: `only`, else `order` without fallbacks.
    pub fn allowed_set(&self) -> Option<&[String]> {
        if let Some(o) = &self.routing.only {
            return Some(o);
        }
        if self.routing.allow_fallbacks == Some(false) {
            return self.routing.order.as_deref();
        }
        None
    }

    /// The policy's `order`.
    pub fn order(&self) -> Option<&[String]> {
        self.routing.order.as_deref()
    }

    /// The policy's `only`.
    pub fn only(&self) -> Option<&[String]> {
        self.routing.only.as_deref()
    }

    /// The policy's `ignore`.
    pub fn ignore(&self) -> Option<&[String]> {
        self.routing.ignore.as_deref()
    }

    /// The policy's `allow_fallbacks`.
    pub fn allow_fallbacks(&self) -> Option<bool> {
        self.routing.allow_fallbacks
    }

    /// Whether the policy sets `sort` (the client's is then not read).
    pub(crate) fn fixes_sort(&self) -> bool {
        self.routing.sort.is_some()
    }

    /// Merges the client's `provider` object (default: absent) with the policy, field by field.
    pub(crate) fn merge(&self, client: &Routing) -> Merged {
        let policy = &self.routing;
        let mut notes = Vec::new();
        let mut out = JsonValue::object();
        for n in &NARROW {
            let v = narrow((n.list)(policy), (n.list)(client), (n.within)(self), n.dropped, &mut notes);
            if let Some(v) = v {
                out.insert(n.key, JsonValue::from(v));
            }
        }
        let ignore = union(policy.ignore.as_deref(), client.ignore.as_deref());
        if !ignore.is_empty() {
            out.insert("ignore", JsonValue::from(ignore));
        }
        for s in &STRICTER {
            if let Some(v) = stricter((s.flag)(policy), (s.flag)(client), s.strict, s.overruled, &mut notes) {
                out.insert(s.key, JsonValue::from(v));
            }
        }
        let dc = stricter(
            policy.data_collection,
            client.data_collection,
            DataCollection::Deny,
            Reason::ProviderDataCollectionOverridden,
            &mut notes,
        );
        if let Some(dc) = dc {
            out.insert("data_collection", JsonValue::from(dc.as_str()));
        }
        // The policy's sort wins.
        if let Some(sort) = policy.sort.or(client.sort) {
            out.insert("sort", JsonValue::from(sort.as_str()));
        }
        let price = lower_prices(&policy.max_price, &client.max_price, &mut notes);
        if !price.is_empty_object() {
            out.insert("max_price", price);
        }
        // Pure preferences pass through.
        for (key, v) in &client.preferences {
            out.insert(key, v.clone());
        }
        Merged { value: out, notes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::provider_routing::ProviderError;
    use serde_json::{json, Value};

    /// The merged object as serde_json reads the text sent upstream.
    fn sent(m: &Merged) -> Value {
        serde_json::from_str(&m.value.to_json()).unwrap()
    }

    fn policy(v: Value) -> ProviderPolicy {
        let cfg = crate::core::config::read_as(&v.to_string(), ProviderConfig::read).unwrap();
        ProviderPolicy::compile(&cfg, "provider").unwrap()
    }

    /// The client's object read as the request path reads it, then merged.
    fn merge(p: &ProviderPolicy, client: &Value) -> Result<Merged, ProviderError> {
        let body = client.to_string();
        let node = crate::core::json::parse(body.as_bytes(), 64).unwrap();
        Ok(p.merge(&Routing::read(Some(&node), p.fixes_sort())?))
    }

    fn strict() -> ProviderPolicy {
        policy(
            json!({"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny", "zdr": true}),
        )
    }

    #[test]
    fn policy_is_injected_when_client_sends_nothing() {
        let m = strict().merge(&Routing::default());
        assert_eq!(
            sent(&m),
            json!({"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny", "zdr": true})
        );
        assert!(m.notes.is_empty());
    }

    #[test]
    fn client_cannot_widen_routing() {
        let client = json!({"order": ["deepinfra", "OpenAI"], "allow_fallbacks": true, "data_collection": "allow", "zdr": false, "only": ["together"]});
        let m = merge(&strict(), &client).unwrap();
        assert_eq!(sent(&m)["order"], json!(["openai"]));
        assert_eq!(sent(&m)["allow_fallbacks"], json!(false));
        assert_eq!(sent(&m)["data_collection"], json!("deny"));
        assert_eq!(sent(&m)["zdr"], json!(true));
        assert!(sent(&m).get("only").is_none(), "only outside the allowed set is dropped");
        assert!(m.notes.contains(&Reason::ProviderAllowFallbacksOverridden));
        assert!(m.notes.contains(&Reason::ProviderDataCollectionOverridden));
    }

    #[test]
    fn client_may_narrow_within_policy() {
        let client = json!({"order": ["openai"], "ignore": ["azure"], "max_price": {"prompt": 1.5}, "sort": "price"});
        let m = merge(&strict(), &client).unwrap();
        assert_eq!(sent(&m)["order"], json!(["openai"]));
        assert_eq!(sent(&m)["ignore"], json!(["azure"]));
        assert_eq!(sent(&m)["max_price"], json!({"prompt": 1.5}));
        assert_eq!(sent(&m)["sort"], json!("price"));
        assert!(m.notes.is_empty());
    }

    #[test]
    fn max_price_takes_the_lower_value_and_order_falls_back_to_policy() {
        let p = policy(json!({"order": ["anthropic"], "allow_fallbacks": false, "max_price": {"prompt": 2.0}}));
        let m = merge(&p, &json!({"order": ["evil"], "max_price": {"prompt": 50, "completion": 3}})).unwrap();
        assert_eq!(sent(&m)["order"], json!(["anthropic"]));
        assert_eq!(sent(&m)["max_price"], json!({"prompt": 2.0, "completion": 3.0}));
    }

    #[test]
    fn malformed_client_provider_is_refused() {
        for bad in [
            json!("anthropic"),
            json!({"orderr": []}),
            json!({"order": "x"}),
            json!({"allow_fallbacks": "no"}),
            json!({"data_collection": "maybe"}),
            json!({"max_price": {"tokens": 1}}),
            json!({"max_price": {"prompt": -1}}),
        ] {
            assert!(merge(&strict(), &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sort_the_policy_fixes_is_not_read_and_preferences_pass_through() {
        let p = policy(json!({"sort": "price"}));
        let m =
            merge(&p, &json!({"sort": 3, "preferred_max_latency": {"p90": 1.0e1}, "preferred_min_throughput": null}));
        assert_eq!(
            sent(&m.unwrap()),
            json!({"sort": "price", "preferred_max_latency": {"p90": 10.0}, "preferred_min_throughput": null})
        );
        assert!(merge(&strict(), &json!({"sort": 3})).is_err());
    }

    #[test]
    fn numbers_beyond_f64_and_objects_nested_past_127_levels_are_not_json_to_it() {
        let not_json = |client: &str| {
            let body = format!(r#"{{"provider": {client}}}"#);
            let root = crate::core::json::parse(body.as_bytes(), 256).unwrap();
            Routing::read(root.get("provider"), false).unwrap_err().0 == "provider is not valid JSON"
        };
        assert!(not_json(r#"{"max_price": {"prompt": 1e999}}"#));
        // As deep as serde_json (which read the object before) accepts, and no deeper.
        for k in 120..135 {
            let client = format!(r#"{{"preferred_max_latency": {}1{}}}"#, "[".repeat(k), "]".repeat(k));
            assert_eq!(not_json(&client), serde_json::from_str::<Value>(&client).is_err(), "{k}");
        }
    }

    #[test]
    fn bad_policy_fails_with_path() {
        let cfg = crate::core::config::read_as(r#"{"max_price": {"prompt": -1.0}}"#, ProviderConfig::read).unwrap();
        assert_eq!(
            ProviderPolicy::compile(&cfg, "profiles.p.provider").unwrap_err().path,
            "profiles.p.provider.max_price.prompt"
        );
        let cfg =
            crate::core::config::read_as(r#"{"order": [], "allow_fallbacks": false}"#, ProviderConfig::read).unwrap();
        assert!(ProviderPolicy::compile(&cfg, "p").is_err());
    }
}
