//! The walker scans every string and key of a body except structural fields that fit their grammar.

use serde_json::{json, Value};

use super::*;
use crate::core::base64;
use crate::core::pii::PiiConfig;

fn redactor() -> Redactor {
    let cfg = PiiConfig::from_json("{}").unwrap();
    Redactor::compile(&cfg, None, "pii").unwrap()
}

/// Walks `body` with the default entities; returns the rewritten body (or the input when nothing
/// changed) and the number of findings.
fn walk(body: &str) -> (String, u64) {
    let r = redactor();
    let mut tally = PiiTally::default();
    let root = json::parse(body.as_bytes(), 32).unwrap();
    let mut w = Walker::new(&r, &mut tally, 32);
    w.walk_body(&root);
    let edits = std::mem::take(&mut w.edits);
    let out = edit::apply(body.as_bytes(), edits).unwrap();
    (String::from_utf8(out).unwrap(), tally.total())
}

fn walk_json(v: &Value) -> Value {
    let (out, _) = walk(&v.to_string());
    serde_json::from_str(&out).expect("the walker's output is JSON")
}

const EMAIL: &str = "jane.doe@example.com";
const SSN: &str = "123-45-6789";

#[test]
fn fields_outside_the_old_text_roots_are_scanned() {
    let body = json!({
        "model": "openai/gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "metadata": {"customer": EMAIL, "note": format!("ssn {SSN}")},
        "user": EMAIL,
        "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": {
            "type": "object",
            "properties": {"email": {"type": "string", "description": format!("e.g. {EMAIL}"), "default": EMAIL,
                                     "enum": [EMAIL, "none"]}}}}},
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object",
            "properties": {"ssn": {"type": "string", "default": SSN}}}}}],
        "prediction": {"type": "content", "content": format!("Dear {EMAIL}")},
        "stop": [EMAIL, "\n\n"],
        "plugins": [{"id": "web", "search_prompt": format!("search for {EMAIL}")}],
        "session_id": EMAIL,
        "some_future_field": {"deep": [[{"x": format!("call 415-555-0132 or mail {EMAIL}")}]]},
    });
    let out = walk_json(&body).to_string();
    assert!(!out.contains(EMAIL), "{out}");
    assert!(!out.contains(SSN), "{out}");
    assert!(!out.contains("415-555-0132"), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["user"], "[EMAIL]");
    assert_eq!(v["metadata"]["customer"], "[EMAIL]");
    assert_eq!(v["plugins"][0]["search_prompt"], "search for [EMAIL]");
    assert_eq!(v["stop"][1], "\n\n");
}

#[test]
fn structural_fields_that_fit_their_grammar_are_left_byte_for_byte() {
    let body = r#"{"model":"openai/gpt-4o-2024-08-06","models":["anthropic/claude-3.5-sonnet:beta"],
"provider":{"order":["deepinfra/fp8","Together"],"allow_fallbacks":false,"data_collection":"deny","sort":"price"},
"route":"fallback","transforms":["middle-out"],
"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"ok",
"signature":"EqQBCkgIARABGAIiQL2/xz+yEqQBCkgIARABGAIiQL2/xz+yEqQBCkgIARABGAIiQL2/xz+y1234567890"}],
"tool_calls":[{"id":"call_4111111111111111","type":"function","function":{"name":"f","arguments":"{}"}}]},
{"role":"tool","tool_call_id":"call_4111111111111111","content":"done"},
{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==","detail":"high"}}]}]}"#;
    let (out, n) = walk(body);
    assert_eq!(out, body);
    assert_eq!(n, 0);
}

#[test]
fn a_structural_field_that_does_not_fit_is_scanned_like_text() {
    let body = json!({
        "model": "openai/gpt-4o",
        "messages": [{"role": EMAIL, "content": "x", "tool_call_id": SSN},
                     {"role": "user", "content": [{"type": format!("text {EMAIL}"), "text": "x"}]}],
        "previous_response_id": EMAIL,
    });
    let out = walk_json(&body);
    assert_eq!(out["messages"][0]["role"], "[EMAIL]");
    assert_eq!(out["messages"][0]["tool_call_id"], "[US_SSN]");
    assert_eq!(out["messages"][1]["content"][0]["type"], "text [EMAIL]");
    assert_eq!(out["previous_response_id"], "[EMAIL]");
    assert_eq!(out["model"], "openai/gpt-4o");
}

