//! The hand-written reader against serde: the same configurations give the same values (compared
//! through `Debug`), the same field and variant lists, and errors at the same paths.

use super::build::{GUARD_FIELDS, MAX_PRICE_FIELDS, PROFILE_FIELDS, PROVIDER_FIELDS};
use super::build_pii::{CUSTOM_FIELDS, DICTIONARY_FIELDS, PII_FIELDS};
use super::build_spend::{LIMIT_FIELDS, PRICE_FIELDS, SPEND_FIELDS};
use super::*;

/// The shipped default policy.
const DEFAULT_POLICY: &str = include_str!("../../../envoy/policy.default.json");
/// The same policy inlined in the local Envoy config.
const ENVOY_YAML: &str = include_str!("../../../envoy/envoy.yaml");
/// The richest fuzz seed: hash, sort, max_price, custom patterns, dictionaries, allow list.
const FUZZ_SEED: &str = include_str!("../../../fuzz/seeds/policy_config/c238eb148f6271b7");

/// README.md's minimal policy.
const README_POLICY: &str = r#"{"hosts": ["openrouter.ai"], "clusters": ["openrouter"], "default_profile": "confidential",
 "profile_header": "x-data-classification", "user_header": "x-user-id",
 "profiles": {"confidential": {
    "models": [{"deny": "*:free"}, {"allow": "anthropic/*"}, {"allow": "openai/*"}],
    "provider": {"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny"},
    "max_tokens": 8192}}}"#;

/// docs/configuration.md's `models` and `provider` examples, and docs/pii.md's `pii` example.
const DOCS_POLICY: &str = r#"{"default_profile": "c", "pseudonym_key": "0123456789abcdef0123", "profiles": {"c": {
"models": [
  {"deny": "*:free"},
  {"deny": "openrouter/*"},
  {"allow": "anthropic/*"},
  {"allow": "openai/gpt-4o*"},
  {"allow": "@preset/support-bot"}
],
"provider": {"order": ["anthropic", "amazon-bedrock"], "allow_fallbacks": false,
             "data_collection": "deny", "zdr": true, "max_price": {"prompt": 5, "completion": 20}},
"pii": {
  "enabled": true,
  "builtin_defaults": true,
  "entities": {"EMAIL": "hash", "PHONE": "redact", "US_SSN": "block", "SECRETS": "redact", "PERSON": "flag"},
  "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}", "action": "redact"}],
  "dictionaries": [{"name": "CODENAME", "terms": ["Nightjar", "Blue Heron"], "action": "redact"}],
  "allow": ["support@example.com"]
}}}}"#;

/// docs/pii.md's one-line `pii` examples.
const DOCS_PII: [&str; 4] = [
    r#"{"builtin_defaults": false, "entities": {"EMAIL": "redact", "SECRETS": "block"}}"#,
    r#"{"entities": {"PERSON": "redact", "ADDRESS": "redact", "PHONE": "hash"}}"#,
    r#"{"enabled": false}"#,
    r#"{"custom": [{"name": "TICKET", "pattern": "(?i)\\bticket-[0-9]{4,8}", "action": "flag"}]}"#,
];

/// tests/e2e/test_pii.py's policy.
const E2E_PII_POLICY: &str = r#"{"clusters": ["openrouter"], "profile_header": "x-data-classification",
"default_profile": "redact", "pseudonym_key": "e2e-pseudonym-key-0123456789", "profiles": {
"redact": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "provider": {"allow_fallbacks": false, "data_collection": "deny"},
  "max_tokens": 1000, "pii": {"builtin_defaults": false,
  "entities": {"EMAIL": "redact", "PHONE": "redact", "US_SSN": "redact", "CREDIT_CARD": "redact", "IBAN": "redact", "IP_ADDRESS": "redact", "SECRETS": "redact"},
  "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}"}],
  "dictionaries": [{"name": "CODENAME", "terms": ["Blue Heron", "Nightjar"]}],
  "allow": ["support@example.com"]}},
"hash": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "max_tokens": 1000, "pii": {"entities": {"EMAIL": "hash", "PHONE": "hash"}}},
"block": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "pii": {"entities": {"US_SSN": "block", "OPENROUTER_KEY": "block"}}},
"flag": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "pii": {"builtin_defaults": false, "entities": {"EMAIL": "flag", "CREDIT_CARD": "flag"}}}}}"#;

