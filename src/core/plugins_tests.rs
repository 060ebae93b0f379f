//! Plugin uses found in a body, and the per-profile plugin policy.

use super::*;
use crate::core::config::read_as;
use crate::core::json;

fn uses_of(body: &str, models: &[&str]) -> Result<Vec<PluginUse>, ()> {
    let root = json::parse(body.as_bytes(), 16).unwrap();
    let models: Vec<String> = models.iter().map(|m| (*m).to_string()).collect();
    uses(&root, &models)
}

fn web(engine: Option<&str>, results: u64) -> PluginUse {
    PluginUse { id: "web".into(), engine: engine.map(Into::into), results }
}

#[test]
fn plugins_their_engines_and_online_variants_are_found() {
    let got = uses_of(
        r#"{"plugins": [{"id": "Web", "engine": "EXA", "max_results": 100},
                        {"id": "file-parser", "pdf": {"engine": "mistral-ocr"}}, {"id": "web", "engine": null}]}"#,
        &["anthropic/claude-3.5-sonnet:online", "openai/gpt-4o:nitro"],
    )
    .unwrap();
    let parser =
        PluginUse { id: "file-parser".into(), engine: Some("mistral-ocr".into()), results: DEFAULT_WEB_RESULTS };
    assert_eq!(got, vec![web(Some("exa"), 100), parser, web(None, 5), web(None, 5)]);
    assert_eq!(uses_of(r#"{"plugins": null}"#, &["a/b"]), Ok(vec![]));
    for bad in [
        r#"{"plugins": {}}"#,
        r#"{"plugins": [{"engine": "exa"}]}"#,
        r#"{"plugins": ["web"]}"#,
        r#"{"plugins": [{"id": "web", "engine": 1}]}"#,
        r#"{"plugins": [{"id": "web", "max_results": "9"}]}"#,
    ] {
        assert_eq!(uses_of(bad, &[]), Err(()), "{bad}");
    }
}

fn provider(json: &str) -> ProviderConfig {
    read_as(json, ProviderConfig::read).unwrap()
}

/// Rules from a JSON list of rule objects.
fn rules(json: &str) -> Vec<PluginRuleConfig> {
    let root = json::parse(json.as_bytes(), 16).unwrap();
    let Kind::Array(items) = &root.kind else { panic!("{json}") };
    items.iter().map(|n| read_as(&json[n.start..n.end], PluginRuleConfig::read).unwrap()).collect()
}

#[test]
fn a_profile_that_restricts_where_prompts_go_allows_only_the_plugins_it_lists() {
    let exa = [web(Some("exa"), 10)];
    let online = [web(None, 5)];
    let ocr = [PluginUse { id: "file-parser".into(), engine: Some("mistral-ocr".into()), results: 5 }];
    let text = [PluginUse { id: "file-parser".into(), engine: Some("pdf-text".into()), results: 5 }];
    // Unrestricted profiles allow every plugin.
    for p in [None, Some(provider(r#"{"sort": "price"}"#)), Some(provider(r#"{"order": ["a"]}"#))] {
        let pol = PluginPolicy::compile(None, p.as_ref(), "profiles.p.plugins").unwrap();
        assert!(pol.denied(&exa).is_none() && !pol.restricted());
    }
    // Restricting profiles allow none by default.
    for p in [
        r#"{"only": ["anthropic"]}"#,
        r#"{"zdr": true}"#,
        r#"{"data_collection": "deny"}"#,
        r#"{"order": ["anthropic"], "allow_fallbacks": false}"#,
    ] {
        let pol = PluginPolicy::compile(None, Some(&provider(p)), "profiles.p.plugins").unwrap();
        assert_eq!(pol.denied(&exa), Some(&exa[0]), "{p}");
        assert_eq!(pol.denied(&online), Some(&online[0]), "{p}");
        assert!(pol.denied(&[]).is_none() && pol.restricted());
    }
    // An explicit list: by id, and by engine when the rule names one.
    let pinned = provider(r#"{"only": ["anthropic"]}"#);
    let r = rules(r#"[{"id": "file-parser", "engine": "PDF-text"}, {"id": "web", "engine": "native"}]"#);
    let pol = PluginPolicy::compile(Some(&r), Some(&pinned), "profiles.p.plugins").unwrap();
    assert!(pol.denied(&text).is_none());
    assert!(pol.denied(&ocr).is_some() && pol.denied(&exa).is_some() && pol.denied(&online).is_some());
    assert!(pol.denied(&[web(Some("native"), 5)]).is_none());
    let any_web = rules(r#"[{"id": "web"}]"#);
    let pol = PluginPolicy::compile(Some(&any_web), Some(&pinned), "profiles.p.plugins").unwrap();
    assert!(pol.denied(&exa).is_none() && pol.denied(&online).is_none() && pol.denied(&ocr).is_some());
    // `[]` denies every plugin even on an unrestricted profile.
    let pol = PluginPolicy::compile(Some(&[]), None, "profiles.p.plugins").unwrap();
    assert!(pol.denied(&exa).is_some());
    let bad = rules(r#"[{"id": "web", "engine": " "}]"#);
    assert_eq!(
        PluginPolicy::compile(Some(&bad), None, "profiles.p.plugins").unwrap_err().path,
        "profiles.p.plugins[0].engine"
    );
}
