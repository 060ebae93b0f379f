//! The rewriting pipeline with the restore stage: JSON bodies of every API shape, SSE streams cut
//! at every byte, held text flushed in an event of the channel's own shape.

use serde_json::{json, Value};

use super::super::restore::Restore;
use super::*;
use crate::core::pii::mask::Masks;

fn masks() -> Masks {
    let mut m = Masks::default();
    m.placeholder("EMAIL", "ann@x.com");
    m.placeholder("EMAIL", "q\"uote@x.com");
    m
}

fn pipeline() -> Pipeline {
    Pipeline::new(vec![Box::new(Restore::new(masks(), vec!["EMAIL".into()]))])
}

fn rewrite(v: &Value) -> Value {
    let body = v.to_string();
    let out = rewrite_json(body.as_bytes(), &mut pipeline()).unwrap();
    serde_json::from_slice(out.as_deref().unwrap_or(body.as_bytes())).unwrap()
}

#[test]
fn json_chat_message_and_tool_arguments_are_restored() {
    let v = rewrite(&json!({"id": "gen-1", "choices": [{"index": 0, "message": {"role": "assistant",
        "content": "Mail [EMAIL_1] or [EMAIL_9].",
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "send",
            "arguments": "{\"to\": \"[EMAIL_2]\", \"cc\": [\"[EMAIL_1]\"]}"}}]}}]}));
    assert_eq!(v["choices"][0]["message"]["content"], "Mail ann@x.com or [EMAIL_9].");
    let args: Value =
        serde_json::from_str(v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"].as_str().unwrap())
            .unwrap();
    assert_eq!(args, json!({"to": "q\"uote@x.com", "cc": ["ann@x.com"]}));
}

#[test]
fn json_responses_and_messages_shapes_are_restored() {
    let v = rewrite(&json!({"object": "response", "output": [{"type": "message", "content": [
        {"type": "output_text", "text": "Hi [EMAIL_1]"}]},
        {"type": "function_call", "arguments": "{\"a\":\"[EMAIL_2]\"}"}]}));
    assert_eq!(v["output"][0]["content"][0]["text"], "Hi ann@x.com");
    assert_eq!(v["output"][1]["arguments"], "{\"a\":\"q\\\"uote@x.com\"}");
    let v = rewrite(&json!({"type": "message", "content": [{"type": "text", "text": "[EMAIL_1]"},
        {"type": "tool_use", "name": "send", "input": {"to": "[EMAIL_2]"}}]}));
    assert_eq!(v["content"][0]["text"], "ann@x.com");
    assert_eq!(v["content"][1]["input"]["to"], "q\"uote@x.com");
}

#[test]
fn an_unchanged_body_is_not_rewritten_and_bad_json_is_unreadable() {
    assert_eq!(rewrite_json(br#"{"choices":[{"message":{"content":"[EMAIL_5]"}}]}"#, &mut pipeline()), Ok(None));
    assert_eq!(rewrite_json(b"{nope", &mut pipeline()), Err(RewriteError::Unreadable(Unreadable::BadJson)));
}

/// Runs `stream` through a rewriter in the given pieces; returns the output bytes.
fn run_sse(pieces: &[&[u8]]) -> Vec<u8> {
    let mut r = SseRewriter::new(pipeline(), 1 << 16);
    let mut out = Vec::new();
    for p in pieces {
        out.extend(r.on_chunk(p).unwrap());
        assert!(r.held_bytes() <= 1 << 16);
    }
    out.extend(r.finish().unwrap());
    out
}

/// The events of an SSE byte stream: (non-data lines, data).
fn events(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut data = Vec::new();
            let mut other = Vec::new();
            for line in e.lines() {
                match line.strip_prefix("data: ") {
                    Some(d) => data.push(d),
                    None => other.push(line),
                }
            }
            (other.join("\n"), data.join("\n"))
        })
        .collect()
}

/// What a chat client assembles: content and each tool call's arguments, per choice 0.
fn assemble_chat(bytes: &[u8]) -> (String, String, bool) {
    let (mut content, mut args, mut done) = (String::new(), String::new(), false);
    for (_, data) in events(bytes) {
        if data == "[DONE]" {
            done = true;
            continue;
        }
        if data.is_empty() {
            continue;
        }
        assert!(!done, "an event after [DONE]");
        let v: Value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}"));
        let d = &v["choices"][0]["delta"];
        content.push_str(d["content"].as_str().unwrap_or(""));
        if let Some(a) = d["tool_calls"][0]["function"]["arguments"].as_str() {
            args.push_str(a);
        }
    }
    (content, args, done)
}

fn chat_event(delta: Value) -> String {
    format!("data: {}\n\n", json!({"id": "gen-1", "choices": [{"index": 0, "delta": delta}]}))
}