/// tests/e2e/test_requests.py's policy.
const E2E_REQUESTS_POLICY: &str = r#"{"hosts": ["openrouter.ai", "eu.openrouter.ai", "us.openrouter.ai"],
"clusters": ["openrouter"], "max_body_bytes": 65536, "max_json_depth": 32, "profile_header": "x-data-classification",
"default_profile": "internal", "user_header": "x-user-id", "write_user": true, "profiles": {
"internal": {"models": [{"deny": "*:free"}, {"allow": "anthropic/*"}, {"allow": "openai/gpt-4o*"}, {"deny": "*"}],
  "provider": {"order": ["anthropic", "openai"], "allow_fallbacks": false, "data_collection": "deny"}, "max_tokens": 1000},
"strict": {"models": [{"allow": "anthropic/claude-3.5-sonnet"}, {"deny": "*"}],
  "provider": {"order": ["anthropic"], "allow_fallbacks": false, "data_collection": "deny", "zdr": true},
  "max_tokens": 500, "max_tokens_action": "reject", "reject_client_keys": true},
"open": {"models": [{"allow": "*"}]}}}"#;

/// tests/e2e/test_metrics.py's and test_response_audit.py's policy shape (`enforce_served`).
const E2E_METRICS_POLICY: &str = r#"{"clusters": ["openrouter"], "default_profile": "m", "profiles": {
"m": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "provider": {"order": ["anthropic"], "allow_fallbacks": false}},
"e": {"models": [{"allow": "anthropic/*"}, {"deny": "*"}], "provider": {"order": ["anthropic"], "allow_fallbacks": false},
  "enforce_served": true}}}"#;

/// Every field set, mostly away from its default; `null` for optional ones; escapes in strings.
const EVERY_FIELD: &str = r#"{"hosts": ["a.example", "b.ex\u0061mple"], "clusters": ["c1", "c2"],
"max_body_bytes": 18446744073709551615, "max_json_depth": 4294967295, "profile_header": "x-p",
"default_profile": "p\u00e9", "user_header": "x-u", "write_user": true, "unknown_endpoints": "reject",
"pseudonym_key": "k\"k\\k\nkkkkkkkkkkkkkkk", "profiles": {
"p\u00e9": {"models": [{"allow": "a/*"}, {"deny": "\u002a"}], "provider": {"order": ["x"], "allow_fallbacks": true,
  "require_parameters": false, "data_collection": "allow", "zdr": false, "only": [], "ignore": ["y"],
  "quantizations": ["fp8", "int4"], "sort": "throughput",
  "max_price": {"prompt": 0.5, "completion": 1e1, "request": -0, "image": 3, "audio": 2.25E-3},
  "enforce_distillable_text": true},
  "max_tokens": 0, "max_tokens_action": "reject", "reject_client_keys": true, "enforce_served": true,
  "pii": {"enabled": false, "builtin_defaults": false, "entities": {"EMAIL": "off", "PHONE": "block"},
  "custom": [{"name": "A", "pattern": "a+", "action": "hash"}, {"pattern": "b+", "name": "B"}],
  "dictionaries": [{"name": "D", "terms": []}, {"name": "E", "terms": ["t"], "action": "flag"}], "allow": []}},
"q": {"models": [], "provider": null, "max_tokens": null},
"r": {"models": [], "provider": {"order": null, "allow_fallbacks": null, "require_parameters": null,
  "data_collection": null, "zdr": null, "only": null, "ignore": null, "quantizations": null, "sort": "latency",
  "max_price": {"prompt": null}, "enforce_distillable_text": null}},
"s": {"models": [], "provider": {"sort": "price", "max_price": null}, "pii": {}, "max_cost_per_request": 0.25},
"t": {"models": [], "max_tokens_action": "clamp", "max_cost_per_request": null}},
"spend": {"prices": [{"model": "a/*", "prompt": 3, "completion": 1.5e1, "request": 0.01}, {"completion": 0, "prompt": 0, "model": "*"}],
  "assume_output_tokens": 4096, "team_header": "x-team",
  "limits": [{"name": "l1", "per": ["user", "team", "profile", "model"], "window": "minute", "unit": "requests", "max": 10,
    "profiles": ["p\u00e9"], "models": "a/*", "mode": "shadow", "on_store_error": "open"},
    {"name": "l2", "window": "hour", "unit": "tokens", "max": 1e6, "models": null, "mode": "enforce", "on_store_error": "closed"},
    {"name": "l3", "window": "day", "unit": "cost", "max": 2.5}, {"name": "l4", "window": "month", "unit": "cost", "max": 100}]}}"#;

