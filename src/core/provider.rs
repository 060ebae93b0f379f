//! Provider routing: merging the policy's `provider` object with the client's.
//!
//! The policy always wins. A client may narrow within the policy (a shorter `order`, extra
//! `ignore` entries, `allow_fallbacks: false`, a lower `max_price`) but never widen it.

use serde_json::{Map, Value};

use crate::core::config::{ConfigError, DataCollection, MaxPrice, ProviderConfig, ProviderSort};
use crate::core::reason::Reason;

/// Provider fields OpenRouter accepts from a client besides those a policy may set
/// ([`ProviderConfig::FIELDS`]); it rejects unknown keys.
const CLIENT_ONLY_FIELDS: &[&str] = &["preferred_min_throughput", "preferred_max_latency"];

/// The compiled provider policy of a profile (slugs lower-cased).
#[derive(Debug, Clone, Default)]
pub struct ProviderPolicy {
    order: Option<Vec<String>>,
    allow_fallbacks: Option<bool>,
    require_parameters: Option<bool>,
    data_collection: Option<DataCollection>,
    zdr: Option<bool>,
    only: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    quantizations: Option<Vec<String>>,
    sort: Option<ProviderSort>,
    max_price: Map<String, Value>,
    enforce_distillable_text: Option<bool>,
}

/// Why a client `provider` object was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError(pub String);

