//! Keys and numbers of JSON answers and of stream events' whole values through the stages.

use serde_json::{json, Value};

use super::super::outscan_stage::OutputInspection;
use super::super::restore::Restore;
use super::super::rewrite::{rewrite_json, Pipeline, RewriteError, SseRewriter};
use crate::core::pii::mask::Masks;

const KEY: &str = "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";

/// Output inspection: e-mails and cards redacted, secrets blocked.
fn inspecting() -> Pipeline {
    let cfg = r#"{"default_profile":"p","profiles":{"p":{"models":[],"output_pii":{"builtin_defaults":false,
        "entities":{"EMAIL":"redact","CREDIT_CARD":"redact","SECRETS":"block"}}}}}"#;
    let policy = crate::core::policy::Policy::from_json(cfg.as_bytes()).unwrap();
    let engine = policy.profiles.into_iter().next().unwrap().output.unwrap();
    Pipeline::new(vec![Box::new(OutputInspection::new(engine))])
}

fn tool_use(input: Value) -> Value {
    json!({"type": "message", "content": [{"type": "tool_use", "id": "toolu_1", "name": "save", "input": input}],
        "usage": {"input_tokens": 1234567, "output_tokens": 9}, "created": 1733240000})
}

fn rewrite(p: &mut Pipeline, v: &Value) -> Result<Value, RewriteError> {
    let body = v.to_string();
    let out = rewrite_json(body.as_bytes(), p)?;
    Ok(serde_json::from_slice(out.as_deref().unwrap_or(body.as_bytes())).unwrap())
}

#[test]
fn a_secret_in_an_object_key_is_blocked() {
    let v = tool_use(json!({KEY: true}));
    assert_eq!(rewrite(&mut inspecting(), &v), Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
}

#[test]
fn keys_and_long_numbers_are_redacted_and_keys_stay_unique() {
    let v = tool_use(json!({"jane@example.net": "primary", "bob@example.org": "other", "[EMAIL]": 1,
        "card": 4111111111111111_u64, "count": 12}));
    let got = rewrite(&mut inspecting(), &v).unwrap();
    let input = got["content"][0]["input"].as_object().unwrap();
    let mut keys: Vec<&str> = input.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["[EMAIL]", "[EMAIL]#2", "[EMAIL]#3", "card", "count"]);
    assert_eq!(input["[EMAIL]"], 1);
    assert!(input["card"].is_string() && !input["card"].as_str().unwrap().contains("4111"), "{got}");
    assert_eq!(input["count"], 12);
    // Counts, timestamps and token numbers are no findings.
    assert_eq!(got["usage"]["input_tokens"], 1234567);
    assert_eq!(got["created"], 1733240000);
}

#[test]
fn a_clean_answer_with_long_numbers_is_not_rewritten() {
    let body = json!({"id": "gen-1", "created": 1733240000, "choices": [{"index": 0, "message": {"content": "hi"}}],
        "usage": {"prompt_tokens": 1048576, "total_tokens": 2097152}, "seed": 4294967295_u64});
    assert_eq!(rewrite_json(body.to_string().as_bytes(), &mut inspecting()), Ok(None));
}

#[test]
fn a_placeholder_key_is_restored() {
    let mut m = Masks::default();
    m.placeholder("EMAIL", "ann@x.com");
    let mut p = Pipeline::new(vec![Box::new(Restore::new(m, vec!["EMAIL".into()]))]);
    let got = rewrite(&mut p, &tool_use(json!({"[EMAIL_1]": "to", "ann@x.com": "kept"}))).unwrap();
    let input = got["content"][0]["input"].as_object().unwrap();
    let mut keys: Vec<&str> = input.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["ann@x.com", "ann@x.com#2"]);
}

