//! Behaviour of the request path, end to end through the core (headers → body → edits).

use serde_json::{json, Value};

use super::*;
use crate::core::reason::Reason;

const POLICY: &str = r#"{
  "hosts": ["openrouter.ai"], "clusters": ["openrouter"], "default_profile": "confidential",
  "user_header": "x-user-id", "max_body_bytes": 4096, "max_json_depth": 16,
  "profiles": {
    "confidential": {
      "models": [{"deny": "*:free"}, {"allow": "anthropic/*"}, {"allow": "openai/gpt-4o*"}, {"allow": "@preset/approved"}],
      "provider": {"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny"},
      "max_tokens": 1000
    },
    "restricted": {"models": [{"allow": "anthropic/*"}], "max_tokens": 100, "max_tokens_action": "reject", "reject_client_keys": true},
    "public": {"models": []},
    "wild": {"models": [{"deny": "*:free"}, {"allow": "*/claude-*"}]}
  }
}"#;

fn policy() -> Policy {
    Policy::from_json(POLICY.as_bytes()).unwrap()
}

fn headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = [
        (":method", "POST"),
        (":path", "/api/v1/chat/completions"),
        (":authority", "openrouter.ai"),
        ("content-type", "application/json"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        h.retain(|(hk, _)| hk != k || k.starts_with("x-"));
        h.push((k.to_string(), v.to_string()));
    }
    h
}

