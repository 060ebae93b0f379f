//! Budgets and rate limits without burst overspend: a request is admitted only if its worst case
//! fits what is left of every limit that applies, and that amount is reserved (by compare-and-
//! swap, before the upstream is contacted); when the exchange ends the reservation is released
//! and the actual amount charged (docs/spend.md).

use crate::core::json_value::JsonValue;

use crate::core::audit::{AuditRecord, LimitAudit, LimitUnits};
use crate::core::config::{LimitKey, LimitUnit};
use crate::core::reason::Reason;
use crate::core::reply::Rejection;

use super::estimate::{Unknown, Worst};
use super::ledger::{self, Counter, CounterStore, StoreError, Updated};
use super::limit::{resolved_upstream, Limit};
use super::price::{micro_to_usd, usd_to_micro_ceil};
use super::{unknown_rejection, usd_text, window};

/// Who and what a request is, as limits key it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) profile: &'a str,
    pub(crate) user: Option<&'a str>,
    pub(crate) team: Option<&'a str>,
    /// Every model the request can reach; the first is the requested one.
    pub(crate) models: &'a [String],
}

/// An amount held for a request in flight, released when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    pub(super) limit: usize,
    pub(super) key: String,
    pub(super) amount: u64,
    /// Index of this limit's entry in the audit record's `spend.limits`.
    pub(super) entry: usize,
    /// The rate-limit service's reservation id (`None`: embedded store, or nothing held there).
    pub(super) id: Option<String>,
}

/// The store keys of `limit` for `subject`: one, or with `per: ["model"]` one per model the
/// request can reach that the limit's `models` glob matches (a fallback list reaches each of
/// them, so it reserves in each), keyed by the model's base id (`author/slug`: a variant such as
/// `:nitro` routes the same model and must not buy a fresh counter).
pub(super) fn keys(limit: &Limit, s: &Subject<'_>) -> Vec<String> {
    if !limit.per.contains(&LimitKey::Model) {
        return vec![key(limit, s, None)];
    }
    let mut bases: Vec<&str> = Vec::new();
    for m in s.models {
        if limit.models.as_ref().is_some_and(|g| !g.matches(m)) {
            continue;
        }
        let base = m.split(':').next().unwrap_or(m);
        if !bases.contains(&base) {
            bases.push(base);
        }
    }
    if bases.is_empty() {
        return vec![key(limit, s, None)];
    }
    bases.into_iter().map(|b| key(limit, s, Some(b))).collect()
}

/// The store key of `limit` for `subject` and `model` (the `model` dimension's value): each
/// dimension's value length-prefixed (values may hold any character), `-` when absent (all such
/// requests share one counter).
fn key(limit: &Limit, s: &Subject<'_>, model: Option<&str>) -> String {
    let mut k = format!("openrouter_guard/limit/{}", limit.name);
    for d in &limit.per {
        let v = match d {
            LimitKey::User => s.user,
            LimitKey::Team => s.team,
            LimitKey::Profile => Some(s.profile),
            LimitKey::Model => model,
        };
        match v {
            Some(v) => k.push_str(&format!("/{}:{v}", v.len())),
            None => k.push_str("/-"),
        }
    }
    k
}

/// An amount as the audit record shows it: USD for cost, a count otherwise.
#[inline(never)]
pub(super) fn shown(unit: LimitUnit, amount: u64) -> JsonValue {
    match unit {
        LimitUnit::Cost => JsonValue::from(micro_to_usd(amount)),
        _ => JsonValue::from(amount),
    }
}

#[inline(never)]
pub(super) fn amount_text(unit: LimitUnit, amount: u64) -> String {
    match unit {
        LimitUnit::Cost => usd_text(amount),
        LimitUnit::Tokens => format!("{amount} tokens"),
        LimitUnit::Requests => format!("{amount} requests"),
    }
}

/// The worst-case amount of a request in `unit`.
pub(super) fn worst_amount(unit: LimitUnit, worst: &Worst) -> Result<u64, super::estimate::Unknown> {
    match unit {
        LimitUnit::Requests => Ok(1),
        LimitUnit::Tokens => Ok(worst.prompt_tokens?.saturating_add(worst.output_tokens?)),
        LimitUnit::Cost => worst.cost_micro,
    }
}

/// A limit's audit entry before anything was counted.
#[inline(never)]
pub(super) fn new_entry(limit: &Limit) -> LimitAudit {
    LimitAudit {
        name: limit.name.clone(),
        unit: limit.unit_name(),
        outcome: "admitted",
        reserved: JsonValue::Null,
        charged: JsonValue::Null,
        used: JsonValue::Null,
        in_flight: JsonValue::Null,
        max: shown(limit.unit, limit.max),
        units: LimitUnits { charged: 0, used: None, max: limit.max, global: limit.per.is_empty() },
    }
}

