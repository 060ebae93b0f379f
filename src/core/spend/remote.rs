//! The mesh-wide store (docs/spend.md, "Mesh-wide store"): budgets kept by the rate-limit
//! service (`rls/`: Envoy's RLS v3 API, `limitador` on Redis), reached by the filter's own gRPC
//! call before the upstream is contacted. The admission is the same as the embedded store's
//! (`budget.rs`): every limit that applies reserves the request's worst case, atomically in Redis
//! (`used + live reservations + worst <= max`), and the exchange's end commits the actual amount
//! and releases the hold. The difference: the answer comes back in another callback, so this
//! module plans the call ([`begin`]), reads its answer ([`finish`]), and builds the commit
//! ([`settle`]); the stream state machine waits in between.

use crate::core::audit::AuditRecord;
use crate::core::config::LimitWindow;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;

use super::budget::{self, Actual, Reservation, Subject};
use super::estimate::Worst;
use super::limit::Limit;
use super::rls_wire::{self, Code, Descriptor};

/// `spend.store` of kind `rls`, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteStore {
    /// The Envoy cluster of the rate-limit service (HTTP/2).
    pub(crate) cluster: String,
    /// The RLS domain: one set of counters per domain (limitador namespaces start with it).
    pub(crate) domain: String,
    /// Timeout of one call, ms.
    pub(crate) timeout_ms: u32,
    /// Longest life of a reservation never committed (client gone mid-call, VM lost), s.
    pub(crate) reservation_ttl_s: u64,
    /// The calls' `:authority` (`None`: Envoy sends the cluster name).
    pub(crate) authority: Option<String>,
}

/// One call to the rate-limit service: upstream (`GrpcService` bytes), message, timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCall {
    /// `envoy.config.core.v3.GrpcService` naming the cluster.
    pub upstream: Vec<u8>,
    /// A serialized `RateLimitRequest`.
    pub message: Vec<u8>,
    /// Timeout, ms.
    pub(crate) timeout_ms: u32,
}

impl StoreCall {
    /// The gRPC service name.
    pub const SERVICE: &'static str = rls_wire::SERVICE;
    /// The gRPC method.
    pub const METHOD: &'static str = rls_wire::METHOD;
}

/// What the service answered, as the adapter got it: the response message, or the gRPC status
/// of a failed call (timeout, unavailable, ...), or `None` when the call could not be made.
pub type StoreAnswer = Result<Vec<u8>, Option<u32>>;

/// A reservation call in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingAdmission {
    planned: Vec<Planned>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    limit: usize,
    key: String,
    amount: u64,
    /// Index of the limit's entry in the audit record's `spend.limits`.
    entry: usize,
}

/// A window in seconds. limitador's windows start at a counter's first use (not at UTC
/// boundaries); a month is 30 days.
pub(crate) fn window_seconds(w: LimitWindow) -> u64 {
    match w {
        LimitWindow::Minute => 60,
        LimitWindow::Hour => 3600,
        LimitWindow::Day => 86_400,
        LimitWindow::Month => 30 * 86_400,
    }
}

#[inline(never)]
fn descriptor(limit: &Limit, key: &str, op: &'static str, amount: u64) -> Descriptor {
    Descriptor {
        entries: vec![
            ("op", op.to_string()),
            ("limit", limit.name.clone()),
            ("key", key.to_string()),
            ("max", limit.max.to_string()),
            ("window", window_seconds(limit.window).to_string()),
        ],
        hits_addend: amount,
    }
}

#[inline(never)]
fn call(store: &RemoteStore, descriptors: &[Descriptor]) -> StoreCall {
    StoreCall {
        upstream: rls_wire::grpc_service(&store.cluster, store.authority.as_deref()),
        message: rls_wire::request(&store.domain, descriptors),
        timeout_ms: store.timeout_ms,
    }
}

/// Plans the reservation of a request every other check allowed: the call to make, or `None`
/// when no limit applies; a refusal when an enforced limit cannot bound the request. Fills
/// `audit.spend.limits` (outcomes are settled by [`finish`]).
pub(crate) fn begin(
    store: &RemoteStore,
    limits: &[Limit],
    subject: &Subject<'_>,
    worst: &Worst,
    audit: &mut AuditRecord,
) -> Result<Option<(PendingAdmission, StoreCall)>, Rejection> {
    let mut planned = Vec::new();
    let mut entries = Vec::new();
    let mut descriptors = Vec::new();
    let mut refusal = None;
    for (index, limit) in limits.iter().enumerate() {
        if !limit.applies(subject.profile, subject.models) {
            continue;
        }
        let mut entry = budget::new_entry(limit);
        if let Some(r) = budget::unresolved_model(limit, subject) {
            entry.outcome = "unbounded";
            entries.push(entry);
            refusal = Some(r);
            break;
        }
        let amount = match budget::worst_amount(limit.unit, worst) {
            Ok(a) => a,
            Err(why) if !limit.shadow => {
                entry.outcome = "unbounded";
                entries.push(entry);
                refusal = Some(budget::unbounded(limit, why));
                break;
            }
            Err(_) => {
                entry.outcome = "shadow_unbounded";
                0
            }
        };
        // One counter, or one per reachable model for `per: ["model"]` (budget::keys).
        for key in budget::keys(limit, subject) {
            let mut d = descriptor(limit, &key, "reserve", amount);
            d.entries.push(("ttl", store.reservation_ttl_s.to_string()));
            descriptors.push(d);
            planned.push(Planned { limit: index, key, amount, entry: entries.len() });
            entries.push(entry.clone());
        }
    }
    if let Some(s) = audit.spend.as_mut() {
        s.limits = entries;
    }
    if let Some(r) = refusal {
        return Err(r);
    }
    if planned.is_empty() {
        return Ok(None);
    }
    Ok(Some((PendingAdmission { planned }, call(store, &descriptors))))
}