/// The test policy with `unknown_endpoints: "scan"`.
fn scan_policy() -> Policy {
    Policy::from_json(POLICY.replacen('{', r#"{"unknown_endpoints": "scan","#, 1).as_bytes()).unwrap()
}

/// Runs both steps; returns the forwarded body (as JSON) or the rejection.
fn run(extra: &[(&str, &str)], body: &str) -> (Result<Value, Rejection>, AuditRecord) {
    run_in(&policy(), extra, body)
}

fn run_in(p: &Policy, extra: &[(&str, &str)], body: &str) -> (Result<Value, Rejection>, AuditRecord) {
    let mut audit = AuditRecord::new();
    let h = headers(extra);
    let plan = match on_head(p, RequestHead { headers: &h, end_of_stream: false }, &mut audit) {
        Ok(plan) => plan,
        Err(r) => return (Err(r), audit),
    };
    let out = on_body(p, &plan, body.as_bytes(), &mut audit)
        .map(|b| serde_json::from_slice(b.as_deref().unwrap_or(body.as_bytes())).unwrap());
    (out, audit)
}

fn reason(extra: &[(&str, &str)], body: &str) -> &'static str {
    match run(extra, body).0 {
        Err(r) => r.reason.as_str(),
        Ok(v) => panic!("expected a rejection, forwarded {v}"),
    }
}

#[test]
fn allowed_request_gets_policy_provider_and_token_cap_injected() {
    let (out, audit) =
        run(&[], r#"{"model":"anthropic/claude-3.5-sonnet","messages":[{"role":"user","content":"hi"}]}"#);
    let v = out.unwrap();
    assert_eq!(
        v["provider"],
        json!({"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny"})
    );
    assert_eq!(v["max_tokens"], 1000);
    assert_eq!(v["messages"][0]["content"], "hi");
    assert_eq!(audit.decision, Decision::Allow);
    assert_eq!(audit.profile.as_deref(), Some("confidential"));
    assert_eq!(audit.model_requested.as_deref(), Some("anthropic/claude-3.5-sonnet"));
    assert!(audit.provider_injected);
    assert_eq!(audit.prompt_sha256.as_ref().map(String::len), Some(64));
}

#[test]
fn forwarded_body_hash_is_of_the_bytes_sent() {
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let body = br#"{"model":"anthropic/x","messages":[]}"#;
    let out = on_body(&p, &plan, body, &mut audit).unwrap().unwrap();
    assert_eq!(audit.prompt_sha256.unwrap(), sha256_hex(&out));
    assert_eq!(audit.bytes_in, body.len() as u64);
    assert_eq!(audit.bytes_out, out.len() as u64);
}

#[test]
fn denied_models_are_refused_in_every_place_a_model_can_hide() {
    for body in [
        r#"{"model":"meta/llama"}"#,
        r#"{"model":"anthropic/claude:free"}"#,
        r#"{"model":"ANTHROPIC/CLAUDE:FREE"}"#,
        r#"{"model":"anthropic/claude","models":["anthropic/claude","deepseek/r1"]}"#,
        r#"{"model":"openrouter/auto"}"#,
        r#"{"model":"@preset/other"}"#,
        r#"{"model":"anthropic/claude","preset":"other"}"#,
        r#"{"model":"~openai/gpt-latest"}"#,
    ] {
        assert_eq!(reason(&[], body), "model_denied", "{body}");
    }
    assert_eq!(
        reason(&[(":path", "/api/v1/presets/other/chat/completions")], r#"{"model":"anthropic/x"}"#),
        "model_denied"
    );
}

#[test]
fn wildcard_allows_reach_no_router_preset_alias_or_free_variant_in_any_model_field() {
    let wild = [("x-data-classification", "wild")];
    assert!(run(&wild, r#"{"model":"anthropic/claude-3","models":["openai/claude-x:nitro"]}"#).0.is_ok());
    for body in [
        r#"{"model":"@preset/claude-anything"}"#,
        r#"{"model":"~anthropic/claude-latest"}"#,
        r#"{"model":"openrouter/claude-router"}"#,
        r#"{"model":"anthropic/claude-3","models":["anthropic/claude-4","@preset/claude-x"]}"#,
        r#"{"model":"anthropic/claude-3","models":["~anthropic/claude-latest"]}"#,
        r#"{"model":"anthropic/claude-3","preset":"claude-x"}"#,
        r#"{"model":"anthropic/claude-3","preset":"@preset/claude-x"}"#,
        r#"{"model":"openai/claude-3:free:nitro"}"#,
        r#"{"model":"openai/claude-3:nitro:free"}"#,
        r#"{"model":"anthropic/claude-3","models":["anthropic/claude-3:online:free"]}"#,
    ] {
        assert_eq!(reason(&wild, body), "model_denied", "{body}");
    }
    let (r, audit) = run(
        &[("x-data-classification", "wild"), (":path", "/api/v1/presets/claude-x/chat/completions")],
        r#"{"model":"anthropic/claude-3"}"#,
    );
    assert_eq!(r.unwrap_err().reason, "model_denied");
    assert_eq!(audit.models, ["anthropic/claude-3", "@preset/claude-x"]);
    let (r, _) = run(&wild, r#"{"model":"@preset/claude-x"}"#);
    assert!(r.unwrap_err().message.contains("a preset is allowed only by a rule that names it"));
    // Unknown and repeated variants are not model ids at all.
    assert_eq!(reason(&wild, r#"{"model":"anthropic/claude-3:free:free"}"#), "model_invalid");
    assert_eq!(reason(&wild, r#"{"model":"anthropic/claude-3:turbo"}"#), "model_invalid");
    assert_eq!(
        reason(&wild, r#"{"model":"anthropic/claude-3","models":["anthropic/claude-3:nitro:nitro"]}"#),
        "models_invalid"
    );
}

#[test]
fn model_spelling_is_normalised_before_matching() {
    let (out, audit) = run(&[], r#"{"model":"  Anthropic/Claude-3.5-Sonnet \n"}"#);
    assert!(out.is_ok());
    assert_eq!(audit.model_requested.as_deref(), Some("anthropic/claude-3.5-sonnet"));
    assert_eq!(reason(&[], r#"{"model":"anthropic/claude\u200b"}"#), "model_invalid");
    assert_eq!(reason(&[], r#"{"model":"ａnthropic/claude"}"#), "model_invalid");
}

#[test]
fn missing_or_malformed_models_are_refused() {
    assert_eq!(reason(&[], r#"{"messages":[]}"#), "model_missing");
    assert_eq!(reason(&[], r#"{"model":null}"#), "model_missing");
    assert_eq!(reason(&[], r#"{"model":42}"#), "model_invalid");
    assert_eq!(reason(&[], r#"{"model":["anthropic/x"]}"#), "model_invalid");
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","models":"deepseek/r1"}"#), "models_invalid");
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","models":[1]}"#), "models_invalid");
    assert_eq!(reason(&[], ""), "model_missing");
    assert_eq!(reason(&[], "[]"), "invalid_json");
}

#[test]
fn empty_rule_list_denies_everything() {
    assert_eq!(reason(&[("x-data-classification", "public")], r#"{"model":"anthropic/x"}"#), "model_denied");
}

#[test]
fn bodies_that_cannot_be_checked_are_refused() {
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","model":"meta/llama"}"#), "duplicate_key");
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","mod\u0065l":"meta/llama"}"#), "duplicate_key");
    assert_eq!(reason(&[], r#"{"model":"anthropic/x""#), "invalid_json");
    let deep = format!(r#"{{"model":"anthropic/x","messages":{}{}}}"#, "[".repeat(20), "]".repeat(20));
    assert_eq!(reason(&[], &deep), "too_deep");
    let big = format!(r#"{{"model":"anthropic/x","messages":"{}"}}"#, "a".repeat(5000));
    assert_eq!(reason(&[], &big), "body_too_large");
    assert_eq!(reason(&[("content-length", "99999")], "{}"), "body_too_large");
    assert_eq!(reason(&[("content-type", "text/plain")], "{}"), "unsupported_media_type");
    assert_eq!(reason(&[("content-encoding", "br")], "{}"), "unsupported_encoding");
    assert_eq!(reason(&[("content-encoding", "gzip, zstd")], "{}"), "unsupported_encoding");
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    assert_eq!(on_body(&p, &plan, b"{\"model\":\"anthropic/\xff\"}", &mut audit).unwrap_err().reason, "invalid_utf8");
    assert_eq!(audit.decision, Decision::Reject);
    assert_eq!(audit.status, Some(400));
    assert!(audit.prompt_sha256.is_none());
}

#[test]
fn json_content_types_with_parameters_are_accepted() {
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
        "application/json;charset=\"UTF-8\"",
        "application/json; foo=bar",
    ] {
        assert!(run(&[("content-type", ct)], r#"{"model":"anthropic/x"}"#).0.is_ok(), "{ct}");
    }
}

#[test]
fn a_charset_other_than_utf8_is_refused() {
    for ct in [
        "application/json; charset=utf-7",
        "application/json; charset=UTF-16",
        "application/json; charset=latin1",
        "application/json; charset=utf-8; charset=utf-7",
        "application/json; charset=",
    ] {
        assert_eq!(reason(&[("content-type", ct)], r#"{"model":"anthropic/x"}"#), "unsupported_media_type", "{ct}");
    }
}

#[test]
fn profile_header_selects_profile_and_unknown_values_are_refused() {
    let (_, audit) = run(&[("x-data-classification", " Restricted ")], r#"{"model":"anthropic/x"}"#);
    assert_eq!(audit.profile.as_deref(), Some("restricted"));
    assert_eq!(reason(&[("x-data-classification", "nope")], "{}"), "unknown_profile");
    assert_eq!(
        reason(&[("x-data-classification", "public"), ("x-data-classification", "restricted")], "{}"),
        "ambiguous_header"
    );
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    assert_eq!(plan.remove_headers, vec!["x-data-classification".to_string(), "x-user-id".to_string()]);
}

#[test]
fn client_keys_are_refused_where_the_profile_says_so() {
    let h = [("x-data-classification", "restricted"), ("authorization", "Bearer sk-or-v1-abc")];
    let (out, _) = run(&h, r#"{"model":"anthropic/x"}"#);
    let r = out.unwrap_err();
    assert_eq!((r.status, r.reason), (403, Reason::ClientKeyRejected));
    assert!(!r.message.contains("sk-or"));
    assert!(run(&[("authorization", "Bearer x")], r#"{"model":"anthropic/x"}"#).0.is_ok());
}

#[test]
fn token_caps_clamp_or_reject() {
    let v = run(&[], r#"{"model":"anthropic/x","max_tokens":50000,"max_completion_tokens":20}"#).0.unwrap();
    assert_eq!((v["max_tokens"].clone(), v["max_completion_tokens"].clone()), (json!(1000), json!(20)));
    let v = run(&[(":path", "/api/v1/responses")], r#"{"model":"anthropic/x","input":"hi"}"#).0.unwrap();
    assert_eq!(v["max_output_tokens"], 1000);
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","max_tokens":"lots"}"#), "max_tokens_invalid");
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","max_tokens":1.5}"#), "max_tokens_invalid");
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","max_tokens":-1}"#), "max_tokens_invalid");
    // 0 (OpenAI: "integer below minimum value"), on every field and every profile, capped or not.
    for (h, path, f) in [
        (&[][..], "/api/v1/chat/completions", "max_tokens"),
        (&[][..], "/api/v1/chat/completions", "max_completion_tokens"),
        (&[][..], "/api/v1/responses", "max_output_tokens"),
        (&[("x-data-classification", "wild")][..], "/api/v1/messages", "max_tokens"),
    ] {
        for v in ["0", "-3", "2.5", "1e2", "\"9\"", "true", "[]"] {
            let mut hs = vec![(":path", path)];
            hs.extend_from_slice(h);
            let body = format!(r#"{{"model":"anthropic/claude-x","{f}":{v}}}"#);
            assert_eq!(reason(&hs, &body), "max_tokens_invalid", "{path} {f}: {v}");
        }
        let mut hs = vec![(":path", path)];
        hs.extend_from_slice(h);
        assert!(run(&hs, &format!(r#"{{"model":"anthropic/claude-x","{f}":1}}"#)).0.is_ok(), "{path} {f}");
    }
    let restricted = [("x-data-classification", "restricted")];
    assert_eq!(reason(&restricted, r#"{"model":"anthropic/x","max_tokens":101}"#), "max_tokens_exceeded");
    assert_eq!(run(&restricted, r#"{"model":"anthropic/x","max_tokens":100}"#).0.unwrap()["max_tokens"], 100);
}

#[test]
fn client_provider_can_narrow_but_not_widen() {
    let v = run(
        &[],
        r#"{"model":"anthropic/x","provider":{"order":["openai","together"],"allow_fallbacks":true,"data_collection":"allow","ignore":["azure"]}}"#,
    )
    .0
    .unwrap();
    assert_eq!(v["provider"]["order"], json!(["openai"]));
    assert_eq!(v["provider"]["allow_fallbacks"], false);
    assert_eq!(v["provider"]["data_collection"], "deny");
    assert_eq!(v["provider"]["ignore"], json!(["azure"]));
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","provider":"anthropic"}"#), "provider_invalid");
    assert_eq!(reason(&[], r#"{"model":"anthropic/x","provider":{"allow_fallback":true}}"#), "provider_invalid");
}

#[test]
fn trusted_user_header_wins_over_body_user() {
    let (_, audit) = run(&[("x-user-id", "alice")], r#"{"model":"anthropic/x","user":"mallory"}"#);
    assert_eq!((audit.user.as_deref(), audit.user_source), (Some("alice"), Some("header")));
    let (_, audit) = run(&[], r#"{"model":"anthropic/x","user":"bob@example.com"}"#);
    // The body's user is client-controlled (often an e-mail): recorded only as a hash.
    let hashed = format!("sha256-{}", sha256_hex(b"bob@example.com"));
    assert_eq!((audit.user.as_deref(), audit.user_source), (Some(hashed.as_str()), Some("body")));
}

#[test]
fn refusals_in_the_header_step_still_record_profile_and_user() {
    let ct_text = [("content-type", "text/plain")];
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case<'_>; 5] = [
        (
            &[("x-data-classification", "restricted"), ("authorization", "Bearer sk-x")],
            "client_key_rejected",
            "restricted",
        ),
        (&ct_text, "unsupported_media_type", "confidential"),
        (&[("content-encoding", "br")], "unsupported_encoding", "confidential"),
        (&[("content-length", "999999")], "body_too_large", "confidential"),
        (&[("x-data-classification", "public"), (":path", "/api/v1/unknown")], "unknown_endpoint", "public"),
    ];
    let p = Policy::from_json(
        POLICY.replace("\"max_body_bytes\"", "\"unknown_endpoints\": \"reject\", \"max_body_bytes\"").as_bytes(),
    )
    .unwrap();
    for (extra, want, profile) in cases {
        let mut all = extra.to_vec();
        all.push(("x-user-id", "alice"));
        let h = headers(&all);
        let mut audit = AuditRecord::new();
        let r = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap_err();
        assert_eq!(r.reason, want);
        assert_eq!(audit.profile.as_deref(), Some(profile), "{want}");
        assert_eq!((audit.user.as_deref(), audit.user_source), (Some("alice"), Some("header")), "{want}");
    }
    // A profile header naming no profile: the profile is unknown (null), the user still recorded.
    let h = headers(&[("x-data-classification", "nope"), ("x-user-id", "alice")]);
    let mut audit = AuditRecord::new();
    assert_eq!(
        on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap_err().reason,
        "unknown_profile"
    );
    assert_eq!((audit.profile, audit.user.as_deref()), (None, Some("alice")));
}

#[test]
fn client_controlled_head_values_are_recorded_by_grammar_or_hashed() {
    // A spelling the normaliser accepts: forwarded as the endpoint, recorded canonically, the path
    // as sent only hashed.
    let sent = "/api/v1/alice.smith@example.com/../chat/completions";
    let h =
        headers(&[(":path", sent), ("x-request-id", "ticket alice@example.com"), (":authority", "alice@example.com")]);
    let mut audit = AuditRecord::new();
    on_head(&policy(), RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let line = audit.to_json();
    assert!(!line.contains("alice"), "{line}");
    assert_eq!(audit.path.as_deref(), Some("/api/v1/chat/completions"));
    assert_eq!(audit.path_sha256, Some(sha256_hex(sent.as_bytes())));
    assert_eq!(audit.request_id, Some(format!("sha256-{}", sha256_hex(b"ticket alice@example.com"))));
    // A path the normaliser refuses (400 invalid_path): no path in clear, only its hash (query
    // string removed), and who asked is still recorded.
    let sent = "/api/v1/chat/completions;alice.smith@example.com";
    let h =
        headers(&[(":path", &format!("{sent}?q=alice")), ("x-user-id", "u-1"), ("x-request-id", "alice@example.com")]);
    let mut audit = AuditRecord::new();
    let r = on_head(&policy(), RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap_err();
    assert_eq!(r.reason, Reason::InvalidPath);
    let line = audit.to_json();
    assert!(!line.contains("alice"), "{line}");
    assert_eq!((audit.path, audit.path_sha256), (None, Some(sha256_hex(sent.as_bytes()))));
    assert_eq!((audit.user.as_deref(), audit.profile.is_some()), (Some("u-1"), true));
    // A plain first id does not let a second one through.
    let h = headers(&[("x-request-id", "abc-1"), ("x-request-id", "alice@example.com")]);
    let mut audit = AuditRecord::new();
    on_head(&policy(), RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    assert_eq!(audit.request_id, Some(format!("sha256-{}", sha256_hex(b"abc-1,alice@example.com"))));
}

#[test]
fn a_credential_in_the_request_id_is_recorded_as_its_hash() {
    // `sk-or-v1-<hex>` fits the id grammar, so only the secrets scan keeps it out of the record.
    let key = format!("sk-or-v1-{}", "0123456789abcdef".repeat(4));
    let h = headers(&[("x-request-id", &key)]);
    let mut audit = AuditRecord::new();
    on_head(&policy(), RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    assert_eq!(audit.request_id, Some(format!("sha256-{}", sha256_hex(key.as_bytes()))));
    assert!(!audit.to_json().contains(&key));
    // An ordinary id is kept as sent.
    let h = headers(&[("x-request-id", "7f6c1a2e-1b0c-4c5e-9a7d-0123456789ab")]);
    let mut audit = AuditRecord::new();
    on_head(&policy(), RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    assert_eq!(audit.request_id.as_deref(), Some("7f6c1a2e-1b0c-4c5e-9a7d-0123456789ab"));
}

#[test]
fn write_user_puts_the_trusted_id_in_the_body() {
    let p = Policy::from_json(POLICY.replace("\"user_header\"", "\"write_user\": true, \"user_header\"").as_bytes())
        .unwrap();
    let mut audit = AuditRecord::new();
    let h = headers(&[("x-user-id", "alice")]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let out = on_body(&p, &plan, br#"{"model":"anthropic/x","user":"mallory"}"#, &mut audit).unwrap().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&out).unwrap()["user"], "alice");
}

#[test]
fn unknown_endpoints_are_refused_by_default_when_they_carry_a_body() {
    for path in ["/api/v1/keys", "/api/v1/audio/speech", "/api/v1/images/generations", "/api/v2/chat/completions"] {
        let other = [(":path", path)];
        for body in [r#"{"name":"k"}"#, r#"{"model":"anthropic/x","input":"hi"}"#] {
            let r = run(&other, body).0.unwrap_err();
            assert_eq!((r.status, r.reason), (404, Reason::UnknownEndpoint), "{path} {body}");
        }
    }
    // Without a body (GET /models) they pass.
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[(":method", "GET"), (":path", "/api/v1/models")]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: true }, &mut audit).unwrap();
    assert_eq!(on_body(&p, &plan, b"", &mut audit), Ok(None));
}

#[test]
fn unknown_endpoints_in_scan_mode_check_models_and_pass_without_injection() {
    let other = [(":path", "/api/v1/keys")];
    let v = run_in(&scan_policy(), &other, r#"{"name":"k"}"#).0.unwrap();
    assert!(v.get("provider").is_none());
    assert_eq!(run_in(&scan_policy(), &other, r#"{"model":"meta/llama"}"#).0.unwrap_err().reason, "model_denied");
}

#[test]
fn requests_without_body_need_a_model_only_on_inference_endpoints() {
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[(":method", "GET"), (":path", "/api/v1/models")]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: true }, &mut audit).unwrap();
    assert_eq!(on_body(&p, &plan, b"", &mut audit), Ok(None));
    let h = headers(&[]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: true }, &mut audit).unwrap();
    assert_eq!(on_body(&p, &plan, b"", &mut audit).unwrap_err().reason, "model_missing");
}

#[test]
fn unchanged_fields_keep_their_exact_bytes() {
    let body = r#"{ "model" : "anthropic/x", "messages":[{"role":"user","content":"caf\u00e9 \"q\""}], "temperature": 0.70, "max_tokens": 10 }"#;
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let out = String::from_utf8(on_body(&p, &plan, body.as_bytes(), &mut audit).unwrap().unwrap()).unwrap();
    assert!(
        out.contains(
            r#""messages":[{"role":"user","content":"caf\u00e9 \"q\""}], "temperature": 0.70, "max_tokens": 10 }"#
        ),
        "{out}"
    );
}

#[test]
fn rejection_messages_never_echo_request_content() {
    let secret = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for body in [
        format!(r#"{{"model":"{secret}"}}"#),
        format!(r#"{{"model":"meta/x","messages":[{{"role":"user","content":"{secret}"}}]}}"#),
        format!(r#"{{"model":"anthropic/x","provider":{{"{secret}":1}}}}"#),
        format!(r#"{{"model":"anthropic/x","{secret}":1,"{secret}":2}}"#),
    ] {
        let (out, audit) = run(&[], &body);
        let r = out.unwrap_err();
        assert!(!r.message.contains("sk-or") && !String::from_utf8_lossy(&r.body()).contains("sk-or"), "{}", r.message);
        assert!(!audit.to_json().contains("0123456789abcdef01234"), "{}", audit.to_json());
    }
}

#[test]
fn a_null_max_tokens_is_replaced_by_the_cap_not_duplicated() {
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let body =
        r#"{"model":"anthropic/claude-3.5-sonnet","messages":[{"role":"user","content":"hi"}],"max_tokens":null}"#;
    let out = on_body(&p, &plan, body.as_bytes(), &mut audit).unwrap().unwrap();
    assert!(json::parse(&out, 64).is_ok(), "{}", String::from_utf8_lossy(&out));
    assert_eq!(serde_json::from_slice::<Value>(&out).unwrap()["max_tokens"], 1000);
}

#[test]
fn a_body_that_already_matches_policy_is_not_rewritten() {
    let p = Policy::from_json(POLICY.replace("\"user_header\"", "\"write_user\": true, \"user_header\"").as_bytes())
        .unwrap();
    let mut audit = AuditRecord::new();
    let h = headers(&[("x-user-id", "alice")]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let body = r#"{"model":"anthropic/claude-3.5-sonnet","messages":[],"max_tokens":5,"user":"alice","provider":{"allow_fallbacks":false,"data_collection":"deny","order":["anthropic","openai"]}}"#;
    assert_eq!(on_body(&p, &plan, body.as_bytes(), &mut audit), Ok(None));
}

#[test]
fn a_models_list_on_an_unknown_endpoint_still_gets_provider_routing() {
    let (out, _) = run_in(
        &scan_policy(),
        &[(":path", "/api/v1/something-new")],
        r#"{"models":["anthropic/claude-3.5-sonnet"],"provider":{"allow_fallbacks":true,"data_collection":"allow"}}"#,
    );
    let v = out.unwrap();
    assert_eq!(v["provider"]["allow_fallbacks"], false);
    assert_eq!(v["provider"]["data_collection"], "deny");
}

fn head_only(extra: &[(&str, &str)]) -> (Result<Plan, Rejection>, AuditRecord) {
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(extra);
    (on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit), audit)
}

#[test]
fn paths_are_normalised_before_classifying_and_the_normal_form_is_forwarded() {
    for raw in [
        "/api/v1/x/../chat/completions",
        "/api/v1/x/%2e%2e/chat/completions",
        "/api/v1/x/%2E%2E/chat/completions",
        "/api/v1/x/..\\chat/completions",
        "/api/v1/x%5c..%5cchat%2fcompletions",
        "//api//v1//chat/completions",
        "/api/v1/./%63hat/completions",
    ] {
        let (plan, audit) = head_only(&[(":path", raw)]);
        let plan = plan.unwrap();
        assert_eq!(plan.route.endpoint, Endpoint::ChatCompletions, "{raw}");
        assert_eq!(plan.rewrite_path.as_deref(), Some("/api/v1/chat/completions"), "{raw}");
        assert_eq!(audit.path.as_deref(), Some("/api/v1/chat/completions"));
        // A body without a model on such a path is an inference request without a model.
        assert_eq!(reason(&[(":path", raw)], r#"{"messages":[]}"#), "model_missing", "{raw}");
    }
    let (plan, _) = head_only(&[(":path", "/api/v1/x/../chat/completions?a=%2e%2e")]);
    assert_eq!(plan.unwrap().rewrite_path.as_deref(), Some("/api/v1/chat/completions?a=%2e%2e"));
    let (plan, _) = head_only(&[(":path", "/api/v1/chat/completions?x=1")]);
    assert_eq!(plan.unwrap().rewrite_path, None);
}

#[test]
fn paths_that_cannot_be_classified_safely_are_refused_and_audited() {
    for raw in [
        "/api/v1/chat/completions;x",
        "/api/v1/x;/../chat/completions",
        "/api/v1/x/%252e%252e/chat/completions",
        "/api/v1/chat%3fcompletions",
        "/../api/v1/chat/completions",
        "/api/v1/chat/completions%",
        "*",
    ] {
        let (plan, audit) = head_only(&[(":path", raw)]);
        let r = plan.unwrap_err();
        assert_eq!((r.status, r.reason), (400, Reason::InvalidPath), "{raw}");
        assert_eq!(audit.decision, Decision::Reject);
        assert_eq!(audit.status, Some(400));
        assert!(audit.to_json().contains("invalid_path"));
    }
    // Refused with no body too (a GET is governed the same way).
    let p = policy();
    let mut audit = AuditRecord::new();
    let h = headers(&[(":method", "GET"), (":path", "/api/v1/models;x")]);
    let r = on_head(&p, RequestHead { headers: &h, end_of_stream: true }, &mut audit).unwrap_err();
    assert_eq!(r.reason, Reason::InvalidPath);
}

#[test]
fn a_top_level_proto_member_is_refused_however_it_is_spelled() {
    for body in [
        r#"{"model":"anthropic/x","__proto__":{"models":["meta/llama"]},"messages":[]}"#,
        r#"{"model":"anthropic/x","__pr\u006fto__":{"preset":"x"},"messages":[]}"#,
        r#"{"model":"anthropic/x","__proto__":null,"messages":[]}"#,
    ] {
        assert_eq!(reason(&[], body), "reserved_key", "{body}");
    }
    // Nested, it is just text (a tool's argument names are the tool's business).
    assert!(run(&[], r#"{"model":"anthropic/x","messages":[{"role":"user","content":"hi","x":{"__proto__":1}}]}"#)
        .0
        .is_ok());
}

#[test]
fn an_output_schema_under_an_identifier_key_is_scanned() {
    let body = r#"{"model":"anthropic/x","input":"hi","text":{"format":{"type":"json_schema","name":"x","format":"email","schema":{"description":"ask jane.doe@example.com"}}}}"#;
    let v = run(&[(":path", "/api/v1/responses")], body).0.unwrap();
    assert_eq!(v["text"]["format"]["schema"]["description"], "ask [EMAIL]");
    assert_eq!(v["text"]["format"]["type"], "json_schema");
    assert_eq!(v["text"]["format"]["format"], "email");
}

#[test]
fn the_alpha_responses_api_is_inference() {
    let alpha = [(":path", "/api/alpha/responses")];
    assert_eq!(reason(&alpha, r#"{"input":"hi"}"#), "model_missing");
    assert_eq!(reason(&alpha, r#"{"model":"meta/llama","input":"hi"}"#), "model_denied");
    let (out, audit) = run(&alpha, r#"{"model":"anthropic/x","input":"hi","max_output_tokens":5000}"#);
    let v = out.unwrap();
    assert_eq!(v["max_output_tokens"], 1000);
    assert_eq!(v["provider"]["data_collection"], "deny");
    assert_eq!(audit.endpoint, Some("responses"));
}

#[test]
fn redacted_strings_are_re_encoded_exactly_whatever_surrounds_them() {
    // Escapes, control characters and non-ASCII at every offset around the parser's 8/16-byte
    // scanning steps, before and after a finding: the rewritten string must decode to the same text
    // with only the e-mail replaced, and untouched strings keep their bytes.
    let p = policy();
    let h = headers(&[]);
    for pad in 0..20 {
        for odd in ["\n", "\"", "\\", "\u{1}", "\u{1f}", "é", "😀", "/", "\u{7f}"] {
            let head = format!("{}{odd}", "a".repeat(pad));
            let tail = format!("{odd}{}", "z".repeat(19 - pad));
            let text = format!("{head} mail bob@example.com {tail}");
            let other = format!("{head}{tail}");
            let body = json!({
                "model": "anthropic/x",
                "messages": [{"role": "user", "content": text}, {"role": "user", "content": other}]
            })
            .to_string();
            let mut audit = AuditRecord::new();
            let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
            let out = on_body(&p, &plan, body.as_bytes(), &mut audit).unwrap().unwrap();
            let v: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["messages"][0]["content"], format!("{head} mail [EMAIL] {tail}"), "{body}");
            assert_eq!(v["messages"][1]["content"], other);
            let untouched = json::json_string(&other);
            assert!(String::from_utf8_lossy(&out).contains(&untouched), "{body}");
            assert_eq!(audit.prompt_sha256.as_deref(), Some(sha256_hex(&out).as_str()));
        }
    }
}

#[test]
fn mask_numbers_values_per_request_across_messages_and_skips_tags_the_client_wrote() {
    let p = Policy::from_json(
        POLICY
            .replacen(
                r#""max_tokens": 1000"#,
                r#""max_tokens": 1000, "pii": {"entities": {"EMAIL": "mask", "PHONE": "mask"}}"#,
                1,
            )
            .as_bytes(),
    )
    .unwrap();
    let body = json!({"model": "anthropic/claude-3", "messages": [
        {"role": "user", "content": "I wrote [EMAIL_1] myself. Mail ann@x.com or bob@y.org, call 415-555-0132."},
        {"role": "user", "content": "Again: ann@x.com"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "send", "arguments": "{\"to\":\"bob@y.org\"}"}}]}
    ]})
    .to_string();
    let mut audit = AuditRecord::new();
    let h = headers(&[]);
    let plan = on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit).unwrap();
    let mut masks = Masks::default();
    let out = on_body_masked(&p, &plan, body.as_bytes(), &mut audit, &mut masks).unwrap().unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["messages"][0]["content"], "I wrote [EMAIL_1] myself. Mail [EMAIL_2] or [EMAIL_3], call [PHONE_1].");
    assert_eq!(v["messages"][1]["content"], "Again: [EMAIL_2]");
    assert_eq!(v["messages"][2]["tool_calls"][0]["function"]["arguments"], r#"{"to":"[EMAIL_3]"}"#);
    assert_eq!(masks.lookup(b"EMAIL", 1), None);
    assert_eq!(masks.lookup(b"EMAIL", 2), Some("ann@x.com"));
    assert_eq!(masks.lookup(b"EMAIL", 3), Some("bob@y.org"));
    assert_eq!(masks.lookup(b"PHONE", 1), Some("415-555-0132"));
    // Counts only in the record, never a value.
    let line = audit.to_json();
    assert!(line.contains(r#""EMAIL":{"mask":4}"#), "{line}");
    assert!(!line.contains("ann@x.com") && !line.contains("415-555"));
}
