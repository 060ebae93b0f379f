//! The mesh-wide store's side in the filter: the reserve call, its answers (admitted, over, shadow,
//! store failure per failure mode), and the commit.

use super::*;
use crate::core::audit::{AuditRecord, SpendAudit};
use crate::core::config::LimitConfig;

fn limit(json: &str) -> Limit {
    let cfg = crate::core::config::read_as(json, LimitConfig::read).unwrap();
    Limit::compile(&cfg, "spend.limits[0]", &["p".into()]).unwrap()
}

fn store() -> RemoteStore {
    RemoteStore { cluster: "rls".into(), domain: "og".into(), timeout_ms: 200, reservation_ttl_s: 900, authority: None }
}

fn audit() -> AuditRecord {
    let mut a = AuditRecord::new();
    a.spend = Some(SpendAudit::default());
    a
}

fn worst() -> Worst {
    Worst { prompt_tokens: Ok(10), output_tokens: Ok(20), cost_micro: Ok(100_000) }
}

/// A `RateLimitResponse` with these codes and reservation ids (`None`: no header).
fn answer(statuses: &[(u8, Option<&str>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (code, id)) in statuses.iter().enumerate() {
        out.extend([0x12, 2, 0x08, *code]);
        if let Some(id) = id {
            let key = format!("og-reservation-{i}");
            let mut h = vec![0x0a, key.len() as u8];
            h.extend(key.as_bytes());
            h.extend([0x12, id.len() as u8]);
            h.extend(id.as_bytes());
            out.push(0x1a);
            out.push(h.len() as u8);
            out.extend(h);
        }
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn limits() -> Vec<Limit> {
    vec![
        limit(r#"{"name": "usd", "per": ["user"], "window": "day", "unit": "cost", "max": 1}"#),
        limit(r#"{"name": "rpm", "window": "minute", "unit": "requests", "max": 5, "mode": "shadow"}"#),
        limit(r#"{"name": "tok", "window": "hour", "unit": "tokens", "max": 1000, "on_store_error": "open"}"#),
    ]
}

fn begin_all(a: &mut AuditRecord) -> (PendingAdmission, StoreCall) {
    let m = vec!["anthropic/claude".to_string()];
    let s = Subject { profile: "p", user: Some("ann"), team: None, models: &m };
    begin(&store(), &limits(), &s, &worst(), a).unwrap().unwrap()
}

#[test]
fn the_reserve_call_carries_every_limit_its_worst_case_and_parameters() {
    let mut a = audit();
    let (_, call) = begin_all(&mut a);
    assert_eq!(call.upstream, rls_wire::grpc_service("rls", None));
    assert_eq!(call.timeout_ms, 200);
    let m = text(&call.message);
    for part in ["og", "reserve", "usd", "3:ann", "1000000", "86400", "rpm", "60", "tok", "3600", "900"] {
        assert!(m.contains(part), "{part} in {m:?}");
    }
    assert_eq!(a.spend.unwrap().limits.len(), 3);
}

#[test]
fn the_calls_carry_the_configured_authority() {
    // Istio's cluster names (`outbound|8081||host`) are not valid authorities: a gRPC server built
    // on the h2 crate resets such a stream, so the mesh's policy names one.
    let store = RemoteStore { authority: Some("rls.ns.svc:8081".into()), ..store() };
    let m = vec!["anthropic/claude".to_string()];
    let s = Subject { profile: "p", user: Some("ann"), team: None, models: &m };
    let (_, call) = begin(&store, &limits(), &s, &worst(), &mut audit()).unwrap().unwrap();
    assert_eq!(call.upstream, rls_wire::grpc_service("rls", Some("rls.ns.svc:8081")));
}

#[test]
fn admitted_reservations_are_held_and_committed_with_the_actual_amount() {
    let mut a = audit();
    let (pending, _) = begin_all(&mut a);
    let (held, release) =
        finish(&store(), &limits(), pending, Ok(answer(&[(1, Some("r0")), (1, Some("r1")), (1, None)])), &mut a);
    let held = held.unwrap();
    assert!(release.is_none());
    assert_eq!(held.iter().map(|h| h.id.as_deref()).collect::<Vec<_>>(), [Some("r0"), Some("r1"), None]);
    let outcomes: Vec<_> = a.spend.as_ref().unwrap().limits.iter().map(|l| l.outcome).collect();
    assert_eq!(outcomes, ["admitted"; 3]);
    a.response.summary = Some(crate::core::response::ResponseSummary {
        cost: Some(0.042),
        prompt_tokens: Some(7),
        completion_tokens: Some(5),
        ..Default::default()
    });
    let actual = Actual::of(&a, true);
    let commit = settle(&store(), &limits(), held, &actual, &mut a).unwrap();
    let m = text(&commit.message);
    assert!(m.contains("commit") && m.contains("r0") && m.contains("r1"), "{m:?}");
    let charged: Vec<_> = a.spend.unwrap().limits.iter().map(|l| l.units.charged).collect();
    assert_eq!(charged, [42_000, 1, 12]);
}

#[test]
fn over_an_enforced_limit_is_a_429_and_what_was_reserved_is_released() {
    let mut a = audit();
    let (pending, _) = begin_all(&mut a);
    let (out, release) =
        finish(&store(), &limits(), pending, Ok(answer(&[(2, None), (2, None), (1, Some("r2"))])), &mut a);
    let r = out.unwrap_err();
    assert_eq!((r.status, r.reason, r.retry_after), (429, Reason::LimitExceeded, Some(86_400)));
    let m = text(&release.unwrap().message);
    assert!(m.contains("commit") && m.contains("r2") && !m.contains("reserve"), "{m:?}");
    let outcomes: Vec<_> = a.spend.unwrap().limits.iter().map(|l| l.outcome).collect();
    assert_eq!(outcomes, ["over", "shadow_over", "admitted"]);
}

#[test]
fn a_failed_call_refuses_for_closed_limits_and_admits_uncounted_for_open_ones() {
    let mut a = audit();
    let (pending, _) = begin_all(&mut a);
    let (out, release) = finish(&store(), &limits(), pending, Err(Some(4)), &mut a);
    let r = out.unwrap_err();
    assert_eq!((r.status, r.reason), (503, Reason::LimitStoreUnavailable));
    assert!(release.is_none());
    let outcomes: Vec<_> = a.spend.as_ref().unwrap().limits.iter().map(|l| l.outcome).collect();
    // The shadow limit (rpm) fails open whatever its on_store_error: shadow never refuses.
    assert_eq!(outcomes, ["store_error_closed", "store_error_open", "store_error_open"]);
    // Only open limits: admitted, nothing held.
    let open =
        vec![limit(r#"{"name": "tok", "window": "hour", "unit": "tokens", "max": 1000, "on_store_error": "open"}"#)];
    let m = vec!["x/y".to_string()];
    let s = Subject { profile: "p", user: None, team: None, models: &m };
    let mut a = audit();
    let (pending, _) = begin(&store(), &open, &s, &worst(), &mut a).unwrap().unwrap();
    let (out, _) = finish(&store(), &open, pending, Ok(b"\xff".to_vec()), &mut a);
    assert_eq!(out.unwrap().len(), 0);
    assert_eq!(a.spend.unwrap().limits[0].outcome, "store_error_open");
}

#[test]
fn an_enforced_per_model_limit_refuses_a_router_alias_or_preset_before_any_call() {
    // Which model's counter it would use is known only from the answer (budget::unresolved_model),
    // as in the embedded store: 403, nothing reserved in the service.
    let lim = [limit(
        r#"{"name": "opus-m", "per": ["user", "model"], "window": "day", "unit": "requests", "max": 5, "models": "anthropic/claude-opus*"}"#,
    )];
    for via in ["~anthropic/claude-opus-latest", "openrouter/auto", "@preset/bot"] {
        let m = vec![via.to_string()];
        let s = Subject { profile: "p", user: Some("ann"), team: None, models: &m };
        let mut a = audit();
        let r = begin(&store(), &lim, &s, &worst(), &mut a).err().unwrap();
        assert_eq!((r.status, r.reason), (403, crate::core::reason::Reason::CostUnbounded), "{via}");
        assert_eq!(a.spend.unwrap().limits[0].outcome, "unbounded");
    }
    // In shadow mode it is counted under its own id and never refused.
    let shadow = [limit(
        r#"{"name": "opus-s", "per": ["model"], "window": "day", "unit": "requests", "max": 5, "models": "anthropic/claude-opus*", "mode": "shadow"}"#,
    )];
    let m = vec!["openrouter/auto".to_string()];
    let s = Subject { profile: "p", user: None, team: None, models: &m };
    assert!(begin(&store(), &shadow, &s, &worst(), &mut audit()).unwrap().is_some());
}
