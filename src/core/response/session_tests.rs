//! A response is read in the grammar its bytes have, not the one its label claims (issue 15,
//! attack round 2): mislabelled JSON and event streams, a BOM, odd SSE framing, JSON a lenient
//! client reads and a strict parser does not, channel indexes spelled differently.

use serde_json::json;

use super::*;
use crate::core::policy::Policy;

const KEY: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

/// Restore of `[EMAIL_1]` and output inspection (e-mails redacted, secrets blocked).
fn both() -> Vec<Box<dyn TextStage>> {
    let cfg = r#"{"default_profile":"p","profiles":{"p":{"models":[],"pii":{"entities":{"EMAIL":"mask"}},
        "output_pii":{"builtin_defaults":false,"entities":{"EMAIL":"redact","SECRETS":"block"}}}}}"#;
    let policy = Policy::from_json(cfg.as_bytes()).unwrap();
    let mut m = Masks::default();
    m.placeholder("EMAIL", "a@x.co");
    let p = policy.profiles.first().unwrap();
    stages(m, Some(&p.redactor), p.output.clone())
}

fn chat(delta: serde_json::Value) -> String {
    format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": delta}]}))
}

/// A stream with `KEY` cut in two content deltas.
fn split_key_stream() -> String {
    let (a, b) = KEY.split_at(17);
    format!("{}{}data: [DONE]\n\n", chat(json!({"content": format!("key {a}")})), chat(json!({"content": b})))
}

/// Everything a stream session sends for `body` in chunks of `size`, and the first reason.
fn stream(body: &[u8], size: usize) -> (Vec<u8>, Option<Reason>) {
    let mut s = Session::start(both(), true, None, None).unwrap().unwrap();
    let (mut sent, mut reason) = (Vec::new(), None);
    let chunks: Vec<&[u8]> = body.chunks(size.max(1)).collect();
    for (i, c) in chunks.iter().enumerate() {
        let out = s.stream_chunk(c, i + 1 == chunks.len());
        sent.extend(out.replace.unwrap_or_else(|| c.to_vec()));
        reason = reason.or(out.reason);
    }
    (sent, reason)
}

fn held(body: &[u8]) -> Result<Option<Vec<u8>>, Rejection> {
    Session::start(both(), false, None, None).unwrap().unwrap().held_body(body)
}

fn no_key(sent: &[u8]) {
    let text = String::from_utf8_lossy(sent);
    assert!(!text.contains(&KEY[..17]) && !text.contains(&KEY[17..]), "{text}");
}

#[test]
fn a_held_event_stream_under_any_label_is_read_as_events() {
    // A `text/plain` (or unlabelled, or JSON-labelled) answer to a non-stream request that is an
    // event stream: read as raw text the key was never whole; read as events it is.
    let r = held(split_key_stream().as_bytes()).unwrap_err();
    assert_eq!((r.status, r.reason), (502, Reason::OutputBlocked));
    let body = format!("\u{feff}{}data: [DONE]\n\n", chat(json!({"content": "to [EMAIL_1]"})));
    let out = String::from_utf8(held(body.as_bytes()).unwrap().unwrap()).unwrap();
    assert!(out.contains("\"a@x.co\"") && !out.contains("[EMAIL_1]"), "{out}");
}

