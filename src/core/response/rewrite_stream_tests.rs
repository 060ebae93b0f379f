//! Attack round 3's stream findings, in the core: a channel is the text a client accumulates
//! (ended only where the stream ends it), token renderings are dropped under output inspection,
//! and one event costs linear work and one template copy whatever its number of deltas.

use serde_json::{json, Value};

use super::super::outscan_stage::OutputInspection;
use super::super::restore::Restore;
use super::*;
use crate::core::pii::mask::Masks;
use crate::core::policy::Policy;

const KEY: &str = "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";

fn inspecting() -> Pipeline {
    let cfg = r#"{"default_profile":"p","profiles":{"p":{"models":[],"output_pii":{"builtin_defaults":false,"entities":{"EMAIL":"redact","SECRETS":"block"}}}}}"#;
    let p = Policy::from_json(cfg.as_bytes()).unwrap();
    let engine = p.profiles.into_iter().next().unwrap().output.unwrap();
    Pipeline::new(vec![Box::new(OutputInspection::new(engine))])
}

fn restoring() -> Pipeline {
    let mut m = Masks::default();
    m.placeholder("EMAIL", "ann@x.com");
    Pipeline::new(vec![Box::new(Restore::new(m, vec!["EMAIL".into()]))])
}

fn ev(v: &Value) -> String {
    format!("data: {v}\n\n")
}

fn chat(delta: &Value, finish: Option<&str>) -> String {
    ev(&json!({"id": "g", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))
}

/// The stream through a fresh rewriter, event by event: the bytes out, or the error that ended it.
fn run(p: Pipeline, events: &[String]) -> (Vec<u8>, Result<(), RewriteError>) {
    let mut r = SseRewriter::new(p, 1 << 20);
    let mut out = Vec::new();
    for e in events {
        match r.on_chunk(e.as_bytes()) {
            Ok(b) => out.extend(b),
            Err(e) => return (out, Err(e)),
        }
    }
    match r.finish() {
        Ok(b) => out.extend(b),
        Err(e) => return (out, Err(e)),
    }
    (out, Ok(()))
}

fn datas(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[test]
fn an_event_without_a_text_delta_does_not_restart_the_channel() {
    // Finding 1: real mid-stream events with no text delta between the two halves of a key.
    let (head, tail) = KEY.split_at(25);
    let between = [
        chat(&json!({"content": null}), None),
        chat(&json!({"reasoning_details": [{"type": "reasoning.encrypted", "data": "gAAAA", "index": 0}]}), None),
        chat(&json!({"annotations": [{"type": "url_citation", "url_citation": {"url": "https://e.org"}}]}), None),
        chat(&json!({}), None),
        ev(&json!({"choices": [], "usage": {"prompt_tokens": 1}})),
        ev(&json!({})),
        "data: not json\n\n".to_string(),
    ];
    for b in between {
        let events =
            [chat(&json!({"content": format!("Your key is {head}")}), None), b.clone(), chat(&json!({"content": tail}), None)];
        let (out, res) = run(inspecting(), &events);
        assert_eq!(res, Err(RewriteError::Blocked("OPENROUTER_KEY".into())), "{b}");
        assert!(!String::from_utf8_lossy(&out).contains("5e2a9c7d"), "{b}");
    }
    // /responses: an annotation event between two text deltas of one part.
    let delta = |t: &str| ev(&json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": t}));
    let note = ev(&json!({"type": "response.output_text.annotation.added", "output_index": 0, "content_index": 0,
        "annotation": {"type": "url_citation", "url": "https://e.org"}}));
    let (out, res) = run(inspecting(), &[delta(&format!("Key: {head}")), note, delta(tail)]);
    assert_eq!(res, Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
    assert!(!String::from_utf8_lossy(&out).contains("5e2a9c7d"));
}

#[test]
fn held_text_waits_for_the_next_delta_and_goes_out_at_the_end_markers() {
    // A ping or a null delta releases nothing early; a block stop and [DONE] do.
    let (out, res) = run(
        restoring(),
        &[
            chat(&json!({"content": "to [EMAIL"}), None),
            chat(&json!({"content": null}), None),
            chat(&json!({"content": "_1] now [EMAIL_"}), None),
            chat(&json!({}), Some("stop")),
            "data: [DONE]\n\n".into(),
        ],
    );
    assert_eq!(res, Ok(()));
    let d = datas(&out);
    let text: String = d.iter().filter_map(|v| v["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "to ann@x.com now [EMAIL_");
    assert_eq!(d.len(), 5, "{d:?}");
    assert_eq!(d[1]["choices"][0]["delta"]["content"], Value::Null, "{d:?}");
    // The held "[EMAIL_" left before the finish chunk, in an event of the channel's shape.
    assert_eq!(d[3]["choices"][0]["delta"]["content"], "[EMAIL_");
    assert_eq!(d[4]["choices"][0]["finish_reason"], "stop");
}

#[test]
fn text_after_a_channel_s_end_fails_closed() {
    // Finding 2: a client keeps appending after finish_reason; the filter released the channel whole there.
    let (head, tail) = KEY.split_at(25);
    for end in [
        chat(&json!({"content": format!("Your key is {head}")}), Some("stop")),
        chat(&json!({"content": format!("Your key is {head}")}), None) + &chat(&json!({}), Some("length")),
    ] {
        let (out, res) = run(inspecting(), &[end, chat(&json!({"content": tail}), None)]);
        assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::TextAfterEnd)));
        assert!(!String::from_utf8_lossy(&out).contains(tail));
    }
    // An empty delta after the end (OpenRouter's usage chunk) is fine.
    let usage = ev(&json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}],
        "usage": {"prompt_tokens": 1}}));
    let (_, res) = run(inspecting(), &[chat(&json!({"content": "hi"}), Some("stop")), usage, "data: [DONE]\n\n".into()]);
    assert_eq!(res, Ok(()));
    // /messages: text for a stopped block.
    let block = |t: &str| ev(&json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}));
    let stop = ev(&json!({"type": "content_block_stop", "index": 0}));
    let (_, res) = run(inspecting(), &[block(head), stop, block(tail)]);
    assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::TextAfterEnd)));
}

