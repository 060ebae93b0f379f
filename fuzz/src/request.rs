//! The request pipeline (`on_head` → `on_body`) under a fixed policy, with independent checks.
//!
//! Properties, for every input:
//! 1. never panics; the audit record is valid JSON, at each step;
//! 2. forwarded (`Ok(Some(b))`, or `Ok(None)` = the original) → the body is valid JSON with no
//!    duplicate keys, and the guard's own parser accepts it;
//! 3. forwarded object → same structure as the input except `provider`, the token-limit fields and
//!    `user` at the top level, and strings the redactor rewrote (those contain a `[` placeholder);
//! 4. every model in `model`, `models`, `preset` and a `/presets/{slug}/` path of a forwarded body,
//!    canonicalised by the harness (trim + lower-case), is allowed by the profile's rules (checked
//!    by the harness's own first-match glob, default deny); the profile is chosen by the harness
//!    from the headers;
//! 5. a forwarded inference request (or any body naming a model) carries a `provider` object with
//!    `allow_fallbacks: false`, `data_collection: "deny"`, and an `order` within the policy's;
//! 6. token-limit fields of a forwarded inference request are integers ≤ the profile's cap, and at
//!    least one is present;
//! 7. a trusted user header, when `write_user`, is what the forwarded `user` says;
//! 8. `Ok(None)` is returned only when nothing had to change (no byte-identical rewrite either).
//!
//! Secrets planted in text fields are checked by [`check_with_secret`].

use openrouter_guard::api::AuditRecord;
use openrouter_guard::api::{classify, Endpoint};
use openrouter_guard::api::json;
use openrouter_guard::api::Policy;
use openrouter_guard::api::{on_body, on_head, RequestHead};

use crate::glob::{allowed, canonical, Rule};
use crate::known;
use crate::secrets::windows;
use crate::tree::{is_json_syntax, Tree};

/// The fixed policy under test.
pub const POLICY: &str = r#"{
  "hosts": ["openrouter.ai"], "clusters": ["openrouter"],
  "default_profile": "confidential",
  "user_header": "x-user-id", "write_user": true,
  "max_body_bytes": 65536, "max_json_depth": 32,
  "pseudonym_key": "fuzz-pseudonym-key-0123456789",
  "profiles": {
    "confidential": {
      "models": [{"deny": "*:free"}, {"allow": "anthropic/*"}, {"allow": "openai/gpt-4o*"}, {"allow": "@preset/approved"}],
      "provider": {"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny", "ignore": ["deepinfra"]},
      "max_tokens": 1000,
      "pii": {"entities": {"PHONE": "hash", "PERSON": "redact"}}
    },
    "restricted": {
      "models": [{"deny": "*:free"}, {"allow": "anthropic/claude-3?5-*"}, {"deny": "*"}],
      "provider": {"order": ["anthropic"], "allow_fallbacks": false, "data_collection": "deny", "zdr": true, "require_parameters": true},
      "max_tokens": 100, "max_tokens_action": "reject", "reject_client_keys": true,
      "pii": {"entities": {"SECRETS": "block", "US_SSN": "block"},
              "dictionaries": [{"name": "CODENAME", "terms": ["Blue Heron", "Nightjar"]}],
              "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}"}]}
    },
    "public": {
      "models": [{"deny": "*:free"}, {"deny": "~*"}, {"allow": "*/*"}],
      "provider": {"order": ["openai", "google-vertex", "anthropic"], "allow_fallbacks": false, "data_collection": "deny",
                   "max_price": {"prompt": 1, "completion": 2}},
      "max_tokens": 4096,
      "pii": {"enabled": false}
    },
    "locked": {
      "models": [],
      "provider": {"order": ["anthropic"], "allow_fallbacks": false, "data_collection": "deny"}
    }
  }
}"#;

/// The harness's own copy of each profile: rules, provider order, token cap, and which PII
/// entities it rewrites (`redact`/`hash`).
pub struct ProfileSpec {
    /// Name.
    pub name: &'static str,
    /// Model rules, in order.
    pub rules: &'static [Rule],
    /// Policy provider order.
    pub order: &'static [&'static str],
    /// Token cap.
    pub cap: Option<u64>,
    /// Entities rewritten in text fields.
    pub rewrites: &'static [&'static str],
    /// Entities that block the request.
    pub blocks: &'static [&'static str],
}

const DEFAULT_REWRITES: &[&str] = &[
    "EMAIL",
    "PHONE",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN",
    "IP_ADDRESS",
    "OPENROUTER_KEY",
    "ANTHROPIC_KEY",
    "OPENAI_KEY",
    "AWS_ACCESS_KEY",
    "GITHUB_TOKEN",
    "SLACK_TOKEN",
    "GOOGLE_API_KEY",
    "STRIPE_KEY",
];

