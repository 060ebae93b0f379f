//! The exchange's budgets and rate limits ([`crate::core::spend`]): a decided request is admitted
//! (its worst case reserved) or refused, and the ended exchange is settled.

use crate::core::audit::AuditRecord;
use crate::core::policy::Policy;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::request::Plan;
use crate::core::spend;

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
    let s = &policy.spend;
    if s.limits.is_empty() || audit.models.is_empty() {
        return Ok(Vec::new());
    }
    let profile = policy.profiles.get(plan.profile).ok_or_else(|| Rejection::internal(Reason::ProfileIndex))?;
    let Some(worst) = audit.spend.as_ref().and_then(|a| a.worst) else {
        return Err(Rejection::internal(Reason::SpendEstimateMissing));
    };
    let models = audit.models.clone();
    let subject = spend::budget::Subject {
        profile: &profile.name,
        user: plan.trusted_user.as_deref(),
        team: plan.team.as_deref(),
        models: &models,
    };
    let out = spend::budget::admit(&s.limits, &subject, &worst, now_s, store, audit);
    if out.as_ref().is_ok_and(Vec::is_empty) && audit.spend.as_ref().is_some_and(|a| a.limits.is_empty()) {
        // No limit applied and no cost guard: nothing to record.
        if profile.max_cost_per_request.is_none() {
            audit.spend = None;
        }
    }
    out
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
