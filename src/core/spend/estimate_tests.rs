//! The worst case of a request: prompt bound, output cap, cost over every reachable model.

use super::*;
use crate::core::json;
use crate::core::policy::Policy;
use crate::core::spend::feed::{PriceView, Prices};

const POLICY: &str = r#"{"default_profile": "capped", "profiles": {
  "capped": {"models": [{"allow": "*"}], "max_tokens": 1000},
  "open": {"models": [{"allow": "*"}]}},
  "spend": {"prices": [{"model": "*:free", "prompt": 0, "completion": 0},
                       {"model": "anthropic/*", "prompt": 3, "completion": 15},
                       {"model": "google/*", "prompt": 1, "completion": 2, "image_tokens": 258},
                       {"model": "openai/gpt-4o-mini", "prompt": 0.15, "completion": 0.6, "request": 0.01}]}}"#;

fn worst(profile: &str, endpoint: Endpoint, body: &str, assume: Option<u64>) -> Worst {
    worst_with(profile, endpoint, body, assume.map(AssumeOutput::Tokens), &PriceView::Policy)
}

fn worst_with(profile: &str, endpoint: Endpoint, body: &str, assume: Option<AssumeOutput>, view: &PriceView) -> Worst {
    let p = Policy::from_json(POLICY.as_bytes()).unwrap();
    let prof = &p.profiles[p.profile_by_name(profile).unwrap()];
    let root = json::parse(body.as_bytes(), 16).unwrap();
    let mut models: Vec<String> =
        root.get("model").and_then(Node::as_str).map(|m| m.into_owned()).into_iter().collect();
    if let Some(Kind::Array(items)) = root.get("models").map(|n| &n.kind) {
        models.extend(items.iter().filter_map(Node::as_str).map(|m| m.into_owned()));
    }
    worst_case(
        Prices { table: &p.spend.prices, fetched: view },
        assume,
        prof.max_tokens,
        endpoint,
        &root,
        body.len(),
        &models,
    )
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

/// A fetched list: one model with a completion cap, one with a context only, one with neither.
fn fetched() -> PriceView {
    let list = r#"{"data": [
      {"id": "anthropic/a", "context_length": 200000, "pricing": {"prompt": "0.000003", "completion": "0.000015"},
       "top_provider": {"context_length": 200000, "max_completion_tokens": 8192}},
      {"id": "google/g", "context_length": 1048576, "pricing": {"prompt": "0.000001", "completion": "0.000002"},
       "top_provider": {"context_length": 1048576, "max_completion_tokens": null}},
      {"id": "x/nolimit", "pricing": {"prompt": "0.000001", "completion": "0.000001"}}]}"#;
    PriceView::Fresh(std::rc::Rc::new(super::super::feed::FetchedPrices::parse(list.as_bytes(), 1).unwrap()))
}