#[test]
fn object_keys_are_scanned_and_stay_unique() {
    let body = r#"{"metadata":{"jane.doe@example.com":1,"bob@example.org":2,"[EMAIL]":3,"plain":4},
"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"123-45-6789":{"type":"string"}}}}}]}"#;
    let (out, n) = walk(body);
    assert_eq!(n, 3);
    assert!(!out.contains(EMAIL) && !out.contains("bob@example.org") && !out.contains(SSN), "{out}");
    // The walker's output parses (our parser refuses duplicate keys) and keeps every member.
    json::parse(out.as_bytes(), 32).expect("valid JSON without duplicate keys");
    let v: Value = serde_json::from_str(&out).unwrap();
    let md = v["metadata"].as_object().unwrap();
    assert_eq!(md.len(), 4);
    assert_eq!(md["[EMAIL]"], 3, "an existing key keeps its name");
    assert_eq!(md["[EMAIL]#2"], 1);
    assert_eq!(md["[EMAIL]#3"], 2);
    assert_eq!(md["plain"], 4);
    assert!(v["tools"][0]["function"]["parameters"]["properties"]["[US_SSN]"].is_object());
}

#[test]
fn keys_inside_tool_call_arguments_are_scanned() {
    let args = json!({"jane.doe@example.com": {"ssn": SSN}}).to_string();
    let body = json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "f", "arguments": args}}]}]});
    let out = walk_json(&body);
    let inner: Value =
        serde_json::from_str(out["messages"][0]["tool_calls"][0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(inner, json!({"[EMAIL]": {"ssn": "[US_SSN]"}}));
}

#[test]
fn text_data_urls_are_decoded_scanned_and_re_encoded() {
    let csv = format!("name,email,ssn\nJane,{EMAIL},{SSN}\n");
    let url = format!("data:text/csv;base64,{}", base64::encode(csv.as_bytes()));
    let json_url =
        format!("data:application/json;base64,{}", base64::encode(format!("{{\"e\":\"{EMAIL}\"}}").as_bytes()));
    let png = format!("data:image/png;base64,{}", base64::encode(csv.as_bytes()));
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "file", "file": {"filename": "people.csv", "file_data": url}},
        {"type": "file", "file": {"filename": "x.json", "file_data": json_url}},
        {"type": "image_url", "image_url": {"url": png}},
    ]}]});
    let out = walk_json(&body);
    let parts = &out["messages"][0]["content"];
    let got = parts[0]["file"]["file_data"].as_str().unwrap();
    let payload = got.strip_prefix("data:text/csv;base64,").expect("same media type");
    let text = String::from_utf8(base64::decode(payload).unwrap()).unwrap();
    assert_eq!(text, "name,email,ssn\nJane,[EMAIL],[US_SSN]\n");
    let got = parts[1]["file"]["file_data"].as_str().unwrap();
    let text =
        String::from_utf8(base64::decode(got.strip_prefix("data:application/json;base64,").unwrap()).unwrap()).unwrap();
    assert_eq!(text, "{\"e\":\"[EMAIL]\"}");
    // Text behind a binary media type is text all the same: a reader that decodes it reads it.
    let got = parts[2]["image_url"]["url"].as_str().unwrap();
    let text = String::from_utf8(base64::decode(got.strip_prefix("data:image/png;base64,").unwrap()).unwrap()).unwrap();
    assert_eq!(text, "name,email,ssn\nJane,[EMAIL],[US_SSN]\n");
    assert_ne!(got, png);
}

#[test]
fn a_text_data_url_without_pii_is_untouched() {
    let url = format!("data:text/plain;base64,{}", base64::encode(b"hello world"));
    let body = json!({"input": [url]}).to_string();
    assert_eq!(walk(&body), (body.clone(), 0));
}

#[test]
fn every_field_that_reaches_a_model_provider_or_search_engine_is_scanned_whatever_the_endpoint() {
    // Formerly per-endpoint text roots; now the walk does not depend on the endpoint at all.
    let body = json!({
        "model": "anthropic/claude-3.5-sonnet",
        "provider": {"order": ["anthropic"]},
        "preset": "team-a",
        "input": format!("hi {EMAIL}"),
        "instructions": format!("ssn {SSN}"),
        "prompt": {"id": "pmpt_1", "variables": {"customer": EMAIL}},
        "text": {"format": {"type": "json_schema", "name": "x", "schema": {"properties": {"e": {"description": EMAIL}}}}},
        "system": [{"type": "text", "text": EMAIL}],
        "metadata": {"user_id": EMAIL},
        "stop_sequences": [SSN],
        "plugins": [{"id": "web", "search_prompt": EMAIL}],
    });
    let out = walk_json(&body);
    let text = out.to_string();
    assert!(!text.contains(EMAIL) && !text.contains(SSN), "{text}");
    assert_eq!(out["prompt"]["variables"]["customer"], "[EMAIL]");
    assert_eq!(out["text"]["format"]["schema"]["properties"]["e"]["description"], "[EMAIL]");
    assert_eq!(out["metadata"]["user_id"], "[EMAIL]");
    assert_eq!(out["stop_sequences"][0], "[US_SSN]");
    // Routing fields that fit their grammar are untouched.
    assert_eq!(out["model"], body["model"]);
    assert_eq!(out["provider"], body["provider"]);
    assert_eq!(out["preset"], "team-a");
}