#[test]
fn logprobs_are_dropped_under_output_inspection_only() {
    // Finding 16: the tokens spell the text the channel holds back (or redacts).
    let lp = |t: &str| json!({"content": [{"token": t, "logprob": -0.1, "bytes": t.as_bytes(), "top_logprobs": []}]});
    let (head, tail) = KEY.split_at(25);
    let events: Vec<String> = [format!("key {head}"), tail.to_string()]
        .iter()
        .map(|t| ev(&json!({"choices": [{"index": 0, "delta": {"content": t}, "logprobs": lp(t)}]})))
        .collect();
    let (out, res) = run(inspecting(), &events);
    assert_eq!(res, Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
    let d = datas(&out);
    assert_eq!(d[0]["choices"][0]["logprobs"], Value::Null, "{d:?}");
    assert!(!String::from_utf8_lossy(&out).contains("5e2a9c7d"));
    // JSON answer: the e-mail is redacted in the content and no token spells it.
    let body = json!({"choices": [{"index": 0, "message": {"content": "Mail jane@example.net"},
        "logprobs": {"content": [{"token": "jane@example.net", "bytes": [106]}]}}]});
    let out = rewrite_json(body.to_string().as_bytes(), &mut inspecting()).unwrap().unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Mail [EMAIL]");
    assert_eq!(v["choices"][0]["logprobs"], Value::Null);
    // Restore alone keeps them (the tokens spell the placeholder, not a value).
    let body = json!({"choices": [{"index": 0, "message": {"content": "[EMAIL_1]"}, "logprobs": {"content": []}}]});
    let out = rewrite_json(body.to_string().as_bytes(), &mut restoring()).unwrap().unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["choices"][0]["logprobs"], json!({"content": []}));
}