fn chat_stream(content: &[&str], args: &[&str]) -> String {
    let mut s = String::from(": OPENROUTER PROCESSING\n\n");
    for c in content {
        s.push_str(&chat_event(json!({"content": c})));
    }
    for a in args {
        s.push_str(&chat_event(json!({"tool_calls": [{"index": 0, "function": {"arguments": a}}]})));
    }
    s.push_str(&format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})));
    s.push_str("data: [DONE]\n\n");
    s
}

#[test]
fn sse_a_tag_split_across_events_at_every_position_is_restored() {
    let text = "Write to [EMAIL_1], not [EMAIL_7] [";
    for cut in 0..=text.len() {
        for cut2 in cut..=text.len() {
            let stream = chat_stream(&[&text[..cut], &text[cut..cut2], &text[cut2..]], &[]);
            let (content, _, done) = assemble_chat(&run_sse(&[stream.as_bytes()]));
            assert_eq!(content, "Write to ann@x.com, not [EMAIL_7] [", "cuts {cut} {cut2}");
            assert!(done);
        }
    }
}

#[test]
fn sse_split_at_every_byte_across_tcp_chunks_is_restored() {
    let stream = chat_stream(&["a [EMA", "IL_1] b"], &["{\"to\":\"[EM", "AIL_2]\"}"]);
    let b = stream.as_bytes();
    for cut in 0..=b.len() {
        for cut2 in (cut..=b.len()).step_by(7) {
            let out = run_sse(&[&b[..cut], &b[cut..cut2], &b[cut2..]]);
            let (content, args, done) = assemble_chat(&out);
            assert_eq!(content, "a ann@x.com b", "cut {cut}");
            let a: Value = serde_json::from_str(&args).unwrap();
            assert_eq!(a["to"], "q\"uote@x.com");
            assert!(done);
            assert!(String::from_utf8(out).unwrap().starts_with(": OPENROUTER PROCESSING\n\n"));
        }
    }
}

#[test]
fn held_text_is_flushed_in_an_event_of_the_channel_shape_before_the_finish_chunk() {
    let stream = chat_stream(&["x [EMAIL_"], &[]);
    let out = run_sse(&[stream.as_bytes()]);
    let ev = events(&out);
    let datas: Vec<&str> = ev.iter().map(|(_, d)| d.as_str()).filter(|d| !d.is_empty()).collect();
    assert_eq!(datas.len(), 4, "{datas:?}");
    let held: Value = serde_json::from_str(datas[1]).unwrap();
    assert_eq!(held, json!({"id": "gen-1", "choices": [{"index": 0, "delta": {"content": "[EMAIL_"}}]}));
    assert!(datas[2].contains("finish_reason"));
    assert_eq!(datas[3], "[DONE]");
}

#[test]
fn sse_without_tags_passes_byte_for_byte() {
    let stream = chat_stream(&["plain ", "text [1]"], &["{}"]);
    assert_eq!(run_sse(&[stream.as_bytes()]), stream.as_bytes());
}

#[test]
fn sse_messages_and_responses_deltas_are_restored_with_their_event_lines() {
    let stream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"to [EMAIL\"}}\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"_1]!\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    );
    let out = String::from_utf8(run_sse(&[stream.as_bytes()])).unwrap();
    assert!(out.contains("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"to \"}}\n\n"), "{out}");
    assert!(out.contains("\"text\":\"ann@x.com!\""), "{out}");
    let stream = concat!(
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"[EMAIL_\"}\n\n",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"1] ok\"}\n\n",
        "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"output_index\":0,\"content_index\":0,\"text\":\"[EMAIL_1] ok\"}\n\n",
    );
    let out = String::from_utf8(run_sse(&[stream.as_bytes()])).unwrap();
    assert!(out.contains("\"delta\":\"ann@x.com ok\""), "{out}");
    assert!(out.contains("\"text\":\"ann@x.com ok\""), "{out}");
}

#[test]
fn held_text_at_a_cut_stream_end_is_flushed_and_an_endless_event_is_refused() {
    let stream = chat_event(json!({"content": "see [EMA"}));
    let (content, _, _) = assemble_chat(&run_sse(&[stream.as_bytes()]));
    assert_eq!(content, "see [EMA");
    let mut r = SseRewriter::new(pipeline(), 100);
    assert_eq!(r.on_chunk(&[b'x'; 101]), Err(RewriteError::Unreadable(Unreadable::EventTooLarge)));
}

struct Blocker;
impl TextStage for Blocker {
    fn push(&mut self, _: Channel, input: &str, _: &[Range<usize>], out: &mut StageText) -> StageSignal {
        if input.contains("ann@x.com") {
            return StageSignal::Block { entity: "EMAIL".into() };
        }
        out.push_str(input);
        StageSignal::Continue
    }
    fn finish(&mut self, _: Channel, _: &mut StageText) -> StageSignal {
        StageSignal::Continue
    }
    fn max_holdback(&self) -> usize {
        0
    }
}

