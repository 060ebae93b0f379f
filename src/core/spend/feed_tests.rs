use super::*;
use crate::core::config::PriceConfig;

/// A model list in OpenRouter's shape (fields trimmed to what matters plus some that do not).
const LIST: &str = r#"{"data": [
 {"id": "anthropic/claude-3.5-sonnet", "name": "Anthropic: Claude 3.5 Sonnet", "context_length": 200000,
  "architecture": {"modality": "text+image->text", "input_modalities": ["text", "image"], "tokenizer": "Claude"},
  "pricing": {"prompt": "0.000003", "completion": "0.000015", "request": "0", "image": "0.0048",
              "web_search": "0", "internal_reasoning": "0", "input_cache_read": "0.0000003"},
  "top_provider": {"context_length": 200000, "max_completion_tokens": 8192, "is_moderated": true},
  "supported_parameters": ["max_tokens", "temperature", "tools"], "per_request_limits": null},
 {"id": "openai/o3", "pricing": {"prompt": "0.000002", "completion": "0.000008", "internal_reasoning": "0.00001"}},
 {"id": "meta-llama/llama-3.3-70b-instruct:free", "pricing": {"prompt": "0", "completion": "0", "request": "0"}},
 {"id": "meta-llama/llama-3.3-70b-instruct", "pricing": {"prompt": "0.00000013", "completion": "0.0000004"}},
 {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
 {"id": "x/garbage", "pricing": {"prompt": "cheap", "completion": "0.1"}},
 {"id": "x/no-completion", "pricing": {"prompt": "0.1"}},
 {"id": "x/no-pricing"},
 {"pricing": {"prompt": "0.1", "completion": "0.1"}},
 {"id": "x/huge", "pricing": {"prompt": "1e300", "completion": "0"}}
]}"#;

fn list() -> FetchedPrices {
    FetchedPrices::parse(LIST.as_bytes(), 5).unwrap()
}

fn table(entries: &[(&str, f64, f64)]) -> PriceTable {
    let cfg: Vec<PriceConfig> = entries
        .iter()
        .map(|(m, p, c)| PriceConfig {
            model: (*m).into(),
            prompt: *p,
            completion: *c,
            request: 0.0,
            image_tokens: Some(1600),
        })
        .collect();
    PriceTable::compile(&cfg, "spend.prices").unwrap()
}

#[test]
fn openrouters_list_is_read_in_usd_per_million_and_unusable_entries_are_left_out() {
    let l = list();
    assert_eq!((l.len(), l.unpriced, l.fetched_at_ns), (4, 6, 5));
    let s = l.lookup("anthropic/claude-3.5-sonnet").unwrap();
    assert!((s.prompt - 3.0).abs() < 1e-9 && (s.completion - 15.0).abs() < 1e-9, "{s:?}");
    assert!((s.image - 0.0048).abs() < 1e-12 && s.request == 0.0, "{s:?}");
    // Reasoning billed above the completion price bounds the output.
    assert!((l.lookup("openai/o3").unwrap().completion - 10.0).abs() < 1e-9);
    // A router's "-1", garbage, missing fields, a price over the ceiling: unpriced.
    for m in ["openrouter/auto", "x/garbage", "x/no-completion", "x/no-pricing", "x/huge"] {
        assert!(l.lookup(m).is_none(), "{m}");
    }
}