#[test]
fn a_streamed_tool_use_block_start_has_its_keys_and_numbers_inspected() {
    let start = json!({"type": "content_block_start", "index": 0,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "save", "input": {KEY: true}}});
    let stream = format!("event: content_block_start\ndata: {start}\n\n");
    let mut r = SseRewriter::new(inspecting(), 1 << 16);
    assert_eq!(r.on_chunk(stream.as_bytes()), Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
    let start = json!({"type": "content_block_start", "index": 0,
        "content_block": {"type": "tool_use", "input": {"a@example.net": 4111111111111111_u64}}});
    let stream = format!("event: content_block_start\ndata: {start}\n\n");
    let mut r = SseRewriter::new(inspecting(), 1 << 16);
    let out = String::from_utf8(r.on_chunk(stream.as_bytes()).unwrap()).unwrap();
    assert!(!out.contains("a@example.net") && !out.contains("4111111111111111"), "{out}");
    let data: Value = serde_json::from_str(out.lines().nth(1).unwrap().strip_prefix("data: ").unwrap()).unwrap();
    assert!(data["content_block"]["input"]["[EMAIL]"].is_string(), "{data}");
}

fn with_arguments(args: &str) -> Value {
    json!({"choices": [{"index": 0, "message": {"content": "ok", "tool_calls": [{"id": "c", "type": "function",
        "function": {"name": "save", "arguments": args}}]}}]})
}

#[test]
fn a_key_wrapped_by_a_newline_escape_in_tool_arguments_is_blocked() {
    let args = json!({"note": format!("Key:\n{}\n{}", &KEY[..41], &KEY[41..])}).to_string();
    assert!(args.contains("\\n"), "{args}");
    assert_eq!(rewrite(&mut inspecting(), &with_arguments(&args)), Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
    // Streamed: the escape cut anywhere across two argument deltas.
    for cut in [args.find("\\n").unwrap() + 1, args.len() / 2] {
        let (a, b) = args.split_at(cut);
        let mut stream = String::new();
        for piece in [a, b] {
            let ev = json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0,
                "function": {"arguments": piece}}]}}]});
            stream.push_str(&format!("data: {ev}\n\n"));
        }
        stream.push_str("data: [DONE]\n\n");
        let mut r = SseRewriter::new(inspecting(), 1 << 16);
        let got = r.on_chunk(stream.as_bytes()).and_then(|_| r.finish());
        assert_eq!(got, Err(RewriteError::Blocked("OPENROUTER_KEY".into())), "cut {cut}");
    }
}

#[test]
fn a_card_wrapped_by_a_newline_escape_is_redacted_and_clean_escapes_are_kept() {
    let args = json!({"card": "4111 1111\n1111 1111", "note": "line one\nline\ttwo"}).to_string();
    let got = rewrite(&mut inspecting(), &with_arguments(&args)).unwrap();
    let out = got["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(out).unwrap();
    assert_eq!(parsed["card"], "[CREDIT_CARD]", "{out}");
    assert_eq!(parsed["note"], "line one\nline\ttwo");
    let clean = json!({"note": "line one\nline\ttwo \"q\""}).to_string();
    assert_eq!(rewrite_json(with_arguments(&clean).to_string().as_bytes(), &mut inspecting()), Ok(None));
}

#[test]
fn json_escapes_in_structured_output_content_do_not_hide_an_email_or_a_key() {
    let content = r#"{"contact": "jane\u0040example.net", "n": 1}"#;
    let got = rewrite(&mut inspecting(), &json!({"choices": [{"index": 0, "message": {"content": content}}]})).unwrap();
    let parsed: Value = serde_json::from_str(got["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(parsed, json!({"contact": "[EMAIL]", "n": 1}));
    let content = format!(r#"{{"token": "{}"}}"#, KEY.replace('-', r"\u002d"));
    let body = json!({"choices": [{"index": 0, "message": {"content": content}}]});
    assert_eq!(rewrite(&mut inspecting(), &body), Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
    // Streamed in two deltas cut inside the key's escapes.
    for cut in [10, 14, 20, 40] {
        let mut stream = String::new();
        for piece in [&content[..cut], &content[cut..]] {
            stream.push_str(&format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": piece}}]})));
        }
        let mut r = SseRewriter::new(inspecting(), 1 << 16);
        let got = r.on_chunk(stream.as_bytes()).and_then(|_| r.finish());
        assert_eq!(got, Err(RewriteError::Blocked("OPENROUTER_KEY".into())), "cut {cut}");
    }
}
