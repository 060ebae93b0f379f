//! The production reader: every shipped, documented and tested policy reads to the values serde's
//! derives gave before the types lost them (`readings.txt`, one `Debug` line per document, recorded
//! from `serde_json::from_str` at the commit that removed the derives), errors name the path and
//! word the reason like serde did, and the field and variant lists are the types' own.

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

/// What serde's derives read from each document of [`documents`], in order.
const READINGS: &str = include_str!("readings.txt");

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

/// Every shipped, documented and tested policy.
fn documents() -> Vec<String> {
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
    docs
}

#[test]
fn shipped_example_and_test_policies_read_as_serde_read_them() {
    let docs = documents();
    assert_eq!(docs.len(), READINGS.lines().count());
    for (doc, want) in docs.iter().zip(READINGS.lines()) {
        let ours = parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        assert_eq!(format!("{ours:?}"), want, "{doc}");
    }
}

#[test]
fn defaults_are_the_documented_ones() {
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

/// Our message for an unknown field or variant in a document.
fn our_message(src: &str) -> String {
    parse(src.as_bytes()).unwrap_err().message
}

#[test]
fn field_and_variant_lists_match_the_types() {
    let cases: [(&[&str], &str); 13] = [
        (GuardConfig::FIELDS, "unknown field `zzz`, expected one of `hosts`, `clusters`, `max_body_bytes`, `max_json_depth`, `profile_header`, `default_profile`, `user_header`, `write_user`, `unknown_endpoints`, `pseudonym_key`, `profiles`, `spend`"),
        (ProfileConfig::FIELDS, "unknown field `zzz`, expected one of `models`, `provider`, `max_tokens`, `max_tokens_action`, `pii`, `output_pii`, `reject_client_keys`, `enforce_served`, `max_cost_per_request`, `plugins`"),
        (ProviderConfig::FIELDS, "unknown field `zzz`, expected one of `order`, `allow_fallbacks`, `require_parameters`, `data_collection`, `zdr`, `only`, `ignore`, `quantizations`, `sort`, `max_price`, `enforce_distillable_text`"),
        (MaxPrice::FIELDS, "unknown field `zzz`, expected one of `prompt`, `completion`, `request`, `image`, `audio`"),
        (PiiConfig::FIELDS, "unknown field `zzz`, expected one of `enabled`, `builtin_defaults`, `entities`, `custom`, `dictionaries`, `allow`, `keep_local_addresses`"),
        (CustomPatternConfig::FIELDS, "unknown field `zzz`, expected one of `name`, `pattern`, `action`"),
        (DictionaryConfig::FIELDS, "unknown field `zzz`, expected one of `name`, `terms`, `action`"),
        (SpendConfig::FIELDS, "unknown field `zzz`, expected one of `prices`, `assume_output_tokens`, `team_header`, `limits`, `plugin_prices`, `store`, `prices_refresh`"),
        (StoreConfig::FIELDS, "unknown field `zzz`, expected one of `kind`, `cluster`, `domain`, `timeout_ms`, `reservation_ttl_s`, `authority`"),
        (PriceConfig::FIELDS, "unknown field `zzz`, expected one of `model`, `prompt`, `completion`, `request`, `image_tokens`"),
        (LimitConfig::FIELDS, "unknown field `zzz`, expected one of `name`, `per`, `window`, `unit`, `max`, `profiles`, `models`, `mode`, `on_store_error`"),
        (PluginRuleConfig::FIELDS, "unknown field `zzz`, expected `id` or `engine`"),
        (PluginPriceConfig::FIELDS, "unknown field `zzz`, expected one of `id`, `engine`, `request`, `per_result`"),
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
            "unknown variant `zzz`, expected `scan` or `reject`".to_string(),
        ),
        (profile(r#""max_tokens_action": "zzz""#), "unknown variant `zzz`, expected `clamp` or `reject`".to_string()),
        (
            profile(r#""provider": {"data_collection": "zzz"}"#),
            "unknown variant `zzz`, expected `allow` or `deny`".to_string(),
        ),
        (
            profile(r#""provider": {"sort": "zzz"}"#),
            "unknown variant `zzz`, expected one of `price`, `throughput`, `latency`".to_string(),
        ),
        (
            spend("per", r#"["zzz"]"#),
            "unknown variant `zzz`, expected one of `user`, `team`, `profile`, `model`".to_string(),
        ),
        (
            spend("window", r#""zzz""#),
            "unknown variant `zzz`, expected one of `minute`, `hour`, `day`, `month`".to_string(),
        ),
        (spend("unit", r#""zzz""#), "unknown variant `zzz`, expected one of `requests`, `tokens`, `cost`".to_string()),
        (spend("mode", r#""zzz""#), "unknown variant `zzz`, expected `enforce` or `shadow`".to_string()),
        (spend("on_store_error", r#""zzz""#), "unknown variant `zzz`, expected `closed` or `open`".to_string()),
        (
            r#"{"default_profile": "p", "profiles": {}, "spend": {"store": {"kind": "zzz"}}}"#.to_string(),
            "unknown variant `zzz`, expected `embedded` or `rls`".to_string(),
        ),
        (
            with_pii(r#"{"entities": {"EMAIL": "zzz"}}"#),
            "unknown variant `zzz`, expected one of `off`, `redact`, `hash`, `mask`, `block`, `flag`".to_string(),
        ),
        (
            profile(r#""models": [{"zzz": "x"}]"#).replace(r#""models": [], "#, ""),
            "unknown variant `zzz`, expected `allow` or `deny`".to_string(),
        ),
    ];
    for (doc, theirs) in cases {
        assert_eq!(our_message(&doc), theirs, "{doc}");
    }
}

/// The path and message of the error for `src`.
fn error(src: &str) -> (String, String) {
    let e = parse(src.as_bytes()).unwrap_err();
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
        (p(r#""models": [], "write_user": 1"#), "profiles.p.write_user", "unknown field `write_user`, expected one of `models`, `provider`, `max_tokens`, `max_tokens_action`, `pii`, `output_pii`, `reject_client_keys`, `enforce_served`, `max_cost_per_request`, `plugins`"),
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
    let e = parse(src.as_bytes()).unwrap_err();
    assert_eq!((e.path.as_str(), e.message.as_str()), (".", "duplicate object key at byte 59 (line 1, column 60)"));
    // Structs written as arrays: serde accepts them positionally; nobody means that.
    let src =
        r#"{"default_profile": "p", "profiles": {"p": {"models": [], "provider": {"max_price": [1, 2, 3, 4, 5]}}}}"#;
    assert_eq!(parse(src.as_bytes()).unwrap_err().path, "profiles.p.provider.max_price");
    // Nesting is bounded.
    let deep =
        format!(r#"{{"default_profile": "p", "profiles": {{}}, "hosts": {}1{}}}"#, "[".repeat(70), "]".repeat(70));
    assert_eq!(parse(deep.as_bytes()).unwrap_err().message, "nests deeper than 64 levels");
}
