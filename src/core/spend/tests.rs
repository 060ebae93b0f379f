//! The cost guard through the request path (headers → body).

use crate::core::audit::AuditRecord;
use crate::core::policy::Policy;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::request::{on_body, on_head, RequestHead};

const POLICY: &str = r#"{"default_profile": "guarded", "profiles": {
  "guarded": {"models": [{"allow": "*"}], "max_tokens": 1000, "max_cost_per_request": 0.02,
              "provider": {"max_price": {"prompt": 3, "completion": 15}}},
  "uncapped": {"models": [{"allow": "*"}], "max_cost_per_request": 0.02},
  "plain": {"models": [{"allow": "*"}]}},
  "spend": {"prices": [{"model": "anthropic/*", "prompt": 3, "completion": 15},
                       {"model": "openai/gpt-4o-mini", "prompt": 0.15, "completion": 0.6}]}}"#;

fn run(profile: &str, body: &str) -> (Result<Option<Vec<u8>>, Rejection>, AuditRecord) {
    let p = Policy::from_json(POLICY.as_bytes()).unwrap();
    let h: Vec<(String, String)> = [
        (":method", "POST"),
        (":path", "/api/v1/chat/completions"),
        (":authority", "openrouter.ai"),
        ("content-type", "application/json"),
        ("x-data-classification", profile),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut audit = AuditRecord::new();
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let out = on_body(&p, &plan, body.as_bytes(), &mut audit);
    (out, audit)
}

fn chat(models: &str, max_tokens: u64) -> String {
    format!(r#"{{{models},"max_tokens":{max_tokens},"messages":[{{"role":"user","content":"Say hello."}}]}}"#)
}

#[test]
fn a_request_whose_worst_case_fits_is_forwarded_with_its_estimate_audited() {
    let (out, audit) = run("guarded", &chat(r#""model":"anthropic/claude-3.5-sonnet""#, 1000));
    let sent = out.unwrap().unwrap(); // the provider object is injected
    let s = audit.spend.unwrap();
    assert_eq!(s.prompt_tokens_max, Some(sent.len() as u64));
    assert_eq!(s.output_tokens_max, Some(1000));
    assert_eq!(s.worst.unwrap().cost_micro, Ok(sent.len() as u64 * 3 + 15_000));
}

#[test]
fn a_request_over_the_cost_guard_gets_402_naming_the_limit() {
    // 1000 output tokens at $15/M is $0.015; a fallback to a dearer model is what counts.
    let (out, audit) = run("guarded", &chat(r#""model":"openai/gpt-4o-mini""#, 1000));
    assert!(out.is_ok());
    assert!(audit.spend.unwrap().worst.unwrap().cost_micro.unwrap() < 2000);
    let mut body = chat(r#""models":["openai/gpt-4o-mini","anthropic/claude-3.5-sonnet"]"#, 1000);
    body = body.replace("Say hello.", &"x".repeat(2000)); // 2000 × $3/M + $0.015 > $0.02
    let (out, audit) = run("guarded", &body);
    let r = out.unwrap_err();
    assert_eq!((r.status, r.reason), (402, Reason::CostLimitExceeded));
    assert!(r.message.contains("max_cost_per_request ($0.020000)"), "{}", r.message);
    assert_eq!(audit.decision, crate::core::audit::Decision::Deny);
    assert_eq!(audit.reasons, ["cost_limit_exceeded"]);
    assert!(audit.spend.unwrap().worst.unwrap().cost_micro.unwrap() > 20_000);
}

#[test]
fn an_unknown_worst_case_fails_closed_under_a_cost_guard_only() {
    let r = run("guarded", &chat(r#""model":"mistral/large""#, 10)).0.unwrap_err();
    assert_eq!((r.status, r.reason), (403, Reason::PriceMissing));
    let r = run("uncapped", r#"{"model":"anthropic/a","messages":[]}"#).0.unwrap_err();
    assert_eq!((r.status, r.reason), (400, Reason::MaxTokensRequired));
    let file = r#"{"model":"anthropic/a","max_tokens":5,"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"https://x.example/a.pdf"}}]}]}"#;
    let r = run("guarded", file).0.unwrap_err();
    assert_eq!((r.status, r.reason), (403, Reason::CostUnbounded));
    // Without a cost guard nothing is estimated, nothing refused.
    let (out, audit) = run("plain", &chat(r#""model":"mistral/large""#, 10));
    assert!(out.is_ok() && audit.spend.is_none());
}

#[test]
fn max_cost_per_request_must_be_positive() {
    let bad = POLICY.replace("\"max_cost_per_request\": 0.02,", "\"max_cost_per_request\": 0,");
    let e = Policy::from_json(bad.as_bytes()).unwrap_err();
    assert_eq!(e.path, "profiles.guarded.max_cost_per_request");
}

#[test]
fn assume_output_tokens_is_a_positive_count_or_model_context_with_a_refresh() {
    let with = |v: &str, refresh: &str| {
        POLICY.replace(r#""spend": {"#, &format!(r#""spend": {{"assume_output_tokens": {v},{refresh}"#))
    };
    let refresh = r#""prices_refresh": {"cluster": "openrouter"},"#;
    assert!(Policy::from_json(with("4096", "").as_bytes()).is_ok());
    assert!(Policy::from_json(with(r#""model_context""#, refresh).as_bytes()).is_ok());
    for (v, refresh, message) in [
        ("0", "", "must be at least 1"),
        (r#""model_context""#, "", "`model_context` needs spend.prices_refresh"),
        (r#""model""#, refresh, "unknown variant `model`, expected `model_context`"),
        ("true", "", "invalid type: boolean `true`, expected an integer or `model_context`"),
        ("1.5", "", "invalid type: floating point `1.5`, expected u64"),
    ] {
        let e = Policy::from_json(with(v, refresh).as_bytes()).unwrap_err();
        assert_eq!(e.path, "spend.assume_output_tokens", "{v}");
        assert!(e.message.contains(message), "{v}: {}", e.message);
    }
}

/// The policies in docs/spend.md compile (the second is a fragment of `spend`, the others of a policy).
#[test]
fn docs_spend_md_examples_compile() {
    let md = include_str!("../../../docs/spend.md");
    let blocks: Vec<&str> = md.split("```json\n").skip(1).filter_map(|b| b.split("\n```").next()).collect();
    assert_eq!(blocks.len(), 5);
    let p = Policy::from_json(blocks[0].as_bytes()).unwrap();
    assert_eq!(p.profiles[0].max_cost_per_request, Some(50_000));
    // A fragment (`members`) in a policy with one profile.
    let policy = |members: &str| {
        let doc = format!(r#"{{"default_profile": "p", "profiles": {{"p": {{"models": []}}}}, {members}}}"#);
        Policy::from_json(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    };
    let p = policy(&format!(r#""spend": {{{}}}"#, blocks[1]));
    let web = [crate::core::plugins::PluginUse { id: "web".into(), engine: Some("exa".into()), results: 100 }];
    assert_eq!(p.spend.plugin_prices.cost(Ok(&web)), Ok(400_000));
    let p = policy(blocks[3]);
    assert_eq!(p.spend.limits.len(), 4);
    assert_eq!(p.spend.team_header.as_deref(), Some("x-team-id"));
    // The price refresh's example.
    let p = policy(blocks[2]);
    let r = p.spend.refresh().unwrap();
    assert_eq!(
        (r.cluster.as_str(), r.path.as_str(), r.interval_ns),
        ("openrouter", "/api/v1/models", 3_600_000_000_000)
    );
    // The mesh-wide store's example.
    let p = policy(blocks[4]);
    let store = p.spend.remote().unwrap();
    assert_eq!(
        (store.cluster.as_str(), store.domain.as_str(), store.timeout_ms),
        ("openrouter_guard_rls", "openrouter-guard", 500)
    );
}

#[test]
fn spend_store_is_checked_with_its_path() {
    let doc = |store: &str| {
        format!(r#"{{"default_profile": "p", "profiles": {{"p": {{"models": []}}}}, "spend": {{"store": {store}}}}}"#)
    };
    for (store, path) in [
        (r#"{"kind": "rls"}"#, "spend.store.cluster"),
        (r#"{"kind": "rls", "cluster": "a b"}"#, "spend.store.cluster"),
        (r#"{"kind": "rls", "cluster": "c", "timeout_ms": 0}"#, "spend.store.timeout_ms"),
        (r#"{"kind": "rls", "cluster": "c", "domain": "a/b"}"#, "spend.store.domain"),
        (r#"{"kind": "rls", "cluster": "c", "reservation_ttl_s": 0}"#, "spend.store.reservation_ttl_s"),
        (r#"{"kind": "embedded", "cluster": "c"}"#, "spend.store.cluster"),
        (r#"{"kind": "embedded", "authority": "a"}"#, "spend.store.authority"),
        (r#"{"kind": "rls", "cluster": "c", "authority": "outbound|1||h"}"#, "spend.store.authority"),
        (r#"{"kind": "rls", "cluster": "c", "authority": ""}"#, "spend.store.authority"),
        (r#"{"cluster": "c"}"#, "spend.store"),
    ] {
        let e = Policy::from_json(doc(store).as_bytes()).unwrap_err();
        assert_eq!(e.path, path, "{store}");
    }
    assert!(Policy::from_json(doc(r#"{"kind": "embedded"}"#).as_bytes()).unwrap().spend.remote().is_none());
}

/// The trusted team header is read into the plan (trimmed), removed before the upstream, and
/// refused when sent twice.
#[test]
fn the_team_header_keys_team_limits_and_is_removed_before_the_upstream() {
    let p = Policy::from_json(
        br#"{"default_profile": "p", "user_header": "x-user-id", "profiles": {"p": {"models": [{"allow": "*"}]}},
        "spend": {"team_header": "X-Team-Id", "limits": [{"name": "t", "per": ["team"], "window": "day", "unit": "requests", "max": 1}]}}"#,
    )
    .unwrap();
    let h = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            (":method", "POST"),
            (":path", "/api/v1/chat/completions"),
            (":authority", "openrouter.ai"),
            ("content-type", "application/json"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        v.sort();
        v
    };
    let mut audit = AuditRecord::new();
    let heads = h(&[("x-team-id", " finance ")]);
    let plan = on_head(&p, RequestHead { headers: &heads, end_of_stream: false }, &mut audit).unwrap();
    assert_eq!(plan.team.as_deref(), Some("finance"));
    // The audit record names the team (per-team OpenRouter keys: the team whose key Envoy injects).
    assert_eq!(audit.team.as_deref(), Some("finance"));
    assert!(plan.remove_headers.contains(&"x-team-id".to_string()));
    let twice = h(&[("x-team-id", "a"), ("x-team-id", "b")]);
    let r = on_head(&p, RequestHead { headers: &twice, end_of_stream: false }, &mut AuditRecord::new()).unwrap_err();
    assert_eq!(r.reason, "ambiguous_header");
    // `per: team` without the header is refused at load.
    let e = Policy::from_json(
        br#"{"default_profile": "p", "profiles": {"p": {"models": []}},
        "spend": {"limits": [{"name": "t", "per": ["team"], "window": "day", "unit": "requests", "max": 1}]}}"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "spend.limits[0].per");
}