#[test]
fn a_later_stage_sees_restored_text_and_may_block() {
    let mut p = Pipeline::new(vec![Box::new(Restore::new(masks(), vec!["EMAIL".into()])), Box::new(Blocker)]);
    assert_eq!(p.max_holdback(), super::super::restore::MAX_HOLDBACK);
    let body = br#"{"choices":[{"message":{"content":"[EMAIL_1]"}}]}"#;
    assert_eq!(rewrite_json(body, &mut p), Err(RewriteError::Blocked("EMAIL".into())));
    let r = Rejection::new(502, "output_blocked", crate::core::reason::Reason::OutputBlocked, "withheld");
    let tail = String::from_utf8(error_tail(&r)).unwrap();
    assert!(tail.starts_with("data: {\"error\"") && tail.ends_with("}\n\ndata: [DONE]\n\n"), "{tail}");
}

#[test]
fn a_finish_chunk_with_an_empty_content_delta_carries_the_held_text_itself() {
    // OpenRouter ends a choice with `"delta": {"content": ""}` and `finish_reason` in one chunk.
    let mut stream = chat_event(json!({"content": "x [EMAIL_"}));
    stream.push_str(&chat_event(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":\"[EMAIL"}}]})));
    stream.push_str(&format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": "stop"}]})
    ));
    stream.push_str("data: [DONE]\n\n");
    let out = run_sse(&[stream.as_bytes()]);
    let ev = events(&out);
    let datas: Vec<Value> = ev
        .iter()
        .filter(|(_, d)| !d.is_empty() && d != "[DONE]")
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    // content "x ", args "{\"a\":\"", the held args flushed before the finish chunk, which carries "[EMAIL_".
    assert_eq!(datas.len(), 4, "{datas:?}");
    assert_eq!(datas[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "[EMAIL");
    assert_eq!(datas[3]["choices"][0]["delta"]["content"], "[EMAIL_");
    assert_eq!(datas[3]["choices"][0]["finish_reason"], "stop");
    let (content, args, done) = assemble_chat(&out);
    assert_eq!((content.as_str(), args.as_str(), done), ("x [EMAIL_", "{\"a\":\"[EMAIL", true));
}

/// A pipeline with output inspection only: emails redacted, secrets blocked.
fn inspecting() -> Pipeline {
    let cfg = r#"{"default_profile":"p","profiles":{"p":{"models":[],"output_pii":{"builtin_defaults":false,"entities":{"EMAIL":"redact","SECRETS":"block"}}}}}"#;
    let policy = crate::core::policy::Policy::from_json(cfg.as_bytes()).unwrap();
    let engine = policy.profiles.into_iter().next().unwrap().output.unwrap();
    Pipeline::new(vec![Box::new(super::super::outscan_stage::OutputInspection::new(engine))])
}