#[test]
fn a_credential_behind_an_id_prefix_or_inside_a_signature_is_redacted() {
    let or_key = format!("sk-or-v1-{}", "0123456789abcdef".repeat(4));
    let blob = "AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYabcd";
    let body = json!({"messages": [
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": blob}],
         "tool_calls": [{"id": "call_AKIAIOSFODNN7EXAMPLE", "type": "function",
                         "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": format!("call_{or_key}"), "content": "ok",
         "id": "msg_ghp_R2d9XkPqLmZ7vBnW3sYtUaCe8HfGjK4oIxQ1"}]});
    let out = walk_json(&body);
    assert_eq!(out["messages"][0]["tool_calls"][0]["id"], "call_[AWS_ACCESS_KEY]");
    assert_eq!(out["messages"][1]["tool_call_id"], "call_[OPENROUTER_KEY]");
    assert_eq!(out["messages"][1]["id"], "msg_[GITHUB_TOKEN]");
    let sig = out["messages"][0]["content"][0]["signature"].as_str().unwrap();
    assert!(sig.starts_with("[AWS_ACCESS_KEY]") && !sig.contains("AKIA"), "{sig}");
}

#[test]
fn numbers_are_scanned_like_text_with_their_keys_as_context() {
    let args = r#"{"card": 4111111111111111, "ssn": 123456789, "phone": 14155550132, "qty": 1234567, "n": 3}"#;
    let body = json!({
        "messages": [{"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "pay", "arguments": args}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": args}],
        "tools": [{"type": "function", "function": {"name": "charge", "parameters": {"type": "object",
            "properties": {"card": {"type": "integer", "enum": [4111111111111111u64], "default": 4111111111111111u64}}}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object",
            "properties": {"ssn": {"const": 123456789}, "card": {"examples": [4111111111111111u64]}}}}},
        "metadata": {"order_id": 123456789, "amount": 1234567.5, "ts": 1733220000},
        "max_tokens": 1000,
    });
    let out = walk_json(&body);
    let arguments: Value =
        serde_json::from_str(out["messages"][0]["tool_calls"][0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        arguments,
        json!({"card": "[CREDIT_CARD]", "ssn": "[US_SSN]", "phone": "[PHONE]", "qty": 1234567, "n": 3})
    );
    // The same JSON as a tool's content (text) is redacted alike.
    let content = out["messages"][1]["content"].as_str().unwrap();
    assert!(!content.contains("4111111111111111") && !content.contains("123456789"), "{content}");
    let card = &out["tools"][0]["function"]["parameters"]["properties"]["card"];
    assert_eq!(card["enum"][0], "[CREDIT_CARD]");
    assert_eq!(card["default"], "[CREDIT_CARD]");
    let props = &out["response_format"]["json_schema"]["schema"]["properties"];
    assert_eq!(props["ssn"]["const"], "[US_SSN]");
    assert_eq!(props["card"]["examples"][0], "[CREDIT_CARD]");
    // Numbers that are no personal data stay numbers.
    assert_eq!(out["metadata"], body["metadata"]);
    assert_eq!(out["max_tokens"], 1000);
}

#[test]
fn tags_behind_escapes_or_inside_a_data_url_text_are_reserved() {
    let issued = |body: &str| -> String {
        let root = json::parse(body.as_bytes(), 32).unwrap();
        let mut m = Masks::default();
        reserve_literals(&root, &mut m);
        m.placeholder("EMAIL", "ann@x.com")
    };
    assert_eq!(issued(r#"{"a": "plain"}"#), "[EMAIL_1]");
    assert_eq!(issued(r#"{"a": "[EMAIL_1]"}"#), "[EMAIL_2]");
    // Spelled with JSON escapes inside tool-call arguments (the arguments string holds them as text).
    assert_eq!(issued(r#"{"arguments": "{\"to\": \"\\u005bEMAIL_1\\u005d\"}"}"#), "[EMAIL_2]");
    assert_eq!(issued(r#"{"a": "%5BEMAIL_1%5D &#91;EMAIL_2&#93;"}"#), "[EMAIL_3]");
    // Inside a base64 text file ("Forward to [EMAIL_1] please.") and a percent-encoded one.
    assert_eq!(issued(r#"{"f": "data:text/plain;base64,Rm9yd2FyZCB0byBbRU1BSUxfMV0gcGxlYXNlLg=="}"#), "[EMAIL_2]");
    assert_eq!(issued(r#"{"f": "data:,to%20%5BEMAIL_1%5D"}"#), "[EMAIL_2]");
}