/// Profiles as the harness understands [`POLICY`].
pub const PROFILES: &[ProfileSpec] = &[
    ProfileSpec {
        name: "confidential",
        rules: &[(false, "*:free"), (true, "anthropic/*"), (true, "openai/gpt-4o*"), (true, "@preset/approved")],
        order: &["anthropic", "openai"],
        cap: Some(1000),
        rewrites: DEFAULT_REWRITES,
        blocks: &[],
    },
    ProfileSpec {
        name: "restricted",
        rules: &[(false, "*:free"), (true, "anthropic/claude-3?5-*"), (false, "*")],
        order: &["anthropic"],
        cap: Some(100),
        rewrites: &["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS"],
        blocks: &[
            "US_SSN",
            "OPENROUTER_KEY",
            "ANTHROPIC_KEY",
            "OPENAI_KEY",
            "AWS_ACCESS_KEY",
            "GITHUB_TOKEN",
            "SLACK_TOKEN",
            "GOOGLE_API_KEY",
            "STRIPE_KEY",
        ],
    },
    ProfileSpec {
        name: "public",
        rules: &[(false, "*:free"), (false, "~*"), (true, "*/*")],
        order: &["openai", "google-vertex", "anthropic"],
        cap: Some(4096),
        rewrites: &[],
        blocks: &[],
    },
    ProfileSpec {
        name: "locked",
        rules: &[],
        order: &["anthropic"],
        cap: None,
        rewrites: DEFAULT_REWRITES,
        blocks: &[],
    },
];

/// The compiled policy (once per thread: a policy holds `Rc`s, like the filter's, which has one
/// per VM; leaked, it lives as long as the fuzzing process).
pub fn policy() -> &'static Policy {
    thread_local! {
        static P: &'static Policy =
            Box::leak(Box::new(Policy::from_json(POLICY.as_bytes()).expect("harness policy compiles")));
    }
    P.with(|p| *p)
}

/// The harness's choice of profile for `headers`: `None` when the request must be refused
/// (unknown profile name or an ambiguous header).
pub fn profile_for(headers: &[(String, String)]) -> Option<&'static ProfileSpec> {
    let vals: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("x-data-classification"))
        .map(|(_, v)| v.as_str())
        .collect();
    match vals.as_slice() {
        [] => PROFILES.iter().find(|p| p.name == "confidential"),
        [v] => PROFILES.iter().find(|p| p.name.eq_ignore_ascii_case(v.trim())),
        _ => None,
    }
}