#[test]
fn the_output_limit_is_max_completion_tokens_else_context_length() {
    let l = list();
    assert_eq!(l.lookup("anthropic/claude-3.5-sonnet").unwrap().output_limit, Some(8192));
    assert_eq!(l.lookup("openai/o3").unwrap().output_limit, None);
    let list = r#"{"data": [
      {"id": "a/ctx", "context_length": 32000, "pricing": {"prompt": "0", "completion": "0"},
       "top_provider": {"max_completion_tokens": null}},
      {"id": "a/zero", "context_length": 0, "pricing": {"prompt": "0", "completion": "0"},
       "top_provider": {"max_completion_tokens": 0}},
      {"id": "a/str", "context_length": "4096", "pricing": {"prompt": "0", "completion": "0"}},
      {"id": "a/twice", "context_length": 1000, "pricing": {"prompt": "0", "completion": "0"}},
      {"id": "a/twice", "context_length": 3000, "pricing": {"prompt": "0", "completion": "0"}},
      {"id": "a/half", "context_length": 1000, "pricing": {"prompt": "0", "completion": "0"}},
      {"id": "a/half", "pricing": {"prompt": "0", "completion": "0"}}]}"#;
    let l = FetchedPrices::parse(list.as_bytes(), 1).unwrap();
    let limit = |m: &str| l.lookup(m).unwrap().output_limit;
    assert_eq!(limit("a/ctx"), Some(32000));
    assert_eq!(limit("a/ctx:nitro"), Some(32000));
    // 0, a string: no limit (the request must cap its output).
    assert_eq!((limit("a/zero"), limit("a/str")), (None, None));
    // Listed twice: the larger; one entry without a limit: none.
    assert_eq!((limit("a/twice"), limit("a/half")), (Some(3000), None));
    let table = PriceTable::default();
    let fresh = PriceView::Fresh(std::rc::Rc::new(l));
    let p = |view: &PriceView, m: &str| Prices { table: &table, fetched: view }.output_limit(m);
    assert_eq!(p(&fresh, "a/twice"), Ok(3000));
    assert_eq!(p(&fresh, "b/unlisted"), Err(Unknown::NoOutputCap));
    assert_eq!(p(&PriceView::Stale, "a/twice"), Err(Unknown::PricesStale));
    assert_eq!(p(&PriceView::Policy, "a/twice"), Err(Unknown::NoOutputCap));
}

#[test]
fn a_variant_is_its_own_entry_else_its_base_models() {
    let l = list();
    assert_eq!(l.lookup("meta-llama/llama-3.3-70b-instruct:free").unwrap().completion, 0.0);
    let nitro = l.lookup("meta-llama/llama-3.3-70b-instruct:nitro").unwrap();
    assert!((nitro.completion - 0.4).abs() < 1e-9);
    assert!(l.lookup("anthropic/claude-3.5-sonnet:thinking").is_some());
    assert!(l.lookup("anthropic/claude-3.5").is_none());
}

#[test]
fn garbage_is_refused_whole_without_quoting_it() {
    for (body, want) in [
        (&b"<html>502 Bad Gateway</html>"[..], FeedError::NotJson(0)),
        (b"{\"data\": {}}", FeedError::NoData),
        (b"[1,2]", FeedError::NoData),
        (
            b"{\"data\": [{\"id\": \"openrouter/auto\", \"pricing\": {\"prompt\": \"-1\", \"completion\": \"-1\"}}]}",
            FeedError::NoPrices,
        ),
        (b"{\"data\": []}", FeedError::NoPrices),
        (b"\xff\xfe", FeedError::NotJson(0)),
    ] {
        assert_eq!(FetchedPrices::parse(body, 1).unwrap_err(), want);
    }
    assert!(FeedError::NotJson(3).describe().contains("byte 3"));
}

#[test]
fn a_model_listed_twice_costs_the_dearer() {
    let body = br#"{"data": [{"id": "a/b", "pricing": {"prompt": "0.000001", "completion": "0.000009"}},
                            {"id": "A/B", "pricing": {"prompt": "0.000002", "completion": "0.000001"}}]}"#;
    let l = FetchedPrices::parse(body, 1).unwrap();
    let p = l.lookup("a/b").unwrap();
    assert!((p.prompt - 2.0).abs() < 1e-9 && (p.completion - 9.0).abs() < 1e-9 && l.len() == 2);
}