#[test]
fn a_held_json_document_under_any_label_is_read_as_json() {
    // The key spelled with a JSON escape: raw text shows `\u005f`, a client's JSON parser `_`.
    let escaped = KEY.replace('_', "\\u005f");
    let body = format!(r#"{{"choices":[{{"message":{{"content":"k {escaped}"}}}}]}}"#);
    assert_eq!(held(body.as_bytes()).unwrap_err().reason, Reason::OutputBlocked);
    // A BOM before the document is read past (JSON readers accept it).
    let out = held("\u{feff}{\"a\":\"[EMAIL_1] leak@example.net\"}".as_bytes()).unwrap().unwrap();
    assert_eq!(out, br#"{"a":"a@x.co [EMAIL]"}"#);
    // Looks like JSON and is not: withheld, never scanned as text.
    assert_eq!(held(b"{\"a\":\"x\",\"a\":\"y\"}").unwrap_err().reason, Reason::ResponseUnreadable);
    assert_eq!(held(br#"["\ud800"]"#).unwrap_err().reason, Reason::ResponseUnreadable);
    // Plain text stays plain text.
    assert_eq!(held(b"oops [EMAIL_1]").unwrap().unwrap(), b"oops a@x.co");
}

#[test]
fn a_stream_that_is_one_json_document_is_held_and_read_as_json() {
    let escaped = KEY.replace('_', "\\u005f");
    let body = format!(r#"  {{"choices":[{{"message":{{"content":"k {escaped}"}}}}]}}"#);
    for size in [1, 7, body.len()] {
        let (sent, reason) = stream(body.as_bytes(), size);
        assert_eq!(reason, Some(Reason::OutputBlocked), "size {size}");
        assert!(serde_json::from_slice::<serde_json::Value>(&sent).unwrap()["error"].is_object());
        no_key(&sent);
    }
    let (sent, reason) = stream(br#"{"a":"[EMAIL_1]"}"#, 3);
    assert_eq!((sent.as_slice(), reason), (&br#"{"a":"a@x.co"}"#[..], None));
}

#[test]
fn a_stream_with_a_bom_or_odd_framing_is_read_as_a_client_reads_it() {
    let (a, b) = KEY.split_at(17);
    let ev = |t: &str| json!({"choices": [{"index": 0, "delta": {"content": t}}]}).to_string();
    let bodies = [
        format!("\u{feff}{}", split_key_stream()),
        format!("data:{}\r\n\r\ndata:{}\r\n\r\ndata:[DONE]\r\n\r\n", ev(&format!("k {a}")), ev(b)),
        format!("data: {}\r\rdata: {}\r\r", ev(&format!("k {a}")), ev(b)),
        format!(": c\nevent: x\ndata: {}\n\nid: 2\ndata: {}\n\n", ev(&format!("k {a}")), ev(b)),
        // One JSON document over several `data` lines.
        format!(
            "data: {{\"choices\":\ndata: [{{\"index\":0,\"delta\":{{\"content\":\"k {a}\"}}}}]}}\n\ndata: {}\n\n",
            ev(b)
        ),
    ];
    for (i, body) in bodies.iter().enumerate() {
        for size in [1, 5, body.len()] {
            let (sent, reason) = stream(body.as_bytes(), size);
            assert_eq!(reason, Some(Reason::OutputBlocked), "body {i} size {size}");
            no_key(&sent);
        }
    }
}

#[test]
fn lines_other_than_data_are_scanned_as_text() {
    for body in [format!(": {KEY}\n\ndata: [DONE]\n\n"), format!("event: {KEY}\ndata: {{}}\n\n"), format!("{KEY}\n\n")]
    {
        let (sent, reason) = stream(body.as_bytes(), 4);
        assert_eq!(reason, Some(Reason::OutputBlocked), "{body}");
        no_key(&sent);
    }
    let (sent, reason) = stream(b": mail leak@example.net\r\n\r\ndata: [DONE]\n\n", 64);
    assert_eq!((String::from_utf8(sent).unwrap().as_str(), reason), (": mail [EMAIL]\r\n\ndata: [DONE]\n\n", None));
}

#[test]
fn json_a_lenient_client_reads_but_a_strict_parser_refuses_ends_the_stream() {
    let (a, b) = KEY.split_at(17);
    // The second half in an event with a duplicate `content` key (clients keep the last) or a lone
    // surrogate escape (JavaScript and Python accept it): before, the event was scanned alone as
    // text and the held first half released, so the client joined the key.
    let first = chat(json!({"content": format!("k {a}")}));
    let seconds = [
        format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"x\",\"content\":\"{b}\"}}}}]}}\n\n"),
        format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{b}\\ud800\"}}}}]}}\n\n"),
    ];
    for second in seconds {
        let (sent, reason) = stream(format!("{first}{second}data: [DONE]\n\n").as_bytes(), 64);
        assert_eq!(reason, Some(Reason::ResponseUnreadable), "{second}");
        no_key(&sent);
    }
    // A surrogate pair is a character like any other: the e-mail after it is redacted.
    let (sent, _) = stream(chat(json!({"content": "\u{1F600}leak@example.net ok"})).as_bytes(), 64);
    let sent = String::from_utf8(sent).unwrap();
    assert!(sent.contains("\u{1F600}[EMAIL] ") && !sent.contains("leak@"), "{sent}");
    let ev = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\ud83d\\ude00leak@example.net ok\"}}]}\n\n";
    let (sent, _) = stream(ev.as_bytes(), 64);
    let sent = String::from_utf8(sent).unwrap();
    assert!(sent.contains("\u{1F600}[EMAIL] ") && !sent.contains("leak@"), "{sent}");
}

#[test]
fn a_key_split_across_indexes_a_client_reads_as_one_is_blocked() {
    let (a, b) = KEY.split_at(17);
    for (one, two) in [("0", "0.0"), ("0", "-0"), ("1", "1e0"), ("0", "\"0\""), ("2", "2.000")] {
        let ev = |i: &str, t: &str| {
            format!("data: {{\"choices\":[{{\"index\":{i},\"delta\":{{\"content\":\"{t}\"}}}}]}}\n\n")
        };
        let tool = |i: &str, t: &str| {
            format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":{i},\"function\":{{\"arguments\":\"{t}\"}}}}]}}}}]}}\n\n")
        };
        for shape in [ev, tool] {
            let body = format!("{}{}data: [DONE]\n\n", shape(one, &format!("k {a}")), shape(two, b));
            let (sent, reason) = stream(body.as_bytes(), 64);
            assert_eq!(reason, Some(Reason::OutputBlocked), "{one} / {two}");
            no_key(&sent);
        }
    }
    // An index no client reads as a small integer cannot be placed: the stream ends.
    let body = "data: {\"choices\":[{\"index\":0.5,\"delta\":{\"content\":\"hi\"}}]}\n\n";
    assert_eq!(stream(body.as_bytes(), 64).1, Some(Reason::ResponseUnreadable));
}

#[test]
fn a_responses_stream_counts_each_restored_placeholder_once() {
    // `/responses` repeats its text in `output_text.done`, `content_part.done`, `output_item.done` and
    // `response.completed`: each copy is restored, and counted once (before: four times).
    let ev = |v: serde_json::Value| format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap());
    let text = "to [EMAIL_1]";
    let body = [
        ev(json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "to [EMA"})),
        ev(json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "IL_1]"})),
        ev(json!({"type": "response.output_text.done", "output_index": 0, "content_index": 0, "text": text})),
        ev(json!({"type": "response.content_part.done", "part": {"type": "output_text", "text": text}})),
        ev(json!({"type": "response.output_item.done", "item": {"content": [{"type": "output_text", "text": text}]}})),
        ev(json!({"type": "response.completed", "response": {"output": [{"content": [{"text": text}]}]}})),
    ]
    .concat();
    let mut s = Session::start(both(), true, None, None).unwrap().unwrap();
    let out = s.stream_chunk(body.as_bytes(), true);
    let sent = String::from_utf8(out.replace.unwrap()).unwrap();
    assert_eq!(sent.matches("a@x.co").count(), 5, "{sent}");
    assert!(!sent.contains("EMAIL_1"), "{sent}");
    let mut audit = AuditRecord::default();
    s.record(&mut audit);
    assert_eq!(audit.restore.map(|c| c.restored), Some(1));
}