/// Result of a merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The provider object to send upstream.
    pub value: Value,
    /// Audit notes for each place the client was overruled (codes, no values).
    pub notes: Vec<Reason>,
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
        let mut max_price = Map::new();
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
                    max_price.insert(k.into(), Value::from(v));
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
        Ok(Self {
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
        })
    }

    /// Providers the policy allows, when it restricts them: `only`, else `order` without fallbacks.
    pub fn allowed_set(&self) -> Option<&[String]> {
        if let Some(o) = &self.only {
            return Some(o);
        }
        if self.allow_fallbacks == Some(false) {
            return self.order.as_deref();
        }
        None
    }

    /// The policy's `order`.
    pub fn order(&self) -> Option<&[String]> {
        self.order.as_deref()
    }

    /// The policy's `only`.
    pub fn only(&self) -> Option<&[String]> {
        self.only.as_deref()
    }

    /// The policy's `ignore`.
    pub fn ignore(&self) -> Option<&[String]> {
        self.ignore.as_deref()
    }

    /// The policy's `allow_fallbacks`.
    pub fn allow_fallbacks(&self) -> Option<bool> {
        self.allow_fallbacks
    }

    /// Merges the client's `provider` value (if any) with the policy.
    pub fn merge(&self, client: Option<&Value>) -> Result<Merged, ProviderError> {
        let empty = Map::new();
        let c = match client {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => return Err(ProviderError("provider must be an object".into())),
        };
        if let Some(k) = c.keys().find(|k| ![ProviderConfig::FIELDS, CLIENT_ONLY_FIELDS].concat().contains(&k.as_str()))
        {
            let _ = k; // never echo client content
            return Err(ProviderError("provider has a field OpenRouter does not accept".into()));
        }
        let mut notes = Vec::new();
        let mut out = Map::new();
        let allowed = self.allowed_set();

        // order: client order filtered to the allowed set; falls back to the policy's order.
        let c_order = client_slugs(c, "order")?;
        let order = match (c_order, allowed) {
            (Some(co), Some(a)) => {
                let kept: Vec<String> = co.iter().filter(|s| a.contains(s)).cloned().collect();
                if kept.len() != co.len() {
                    notes.push(Reason::ProviderOrderOutsidePolicyDropped);
                }
                if kept.is_empty() {
                    self.order.clone()
                } else {
                    Some(kept)
                }
            }
            (Some(co), None) => Some(co),
            (None, _) => self.order.clone(),
        };
        put_list(&mut out, "order", order);

        // only: intersection with the policy's allowed set.
        let c_only = client_slugs(c, "only")?;
        let only = match (c_only, &self.only, allowed) {
            (Some(co), Some(po), _) => {
                let kept: Vec<String> = co.iter().filter(|s| po.contains(s)).cloned().collect();
                if kept.len() != co.len() {
                    notes.push(Reason::ProviderOnlyOutsidePolicyDropped);
                }
                if kept.is_empty() {
                    Some(po.clone())
                } else {
                    Some(kept)
                }
            }
            (Some(co), None, Some(a)) => {
                let kept: Vec<String> = co.iter().filter(|s| a.contains(s)).cloned().collect();
                if kept.len() != co.len() {
                    notes.push(Reason::ProviderOnlyOutsidePolicyDropped);
                }
                if kept.is_empty() {
                    None
                } else {
                    Some(kept)
                }
            }
            (Some(co), None, None) => Some(co),
            (None, po, _) => po.clone(),
        };
        put_list(&mut out, "only", only);

        // ignore: union.
        let mut ignore = self.ignore.clone().unwrap_or_default();
        for s in client_slugs(c, "ignore")?.unwrap_or_default() {
            if !ignore.contains(&s) {
                ignore.push(s);
            }
        }
        put_list(&mut out, "ignore", (!ignore.is_empty()).then_some(ignore));

        // allow_fallbacks: true only if both allow it.
        let c_fb = client_bool(c, "allow_fallbacks")?;
        let fb = match (self.allow_fallbacks, c_fb) {
            (Some(false), Some(true)) => {
                notes.push(Reason::ProviderAllowFallbacksOverridden);
                Some(false)
            }
            (Some(p), Some(cv)) => Some(p && cv),
            (Some(p), None) => Some(p),
            (None, cv) => cv,
        };
        put_bool(&mut out, "allow_fallbacks", fb);

        // Flags where `true` is the narrower choice.
        for (key, pol) in [
            ("require_parameters", self.require_parameters),
            ("zdr", self.zdr),
            ("enforce_distillable_text", self.enforce_distillable_text),
        ] {
            let cv = client_bool(c, key)?;
            let v = match (pol, cv) {
                (Some(true), Some(false)) => {
                    notes.push(Reason::ProviderFlagOverridden);
                    Some(true)
                }
                (Some(p), Some(cv)) => Some(p || cv),
                (p, cv) => p.or(cv),
            };
            put_bool(&mut out, key, v);
        }

        // data_collection: deny wins.
        let c_dc = match c.get("data_collection") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if DataCollection::from_name(s).is_some() => DataCollection::from_name(s),
            Some(_) => return Err(ProviderError("provider.data_collection must be \"allow\" or \"deny\"".into())),
        };
        let dc = match (self.data_collection, c_dc) {
            (Some(DataCollection::Deny), Some(DataCollection::Allow)) => {
                notes.push(Reason::ProviderDataCollectionOverridden);
                Some(DataCollection::Deny)
            }
            (Some(DataCollection::Deny), _) | (_, Some(DataCollection::Deny)) => Some(DataCollection::Deny),
            (p, cv) => p.or(cv),
        };
        if let Some(dc) = dc {
            out.insert("data_collection".into(), Value::from(dc.as_str()));
        }

        // quantizations: intersection.
        let cq = client_slugs(c, "quantizations")?;
        let q = match (cq, &self.quantizations) {
            (Some(cq), Some(pq)) => {
                let kept: Vec<String> = cq.iter().filter(|s| pq.contains(s)).cloned().collect();
                if kept.is_empty() {
                    Some(pq.clone())
                } else {
                    Some(kept)
                }
            }
            (cq, pq) => cq.or_else(|| pq.clone()),
        };
        put_list(&mut out, "quantizations", q);

        // sort: the policy's choice wins.
        let sort = match (self.sort, c.get("sort")) {
            (Some(s), _) => Some(Value::from(s.as_str())),
            (None, Some(Value::String(s))) if ProviderSort::from_name(s).is_some() => Some(Value::from(s.as_str())),
            (None, None | Some(Value::Null)) => None,
            (None, Some(_)) => return Err(ProviderError("provider.sort must be price, throughput or latency".into())),
        };
        if let Some(s) = sort {
            out.insert("sort".into(), s);
        }

        // max_price: per-field minimum.
        let mut price = self.max_price.clone();
        match c.get("max_price") {
            None | Some(Value::Null) => {}
            Some(Value::Object(cm)) => {
                for (k, v) in cm {
                    if !MaxPrice::FIELDS.contains(&k.as_str()) {
                        return Err(ProviderError("provider.max_price has an unknown field".into()));
                    }
                    let cv = v.as_f64().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| {
                        ProviderError("provider.max_price values must be non-negative numbers".into())
                    })?;
                    let keep = match price.get(k).and_then(Value::as_f64) {
                        Some(pv) if pv <= cv => {
                            if pv < cv {
                                notes.push(Reason::ProviderMaxPriceCapped);
                            }
                            pv
                        }
                        _ => cv,
                    };
                    price.insert(k.clone(), Value::from(keep));
                }
            }
            Some(_) => return Err(ProviderError("provider.max_price must be an object".into())),
        }
        if !price.is_empty() {
            out.insert("max_price".into(), Value::Object(price));
        }

        // Pure preferences pass through when well-typed.
        for key in ["preferred_min_throughput", "preferred_max_latency"] {
            match c.get(key) {
                None => {}
                Some(v @ (Value::Number(_) | Value::Object(_) | Value::Null)) => {
                    out.insert(key.into(), v.clone());
                }
                Some(_) => return Err(ProviderError("provider preference has the wrong type".into())),
            }
        }
        Ok(Merged { value: Value::Object(out), notes })
    }
}