#[test]
fn json_escapes_in_tool_arguments_do_not_hide_values_from_the_stages() {
    // A secret spelled with `\u005f` in JSON arguments is blocked, as it is in plain text.
    let key = r#"{\"k\":\"ghp\\u005f16C7e42F292c6912E7710c838347Ae178B4a\"}"#;
    let body = format!(r#"{{"choices":[{{"message":{{"tool_calls":[{{"function":{{"arguments":"{key}"}}}}]}}}}]}}"#);
    assert!(matches!(rewrite_json(body.as_bytes(), &mut inspecting()), Err(RewriteError::Blocked(_))));
    // An email spelled with `\u0040` is redacted; the arguments stay the same JSON value otherwise.
    let v = json!({"output": [{"type": "function_call", "arguments": "{\"to\":\"leak\\u0040example.net\",\"s\":\"a\\/b\"}"}]});
    let out = rewrite_json(v.to_string().as_bytes(), &mut inspecting()).unwrap().unwrap();
    let args: Value = serde_json::from_str(
        serde_json::from_slice::<Value>(&out).unwrap()["output"][0]["arguments"].as_str().unwrap(),
    )
    .unwrap();
    assert!(!args["to"].as_str().unwrap().contains("leak"), "{args}");
    assert_eq!(args["s"], "a/b");
    // Restore sees `\u005bEMAIL_1\u005d` as its placeholder.
    let v = rewrite(&json!({"output": [{"type": "function_call", "arguments": "{\"to\":\"\\u005bEMAIL_1\\u005d\"}"}]}));
    assert_eq!(v["output"][0]["arguments"], "{\"to\":\"ann@x.com\"}");
}

#[test]
fn an_escape_cut_across_argument_deltas_is_canonicalised() {
    let args = "{\"to\":\"\\u005bEMAIL_1\\u005d\",\"p\":\"\\\\u0040\"}";
    for cut in 0..=args.len() {
        let (a, b) = args.split_at(cut);
        let mut stream = chat_event(json!({"tool_calls": [{"index": 0, "function": {"arguments": a}}]}));
        stream.push_str(&chat_event(json!({"tool_calls": [{"index": 0, "function": {"arguments": b}}]})));
        stream.push_str("data: [DONE]\n\n");
        let (_, got, done) = assemble_chat(&run_sse(&[stream.as_bytes()]));
        assert_eq!((got.as_str(), done), ("{\"to\":\"ann@x.com\",\"p\":\"\\\\u0040\"}", true), "cut {cut}");
    }
    // A secret escaped and cut mid-escape across deltas is blocked.
    let key = "{\"k\":\"ghp\\u005f16C7e42F292c6912E7710c838347Ae178B4a\"}";
    for cut in 8..14 {
        let (a, b) = key.split_at(cut);
        let mut r = SseRewriter::new(inspecting(), 1 << 16);
        let mut res = Ok(Vec::new());
        for d in [a, b] {
            let ev = chat_event(json!({"tool_calls": [{"index": 0, "function": {"arguments": d}}]}));
            res = res.and_then(|_| r.on_chunk(ev.as_bytes()));
        }
        let res = res.and_then(|_| r.finish());
        assert!(matches!(res, Err(RewriteError::Blocked(_))), "cut {cut}: {res:?}");
    }
}

#[test]
fn open_channels_are_capped_and_the_stream_fails_closed_beyond() {
    let mut r = SseRewriter::new(pipeline(), 1 << 16);
    for i in 0..MAX_OPEN_CHANNELS {
        let ev = format!("data: {}\n\n", json!({"choices": [{"index": i, "delta": {"content": "hi"}}]}));
        assert!(r.on_chunk(ev.as_bytes()).is_ok(), "channel {i}");
    }
    // An open channel may go on; a new one beyond the cap ends the stream.
    let ev = format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": "more"}}]}));
    assert!(r.on_chunk(ev.as_bytes()).is_ok());
    let ev = format!("data: {}\n\n", json!({"choices": [{"index": MAX_OPEN_CHANNELS, "delta": {"content": "hi"}}]}));
    assert_eq!(r.on_chunk(ev.as_bytes()), Err(RewriteError::Unreadable(Unreadable::TooManyChannels)));
}

#[test]
fn a_key_split_across_events_of_other_accumulated_fields_is_blocked() {
    // Fields a streaming client concatenates besides `delta.content`: each is a channel scanned across events.
    let key = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    let shapes: [fn(&str) -> Value; 5] = [
        |t| json!({"choices": [{"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.text", "text": t}]}}]}),
        |t| json!({"choices": [{"index": 0, "delta": {"reasoning_details": [{"type": "reasoning.summary", "summary": t}]}}]}),
        |t| json!({"choices": [{"index": 0, "delta": {"audio": {"transcript": t}}}]}),
        |t| json!({"choices": [{"index": 0, "text": t}]}),
        |t| json!({"choices": [{"index": 0, "delta": {"content": [{"type": "text", "text": t}]}}]}),
    ];
    for (i, shape) in shapes.iter().enumerate() {
        for cut in [4, 10, 20, 39] {
            let (a, b) = key.split_at(cut);
            let mut r = SseRewriter::new(inspecting(), 1 << 16);
            let mut res = Ok(Vec::new());
            for t in [format!("the key {a}"), format!("{b} done")] {
                let ev = format!("data: {}\n\n", shape(&t));
                res = res.and_then(|_| r.on_chunk(ev.as_bytes()));
            }
            let res = res.and_then(|_| r.finish());
            assert!(matches!(res, Err(RewriteError::Blocked(_))), "shape {i} cut {cut}: {res:?}");
        }
    }
}

#[test]
fn a_tag_split_across_reasoning_details_events_is_restored_in_valid_events() {
    let text = "Mail [EMAIL_1] now";
    for cut in 0..=text.len() {
        let ev =
            |t: &str| chat_event(json!({"reasoning_details": [{"type": "reasoning.text", "text": t, "index": 0}]}));
        let stream = format!("{}{}data: [DONE]\n\n", ev(&text[..cut]), ev(&text[cut..]));
        let mut got = String::new();
        for (_, data) in events(&run_sse(&[stream.as_bytes()])) {
            if data.is_empty() || data == "[DONE]" {
                continue;
            }
            let v: Value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("cut {cut}: {e}: {data}"));
            got.push_str(v["choices"][0]["delta"]["reasoning_details"][0]["text"].as_str().unwrap_or(""));
        }
        assert_eq!(got, "Mail ann@x.com now", "cut {cut}");
    }
}
