//! The exchange's budgets and rate limits ([`crate::core::spend`]): a decided request is admitted
//! (its worst case reserved) or refused, and the ended exchange is settled.

use crate::core::audit::AuditRecord;
use crate::core::policy::{Policy, Profile};
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::request::Plan;
use crate::core::spend;
use crate::core::spend::estimate::Worst;

/// Admits a decided request against the budgets and rate limits that apply to it (reserving its
/// worst case) or refuses it; called after the request path allowed it, before it is forwarded.
/// Requests that reach no model (no body, no `model`) are not counted.
pub(crate) fn admit(
    policy: &Policy,
    plan: &Plan,
    now_s: u64,
    store: &mut dyn spend::CounterStore,
    audit: &mut AuditRecord,
) -> Result<Vec<spend::Reservation>, Rejection> {
    let Some(GateInput { profile, worst, models }) = gate_input(policy, plan, audit)? else { return Ok(Vec::new()) };
    let subject = subject(profile, plan, &models);
    let out = spend::budget::admit(&policy.spend.limits, &subject, &worst, now_s, store, audit);
    forget_if_unlimited(profile, out.as_ref().is_ok_and(Vec::is_empty), audit);
    out
}

/// What both stores' admission needs (see [`gate_input`]).
struct GateInput<'p> {
    profile: &'p Profile,
    worst: Worst,
    models: Vec<String>,
}

/// What both stores' admission needs: the profile, the request's worst case and the models it
/// can reach; `None` when no limit is configured or the request reaches no model.
fn gate_input<'p>(policy: &'p Policy, plan: &Plan, audit: &AuditRecord) -> Result<Option<GateInput<'p>>, Rejection> {
    if policy.spend.limits.is_empty() || audit.models.is_empty() {
        return Ok(None);
    }
    let profile = policy.profiles.get(plan.profile).ok_or_else(|| Rejection::internal(Reason::ProfileIndex))?;
    let Some(worst) = audit.spend.as_ref().and_then(|a| a.worst) else {
        return Err(Rejection::internal(Reason::SpendEstimateMissing));
    };
    Ok(Some(GateInput { profile, worst, models: audit.models.clone() }))
}

fn subject<'a>(profile: &'a Profile, plan: &'a Plan, models: &'a [String]) -> spend::budget::Subject<'a> {
    spend::budget::Subject {
        profile: &profile.name,
        user: plan.trusted_user.as_deref(),
        team: plan.team.as_deref(),
        models,
    }
}

/// No limit applied and no cost guard: nothing to record.
fn forget_if_unlimited(profile: &Profile, nothing_held: bool, audit: &mut AuditRecord) {
    if nothing_held
        && audit.spend.as_ref().is_some_and(|a| a.limits.is_empty())
        && profile.max_cost_per_request.is_none()
    {
        audit.spend = None;
    }
}

/// Releases the reservations of an exchange that ended and charges what it used (the audit
/// record's response fields); `reached_upstream` tells whether the request was forwarded.
pub(crate) fn settle(
    policy: &Policy,
    held: Vec<spend::Reservation>,
    reached_upstream: bool,
    now_s: u64,
    store: &mut dyn spend::CounterStore,
    audit: &mut AuditRecord,
) {
    if held.is_empty() {
        return;
    }
    let actual = spend::budget::Actual::of(audit, reached_upstream);
    spend::budget::settle(&policy.spend.limits, held, &actual, now_s, store, audit);
}

/// [`admit`] with the counters in the rate-limit service (`spend.store` kind `rls`): the call
/// that reserves the request's worst case in every limit that applies, or `None` when none
/// applies (the request goes on at once), or a refusal. The stream waits for the answer and
/// hands it to [`admitted_remote`].
pub(crate) fn admit_remote(
    policy: &Policy,
    plan: &Plan,
    audit: &mut AuditRecord,
) -> Result<Option<(spend::PendingAdmission, spend::StoreCall)>, Rejection> {
    let Some(store) = policy.spend.remote() else { return Ok(None) };
    let Some(GateInput { profile, worst, models }) = gate_input(policy, plan, audit)? else { return Ok(None) };
    let subject = subject(profile, plan, &models);
    let out = spend::remote::begin(store, &policy.spend.limits, &subject, &worst, audit);
    forget_if_unlimited(profile, out.as_ref().is_ok_and(Option::is_none), audit);
    out
}

/// The rate-limit service's answer to [`admit_remote`]'s call: the reservations held, or the
/// refusal; plus a call releasing what a refused request had reserved (made by the root context).
pub(crate) fn admitted_remote(
    policy: &Policy,
    pending: spend::PendingAdmission,
    answer: spend::StoreAnswer,
    audit: &mut AuditRecord,
) -> (Result<Vec<spend::Reservation>, Rejection>, Option<spend::StoreCall>) {
    let s = &policy.spend;
    match s.remote() {
        Some(store) => spend::remote::finish(store, &s.limits, pending, answer, audit),
        None => (Err(Rejection::internal(Reason::LimitStoreFailed)), None),
    }
}

/// [`settle`] with the counters in the rate-limit service: the commit call (charge what the
/// exchange used, release the hold), made by the root context after the stream is gone.
pub(crate) fn settle_remote(
    policy: &Policy,
    held: Vec<spend::Reservation>,
    reached_upstream: bool,
    audit: &mut AuditRecord,
) -> Option<spend::StoreCall> {
    let store = policy.spend.remote()?;
    if held.is_empty() {
        return None;
    }
    let actual = spend::budget::Actual::of(audit, reached_upstream);
    spend::remote::settle(store, &policy.spend.limits, held, &actual, audit)
}
