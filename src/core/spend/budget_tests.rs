//! Budgets against a mock store: no burst overspend, reservations released, shadow, failures.

use super::*;
use crate::core::audit::{AuditRecord, SpendAudit};
use crate::core::config::LimitConfig;
use crate::core::spend::estimate::Unknown;
use crate::core::spend::ledger::mock::MockStore;

const NOW: u64 = 1_796_280_090; // 2026-12-03T06:41:30Z

fn limit(json: &str) -> Limit {
    let cfg = crate::core::config::read_as(json, LimitConfig::read).unwrap();
    Limit::compile(&cfg, "spend.limits[0]", &["p".into(), "q".into()]).unwrap()
}

fn worst(prompt: u64, output: u64, cost: u64) -> Worst {
    Worst { prompt_tokens: Ok(prompt), output_tokens: Ok(output), cost_micro: Ok(cost) }
}

fn subject<'a>(user: Option<&'a str>, models: &'a [String]) -> Subject<'a> {
    Subject { profile: "p", user, team: None, models }
}

fn audit() -> AuditRecord {
    let mut a = AuditRecord::new();
    a.spend = Some(SpendAudit::default());
    a
}

fn models() -> Vec<String> {
    vec!["anthropic/claude-3.5-sonnet".to_string()]
}

#[test]
fn a_burst_of_100_against_a_budget_that_fits_10_admits_exactly_10() {
    // Cost budget $1.00 per day; each request's worst case is $0.10.
    let limits = [limit(r#"{"name": "daily", "window": "day", "unit": "cost", "max": 1.0}"#)];
    let mut store = MockStore::default();
    let m = models();
    let mut admitted = Vec::new();
    let mut refused = 0;
    for _ in 0..100 {
        let mut a = audit();
        match admit(&limits, &subject(None, &m), &worst(10, 10, 100_000), NOW, &mut store, &mut a) {
            Ok(held) => admitted.push(held),
            Err(r) => {
                assert_eq!(
                    (r.status, r.reason, r.retry_after),
                    (429, crate::core::reason::Reason::LimitExceeded, Some(62_310))
                );
                assert_eq!(a.spend.unwrap().limits[0].outcome, "over");
                refused += 1;
            }
        }
    }
    assert_eq!((admitted.len(), refused), (10, 90));
    assert_eq!(store.value(&store.keys()[0]), Some(format!("og1 {} 0 1000000", NOW - NOW % 86_400)));
    // Each ends costing $0.042 (OpenRouter's figure): the reservations are released, the actual charged.
    for held in admitted {
        let mut a = audit();
        a.response.summary = Some(crate::core::response::ResponseSummary {
            cost: Some(0.042),
            prompt_tokens: Some(1),
            completion_tokens: Some(1),
            ..Default::default()
        });
        let actual = Actual::of(&a, true);
        settle(&limits, held, &actual, NOW + 5, &mut store, &mut a);
    }
    assert_eq!(store.value(&store.keys()[0]), Some(format!("og1 {} 420000 0", NOW - NOW % 86_400)));
    // $0.58 left: five more $0.10 worst cases fit, the sixth does not.
    let fits = (0..6)
        .filter(|_| admit(&limits, &subject(None, &m), &worst(1, 1, 100_000), NOW, &mut store, &mut audit()).is_ok())
        .count();
    assert_eq!(fits, 5);
}

#[test]
fn racing_workers_never_overspend_the_budget() {
    // Another worker reserves 1 request between each of our reads and writes; the budget is 10.
    let limits = [limit(r#"{"name": "rpm", "window": "minute", "unit": "requests", "max": 10}"#)];
    let mut store = MockStore::default();
    let m = models();
    assert!(admit(&limits, &subject(None, &m), &worst(0, 0, 0), NOW, &mut store, &mut audit()).is_ok());
    store.interfere(1000, |v| {
        let c = Counter::parse(v.as_bytes()).unwrap();
        if c.used + c.reserved < 10 {
            Counter { reserved: c.reserved + 1, ..c }.to_string()
        } else {
            v.to_string()
        }
    });
    let ours = (0..20)
        .filter(|_| admit(&limits, &subject(None, &m), &worst(0, 0, 0), NOW, &mut store, &mut audit()).is_ok())
        .count();
    let c = Counter::parse(store.value(&store.keys()[0]).unwrap().as_bytes()).unwrap();
    assert_eq!(c.reserved, 10, "{c:?}");
    assert!(ours < 10 && store.cas_mismatches() > 0, "{ours}");
}

#[test]
fn keys_are_per_user_and_the_window_restarts_the_count() {
    let limits = [limit(r#"{"name": "u", "per": ["user"], "window": "minute", "unit": "requests", "max": 1}"#)];
    let mut store = MockStore::default();
    let m = models();
    let held = admit(&limits, &subject(Some("alice"), &m), &worst(0, 0, 0), NOW, &mut store, &mut audit()).unwrap();
    assert!(admit(&limits, &subject(Some("alice"), &m), &worst(0, 0, 0), NOW, &mut store, &mut audit()).is_err());
    assert!(admit(&limits, &subject(Some("bob"), &m), &worst(0, 0, 0), NOW, &mut store, &mut audit()).is_ok());
    settle(
        &limits,
        held,
        &Actual { reached_upstream: true, tokens: None, cost_micro: None, error_answer: false },
        NOW,
        &mut store,
        &mut audit(),
    );
    assert!(admit(&limits, &subject(Some("alice"), &m), &worst(0, 0, 0), NOW, &mut store, &mut audit()).is_err());
    // The next minute.
    assert!(admit(&limits, &subject(Some("alice"), &m), &worst(0, 0, 0), NOW + 60, &mut store, &mut audit()).is_ok());
    assert!(store.keys().iter().any(|k| k.ends_with("/5:alice")), "{:?}", store.keys());
}

#[test]
fn what_is_charged_depends_on_what_the_exchange_reported() {
    let limits = [limit(r#"{"name": "t", "window": "hour", "unit": "tokens", "max": 1000000}"#)];
    let m = models();
    let charged = |actual: Actual| {
        let mut store = MockStore::default();
        let mut a = audit();
        let held = admit(&limits, &subject(None, &m), &worst(100, 400, 0), NOW, &mut store, &mut a).unwrap();
        settle(&limits, held, &actual, NOW, &mut store, &mut a);
        let c = Counter::parse(store.value(&store.keys()[0]).unwrap().as_bytes()).unwrap();
        assert_eq!(c.reserved, 0, "a reservation leaked");
        c.used
    };
    let base = Actual { reached_upstream: true, tokens: None, cost_micro: None, error_answer: false };
    assert_eq!(charged(Actual { tokens: Some(37), ..base }), 37);
    // Client abort or upstream reset before usage: the worst case.
    assert_eq!(charged(base), 500);
    // A complete error answer: nothing; never forwarded: nothing.
    assert_eq!(charged(Actual { error_answer: true, ..base }), 0);
    assert_eq!(charged(Actual { reached_upstream: false, ..base }), 0);
}

#[test]
fn shadow_limits_count_and_audit_but_never_refuse() {
    let limits = [limit(r#"{"name": "s", "window": "day", "unit": "requests", "max": 2, "mode": "shadow"}"#)];
    let mut store = MockStore::default();
    let m = models();
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let mut a = audit();
        admit(&limits, &subject(None, &m), &worst(0, 0, 0), NOW, &mut store, &mut a).unwrap();
        outcomes.push(a.spend.unwrap().limits[0].outcome);
    }
    assert_eq!(outcomes, ["admitted", "admitted", "shadow_over", "shadow_over"]);
    // An unknown worst case is not refused in shadow mode either.
    let unknown =
        Worst { prompt_tokens: Ok(1), output_tokens: Err(Unknown::NoOutputCap), cost_micro: Err(Unknown::NoOutputCap) };
    let limits = [limit(r#"{"name": "s", "window": "day", "unit": "tokens", "max": 2, "mode": "shadow"}"#)];
    let mut a = audit();
    assert!(admit(&limits, &subject(None, &m), &unknown, NOW, &mut store, &mut a).is_ok());
    assert_eq!(a.spend.unwrap().limits[0].outcome, "shadow_unbounded");
    let limits = [limit(r#"{"name": "e", "window": "day", "unit": "tokens", "max": 2}"#)];
    let r = admit(&limits, &subject(None, &m), &unknown, NOW, &mut store, &mut audit()).unwrap_err();
    assert_eq!(r.reason, "max_tokens_required");
}

#[test]
fn a_failing_store_fails_closed_by_default_or_open_when_configured_and_releases_what_was_held() {
    let m = models();
    let closed = [
        limit(r#"{"name": "a", "window": "day", "unit": "requests", "max": 5}"#),
        limit(r#"{"name": "b", "window": "day", "unit": "requests", "max": 5}"#),
    ];
    let mut store = MockStore::default();
    store.put("openrouter_guard/limit/b", "not a counter");
    let mut a = audit();
    let r = admit(&closed, &subject(None, &m), &worst(0, 0, 0), NOW, &mut store, &mut a).unwrap_err();
    assert_eq!((r.status, r.reason), (503, crate::core::reason::Reason::LimitStoreBadData));
    assert_eq!(a.reasons, ["limit_store_bad_data"]);
    // Limit a's reservation was rolled back.
    assert_eq!(store.value("openrouter_guard/limit/a").unwrap(), format!("og1 {} 0 0", NOW - NOW % 86_400));
    let open = [limit(r#"{"name": "b", "window": "day", "unit": "requests", "max": 5, "on_store_error": "open"}"#)];
    let mut a = audit();
    let held = admit(&open, &subject(None, &m), &worst(0, 0, 0), NOW, &mut store, &mut a).unwrap();
    assert!(held.is_empty());
    assert_eq!(a.spend.unwrap().limits[0].outcome, "store_error_open");
    let mut store = MockStore::default();
    store.fail_all(10);
    let r = admit(&closed, &subject(None, &m), &worst(0, 0, 0), NOW, &mut store, &mut audit()).unwrap_err();
    assert_eq!(r.reason, "limit_store_failed");
    // A shadow limit never refuses, not even when the store fails and on_store_error says closed.
    let shadow = [limit(
        r#"{"name": "s", "window": "day", "unit": "requests", "max": 5, "mode": "shadow", "on_store_error": "closed"}"#,
    )];
    let mut store = MockStore::default();
    store.fail_all(10);
    let mut a = audit();
    assert!(admit(&shadow, &subject(None, &m), &worst(0, 0, 0), NOW, &mut store, &mut a).is_ok());
    assert_eq!(a.spend.unwrap().limits[0].outcome, "store_error_open");
}

#[test]
fn limits_apply_by_profile_and_model_glob() {
    let l = limit(
        r#"{"name": "x", "window": "day", "unit": "requests", "max": 5, "profiles": ["Q"], "models": "openai/*"}"#,
    );
    let m = vec!["anthropic/a".to_string(), "openai/gpt-4o".to_string()];
    assert!(l.applies("q", &m));
    assert!(!l.applies("p", &m));
    assert!(!l.applies("q", &models()));
}

#[test]
fn a_per_model_limit_reserves_in_every_reachable_matching_model_so_a_fallback_list_cannot_evade_it() {
    let limits = [limit(
        r#"{"name": "opus", "per": ["model"], "window": "day", "unit": "requests", "max": 1,
            "models": "anthropic/claude-3-opus*"}"#,
    )];
    let ids = |v: &[&str]| v.iter().map(|m| (*m).to_string()).collect::<Vec<_>>();
    let mut store = MockStore::default();
    let opus = ids(&["anthropic/claude-3-opus"]);
    assert!(admit(&limits, &subject(None, &opus), &worst(0, 0, 0), NOW, &mut store, &mut audit()).is_ok());
    // Opus is exhausted: neither a fallback list nor a variant of Opus reaches it again.
    for reach in [
        ids(&["anthropic/claude-3-haiku", "anthropic/claude-3-opus"]),
        ids(&["anthropic/claude-3.5-sonnet", "anthropic/claude-3-opus:nitro"]),
        ids(&["anthropic/claude-3-opus:floor"]),
    ] {
        let mut a = audit();
        let r = admit(&limits, &subject(None, &reach), &worst(0, 0, 0), NOW, &mut store, &mut a).unwrap_err();
        assert_eq!(r.status, 429, "{reach:?}");
    }
    // One counter, Opus's: the models the limit does not match have none.
    assert_eq!(store.keys(), vec!["openrouter_guard/limit/opus/23:anthropic/claude-3-opus".to_string()]);
    // Without a `models` glob, a fallback list reserves in each model's counter: two entries.
    let all = [limit(r#"{"name": "each", "per": ["model"], "window": "day", "unit": "requests", "max": 1}"#)];
    let mut store = MockStore::default();
    let mut a = audit();
    let two = ids(&["openai/gpt-4o", "openai/gpt-4o-mini:nitro"]);
    assert_eq!(admit(&all, &subject(None, &two), &worst(0, 0, 0), NOW, &mut store, &mut a).unwrap().len(), 2);
    assert_eq!(a.spend.unwrap().limits.len(), 2);
    let mini = ids(&["openai/gpt-4o-mini"]);
    assert!(admit(&all, &subject(None, &mini), &worst(0, 0, 0), NOW, &mut store, &mut audit()).is_err());
}

#[test]
fn limit_configs_are_checked_with_their_paths() {
    let bad = |json: &str| {
        let cfg = crate::core::config::read_as(json, LimitConfig::read).unwrap();
        Limit::compile(&cfg, "spend.limits[0]", &["p".into()]).unwrap_err().path
    };
    assert_eq!(bad(r#"{"name": "a b", "window": "day", "unit": "cost", "max": 1}"#), "spend.limits[0].name");
    assert_eq!(bad(r#"{"name": "a", "window": "day", "unit": "requests", "max": 1.5}"#), "spend.limits[0].max");
    assert_eq!(bad(r#"{"name": "a", "window": "day", "unit": "cost", "max": 0}"#), "spend.limits[0].max");
    assert_eq!(
        bad(r#"{"name": "a", "window": "day", "unit": "cost", "max": 1, "profiles": ["z"]}"#),
        "spend.limits[0].profiles[0]"
    );
    assert_eq!(
        bad(r#"{"name": "a", "per": ["user", "user"], "window": "day", "unit": "cost", "max": 1}"#),
        "spend.limits[0].per[1]"
    );
}

#[test]
fn a_router_alias_or_preset_matches_every_models_glob() {
    // Kept per user: the router, alias or preset is counted (it may serve Opus).
    let per_user = [limit(
        r#"{"name": "opus", "per": ["user"], "window": "day", "unit": "requests", "max": 1, "models": "anthropic/claude-opus*"}"#,
    )];
    let mut store = MockStore::default();
    let opus = vec!["anthropic/claude-opus-4".to_string()];
    assert!(admit(&per_user, &subject(Some("u"), &opus), &worst(1, 1, 1), NOW, &mut store, &mut audit()).is_ok());
    for via in ["~anthropic/claude-opus-latest", "openrouter/auto", "@preset/bot"] {
        let m = vec![via.to_string()];
        let mut a = audit();
        let r = admit(&per_user, &subject(Some("u"), &m), &worst(1, 1, 1), NOW, &mut store, &mut a).unwrap_err();
        assert_eq!((r.status, a.spend.unwrap().limits[0].outcome), (429, "over"), "{via}");
    }
    // An ordinary model outside the glob is not counted.
    let sonnet = models();
    let mut a = audit();
    assert_eq!(admit(&per_user, &subject(Some("u"), &sonnet), &worst(1, 1, 1), NOW, &mut store, &mut a), Ok(vec![]));

    // Kept per model: the counter it would use is unknown before the answer: refused, nothing reserved.
    let per_model = [limit(
        r#"{"name": "opus-m", "per": ["user", "model"], "window": "day", "unit": "requests", "max": 5, "models": "anthropic/claude-opus*"}"#,
    )];
    let mut store = MockStore::default();
    let m = vec!["anthropic/claude-3-haiku".to_string(), "openrouter/auto".to_string()];
    let mut a = audit();
    let r = admit(&per_model, &subject(Some("u"), &m), &worst(1, 1, 1), NOW, &mut store, &mut a).unwrap_err();
    assert_eq!((r.status, r.reason), (403, crate::core::reason::Reason::CostUnbounded));
    assert!(r.message.contains("limit 'opus-m'") && r.message.contains("router, alias or preset"), "{}", r.message);
    assert_eq!(a.spend.unwrap().limits[0].outcome, "unbounded");
    assert!(store.keys().is_empty());
    // In shadow mode it is counted (under its own id) and never refused.
    let shadow = [limit(
        r#"{"name": "opus-s", "per": ["model"], "window": "day", "unit": "requests", "max": 5, "models": "anthropic/claude-opus*", "mode": "shadow"}"#,
    )];
    assert_eq!(
        admit(&shadow, &subject(None, &m), &worst(1, 1, 1), NOW, &mut store, &mut audit()).map(|h| h.len()),
        Ok(1)
    );
}