#[test]
fn one_event_with_many_deltas_is_copied_once() {
    // Findings 9 and 12: N deltas of one channel, or 64 channels, in one event keep one template of it.
    for (n, distinct) in [(4000, false), (64, true)] {
        let choices: Vec<Value> = (0..n)
            .map(|i| json!({"index": if distinct { i } else { 0 }, "delta": {"content": "a "}, "finish_reason": null}))
            .collect();
        let event = ev(&json!({"id": "g", "x": "f".repeat(100_000), "choices": choices}));
        let mut r = SseRewriter::new(inspecting(), 1 << 20);
        let out = r.on_chunk(event.as_bytes()).unwrap();
        assert!(r.template_bytes() <= event.len(), "{} > {}", r.template_bytes(), event.len());
        assert_eq!(r.open.len(), if distinct { 64 } else { 1 });
        let tail = r.finish().unwrap();
        let text: String = datas(&[out, tail].concat())
            .iter()
            .flat_map(|v| v["choices"].as_array().unwrap().clone())
            .filter_map(|c| c["delta"]["content"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(text.len(), 2 * n, "{n}");
    }
}

#[test]
fn templates_of_big_events_are_bounded_per_stream() {
    // Distinct 800 KB events, one per channel: two fit in the per-stream bound (2 x max_event), a third does not.
    let mut r = SseRewriter::new(inspecting(), 1 << 20);
    for i in 0..2 {
        let e = ev(&json!({"x": "f".repeat(800_000), "choices": [{"index": i, "delta": {"content": "a"}}]}));
        assert!(r.on_chunk(e.as_bytes()).is_ok(), "{i}");
    }
    let e = ev(&json!({"x": "f".repeat(800_000), "choices": [{"index": 2, "delta": {"content": "a"}}]}));
    let res = r.on_chunk(e.as_bytes()).map(|b| b.len());
    assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::TemplatesTooLarge)));
}

#[test]
fn legacy_function_call_arguments_are_a_channel_and_names_come_in_one_piece() {
    // Finding 5: openai-python still accumulates `delta.function_call.arguments`.
    let (head, tail) = KEY.split_at(25);
    let call = |f: Value| chat(&json!({"function_call": f}), None);
    let (out, res) = run(
        inspecting(),
        &[
            call(json!({"name": "send", "arguments": ""})),
            call(json!({"arguments": format!("{{\"key\": \"{head}")})),
            call(json!({"arguments": format!("{tail}\"}}")})),
        ],
    );
    assert_eq!(res, Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
    assert!(!String::from_utf8_lossy(&out).contains("5e2a9c7d"));
    // A tool call's name (or the legacy one) split across events: the second piece ends the stream.
    let tool = |name: &str, args: &str| {
        chat(&json!({"tool_calls": [{"index": 0, "function": {"name": name, "arguments": args}}]}), None)
    };
    let (out, res) = run(inspecting(), &[tool(&format!("save_{head}"), ""), tool(tail, "")]);
    assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::SplitName)));
    assert!(!String::from_utf8_lossy(&out).contains(tail));
    let (_, res) = run(inspecting(), &[call(json!({"name": "se"})), call(json!({"name": "nd"}))]);
    assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::SplitName)));
    // A tool call's id and an unknown delta field likewise; the same role in every chunk passes.
    let id = |id: &str| chat(&json!({"tool_calls": [{"index": 0, "id": id, "function": {"arguments": ""}}]}), None);
    let (out, res) = run(inspecting(), &[id(&format!("call_{head}")), id(tail)]);
    assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::SplitName)));
    assert!(!String::from_utf8_lossy(&out).contains(tail));
    let note = |t: &str| chat(&json!({"role": "assistant", "x_note": t}), None);
    let (_, res) = run(inspecting(), &[note(head), note(tail)]);
    assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::SplitName)));
    let role = |t: &str| chat(&json!({"role": "assistant", "content": t}), None);
    let (_, res) = run(inspecting(), &[role("a "), role("b"), chat(&json!({"role": "assistant"}), Some("stop"))]);
    assert_eq!(res, Ok(()));
    // Names sent once (empty later pieces) and two calls with their own names pass.
    let two = chat(
        &json!({"tool_calls": [{"index": 0, "function": {"name": "a", "arguments": "{}"}},
            {"index": 1, "function": {"name": "b", "arguments": "{}"}}]}),
        None,
    );
    let (_, res) = run(inspecting(), &[two, tool("", "{}"), chat(&json!({}), Some("tool_calls"))]);
    assert_eq!(res, Ok(()));
}

#[test]
fn an_event_both_chat_and_messages_shaped_is_unreadable() {
    // Finding 8: `choices` on a /messages delta made its text a whole per-event string; the Anthropic SDK ignores it.
    for ty in ["content_block_delta", "content_block_start", "response.output_text.delta", "message_delta"] {
        let e = ev(&json!({"type": ty, "index": 0, "choices": [], "delta": {"type": "text_delta", "text": "a"}}));
        let (_, res) = run(inspecting(), &[e]);
        assert_eq!(res, Err(RewriteError::Unreadable(Unreadable::AmbiguousEvent)), "{ty}");
    }
}