#[test]
fn model_context_assumes_each_models_listed_limit_and_fails_closed_without_one() {
    let ctx = Some(AssumeOutput::ModelContext);
    let b = |models: &str, rest: &str| format!(r#"{{"models":[{models}],{rest}"messages":[]}}"#);
    // max_completion_tokens, else context_length; the record carries the largest.
    let body = b(r#""anthropic/a""#, "");
    let w = worst_with("open", CHAT, &body, ctx, &fetched());
    assert_eq!(w.output_tokens, Ok(8192));
    assert_eq!(w.cost_micro, Ok(body.len() as u64 * 3 + 8192 * 15));
    let body = b(r#""anthropic/a","google/g""#, r#""n":2,"#);
    let w = worst_with("open", CHAT, &body, ctx, &fetched());
    assert_eq!(w.output_tokens, Ok(2 * 1_048_576));
    // Each model priced at its own limit: google's 2 Mi tokens × $2/M beats anthropic's 16 Ki × $15/M.
    let n = body.len() as u64;
    assert_eq!(w.cost_micro, Ok((n * 3 + 2 * 8192 * 15).max(n + 2 * 1_048_576 * 2)));
    // A cap in the request or the profile wins over the assumption.
    assert_eq!(
        worst_with("open", CHAT, &b(r#""google/g""#, r#""max_tokens":10,"#), ctx, &fetched()).output_tokens,
        Ok(10)
    );
    assert_eq!(worst_with("capped", CHAT, &b(r#""google/g""#, ""), ctx, &fetched()).output_tokens, Ok(1000));
    // Not listed, listed without a limit, no model named: the request must cap its output.
    for models in [r#""anthropic/a","mistral/m""#, r#""x/nolimit""#, ""] {
        let w = worst_with("open", CHAT, &b(models, ""), ctx, &fetched());
        assert_eq!((w.output_tokens, w.cost_micro), (Err(Unknown::NoOutputCap), Err(Unknown::NoOutputCap)), "{models}");
    }
    // No fresh list: stale (503), whatever the model.
    let w = worst_with("open", CHAT, &b(r#""anthropic/a""#, ""), ctx, &PriceView::Stale);
    assert_eq!((w.output_tokens, w.cost_micro), (Err(Unknown::PricesStale), Err(Unknown::PricesStale)));
}

#[test]
fn a_zero_negative_or_fractional_cap_never_bounds_the_output() {
    // Refused before the estimate (request.rs); here the estimate alone must not read 0 as a cap.
    let b = |rest: &str| format!(r#"{{"model":"anthropic/a",{rest}"messages":[]}}"#);
    for v in ["0", "-5", "1.5", "1e3", "0.0"] {
        for f in ["max_tokens", "max_completion_tokens"] {
            let body = b(&format!(r#""{f}":{v},"#));
            assert_eq!(worst("capped", CHAT, &body, None).output_tokens, Ok(1000), "{f}: {v}");
            assert_eq!(worst("open", CHAT, &body, None).output_tokens, Err(Unknown::NoOutputCap), "{f}: {v}");
            assert_eq!(worst("open", CHAT, &body, Some(4096)).output_tokens, Ok(4096), "{f}: {v}");
        }
    }
    let body = r#"{"model":"anthropic/a","input":"hi","max_output_tokens":0}"#;
    assert_eq!(worst("capped", Endpoint::Responses, body, None).output_tokens, Ok(1000));
}

#[test]
fn images_by_url_add_their_allowance_and_other_media_by_url_are_unbounded() {
    let part = |p: &str| {
        format!(
            r#"{{"model":"anthropic/a","messages":[{{"role":"user","content":[{{"type":"text","text":"hi"}},{p}]}}]}}"#
        )
    };
    let img = part(r#"{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}"#);
    assert_eq!(worst("capped", CHAT, &img, None).prompt_tokens, Ok(img.len() as u64 + DEFAULT_IMAGE_TOKENS));
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

#[test]
fn anthropic_media_by_reference_is_counted_or_unbounded_like_the_chat_shapes() {
    const MSG: Endpoint = Endpoint::Messages;
    let part = |p: &str| {
        format!(r#"{{"model":"anthropic/a","max_tokens":10,"messages":[{{"role":"user","content":[{p}]}}]}}"#)
    };
    let doc = part(r#"{"type":"document","source":{"type":"url","url":"https://example.com/huge.pdf"}}"#);
    assert_eq!(worst("capped", MSG, &doc, None).cost_micro, Err(Unknown::RemoteMedia));
    let doc_id = part(r#"{"type":"document","source":{"type":"file","file_id":"file_011"}}"#);
    assert_eq!(worst("capped", MSG, &doc_id, None).prompt_tokens, Err(Unknown::RemoteMedia));
    let doc_inline =
        part(r#"{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"AAAA"}}"#);
    assert_eq!(worst("capped", MSG, &doc_inline, None).prompt_tokens, Ok(doc_inline.len() as u64));
    let img = part(r#"{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}"#);
    assert_eq!(worst("capped", MSG, &img, None).prompt_tokens, Ok(img.len() as u64 + DEFAULT_IMAGE_TOKENS));
    // Inside a tool result too.
    let tool = part(
        r#"{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"x"},
            {"type":"document","source":{"type":"url","url":"https://example.com/b.pdf"}}]}"#,
    );
    assert_eq!(worst("capped", MSG, &tool, None).prompt_tokens, Err(Unknown::RemoteMedia));
    let tool_img = part(
        r#"{"type":"tool_result","tool_use_id":"t1","content":[{"type":"image","source":{"type":"url","url":"https://e.com/a.png"}}]}"#,
    );
    assert_eq!(worst("capped", MSG, &tool_img, None).prompt_tokens, Ok(tool_img.len() as u64 + DEFAULT_IMAGE_TOKENS));
    // A block type the estimate does not know, at any part position: no known bound.
    for unknown in [
        part(r#"{"type":"container_upload","file_id":"f"}"#),
        part(r#"{"type":"web_fetch","url":"https://example.com"}"#),
        part(r#"{"type":"tool_result","tool_use_id":"t","content":[{"type":"mystery"}]}"#),
        r#"{"model":"anthropic/a","max_tokens":10,"system":[{"type":"document","text":"x"}],"messages":[]}"#.into(),
    ] {
        assert!(worst("capped", MSG, &unknown, None).cost_micro.is_err(), "{unknown}");
    }
    let text = part(r#"{"type":"tool_use","id":"t","name":"f","input":{"u":"https://example.com"}}"#);
    assert_eq!(worst("capped", MSG, &text, None).prompt_tokens, Ok(text.len() as u64));
}

#[test]
fn every_part_type_of_chat_and_responses_is_known_and_others_fail_closed() {
    let chat = |p: &str| format!(r#"{{"model":"anthropic/a","messages":[{{"role":"user","content":[{p}]}}]}}"#);
    let bogus = chat(r#"{"type":"hologram","hologram":{"url":"https://example.com/h"}}"#);
    assert_eq!(worst("capped", CHAT, &bogus, None).prompt_tokens, Err(Unknown::PartType));
    let untyped = chat(r#"{"text":"hi"}"#);
    assert_eq!(worst("capped", CHAT, &untyped, None).prompt_tokens, Err(Unknown::PartType));
    let by_id = chat(r#"{"type":"file","file":{"file_id":"file-abc"}}"#);
    assert_eq!(worst("capped", CHAT, &by_id, None).prompt_tokens, Err(Unknown::RemoteMedia));
    let video = chat(r#"{"type":"video_url","video_url":{"url":"https://example.com/v.mp4"}}"#);
    assert_eq!(worst("capped", CHAT, &video, None).prompt_tokens, Err(Unknown::RemoteMedia));
    // A string content and tool schemas (whose `type` fields are not parts) are text.
    let plain = r#"{"model":"anthropic/a","messages":[{"role":"user","content":"hi"}],
        "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#;
    assert_eq!(worst("capped", CHAT, plain, None).prompt_tokens, Ok(plain.len() as u64));

    const RESP: Endpoint = Endpoint::Responses;
    let input = |items: &str| format!(r#"{{"model":"anthropic/a","input":[{items}]}}"#);
    let ok = input(
        r#"{"role":"user","content":[{"type":"input_text","text":"hi"},
            {"type":"input_image","image_url":"https://example.com/a.png"}]},
           {"type":"function_call_output","call_id":"c","output":"42"}"#,
    );
    assert_eq!(worst("capped", RESP, &ok, None).prompt_tokens, Ok(ok.len() as u64 + DEFAULT_IMAGE_TOKENS));
    let file = input(r#"{"role":"user","content":[{"type":"input_file","file_url":"https://example.com/a.pdf"}]}"#);
    assert_eq!(worst("capped", RESP, &file, None).prompt_tokens, Err(Unknown::RemoteMedia));
    for unknown in [input(r#"{"type":"item_reference","id":"msg_1"}"#), input(r#"{"content":"no role"}"#)] {
        assert_eq!(worst("capped", RESP, &unknown, None).prompt_tokens, Err(Unknown::PartType), "{unknown}");
    }
    // /completions has no parts.
    let prompt = r#"{"model":"anthropic/a","prompt":"see https://example.com/a.pdf"}"#;
    assert_eq!(worst("capped", Endpoint::Completions, prompt, None).prompt_tokens, Ok(prompt.len() as u64));
}

#[test]
fn an_image_by_url_costs_each_models_allowance_and_the_bound_the_largest() {
    let body = |model: &str| {
        format!(
            r#"{{{model},"max_tokens":10,"messages":[{{"role":"user","content":[{{"type":"image_url","image_url":{{"url":"https://x.example/a.png"}}}},{{"type":"image_url","image_url":{{"url":"https://x.example/b.png"}}}}]}}]}}"#
        )
    };
    // google/*: 258 per image (its price entry); 2 images.
    let one = body(r#""model":"google/gemini-2.5-flash""#);
    let w = worst("capped", CHAT, &one, None);
    let len = one.len() as u64;
    assert_eq!(w.prompt_tokens, Ok(len + 2 * 258));
    assert_eq!(w.cost_micro, Ok(len + 2 * 258 + 10 * 2)); // $1/M prompt, $2/M completion
                                                          // A model whose entry names no allowance: the largest any model bills (Qwen-VL 16,384, gpt-4o-mini 48,169).
    let qwen = body(r#""model":"anthropic/claude-3.5-sonnet""#);
    assert_eq!(worst("capped", CHAT, &qwen, None).prompt_tokens, Ok(qwen.len() as u64 + 2 * DEFAULT_IMAGE_TOKENS));
    // Both reachable: the bound takes the larger allowance; each model's cost its own, the dearest wins.
    let both = body(r#""model":"google/gemini-2.5-flash","models":["anthropic/claude-3.5-sonnet"]"#);
    let w = worst("capped", CHAT, &both, None);
    let len = both.len() as u64;
    assert_eq!(w.prompt_tokens, Ok(len + 2 * DEFAULT_IMAGE_TOKENS));
    assert_eq!(w.cost_micro, Ok((len + 2 * DEFAULT_IMAGE_TOKENS) * 3 + 10 * 15));
}