fn client_slugs(c: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, ProviderError> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .ok_or_else(|| ProviderError(format!("provider.{key} must be a list of strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ProviderError(format!("provider.{key} must be a list of strings"))),
    }
}

fn client_bool(c: &Map<String, Value>, key: &str) -> Result<Option<bool>, ProviderError> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ProviderError(format!("provider.{key} must be a boolean"))),
    }
}

fn put_list(out: &mut Map<String, Value>, key: &str, v: Option<Vec<String>>) {
    if let Some(v) = v {
        out.insert(key.into(), Value::from(v));
    }
}

fn put_bool(out: &mut Map<String, Value>, key: &str, v: Option<bool>) {
    if let Some(v) = v {
        out.insert(key.into(), Value::from(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(v: Value) -> ProviderPolicy {
        let cfg = crate::core::config::read_as(&v.to_string(), ProviderConfig::read).unwrap();
        ProviderPolicy::compile(&cfg, "provider").unwrap()
    }

    fn strict() -> ProviderPolicy {
        policy(
            json!({"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny", "zdr": true}),
        )
    }

    #[test]
    fn policy_is_injected_when_client_sends_nothing() {
        let m = strict().merge(None).unwrap();
        assert_eq!(
            m.value,
            json!({"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny", "zdr": true})
        );
        assert!(m.notes.is_empty());
    }

    #[test]
    fn client_cannot_widen_routing() {
        let m = strict()
            .merge(Some(&json!({"order": ["deepinfra", "OpenAI"], "allow_fallbacks": true, "data_collection": "allow", "zdr": false, "only": ["together"]})))
            .unwrap();
        assert_eq!(m.value["order"], json!(["openai"]));
        assert_eq!(m.value["allow_fallbacks"], json!(false));
        assert_eq!(m.value["data_collection"], json!("deny"));
        assert_eq!(m.value["zdr"], json!(true));
        assert!(m.value.get("only").is_none(), "only outside the allowed set is dropped");
        assert!(m.notes.contains(&Reason::ProviderAllowFallbacksOverridden));
        assert!(m.notes.contains(&Reason::ProviderDataCollectionOverridden));
    }

    #[test]
    fn client_may_narrow_within_policy() {
        let m = strict()
            .merge(Some(
                &json!({"order": ["openai"], "ignore": ["azure"], "max_price": {"prompt": 1.5}, "sort": "price"}),
            ))
            .unwrap();
        assert_eq!(m.value["order"], json!(["openai"]));
        assert_eq!(m.value["ignore"], json!(["azure"]));
        assert_eq!(m.value["max_price"], json!({"prompt": 1.5}));
        assert_eq!(m.value["sort"], json!("price"));
        assert!(m.notes.is_empty());
    }

    #[test]
    fn max_price_takes_the_lower_value_and_order_falls_back_to_policy() {
        let p = policy(json!({"order": ["anthropic"], "allow_fallbacks": false, "max_price": {"prompt": 2.0}}));
        let m = p.merge(Some(&json!({"order": ["evil"], "max_price": {"prompt": 50, "completion": 3}}))).unwrap();
        assert_eq!(m.value["order"], json!(["anthropic"]));
        assert_eq!(m.value["max_price"], json!({"prompt": 2.0, "completion": 3.0}));
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
            assert!(strict().merge(Some(&bad)).is_err(), "{bad}");
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