/// Admits the request against every limit that applies, reserving its worst case in each; or
/// refuses it (429 over an enforced limit, 503 when an enforced limit's store fails closed) after
/// releasing what it had reserved. Fills `audit.spend.limits`.
pub(crate) fn admit(
    limits: &[Limit],
    subject: &Subject<'_>,
    worst: &Worst,
    now: u64,
    store: &mut dyn CounterStore,
    audit: &mut AuditRecord,
) -> Result<Vec<Reservation>, Rejection> {
    let mut held: Vec<Reservation> = Vec::new();
    let mut entries: Vec<LimitAudit> = Vec::new();
    let result = admit_each(limits, subject, worst, now, store, &mut held, &mut entries, audit);
    if result.is_err() {
        // Nothing of a refused request stays reserved.
        for r in held.drain(..) {
            let _ = release(limits, &r, 0, now, store);
        }
    }
    if let Some(s) = audit.spend.as_mut() {
        s.limits = entries;
    }
    result.map(|()| held)
}

/// The refusal of an enforced limit kept per model when the request names a router, alias or
/// preset: which model's counter it would use is known only from the answer. Both stores (the
/// embedded one here, the mesh-wide one in remote.rs) apply it.
pub(crate) fn unresolved_model(limit: &Limit, subject: &Subject<'_>) -> Option<Rejection> {
    (limit.per_model() && !limit.shadow && subject.models.iter().any(|m| resolved_upstream(m)))
        .then(|| unknown_rejection(Unknown::ResolvedUpstream, &format!("limit '{}'", limit.name)))
}

#[allow(clippy::too_many_arguments)] // the loop body of `admit`, split out for its early returns
fn admit_each(
    limits: &[Limit],
    subject: &Subject<'_>,
    worst: &Worst,
    now: u64,
    store: &mut dyn CounterStore,
    held: &mut Vec<Reservation>,
    entries: &mut Vec<LimitAudit>,
    audit: &mut AuditRecord,
) -> Result<(), Rejection> {
    for (index, limit) in limits.iter().enumerate() {
        if !limit.applies(subject.profile, subject.models) {
            continue;
        }
        if let Some(refusal) = unresolved_model(limit, subject) {
            let mut entry = new_entry(limit);
            entry.outcome = "unbounded";
            entries.push(entry);
            return Err(refusal);
        }
        for k in keys(limit, subject) {
            admit_key(index, limit, k, worst, now, store, held, entries, audit)?;
        }
    }
    Ok(())
}

/// Admits the request against one counter of one limit (see [`admit_each`]).
#[allow(clippy::too_many_arguments)] // the inner loop body of `admit_each`
fn admit_key(
    index: usize,
    limit: &Limit,
    k: String,
    worst: &Worst,
    now: u64,
    store: &mut dyn CounterStore,
    held: &mut Vec<Reservation>,
    entries: &mut Vec<LimitAudit>,
    audit: &mut AuditRecord,
) -> Result<(), Rejection> {
    let mut entry = new_entry(limit);
    let amount = match worst_amount(limit.unit, worst) {
        Ok(a) => a,
        Err(why) if !limit.shadow => {
            entry.outcome = "unbounded";
            entries.push(entry);
            return Err(unbounded(limit, why));
        }
        // Shadow: counted at the end with what the response reports; nothing reserved.
        Err(_) => {
            entry.outcome = "shadow_unbounded";
            0
        }
    };
    let (start, end) = window::bounds(limit.window, now);
    let max = limit.max;
    let mut over = false;
    let updated = ledger::update(store, &k, |c: Counter| {
        let c = c.in_window(start);
        over = c.used.saturating_add(c.reserved).saturating_add(amount) > max;
        if over && !limit.shadow {
            return None;
        }
        Some(Counter { reserved: c.reserved.saturating_add(amount), ..c })
    });
    match updated {
        Ok(Updated::Written(c)) => {
            if over && entry.outcome == "admitted" {
                entry.outcome = "shadow_over";
            }
            entry.reserved = shown(limit.unit, amount);
            entry.used = shown(limit.unit, c.used);
            entry.in_flight = shown(limit.unit, c.reserved);
            entry.units.used = Some(c.used);
            held.push(Reservation { limit: index, key: k, amount, entry: entries.len(), id: None });
            entries.push(entry);
        }
        Ok(Updated::Declined(c)) => {
            let c = c.in_window(start);
            entry.outcome = "over";
            entry.used = shown(limit.unit, c.used);
            entry.in_flight = shown(limit.unit, c.reserved);
            entry.units.used = Some(c.used);
            entries.push(entry);
            let retry = end.saturating_sub(now).max(1);
            let mut r = Rejection::new(
                    429,
                    "rate_limit_exceeded",
                    Reason::LimitExceeded,
                    format!(
                        "limit '{}' is exhausted: {} used and {} in flight of {} per {}, this request may need {}; retry after {retry} s",
                        limit.name,
                        amount_text(limit.unit, c.used),
                        amount_text(limit.unit, c.reserved),
                        amount_text(limit.unit, max),
                        window_name(limit),
                        amount_text(limit.unit, amount),
                    ),
                );
            r.retry_after = Some(retry);
            return Err(r);
        }
        Err(e) => {
            audit.reason(e.reason());
            if limit.fail_open {
                entry.outcome = "store_error_open";
                entries.push(entry);
                return Ok(());
            }
            entry.outcome = "store_error_closed";
            entries.push(entry);
            return Err(store_failed(limit, e.reason()));
        }
    }
    Ok(())
}