/// The configuration as read by serde (the reference).
fn by_serde(src: &str) -> Result<GuardConfig, serde_json::Error> {
    serde_json::from_str(src)
}

/// Asserts that both readers accept `src` and build the same configuration.
fn assert_same(src: &str) {
    let ours = parse(src.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let theirs = by_serde(src).unwrap_or_else(|e| panic!("serde: {e}\n{src}"));
    assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{src}");
}

/// The policy JSON inlined in envoy/envoy.yaml's `value: '...'`.
fn envoy_yaml_policy() -> &'static str {
    let line = ENVOY_YAML.lines().find(|l| l.trim_start().starts_with("value: '{")).unwrap();
    line.trim().strip_prefix("value: '").unwrap().strip_suffix('\'').unwrap()
}

/// The shipped policy with the Istio manifests' `clusters` (deploy/istio/wasmplugin-*.yaml carry
/// the same policy as YAML except for this list).
fn istio_policy() -> String {
    let clusters = r#""clusters": ["outbound|80||openrouter.ai", "outbound|80||eu.openrouter.ai", "outbound|80||us.openrouter.ai"]"#;
    let out = DEFAULT_POLICY.replace(r#""clusters": ["openrouter"]"#, clusters);
    assert_ne!(out, DEFAULT_POLICY);
    out
}

/// A policy with one profile whose `pii` is `pii`.
fn with_pii(pii: &str) -> String {
    format!(r#"{{"default_profile": "p", "profiles": {{"p": {{"models": [], "pii": {pii}}}}}}}"#)
}

#[test]
fn shipped_example_and_test_policies_read_the_same_as_with_serde() {
    let mut docs: Vec<String> = vec![
        DEFAULT_POLICY.into(),
        envoy_yaml_policy().into(),
        istio_policy(),
        FUZZ_SEED.into(),
        README_POLICY.into(),
        DOCS_POLICY.into(),
        E2E_PII_POLICY.into(),
        E2E_REQUESTS_POLICY.into(),
        E2E_METRICS_POLICY.into(),
        EVERY_FIELD.into(),
        r#"{"default_profile": "p", "profiles": {}}"#.into(),
    ];
    docs.extend(DOCS_PII.iter().map(|p| with_pii(p)));
    for doc in &docs {
        assert_same(doc);
    }
}

#[test]
fn defaults_are_serdes_defaults() {
    let cfg = parse(br#"{"default_profile": "p", "profiles": {"p": {"models": []}}}"#).unwrap();
    assert_eq!(cfg.hosts, ["openrouter.ai", "eu.openrouter.ai", "us.openrouter.ai"]);
    assert_eq!((cfg.max_body_bytes, cfg.max_json_depth), (1024 * 1024, 64));
    assert_eq!(cfg.profile_header, "x-data-classification");
    assert_eq!(cfg.unknown_endpoints, UnknownEndpoints::Reject);
    let p = &cfg.profiles["p"];
    assert_eq!(p.max_tokens_action, CapAction::Clamp);
    assert!(p.pii.enabled && p.pii.builtin_defaults);
    let cfg = parse(
        with_pii(r#"{"custom": [{"name": "A", "pattern": "a"}], "dictionaries": [{"name": "D", "terms": []}]}"#)
            .as_bytes(),
    )
    .unwrap();
    let pii = &cfg.profiles["p"].pii;
    assert_eq!((pii.custom[0].action, pii.dictionaries[0].action), (Action::Redact, Action::Redact));
}

/// serde's message for `src` without its ` at line L column C` suffix.
fn serde_message<T: serde::de::DeserializeOwned + std::fmt::Debug>(src: &str) -> String {
    let e = serde_json::from_str::<T>(src).unwrap_err().to_string();
    e.split(" at line ").next().unwrap().to_string()
}

/// Our message for an unknown field or variant in a document.
fn our_message(src: &str) -> String {
    parse(src.as_bytes()).unwrap_err().message
}

#[test]
fn field_and_variant_lists_match_the_types() {
    let cases: [(&[&str], String); 10] = [
        (GUARD_FIELDS, serde_message::<GuardConfig>(r#"{"zzz": 0}"#)),
        (PROFILE_FIELDS, serde_message::<ProfileConfig>(r#"{"zzz": 0}"#)),
        (PROVIDER_FIELDS, serde_message::<ProviderConfig>(r#"{"zzz": 0}"#)),
        (MAX_PRICE_FIELDS, serde_message::<MaxPrice>(r#"{"zzz": 0}"#)),
        (PII_FIELDS, serde_message::<PiiConfig>(r#"{"zzz": 0}"#)),
        (CUSTOM_FIELDS, serde_message::<CustomPatternConfig>(r#"{"zzz": 0}"#)),
        (DICTIONARY_FIELDS, serde_message::<DictionaryConfig>(r#"{"zzz": 0}"#)),
        (SPEND_FIELDS, serde_message::<SpendConfig>(r#"{"zzz": 0}"#)),
        (PRICE_FIELDS, serde_message::<PriceConfig>(r#"{"zzz": 0}"#)),
        (LIMIT_FIELDS, serde_message::<LimitConfig>(r#"{"zzz": 0}"#)),
    ];
    for (fields, theirs) in cases {
        assert_eq!(read::unknown_field(read::Path::Root, "zzz", fields).message, theirs);
    }
    // Variants, through whole documents.
    let profile = |p: &str| format!(r#"{{"default_profile": "p", "profiles": {{"p": {{"models": [], {p}}}}}}}"#);
    // A limit with every required field, `field` set to `value`.
    let spend = |field: &str, value: &str| {
        let mut limit = serde_json::json!({"name": "n", "window": "day", "unit": "cost", "max": 1});
        limit[field] = serde_json::from_str(value).unwrap();
        format!(r#"{{"default_profile": "p", "profiles": {{}}, "spend": {{"limits": [{limit}]}}}}"#)
    };
    let cases = [
        (
            r#"{"unknown_endpoints": "zzz", "default_profile": "p", "profiles": {}}"#.to_string(),
            serde_message::<UnknownEndpoints>(r#""zzz""#),
        ),
        (profile(r#""max_tokens_action": "zzz""#), serde_message::<CapAction>(r#""zzz""#)),
        (profile(r#""provider": {"data_collection": "zzz"}"#), serde_message::<DataCollection>(r#""zzz""#)),
        (profile(r#""provider": {"sort": "zzz"}"#), serde_message::<ProviderSort>(r#""zzz""#)),
        (spend("per", r#"["zzz"]"#), serde_message::<LimitKey>(r#""zzz""#)),
        (spend("window", r#""zzz""#), serde_message::<LimitWindow>(r#""zzz""#)),
        (spend("unit", r#""zzz""#), serde_message::<LimitUnit>(r#""zzz""#)),
        (spend("mode", r#""zzz""#), serde_message::<LimitMode>(r#""zzz""#)),
        (spend("on_store_error", r#""zzz""#), serde_message::<StoreFailure>(r#""zzz""#)),
        (with_pii(r#"{"entities": {"EMAIL": "zzz"}}"#), serde_message::<Action>(r#""zzz""#)),
        (
            profile(r#""models": [{"zzz": "x"}]"#).replace(r#""models": [], "#, ""),
            serde_message::<ModelRuleConfig>(r#"{"zzz": "x"}"#),
        ),
    ];
    for (doc, theirs) in cases {
        assert_eq!(our_message(&doc), theirs, "{doc}");
    }
}

/// The path and message of the error for `src`.
fn error(src: &str) -> (String, String) {
    let e = parse(src.as_bytes()).unwrap_err();
    assert!(by_serde(src).is_err(), "serde accepts {src}");
    (e.path, e.message)
}

#[test]
fn errors_name_the_path_and_word_the_reason_like_serde() {
    let p = |rest: &str| format!(r#"{{"default_profile": "p", "profiles": {{"p": {{{rest}}}}}}}"#);
    let cases: Vec<(String, &str, &str)> = vec![
        (r#"{"profiles": {}}"#.into(), ".", "missing field `default_profile`"),
        (r#"{"default_profile": "p"}"#.into(), ".", "missing field `profiles`"),
        (r#"{"profiles": 1}"#.into(), "profiles", "invalid type: integer `1`, expected a map"),
        (p(r#""provider": {}"#), "profiles.p", "missing field `models`"),
        (p(r#""models": [], "write_user": 1"#), "profiles.p.write_user", "unknown field `write_user`, expected one of `models`, `provider`, `max_tokens`, `max_tokens_action`, `pii`, `output_pii`, `reject_client_keys`, `enforce_served`, `max_cost_per_request`"),
        (p(r#""models": [], "reject_client_keys": "yes""#), "profiles.p.reject_client_keys", "invalid type: string, expected a boolean"),
        (p(r#""models": [], "max_tokens": 1.0"#), "profiles.p.max_tokens", "invalid type: floating point `1.0`, expected u64"),
        (p(r#""models": [], "max_tokens": -5"#), "profiles.p.max_tokens", "invalid value: integer `-5`, expected u64"),
        (p(r#""models": [], "max_tokens_action": null"#), "profiles.p.max_tokens_action", "invalid type: null, expected `clamp` or `reject`"),
        (p(r#""models": [], "pii": null"#), "profiles.p.pii", "invalid type: null, expected a map"),
        (p(r#""models": [{"allow": "a"}, {"allow": 1}]"#), "profiles.p.models[1].allow", "invalid type: integer `1`, expected a string"),
        (p(r#""models": [{"allow": "a", "deny": "b"}]"#), "profiles.p.models[0]", "invalid length 2, expected an object with one key, `allow` or `deny`"),
        (p(r#""models": ["a"]"#), "profiles.p.models[0]", "invalid type: string, expected an object with one key, `allow` or `deny`"),
        (p(r#""models": {}"#), "profiles.p.models", "invalid type: map, expected a sequence"),
        (p(r#""models": [], "provider": {"orderr": []}"#), "profiles.p.provider.orderr", "unknown field `orderr`, expected one of `order`, `allow_fallbacks`, `require_parameters`, `data_collection`, `zdr`, `only`, `ignore`, `quantizations`, `sort`, `max_price`, `enforce_distillable_text`"),
        (p(r#""models": [], "provider": {"only": ["a", 2]}"#), "profiles.p.provider.only[1]", "invalid type: integer `2`, expected a string"),
        (p(r#""models": [], "provider": {"max_price": {"prompt": "1"}}"#), "profiles.p.provider.max_price.prompt", "invalid type: string, expected f64"),
        (p(r#""models": [], "provider": {"max_price": {"prompt": 1e999}}"#), "profiles.p.provider.max_price.prompt", "number out of range: `1e999`"),
        (with_pii(r#"{"custom": [{"name": "A"}]}"#), "profiles.p.pii.custom[0]", "missing field `pattern`"),
        (with_pii(r#"{"custom": [{"pattern": "a"}]}"#), "profiles.p.pii.custom[0]", "missing field `name`"),
        (with_pii(r#"{"custom": [{"name": "A", "pattern": "a", "actoin": "flag"}]}"#), "profiles.p.pii.custom[0].actoin", "unknown field `actoin`, expected one of `name`, `pattern`, `action`"),
        (with_pii(r#"{"dictionaries": [{"name": "D"}]}"#), "profiles.p.pii.dictionaries[0]", "missing field `terms`"),
        (with_pii(r#"{"dictionaries": [{"terms": []}]}"#), "profiles.p.pii.dictionaries[0]", "missing field `name`"),
        (with_pii(r#"{"entites": {}}"#), "profiles.p.pii.entites", "unknown field `entites`, expected one of `enabled`, `builtin_defaults`, `entities`, `custom`, `dictionaries`, `allow`, `keep_local_addresses`"),
        (with_pii(r#"{"entities": {"EMAIL": "masked"}}"#), "profiles.p.pii.entities.EMAIL", "unknown variant `masked`, expected one of `off`, `redact`, `hash`, `mask`, `block`, `flag`"),
        (r#"{"default_profile": "p", "profiles": {}, "max_json_depth": 4294967296}"#.into(), "max_json_depth", "invalid value: integer `4294967296`, expected u32"),
        (r#"{"default_profile": "p", "profiles": {}, "hosts": null}"#.into(), "hosts", "invalid type: null, expected a sequence"),
        ("[]".into(), ".", "invalid type: sequence, expected a map"),
        ("".into(), ".", "not valid JSON at byte 0 (line 1, column 1)"),
        (r#"{"default_profile": "p", "profiles": {}} x"#.into(), ".", "not valid JSON at byte 41 (line 1, column 42)"),
    ];
    for (src, path, message) in cases {
        assert_eq!(error(&src), (path.to_string(), message.to_string()), "{src}");
    }
}

#[test]
fn the_first_problem_in_document_order_is_reported() {
    let src = r#"{"profiles": {"p": {"models": [], "zdr": 1}}, "bogus": 1}"#;
    assert_eq!(parse(src.as_bytes()).unwrap_err().path, "profiles.p.zdr");
    let src = r#"{"bogus": 1, "profiles": {"p": {"models": [], "zdr": 1}}}"#;
    assert_eq!(parse(src.as_bytes()).unwrap_err().path, "bogus");
}

#[test]
fn stricter_than_serde_where_serde_is_lax() {
    // Duplicate keys: serde keeps the last profile; the strict parser refuses the document.
    let src = r#"{"default_profile": "p", "profiles": {"p": {"models": []}, "p": {"models": [{"deny": "*"}]}}}"#;
    assert!(by_serde(src).is_ok());
    let e = parse(src.as_bytes()).unwrap_err();
    assert_eq!((e.path.as_str(), e.message.as_str()), (".", "duplicate object key at byte 59 (line 1, column 60)"));
    // Structs written as arrays: serde accepts them positionally; nobody means that.
    let src =
        r#"{"default_profile": "p", "profiles": {"p": {"models": [], "provider": {"max_price": [1, 2, 3, 4, 5]}}}}"#;
    assert!(by_serde(src).is_ok());
    assert_eq!(parse(src.as_bytes()).unwrap_err().path, "profiles.p.provider.max_price");
    // Nesting is bounded.
    let deep =
        format!(r#"{{"default_profile": "p", "profiles": {{}}, "hosts": {}1{}}}"#, "[".repeat(70), "]".repeat(70));
    assert_eq!(parse(deep.as_bytes()).unwrap_err().message, "nests deeper than 64 levels");
}

/// Removes every `max_price` value. serde_json (without its `float_roundtrip` feature) may round a
/// long decimal one unit in the last place away from the correctly rounded value Rust's parser gives.
fn take_prices(cfg: &mut GuardConfig) -> Vec<f64> {
    let mut out = Vec::new();
    for p in cfg.profiles.values_mut() {
        if let Some(m) = p.provider.as_mut().and_then(|x| x.max_price.as_mut()) {
            for v in [&mut m.prompt, &mut m.completion, &mut m.request, &mut m.image, &mut m.audio] {
                out.extend(v.take());
            }
        }
    }
    out
}

/// Every document of the policy fuzz corpus (`fuzz/corpus/policy_config`, large, not in every
/// checkout): whatever either reader accepts, the other builds identically (prices to the last
/// unit or so), except documents only the strict parser refuses (duplicate keys) or only serde
/// accepts (structs written as arrays).
/// Run with `cargo test -- --ignored fuzz_corpus`.
#[test]
#[ignore = "reads the whole fuzz corpus"]
fn fuzz_corpus_reads_the_same_as_with_serde() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/policy_config");
    let (mut both, mut neither, mut only_serde) = (0, 0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let theirs = serde_json::from_slice::<GuardConfig>(&bytes);
        match (parse(&bytes), theirs) {
            (Ok(mut ours), Ok(mut theirs)) => {
                let (a, b) = (take_prices(&mut ours), take_prices(&mut theirs));
                assert_eq!(format!("{ours:?}"), format!("{theirs:?}"), "{}", String::from_utf8_lossy(&bytes));
                assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= x.abs() * 4.0 * f64::EPSILON), "{a:?} {b:?}");
                both += 1;
            }
            (Err(_), Err(_)) => neither += 1,
            (Ok(_), Err(e)) => panic!("only we accept ({e}): {}", String::from_utf8_lossy(&bytes)),
            (Err(e), Ok(_)) => {
                let strict =
                    e.message.starts_with("duplicate object key") || e.message.contains("sequence, expected a map");
                assert!(strict, "only serde accepts ({e}): {}", String::from_utf8_lossy(&bytes));
                only_serde += 1;
            }
        }
    }
    println!("accepted by both {both}, refused by both {neither}, refused only by the strict reader {only_serde}");
}