/// What the Anthropic SDK shows for a /messages stream: each block starts with its start event's text, deltas append.
fn anthropic_text(out: &[u8]) -> String {
    let mut blocks: BTreeMap<u64, String> = BTreeMap::new();
    let text = String::from_utf8(out.to_vec()).unwrap();
    let events = text.split("\n\n").filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")));
    for v in events.map(|d| serde_json::from_str::<Value>(d).unwrap()) {
        let i = v["index"].as_u64().unwrap_or(0);
        match v["type"].as_str() {
            Some("content_block_start") => {
                assert!(!blocks.contains_key(&i), "block {i} started twice");
                blocks.insert(i, v["content_block"]["text"].as_str().unwrap_or("").into());
            }
            Some("content_block_delta") => blocks.get_mut(&i).unwrap().push_str(v["delta"]["text"].as_str().unwrap_or("")),
            _ => {}
        }
    }
    blocks.into_values().collect()
}

#[test]
fn a_block_s_start_text_and_its_deltas_are_one_channel() {
    // Finding 3: the Anthropic SDK starts the block with content_block_start's text and appends the text_deltas.
    let (head, tail) = KEY.split_at(25);
    let start = |t: &str| {
        format!("event: content_block_start\n{}", ev(&json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": t}})))
    };
    let delta = |t: &str| ev(&json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}));
    let stop = ev(&json!({"type": "content_block_stop", "index": 0}));
    let (out, res) = run(inspecting(), &[start(&format!("Key: {head}")), delta(&format!("{tail} done.")), stop.clone()]);
    assert_eq!(res, Err(RewriteError::Blocked("OPENROUTER_KEY".into())));
    assert!(!String::from_utf8_lossy(&out).contains("5e2a9c7d"));
    // A placeholder cut between them is restored; held text at a stop right after the start goes out in a delta event.
    let (out, res) = run(restoring(), &[start("to [EMAIL"), delta("_1] ok"), stop.clone()]);
    assert_eq!((res, anthropic_text(&out)), (Ok(()), "to ann@x.com ok".to_string()));
    let (out, res) = run(restoring(), &[start("to [EMAIL_"), stop]);
    assert_eq!((res, anthropic_text(&out)), (Ok(()), "to [EMAIL_".to_string()));
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"), "{text}");
}

#[test]
fn a_part_s_added_text_and_its_deltas_are_one_channel() {
    // Finding 4: openai-python's Responses stream starts a part with content_part.added's part (or the item's content
    // in output_item.added) and appends the deltas.
    let (head, tail) = KEY.split_at(25);
    let part = |t: &str| ev(&json!({"type": "response.content_part.added", "item_id": "m1", "output_index": 0,
        "content_index": 0, "part": {"type": "output_text", "text": t, "annotations": []}}));
    let item = |t: &str| ev(&json!({"type": "response.output_item.added", "output_index": 0,
        "item": {"type": "message", "id": "m1", "content": [{"type": "output_text", "text": t}]}}));
    let call = |t: &str| ev(&json!({"type": "response.output_item.added", "output_index": 0,
        "item": {"type": "function_call", "id": "fc", "name": "f", "arguments": t}}));
    let delta = |ty: &str, t: &str| ev(&json!({"type": ty, "item_id": "m1", "output_index": 0, "content_index": 0, "delta": t}));
    let text = "response.output_text.delta";
    for (first, ty) in [(part(&format!("Key: {head}")), text), (item(&format!("Key: {head}")), text),
        (call(&format!("{{\"k\":\"{head}")), "response.function_call_arguments.delta")]
    {
        let (out, res) = run(inspecting(), &[first.clone(), delta(ty, &format!("{tail} done"))]);
        assert_eq!(res, Err(RewriteError::Blocked("OPENROUTER_KEY".into())), "{first}");
        assert!(!String::from_utf8_lossy(&out).contains("5e2a9c7d"), "{first}");
    }
    // Held text at the part's end goes out in an output_text.delta event before content_part.done.
    let done = ev(&json!({"type": "response.content_part.done", "item_id": "m1", "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": "to [EMAIL_"}}));
    let (out, res) = run(restoring(), &[part("to [EMAIL_"), done]);
    assert_eq!(res, Ok(()));
    let d = datas(&out);
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(d[0]["part"]["text"], "to ");
    assert_eq!(d[1], json!({"type": text, "item_id": "m1", "output_index": 0, "content_index": 0, "delta": "[EMAIL_"}));
    assert_eq!(d[2]["type"], "response.content_part.done");
}