#[test]
fn the_dearer_of_the_policy_and_the_list_prices_a_model_and_stale_prices_price_nothing() {
    let t = table(&[("anthropic/*", 2.0, 20.0), ("openrouter/*", 10.0, 50.0)]);
    let fresh = PriceView::Fresh(Rc::new(list()));
    let p = Prices { table: &t, fetched: &fresh };
    let s = p.price("anthropic/claude-3.5-sonnet").unwrap();
    assert_eq!((s.prompt, s.completion, s.image_tokens), (3.0, 20.0, 1600));
    // Listed only: the list's price; the image allowance is the default.
    let o3 = p.price("openai/o3").unwrap();
    assert_eq!((o3.prompt, o3.image_tokens), (2.0, super::super::price::DEFAULT_IMAGE_TOKENS));
    // Not listed (a router): the policy's price; neither: no price.
    assert_eq!(p.price("openrouter/auto").unwrap().prompt, 10.0);
    assert_eq!(p.price("mistral/large"), Err(Unknown::NoPrice));
    let stale = PriceView::Stale;
    let p = Prices { table: &t, fetched: &stale };
    assert_eq!(p.price("anthropic/claude-3.5-sonnet"), Err(Unknown::PricesStale));
    let policy = PriceView::Policy;
    let p = Prices { table: &t, fetched: &policy };
    assert_eq!(p.price("anthropic/claude-3.5-sonnet").unwrap().prompt, 2.0);
    assert_eq!(p.price("openai/o3"), Err(Unknown::NoPrice));
}

fn refresh(json: &str) -> Result<PricesRefresh, ConfigError> {
    let policy = format!(
        r#"{{"default_profile": "p", "profiles": {{"p": {{"models": []}}}}, "spend": {{"prices_refresh": {json}}}}}"#
    );
    crate::core::policy::Policy::from_json(policy.as_bytes()).map(|p| p.spend.refresh().cloned().unwrap())
}

#[test]
fn the_refresh_config_has_defaults_and_bounds() {
    let r = refresh(r#"{"cluster": "openrouter"}"#).unwrap();
    assert_eq!((r.authority.as_str(), r.path.as_str()), ("openrouter.ai", "/api/v1/models"));
    assert_eq!((r.interval_ns, r.max_age_ns, r.timeout_ms, r.max_bytes), (3600 * NS, 86_400 * NS, 10_000, 8 << 20));
    for (bad, path) in [
        (r#"{"cluster": ""}"#, "spend.prices_refresh.cluster"),
        (r#"{"cluster": "c", "path": "api"}"#, "spend.prices_refresh.path"),
        (r#"{"cluster": "c", "interval_s": 0}"#, "spend.prices_refresh.interval_s"),
        (r#"{"cluster": "c", "interval_s": 60, "max_age_s": 59}"#, "spend.prices_refresh.max_age_s"),
        (r#"{"cluster": "c", "timeout_ms": 0}"#, "spend.prices_refresh.timeout_ms"),
        (r#"{"cluster": "c", "max_bytes": 10}"#, "spend.prices_refresh.max_bytes"),
    ] {
        assert_eq!(refresh(bad).unwrap_err().path, path, "{bad}");
    }
    assert!(refresh(r#"{"cluster": "c", "interval": 5}"#).unwrap_err().message.contains("unknown field"));
}

#[test]
fn fetched_prices_are_fresh_until_max_age_and_due_after_the_interval() {
    let r = refresh(r#"{"cluster": "c", "interval_s": 10, "max_age_s": 30}"#).unwrap();
    let at = 1_000 * NS;
    let f = Rc::new(FetchedPrices { fetched_at_ns: at, entries: Vec::new(), unpriced: 0 });
    assert!(matches!(r.view(Some(Rc::clone(&f)), at + 30 * NS), PriceView::Fresh(_)));
    assert!(matches!(r.view(Some(f), at + 30 * NS + 1), PriceView::Stale));
    assert!(matches!(r.view(None, at), PriceView::Stale));
    assert!(r.due(0, at) && !r.due(at, at + 9 * NS) && r.due(at, at + 10 * NS));
    assert_eq!(r.retry_ns(), 10 * NS);
}
