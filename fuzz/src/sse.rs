//! `response::ResponseObserver` over one byte stream cut into chunks in different ways.
//!
//! Properties:
//! 1. never panics;
//! 2. the summary does not depend on the chunking: one chunk, the fuzzer's cuts and one byte per
//!    chunk all give the same summary (for `complete` and cut streams alike);
//! 3. memory stays bounded: with the counting allocator installed, the peak of live bytes while
//!    observing a long stream (the input repeated up to 64 times) stays under a bound set by the
//!    limits alone, not by the stream length;
//! 4. `finish` twice returns the same summary; `body_bytes` is the number of bytes fed; kept
//!    strings are short (≤ 256 bytes, reasons ≤ 64).

use arbitrary::Arbitrary;
use openrouter_guard::api::{ObserverLimits, ResponseObserver, ResponseSummary};

use crate::alloc;

/// One fuzz case.
#[derive(Debug, Clone, Arbitrary)]
pub struct Case {
    /// Content type selector.
    pub content_type: u8,
    /// Content encoding selector.
    pub encoding: u8,
    /// Status code.
    pub status: u16,
    /// `X-Generation-Id` header.
    pub generation_id: Option<String>,
    /// SSE line limit selector (16..=527).
    pub max_line: u16,
    /// JSON body limit selector (16..=527).
    pub max_json: u16,
    /// Whether the stream ended cleanly.
    pub complete: bool,
    /// Where to cut the body (offsets, taken modulo the length).
    pub cuts: Vec<u16>,
    /// How many times the body is repeated for the memory check (1..=64).
    pub repeat: u8,
    /// The body: raw bytes, or a structured event stream.
    pub body: Body,
}

/// The body of a case.
#[derive(Debug, Clone, Arbitrary)]
pub enum Body {
    /// Raw bytes.
    Raw(Vec<u8>),
    /// Events rendered to an OpenRouter-like stream.
    Events { bom: bool, events: Vec<Event> },
}

/// One event of a structured stream.
#[derive(Debug, Clone, Arbitrary)]
pub enum Event {
    /// `: OPENROUTER PROCESSING`
    KeepAlive,
    /// A chat chunk.
    Chunk { id: u8, model: u8, provider: u8, content: String, finish: Option<u8>, eol: u8 },
    /// A usage chunk.
    Usage { prompt: u32, completion: u32, cost: u16, cached: Option<u16>, as_string: bool, eol: u8 },
    /// A mid-stream error.
    Error { code: i16, as_string: bool, eol: u8 },
    /// An Anthropic-shape message delta.
    MessageDelta { stop: u8, output: u16, eol: u8 },
    /// Multi-line data (joined with LF by the parser).
    MultiLine { lines: Vec<String>, eol: u8 },
    /// `event:` / `id:` / `retry:` fields.
    Fields { name: u8, value: String, eol: u8 },
    /// `data: [DONE]`
    Done { eol: u8 },
    /// Bytes verbatim.
    Junk(Vec<u8>),
}

fn eol(sel: u8) -> &'static str {
    ["\n", "\r\n", "\r"][usize::from(sel % 3)]
}

fn pick<'a>(list: &[&'a str], sel: u8) -> &'a str {
    list[usize::from(sel) % list.len()]
}

/// Renders a structured body.
pub fn render(body: &Body) -> Vec<u8> {
    match body {
        Body::Raw(b) => b.clone(),
        Body::Events { bom, events } => {
            let mut s = String::new();
            if *bom {
                s.push('\u{feff}');
            }
            for e in events {
                render_event(e, &mut s);
            }
            s.into_bytes()
        }
    }
}

