//! The worst case of a request: prompt bound, output cap, cost over every reachable model.

use super::*;
use crate::core::json;
use crate::core::policy::Policy;

const POLICY: &str = r#"{"default_profile": "capped", "profiles": {
  "capped": {"models": [{"allow": "*"}], "max_tokens": 1000},
  "open": {"models": [{"allow": "*"}]}},
  "spend": {"prices": [{"model": "*:free", "prompt": 0, "completion": 0},
                       {"model": "anthropic/*", "prompt": 3, "completion": 15},
                       {"model": "openai/gpt-4o-mini", "prompt": 0.15, "completion": 0.6, "request": 0.01}]}}"#;

fn worst(profile: &str, endpoint: Endpoint, body: &str, assume: Option<u64>) -> Worst {
    let p = Policy::from_json(POLICY.as_bytes()).unwrap();
    let prof = &p.profiles[p.profile_by_name(profile).unwrap()];
    let root = json::parse(body.as_bytes(), 16).unwrap();
    let mut models: Vec<String> =
        root.get("model").and_then(Node::as_str).map(|m| m.into_owned()).into_iter().collect();
    if let Some(Kind::Array(items)) = root.get("models").map(|n| &n.kind) {
        models.extend(items.iter().filter_map(Node::as_str).map(|m| m.into_owned()));
    }
    worst_case(&p.spend.prices, assume, prof.max_tokens, endpoint, &root, body.len(), &models)
}

const CHAT: Endpoint = Endpoint::ChatCompletions;

#[test]
fn prompt_tokens_are_bounded_by_the_bytes_sent() {
    let body = r#"{"model":"anthropic/claude-3.5-sonnet","messages":[{"role":"user","content":"hello there"}]}"#;
    let w = worst("capped", CHAT, body, None);
    assert_eq!(w.prompt_tokens, Ok(body.len() as u64));
    // The profile cap is inserted when the request sends none.
    assert_eq!(w.output_tokens, Ok(1000));
    // 87 bytes × $3/M + 1000 × $15/M = 261 + 15000 micro-USD.
    assert_eq!(w.cost_micro, Ok(body.len() as u64 * 3 + 15_000));
}

#[test]
fn the_costliest_reachable_model_sets_the_cost() {
    let body =
        r#"{"models":["openai/gpt-4o-mini","anthropic/claude-3-haiku","x/y:free"],"max_tokens":100,"messages":[]}"#;
    let w = worst("capped", CHAT, body, None);
    let n = body.len() as u64;
    assert_eq!(w.cost_micro, Ok((n * 3 + 100 * 15).max(((n as f64 * 0.15 + 60.0 + 10_000.0) as u64) + 1)));
    let body = r#"{"models":["openai/gpt-4o-mini","mistral/large"],"max_tokens":100,"messages":[]}"#;
    assert_eq!(worst("capped", CHAT, body, None).cost_micro, Err(Unknown::NoPrice));
}

#[test]
fn the_output_cap_is_the_request_field_lowered_to_the_profile_cap_times_n() {
    let b = |rest: &str| format!(r#"{{"model":"anthropic/a",{rest}"messages":[]}}"#);
    assert_eq!(worst("capped", CHAT, &b(r#""max_tokens":50,"#), None).output_tokens, Ok(50));
    assert_eq!(worst("capped", CHAT, &b(r#""max_tokens":5000,"#), None).output_tokens, Ok(1000));
    assert_eq!(worst("capped", CHAT, &b(r#""max_tokens":null,"#), None).output_tokens, Ok(1000));
    assert_eq!(worst("open", CHAT, &b(r#""max_tokens":50,"max_completion_tokens":70,"#), None).output_tokens, Ok(70));
    assert_eq!(worst("open", CHAT, &b(r#""max_tokens":50,"n":3,"#), None).output_tokens, Ok(150));
    // No cap anywhere: unknown, unless an output is assumed.
    assert_eq!(worst("open", CHAT, &b(""), None).output_tokens, Err(Unknown::NoOutputCap));
    assert_eq!(worst("open", CHAT, &b(r#""max_tokens":null,"#), None).output_tokens, Err(Unknown::NoOutputCap));
    assert_eq!(worst("open", CHAT, &b(""), Some(4096)).output_tokens, Ok(4096));
    assert_eq!(worst("open", CHAT, &b(""), None).cost_micro, Err(Unknown::NoOutputCap));
    // The Responses API's field.
    let body = r#"{"model":"anthropic/a","input":"hi","max_output_tokens":64}"#;
    assert_eq!(worst("open", Endpoint::Responses, body, None).output_tokens, Ok(64));
}

#[test]
fn images_by_url_add_their_allowance_and_other_media_by_url_are_unbounded() {
    let part = |p: &str| {
        format!(
            r#"{{"model":"anthropic/a","messages":[{{"role":"user","content":[{{"type":"text","text":"hi"}},{p}]}}]}}"#
        )
    };
    let img = part(r#"{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}"#);
    assert_eq!(worst("capped", CHAT, &img, None).prompt_tokens, Ok(img.len() as u64 + IMAGE_URL_TOKENS));
    let inline = part(r#"{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}"#);
    assert_eq!(worst("capped", CHAT, &inline, None).prompt_tokens, Ok(inline.len() as u64));
    let pdf = part(r#"{"type":"file","file":{"filename":"a.pdf","file_data":"https://example.com/a.pdf"}}"#);
    assert_eq!(worst("capped", CHAT, &pdf, None).prompt_tokens, Err(Unknown::RemoteMedia));
    assert_eq!(worst("capped", CHAT, &pdf, None).cost_micro, Err(Unknown::RemoteMedia));
    let inline_pdf =
        part(r#"{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,AAAA"}}"#);
    assert_eq!(worst("capped", CHAT, &inline_pdf, None).prompt_tokens, Ok(inline_pdf.len() as u64));
    // A text part that mentions a URL is text.
    let text = part(r#"{"type":"text","text":"see https://example.com/a.pdf"}"#);
    assert_eq!(worst("capped", CHAT, &text, None).prompt_tokens, Ok(text.len() as u64));
}