/// Reads the service's answer: the reservations held, or a refusal (429 over an enforced limit,
/// 503 when the store failed for a limit that fails closed); plus the call releasing what a
/// refused request had reserved.
pub(crate) fn finish(
    store: &RemoteStore,
    limits: &[Limit],
    pending: PendingAdmission,
    answer: StoreAnswer,
    audit: &mut AuditRecord,
) -> (Result<Vec<Reservation>, Rejection>, Option<StoreCall>) {
    let decoded = match &answer {
        Ok(bytes) => rls_wire::response(bytes)
            .ok()
            .filter(|r| r.statuses.len() == pending.planned.len())
            .ok_or(Reason::LimitStoreBadData),
        Err(_) => Err(Reason::LimitStoreUnavailable),
    };
    let mut held: Vec<Reservation> = Vec::new();
    let mut refusal: Option<Rejection> = None;
    for (i, p) in pending.planned.into_iter().enumerate() {
        let Some(limit) = limits.get(p.limit) else { continue };
        let status = match &decoded {
            Ok(r) => r.statuses.get(i).map(|s| (s.code, s.reset_s)).unwrap_or((Code::Unknown, None)),
            Err(_) => (Code::Unknown, None),
        };
        let outcome: &'static str = match status.0 {
            Code::Ok => {
                let tag = format!("og-reservation-{i}");
                let id = decoded
                    .as_ref()
                    .ok()
                    .and_then(|r| r.headers.iter().find(|(k, _)| *k == tag))
                    .map(|(_, v)| v.clone());
                held.push(Reservation { limit: p.limit, key: p.key, amount: p.amount, entry: p.entry, id });
                "admitted"
            }
            Code::OverLimit if limit.shadow => {
                held.push(Reservation { limit: p.limit, key: p.key, amount: p.amount, entry: p.entry, id: None });
                "shadow_over"
            }
            Code::OverLimit => {
                if refusal.is_none() {
                    refusal = Some(over(limit, p.amount, status.1));
                }
                "over"
            }
            Code::Unknown => {
                let reason = decoded.as_ref().err().copied().unwrap_or(Reason::LimitStoreBadData);
                audit.reason(reason);
                if limit.fail_open {
                    "store_error_open"
                } else {
                    if refusal.is_none() {
                        refusal = Some(budget::store_failed(limit, reason));
                    }
                    "store_error_closed"
                }
            }
        };
        if let Some(e) = audit.spend.as_mut().and_then(|s| s.limits.get_mut(p.entry)) {
            if e.outcome == "admitted" || outcome != "admitted" {
                e.outcome = outcome;
            }
            if matches!(outcome, "admitted" | "shadow_over") {
                e.reserved = budget::shown(limit.unit, p.amount);
            }
        }
    }
    match refusal {
        None => (Ok(held), None),
        Some(r) => {
            // Nothing of a refused request stays reserved.
            let release: Vec<Descriptor> =
                held.iter().filter(|h| h.id.is_some()).filter_map(|h| commit(limits, h, 0)).collect();
            let release = (!release.is_empty()).then(|| call(store, &release));
            (Err(r), release)
        }
    }
}

fn commit(limits: &[Limit], r: &Reservation, amount: u64) -> Option<Descriptor> {
    let limit = limits.get(r.limit)?;
    let mut d = descriptor(limit, &r.key, "commit", amount);
    if let Some(id) = &r.id {
        d.entries.push(("id", id.clone()));
    }
    Some(d)
}

#[inline(never)]
fn over(limit: &Limit, amount: u64, reset_s: Option<u64>) -> Rejection {
    let retry = reset_s.unwrap_or(window_seconds(limit.window)).max(1);
    let mut r = Rejection::new(
        429,
        "rate_limit_exceeded",
        Reason::LimitExceeded,
        format!(
            "limit '{}' is exhausted: this request may need {} and the rest of the {} {} per {} is used or reserved; retry after {retry} s",
            limit.name,
            budget::amount_text(limit.unit, amount),
            match limit.unit {
                crate::core::config::LimitUnit::Cost => "budget of",
                _ => "limit of",
            },
            budget::amount_text(limit.unit, limit.max),
            budget::window_name(limit),
        ),
    );
    r.retry_after = Some(retry);
    r
}

/// The commit of an exchange that ended: each reservation charged what the exchange used (the
/// same rules as the embedded store: `budget::Actual`) and released. `None` when nothing is held.
pub(crate) fn settle(
    store: &RemoteStore,
    limits: &[Limit],
    held: Vec<Reservation>,
    actual: &Actual,
    audit: &mut AuditRecord,
) -> Option<StoreCall> {
    let mut descriptors = Vec::new();
    for r in held {
        let Some(limit) = limits.get(r.limit) else { continue };
        let charge = actual.charge(limit.unit, r.amount);
        if let Some(d) = commit(limits, &r, charge) {
            descriptors.push(d);
        }
        if let Some(entry) = audit.spend.as_mut().and_then(|s| s.limits.get_mut(r.entry)) {
            entry.charged = budget::shown(limit.unit, charge);
            entry.units.charged = charge;
        }
    }
    (!descriptors.is_empty()).then(|| call(store, &descriptors))
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