fn render_event(e: &Event, s: &mut String) {
    use std::fmt::Write;
    let models = ["anthropic/claude-sonnet-4", "openai/gpt-4o", "", "x/\u{e9}"];
    let providers = ["Anthropic", "OpenAI", "Google Vertex", ""];
    let reasons = ["stop", "length", "tool_calls", "end turn!", "", "content_filter"];
    match e {
        Event::KeepAlive => s.push_str(": OPENROUTER PROCESSING\n\n"),
        Event::Chunk { id, model, provider, content, finish, eol: l } => {
            let fr = finish.map_or("null".to_owned(), |f| serde_json::to_string(pick(&reasons, f)).unwrap_or_default());
            let _ = write!(
                s,
                r#"data: {{"id":"gen-{id}","provider":{},"model":{},"object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"role":"assistant","content":{}}},"finish_reason":{fr}}}]}}{}{}"#,
                serde_json::to_string(pick(&providers, *provider)).unwrap_or_default(),
                serde_json::to_string(pick(&models, *model)).unwrap_or_default(),
                serde_json::to_string(content).unwrap_or_default(),
                eol(*l),
                eol(*l)
            );
        }
        Event::Usage { prompt, completion, cost, cached, as_string, eol: l } => {
            let n = |v: u64| if *as_string { format!("\"{v}\"") } else { v.to_string() };
            let cached =
                cached.map_or(String::new(), |c| format!(r#","prompt_tokens_details":{{"cached_tokens":{c}}}"#));
            let _ = write!(
                s,
                r#"data: {{"choices":[],"usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{},"cost":{}{cached}}}}}{}{}"#,
                n(u64::from(*prompt)),
                n(u64::from(*completion)),
                n(u64::from(*prompt) + u64::from(*completion)),
                f64::from(*cost) / 1e6,
                eol(*l),
                eol(*l)
            );
        }
        Event::Error { code, as_string, eol: l } => {
            let c = if *as_string { format!("\"{code}\"") } else { code.to_string() };
            let _ = write!(s, r#"data: {{"error":{{"code":{c},"message":"upstream failed"}}}}{}{}"#, eol(*l), eol(*l));
        }
        Event::MessageDelta { stop, output, eol: l } => {
            let _ = write!(
                s,
                r#"data: {{"type":"message_delta","delta":{{"stop_reason":{}}},"usage":{{"output_tokens":{output}}}}}{}{}"#,
                serde_json::to_string(pick(&reasons, *stop)).unwrap_or_default(),
                eol(*l),
                eol(*l)
            );
        }
        Event::MultiLine { lines, eol: l } => {
            for line in lines {
                let clean: String = line.chars().filter(|c| *c != '\n' && *c != '\r').collect();
                let _ = write!(s, "data: {clean}{}", eol(*l));
            }
            s.push_str(eol(*l));
        }
        Event::Fields { name, value, eol: l } => {
            let clean: String = value.chars().filter(|c| *c != '\n' && *c != '\r').collect();
            let _ = write!(s, "{}: {clean}{}", pick(&["event", "id", "retry", "data", "dat"], *name), eol(*l));
        }
        Event::Done { eol: l } => {
            let _ = write!(s, "data: [DONE]{}{}", eol(*l), eol(*l));
        }
        Event::Junk(b) => s.push_str(&String::from_utf8_lossy(b)),
    }
}

fn limits(c: &Case) -> ObserverLimits {
    ObserverLimits {
        max_sse_line: 16 + usize::from(c.max_line % 512),
        max_json_bytes: 16 + usize::from(c.max_json % 512),
    }
}

fn observe(c: &Case, pieces: &[&[u8]], repeat: usize) -> (ResponseSummary, usize) {
    let cts = [
        Some("text/event-stream"),
        Some("text/event-stream; charset=utf-8"),
        Some("application/json"),
        None,
        Some("text/plain"),
        Some("application/vnd.api+json"),
        Some("TEXT/EVENT-STREAM"),
    ];
    let encs = [None, None, Some("identity"), Some("gzip"), Some("")];
    let window = alloc::Window::start();
    let mut obs = ResponseObserver::new(limits(c));
    obs.on_headers(
        c.status,
        cts[usize::from(c.content_type) % cts.len()],
        encs[usize::from(c.encoding) % encs.len()],
        c.generation_id.as_deref(),
    );
    for _ in 0..repeat {
        for p in pieces {
            obs.on_chunk(p);
        }
    }
    let s = obs.finish(c.complete);
    let peak = window.peak();
    assert_eq!(obs.finish(c.complete), s, "finish is not idempotent");
    (s, peak)
}

fn cut<'a>(body: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    if body.is_empty() {
        return vec![body];
    }
    let mut at: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (body.len() + 1)).collect();
    at.push(0);
    at.push(body.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| &body[w[0]..w[1]]).collect()
}

fn sane(s: &ResponseSummary, fed: usize) {
    assert_eq!(s.body_bytes, fed as u64, "body_bytes");
    for f in [&s.generation_id, &s.model_used, &s.provider] {
        assert!(f.as_ref().is_none_or(|v| v.len() <= 256), "a kept field is longer than 256 bytes");
    }
    for f in [&s.finish_reason, &s.error_type] {
        assert!(f.as_ref().is_none_or(|v| v.len() <= 64), "a kept reason is longer than 64 bytes");
    }
}

/// Runs every property on one case.
pub fn check(c: &Case) {
    let body = render(&c.body);
    let (whole, _) = observe(c, &[&body], 1);
    sane(&whole, body.len());
    let pieces = cut(&body, &c.cuts);
    let (split, _) = observe(c, &pieces, 1);
    assert_eq!(split, whole, "summary depends on chunking (cuts {pieces:?})");
    if body.len() <= 4096 {
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        let (bytewise, _) = observe(c, &bytes, 1);
        assert_eq!(bytewise, whole, "summary differs when fed one byte at a time");
    }
    if alloc::active() {
        let repeat = 1 + usize::from(c.repeat % 64);
        let (_, peak) = observe(c, &pieces, repeat);
        let l = limits(c);
        let bound = 32 * (l.max_sse_line + l.max_json_bytes) + 64 * 1024;
        assert!(peak <= bound, "observer peak {peak} bytes > bound {bound} (stream {} bytes)", body.len() * repeat);
    }
}