fn first<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// What happened to one request.
#[derive(Debug)]
pub enum Outcome {
    /// Refused at the headers.
    HeadRejected,
    /// Refused at the body.
    BodyRejected(&'static str),
    /// Forwarded: the bytes sent upstream.
    Forwarded(Vec<u8>),
}

/// Runs the pipeline and checks properties 1–8. Returns the outcome and the audit JSON.
pub fn check(headers: &[(String, String)], end_of_stream: bool, body: &[u8]) -> (Outcome, String) {
    // With `end_of_stream` on the headers the adapter runs the body step on an empty body.
    let body: &[u8] = if end_of_stream { &[] } else { body };
    let p = policy();
    let mut audit = AuditRecord::new();
    let head = RequestHead { headers, end_of_stream };
    let plan = match on_head(p, head, &mut audit) {
        Ok(plan) => plan,
        Err(_) => {
            let a = audit.to_json();
            assert!(serde_json::from_str::<serde_json::Value>(&a).is_ok(), "audit is not JSON");
            return (Outcome::HeadRejected, a);
        }
    };
    let spec = profile_for(headers).expect("guard accepted a profile header the harness refuses");
    assert_eq!(p.profiles[plan.profile].name, spec.name, "guard chose another profile");

    let result = on_body(p, &plan, body, &mut audit);
    let a = audit.to_json();
    assert!(serde_json::from_str::<serde_json::Value>(&a).is_ok(), "audit is not JSON");
    let out = match result {
        Err(r) => return (Outcome::BodyRejected(r.reason.as_str()), a),
        Ok(Some(b)) => {
            if !(known::skip() && known::f5_identical_user(headers, body)) {
                assert_ne!(b, body, "rewrote the body to identical bytes (should be Ok(None))");
            }
            b
        }
        Ok(None) => body.to_vec(),
    };

    let path = first(headers, ":path").unwrap_or("/");
    let route = classify(path);
    if out.is_empty() {
        assert!(!route.endpoint.is_inference(), "empty inference body forwarded");
        return (Outcome::Forwarded(out), a);
    }
    if known::skip() && known::f2_null_token_limit(body, route.endpoint) {
        return (Outcome::Forwarded(out), a);
    }
    // 2. valid JSON, no duplicate keys, ours accepts it.
    assert!(is_json_syntax(&out), "forwarded body is not JSON");
    json::parse(&out, 256).unwrap_or_else(|e| panic!("guard's own parser refuses the forwarded body: {e:?}"));
    let (Ok(tin), Ok(tout)) = (Tree::parse(body), Tree::parse(&out)) else {
        // Numbers out of f64 range: serde_json cannot build a tree; syntax was checked above.
        return (Outcome::Forwarded(out), a);
    };
    assert!(!tout.has_duplicate_keys(), "forwarded body has duplicate keys");

    // 3. structure.
    let edited: &[&str] = &["provider", "max_tokens", "max_completion_tokens", "max_output_tokens", "user"];
    match (&tin, &tout) {
        (Tree::Obj(mi), Tree::Obj(mo)) => {
            for (k, v) in mo {
                if edited.contains(&k.as_str()) {
                    continue;
                }
                let orig = tin.get(k).unwrap_or_else(|| panic!("forwarded body gained key {k:?}"));
                same_shape(orig, v, k);
            }
            for (k, _) in mi {
                assert!(tout.get(k).is_some(), "forwarded body lost key {k:?}");
            }
        }
        _ => same_shape(&tin, &tout, "$"),
    }

    // 4. models.
    let mut reachable: Vec<String> = Vec::new();
    if let Some(m) = tout.get("model").and_then(Tree::as_str) {
        reachable.push(canonical(m));
    }
    if let Some(Tree::Arr(ms)) = tout.get("models") {
        reachable.extend(ms.iter().filter_map(Tree::as_str).map(canonical));
    }
    if let Some(pr) = tout.get("preset").and_then(Tree::as_str) {
        reachable.push(canonical(&format!("@preset/{}", pr.trim().trim_start_matches("@preset/"))));
    }
    if let Some(slug) = &route.preset {
        reachable.push(canonical(&format!("@preset/{slug}")));
    }
    for m in &reachable {
        assert!(allowed(spec.rules, m), "profile {} forwarded a model its rules deny", spec.name);
    }
    // The guard's contract: provider routing is injected on inference endpoints and whenever the
    // body has a `model`. (A `models` list alone on an unknown endpoint gets none: see
    // docs/fuzzing.md, finding F1.)
    let names_model = tout.get("model").is_some_and(|v| *v != Tree::Null);
    if route.endpoint.is_inference() {
        assert!(!reachable.is_empty(), "inference request forwarded without a model");
    }

    // 5. provider.
    if matches!(tout, Tree::Obj(_)) && (route.endpoint.is_inference() || names_model) {
        let prov =
            tout.get("provider").unwrap_or_else(|| panic!("forwarded request names a model but has no provider"));
        assert_eq!(prov.get("allow_fallbacks"), Some(&Tree::Bool(false)), "provider.allow_fallbacks is not false");
        assert_eq!(
            prov.get("data_collection").and_then(Tree::as_str),
            Some("deny"),
            "provider.data_collection is not deny"
        );
        match prov.get("order") {
            Some(Tree::Arr(o)) => {
                for s in o {
                    let s = s.as_str().expect("order entry not a string");
                    assert!(spec.order.contains(&s), "provider.order has an entry outside the policy order");
                }
            }
            other => panic!("provider.order missing or not a list: {other:?}"),
        }
    }

    // 6. token caps.
    if let (Some(cap), Tree::Obj(_)) = (spec.cap, &tout) {
        let fields = route.endpoint.token_limit_fields();
        let mut any = false;
        for f in fields {
            match tout.get(f) {
                None | Some(Tree::Null) => {}
                Some(Tree::Num(n)) => {
                    any = true;
                    let v = n.as_u64().unwrap_or_else(|| panic!("{f} is not a non-negative integer"));
                    assert!(v <= cap, "{f} = {v} exceeds the cap {cap}");
                }
                Some(other) => panic!("{f} forwarded as {other:?}"),
            }
        }
        if !fields.is_empty() && route.endpoint != Endpoint::Other {
            assert!(any, "no token limit in a forwarded {} request", route.endpoint.name());
        }
    }

    // 7. trusted user.
    if let (Some(u), Tree::Obj(_)) = (first(headers, "x-user-id"), &tout) {
        let u: String = u.trim().chars().take(256).collect();
        if !u.is_empty() {
            assert_eq!(
                tout.get("user").and_then(Tree::as_str),
                Some(u.as_str()),
                "user is not the trusted header value"
            );
        }
    }
    (Outcome::Forwarded(out), a)
}

/// Same JSON shape; strings may differ only by redaction (the new one holds a `[` placeholder).
fn same_shape(a: &Tree, b: &Tree, at: &str) {
    match (a, b) {
        (Tree::Str(x), Tree::Str(y)) => {
            assert!(x == y || y.contains('['), "string at {at} changed without a placeholder");
        }
        (Tree::Arr(x), Tree::Arr(y)) => {
            assert_eq!(x.len(), y.len(), "array length at {at}");
            x.iter().zip(y).for_each(|(p, q)| same_shape(p, q, at));
        }
        (Tree::Obj(x), Tree::Obj(y)) => {
            assert_eq!(x.len(), y.len(), "member count at {at}");
            for ((k1, v1), (k2, v2)) in x.iter().zip(y) {
                assert_eq!(k1, k2, "keys at {at}");
                same_shape(v1, v2, k1);
            }
        }
        _ => assert_eq!(a, b, "value at {at} changed"),
    }
}

/// [`check`] plus the secret properties for a value planted only in text fields of `body`:
/// - the audit JSON never holds a ≥ 12-byte piece of it;
/// - when forwarded and the profile rewrites `entity`, the value is not in the forwarded body;
/// - when the profile blocks `entity`, the request is not forwarded.
pub fn check_with_secret(headers: &[(String, String)], body: &[u8], secret: &str, entity: &str) -> Outcome {
    let (outcome, audit) = check(headers, false, body);
    // Pieces that also occur outside the planted text (headers, other fields) may legitimately
    // reach the audit record; only the rest must not.
    let body_text = String::from_utf8_lossy(body);
    let elsewhere = body_text.replacen(&format!(" ; {secret} ; "), " ; ", 1);
    for w in windows(secret, 12) {
        if elsewhere.contains(w) || headers.iter().any(|(k, v)| k.contains(w) || v.contains(w)) {
            continue;
        }
        assert!(!audit.contains(w), "audit record holds part of a planted {entity}");
    }
    if let (Outcome::Forwarded(out), Some(spec)) = (&outcome, profile_for(headers)) {
        let text = String::from_utf8_lossy(out);
        let before = body_text.split(&format!(" ; {secret} ; ")).next().unwrap_or("");
        if spec.rewrites.contains(&entity)
            && !(known::skip() && known::f4_data_url(body))
            && !known::ip_after_version_word(entity, before)
        {
            // `before` is 0 when the planted text landed in a slot this endpoint does not send.
            let (before, after) = (body_text.matches(secret).count(), text.matches(secret).count());
            assert!(before == 0 || after < before, "planted {entity} forwarded by profile {}", spec.name);
        }
        assert!(!spec.blocks.contains(&entity), "planted {entity} forwarded by profile {} that blocks it", spec.name);
    }
    outcome
}

const RAW_PATHS: &[&str] = &[
    "/api/v1/chat/completions",
    "/api/v1/completions",
    "/api/v1/responses",
    "/api/v1/messages",
    "/api/v1/embeddings",
    "/api/v1/rerank",
    "/api/v1/other",
    "/api/v1/presets/approved/chat/completions",
];
const RAW_PROFILES: &[Option<&str>] =
    &[None, Some("confidential"), Some("restricted"), Some("public"), Some("locked"), Some(" Public "), Some("nope")];

/// Headers for the raw target from the first three bytes; returns (headers, end_of_stream, body).
pub fn raw_headers(data: &[u8]) -> (Vec<(String, String)>, bool, &[u8]) {
    let (sel, body) = data.split_at(data.len().min(3));
    let b = |i: usize| sel.get(i).copied().unwrap_or(0);
    let mut h: Vec<(String, String)> = vec![
        (":method".into(), "POST".into()),
        (":path".into(), RAW_PATHS[usize::from(b(0)) % RAW_PATHS.len()].into()),
        (":authority".into(), "openrouter.ai".into()),
        ("content-type".into(), "application/json".into()),
    ];
    if let Some(p) = RAW_PROFILES[usize::from(b(1)) % RAW_PROFILES.len()] {
        h.push(("x-data-classification".into(), p.into()));
    }
    let flags = b(2);
    if flags & 1 != 0 {
        h.push(("x-user-id".into(), " alice@example.com ".into()));
    }
    if flags & 2 != 0 {
        h.push(("authorization".into(), "Bearer client".into()));
    }
    if flags & 4 != 0 {
        h.push(("content-length".into(), body.len().to_string()));
    }
    // A compressed body: the decoders (core::decode) on fuzzed bytes; both flags stack two codings (415).
    if flags & 16 != 0 {
        h.push(("content-encoding".into(), "gzip".into()));
    }
    if flags & 32 != 0 {
        h.push(("content-encoding".into(), "zstd".into()));
    }
    (h, flags & 8 != 0, body)
}