/// The refusal of an enforced limit that cannot bound the request (its worst case is unknown);
/// one copy for both stores.
#[inline(never)]
pub(super) fn unbounded(limit: &Limit, why: super::estimate::Unknown) -> Rejection {
    unknown_rejection(why, &format!("limit '{}'", limit.name))
}

/// The refusal when the store failed for a limit that fails closed (503); one copy for both stores.
#[inline(never)]
pub(super) fn store_failed(limit: &Limit, reason: Reason) -> Rejection {
    Rejection::new(
        503,
        "internal_error",
        reason,
        format!("limit '{}' could not be checked; the request was not forwarded", limit.name),
    )
}

pub(super) fn window_name(limit: &Limit) -> &'static str {
    use crate::core::config::LimitWindow::{Day, Hour, Minute, Month};
    match limit.window {
        Minute => "minute",
        Hour => "hour",
        Day => "day",
        Month => "month",
    }
}

/// What one exchange actually used, from the audit record's response fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Actual {
    /// The request reached the upstream.
    pub(crate) reached_upstream: bool,
    /// Prompt plus completion tokens reported.
    pub(crate) tokens: Option<u64>,
    /// `usage.cost` reported, micro-USD.
    pub(crate) cost_micro: Option<u64>,
    /// The upstream answered an error in full without usage: OpenRouter bills nothing.
    pub(crate) error_answer: bool,
}

impl Actual {
    /// From the audit record (response fields filled) and whether the request reached an upstream.
    pub(crate) fn of(audit: &AuditRecord, reached_upstream: bool) -> Self {
        let r = &audit.response;
        let tokens = match (r.figure(|s| s.prompt_tokens), r.figure(|s| s.completion_tokens)) {
            (Some(p), Some(c)) => Some(p.saturating_add(c)),
            _ => r.figure(|s| s.total_tokens),
        };
        let cost = r.figure(|s| s.cost);
        let error_answer = r.upstream_status.is_some_and(|s| s >= 400)
            && r.summary.as_ref().is_some_and(|s| s.inspected)
            && tokens.is_none()
            && cost.is_none();
        Self { reached_upstream, tokens, cost_micro: cost.map(usd_to_micro_ceil), error_answer }
    }

    /// The amount to charge in `unit` for a reservation of `reserved`: what was reported; nothing
    /// when the request never reached the upstream or got a complete error answer; the whole
    /// reservation when the figure is unknown (client abort, upstream reset, stream cut).
    pub(super) fn charge(&self, unit: LimitUnit, reserved: u64) -> u64 {
        if !self.reached_upstream {
            return 0;
        }
        let reported = match unit {
            LimitUnit::Requests => return 1,
            LimitUnit::Tokens => self.tokens,
            LimitUnit::Cost => self.cost_micro,
        };
        match reported {
            Some(v) => v,
            None if self.error_answer => 0,
            None => reserved,
        }
    }
}

/// Releases every reservation and charges what the exchange used; runs once, when the stream
/// ends (`on_log`). A release the store refuses leaves that reservation held until the counter's
/// owner restarts Envoy; recorded as outcome `release_failed` and reason.
pub(crate) fn settle(
    limits: &[Limit],
    held: Vec<Reservation>,
    actual: &Actual,
    now: u64,
    store: &mut dyn CounterStore,
    audit: &mut AuditRecord,
) {
    for r in held {
        let Some(limit) = limits.get(r.limit) else { continue };
        let charge = actual.charge(limit.unit, r.amount);
        let result = release(limits, &r, charge, now, store);
        if let Err(e) = &result {
            audit.reason(e.reason());
        }
        if let Some(entry) = audit.spend.as_mut().and_then(|s| s.limits.get_mut(r.entry)) {
            match result {
                Ok(c) => {
                    entry.charged = shown(limit.unit, charge);
                    entry.used = shown(limit.unit, c.used);
                    entry.in_flight = shown(limit.unit, c.reserved);
                    entry.units.charged = charge;
                    entry.units.used = Some(c.used);
                }
                Err(_) => entry.outcome = "release_failed",
            }
        }
    }
}

/// Releases one reservation and charges `charge` to the current window.
fn release(
    limits: &[Limit],
    r: &Reservation,
    charge: u64,
    now: u64,
    store: &mut dyn CounterStore,
) -> Result<Counter, StoreError> {
    let Some(limit) = limits.get(r.limit) else { return Err(StoreError::BadData) };
    let (start, _) = window::bounds(limit.window, now);
    let out = ledger::update(store, &r.key, |c| {
        let c = c.in_window(start);
        Some(Counter { used: c.used.saturating_add(charge), reserved: c.reserved.saturating_sub(r.amount), ..c })
    })?;
    match out {
        Updated::Written(c) | Updated::Declined(c) => Ok(c),
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
