//! What the filter asks, in RLS v3 terms (the filter's side: `src/core/spend/remote.rs`, `rls_wire.rs`).
//!
//! One `ShouldRateLimit` call carries one descriptor per limit, each with these entries:
//!
//! | entry | meaning |
//! |---|---|
//! | `op` | `reserve` (admission: hold the worst case) or `commit` (the exchange ended: charge the actual amount, release the hold) |
//! | `limit` | the limit's name (`[A-Za-z0-9_-]{1,64}`) |
//! | `key` | the counter's key within the limit (user, team, ... values; any text) |
//! | `max` | the limit's maximum per window (decimal) |
//! | `window` | the window in seconds (decimal, at least 1) |
//! | `ttl` | reserve: seconds the hold lives at most if never committed (optional) |
//! | `id` | commit: the reservation id the reserve answered (absent: nothing was held) |
//!
//! The amount is the descriptor's `hits_addend` (else the request's, else 1). The answer has one
//! status per descriptor (`OK` or `OVER_LIMIT`, with `duration_until_reset`) and, for each
//! admitted reservation that holds something, a response header `og-reservation-<index>: <id>`.
//! Descriptors are independent: the caller releases (commits 0 for) what it does not keep.

use std::time::Duration;

use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;

/// One descriptor, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Op {
    pub(crate) commit: bool,
    pub(crate) limit: String,
    pub(crate) key: String,
    pub(crate) max: u64,
    pub(crate) window_s: u64,
    pub(crate) ttl: Option<Duration>,
    pub(crate) id: Option<String>,
    pub(crate) amount: u64,
}

/// The largest amount and maximum: Redis's Lua compares them as doubles (redis_store.rs), exact
/// up to 2^53 (9e15: nine billion USD in micro-USD).
pub(crate) const MAX_AMOUNT: u64 = 1 << 53;

fn number(name: &str, v: Option<&str>) -> Result<u64, String> {
    let v = v.ok_or_else(|| format!("entry `{name}` is missing"))?;
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("entry `{name}` is not a whole number"));
    }
    match v.parse() {
        Ok(n) if n <= MAX_AMOUNT => Ok(n),
        _ => Err(format!("entry `{name}` is out of range (at most 2^53)")),
    }
}

impl Op {
    /// Parses descriptor `d`; `default_amount` is the request's `hits_addend` (0 means 1).
    pub(crate) fn parse(d: &RateLimitDescriptor, default_amount: u32) -> Result<Self, String> {
        let get = |k: &str| d.entries.iter().find(|e| e.key == k).map(|e| e.value.as_str());
        let commit = match get("op") {
            Some("reserve") => false,
            Some("commit") => true,
            _ => return Err("entry `op` must be reserve or commit".into()),
        };
        let limit = get("limit").unwrap_or_default();
        if limit.is_empty()
            || limit.len() > 64
            || !limit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err("entry `limit` must match [A-Za-z0-9_-]{1,64}".into());
        }
        let key = get("key").ok_or("entry `key` is missing")?;
        let max = number("max", get("max"))?;
        let window_s = number("window", get("window"))?;
        if window_s == 0 {
            return Err("entry `window` must be at least 1".into());
        }
        let ttl = match get("ttl") {
            None => None,
            v => Some(Duration::from_secs(number("ttl", v)?)),
        };
        let id = get("id").filter(|v| !v.is_empty()).map(str::to_string);
        let amount = match &d.hits_addend {
            Some(h) if h.value > MAX_AMOUNT => return Err("hits_addend is out of range (at most 2^53)".into()),
            Some(h) => h.value,
            None if default_amount == 0 => 1,
            None => u64::from(default_amount),
        };
        Ok(Self { commit, limit: limit.to_string(), key: key.to_string(), max, window_s, ttl, id, amount })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
    use envoy_types::pb::google::protobuf::UInt64Value;

    fn desc(entries: &[(&str, &str)], hits: Option<u64>) -> RateLimitDescriptor {
        RateLimitDescriptor {
            entries: entries.iter().map(|(k, v)| Entry { key: (*k).into(), value: (*v).into() }).collect(),
            hits_addend: hits.map(|value| UInt64Value { value }),
            ..Default::default()
        }
    }

    #[test]
    fn a_reserve_and_a_commit_parse() {
        let d = desc(
            &[
                ("op", "reserve"),
                ("limit", "team-usd"),
                ("key", "7:finance"),
                ("max", "5000000"),
                ("window", "86400"),
                ("ttl", "600"),
            ],
            Some(100_000),
        );
        let op = Op::parse(&d, 0).unwrap();
        assert_eq!(
            op,
            Op {
                commit: false,
                limit: "team-usd".into(),
                key: "7:finance".into(),
                max: 5_000_000,
                window_s: 86_400,
                ttl: Some(Duration::from_secs(600)),
                id: None,
                amount: 100_000
            }
        );
        let d = desc(
            &[("op", "commit"), ("limit", "l"), ("key", "-"), ("max", "1"), ("window", "60"), ("id", "abc")],
            None,
        );
        let op = Op::parse(&d, 3).unwrap();
        assert!(op.commit);
        assert_eq!((op.id.as_deref(), op.amount), (Some("abc"), 3));
        assert_eq!(Op::parse(&d, 0).unwrap().amount, 1);
    }

    #[test]
    fn malformed_descriptors_are_refused() {
        let ok = [("op", "reserve"), ("limit", "l"), ("key", "k"), ("max", "1"), ("window", "60")];
        for (i, bad) in [
            ("op", "take"),
            ("limit", "a/b"),
            ("max", "-1"),
            ("max", "1.5"),
            ("max", "9007199254740993"),
            ("window", "0"),
            ("window", ""),
        ]
        .iter()
        .enumerate()
        {
            let entries: Vec<(&str, &str)> =
                ok.iter().map(|(k, v)| if *k == bad.0 { (*k, bad.1) } else { (*k, *v) }).collect();
            assert!(Op::parse(&desc(&entries, None), 0).is_err(), "case {i}: {bad:?}");
        }
        let missing: Vec<(&str, &str)> = ok.iter().filter(|(k, _)| *k != "key").copied().collect();
        assert!(Op::parse(&desc(&missing, None), 0).is_err());
    }
}
