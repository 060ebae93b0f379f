//! Observer tests over recorded-style OpenRouter responses.

use super::*;

/// A chat completion stream as OpenRouter sends it: keep-alive comments, a role chunk, content
/// deltas (multi-byte UTF-8 included), a finish chunk, the usage chunk with empty `choices`, [DONE].
const STREAM: &str = concat!(
    ": OPENROUTER PROCESSING\n\n",
    ": OPENROUTER PROCESSING\n\n",
    r#"data: {"id":"gen-1759-AbC","provider":"Anthropic","model":"anthropic/claude-sonnet-4","object":"chat.completion.chunk","created":1759000000,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
    "\n\n",
    r#"data: {"id":"gen-1759-AbC","provider":"Anthropic","model":"anthropic/claude-sonnet-4","object":"chat.completion.chunk","created":1759000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"Grüße aus Zürich — 東京 🚀"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
    "\n\n",
    r#"data: {"id":"gen-1759-AbC","provider":"Anthropic","model":"anthropic/claude-sonnet-4","object":"chat.completion.chunk","created":1759000000,"choices":[{"index":0,"delta":{"role":"assistant","content":" \"quoted\"\nnew line"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}"#,
    "\n\n",
    r#"data: {"id":"gen-1759-AbC","provider":"Anthropic","model":"anthropic/claude-sonnet-4","object":"chat.completion.chunk","created":1759000000,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop","native_finish_reason":"end_turn","logprobs":null}]}"#,
    "\n\n",
    r#"data: {"id":"gen-1759-AbC","provider":"Anthropic","model":"anthropic/claude-sonnet-4","object":"chat.completion.chunk","created":1759000000,"choices":[],"usage":{"prompt_tokens":14,"completion_tokens":23,"total_tokens":37,"cost":0.000387,"is_byok":false,"prompt_tokens_details":{"cached_tokens":0},"cost_details":{"upstream_inference_cost":null},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
    "\n\n",
    "data: [DONE]\n\n",
);

fn expected_stream_summary(body_bytes: usize) -> ResponseSummary {
    ResponseSummary {
        generation_id: Some("gen-1759-AbC".into()),
        model_used: Some("anthropic/claude-sonnet-4".into()),
        provider: Some("Anthropic".into()),
        prompt_tokens: Some(14),
        completion_tokens: Some(23),
        total_tokens: Some(37),
        cost: Some(0.000387),
        cached_tokens: Some(0),
        reasoning_tokens: Some(0),
        finish_reason: Some("stop".into()),
        status: Some(200),
        streamed: true,
        inspected: true,
        done: true,
        body_bytes: body_bytes as u64,
        events: 6,
        ..Default::default()
    }
}

fn observe(content_type: &str, header_id: Option<&str>, pieces: &[&[u8]], complete: bool) -> ResponseSummary {
    observe_with(ObserverLimits::default(), content_type, header_id, pieces, complete)
}

fn observe_with(
    limits: ObserverLimits,
    content_type: &str,
    header_id: Option<&str>,
    pieces: &[&[u8]],
    complete: bool,
) -> ResponseSummary {
    let mut obs = ResponseObserver::new(limits);
    obs.on_headers(200, Some(content_type), None, header_id);
    for p in pieces {
        obs.on_chunk(p);
    }
    obs.finish(complete)
}

fn variants() -> [String; 3] {
    [STREAM.to_owned(), STREAM.replace('\n', "\r\n"), STREAM.replace('\n', "\r")]
}

const SSE: &str = "text/event-stream; charset=utf-8";

#[test]
fn it_summarises_a_whole_stream_in_one_chunk() {
    for stream in variants() {
        let s = observe(SSE, None, &[stream.as_bytes()], true);
        assert_eq!(s, expected_stream_summary(stream.len()));
    }
}

#[test]
fn it_gives_the_same_summary_when_the_stream_is_split_at_every_byte() {
    for stream in variants() {
        let bytes = stream.as_bytes();
        let expected = expected_stream_summary(bytes.len());
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            assert_eq!(observe(SSE, None, &[a, b], true), expected, "split at {at}");
        }
    }
}

#[test]
fn it_gives_the_same_summary_when_the_stream_arrives_one_byte_at_a_time() {
    for stream in variants() {
        let pieces: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
        let s = observe(SSE, None, &pieces, true);
        assert_eq!(s, expected_stream_summary(stream.len()));
    }
}

#[test]
fn it_records_a_mid_stream_error_without_its_message() {
    let stream = concat!(
        r#"data: {"id":"gen-9","provider":"OpenAI","model":"openai/gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
        "\n\n",
        r#"data: {"id":"gen-9","object":"chat.completion.chunk","provider":"OpenAI","model":"openai/gpt-4o","error":{"code":"server_error","message":"Provider disconnected while echoing: my card 4111"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#,
        "\n\n",
        "data: [DONE]\n\n",
    );
    let s = observe(SSE, None, &[stream.as_bytes()], true);
    assert_eq!(s.finish_reason.as_deref(), Some("error"));
    assert_eq!(s.error_type.as_deref(), Some("server_error"));
    assert_eq!(s.provider.as_deref(), Some("OpenAI"));
    assert!(!format!("{s:?}").contains("4111"));
}

#[test]
fn it_records_a_numeric_mid_stream_error_code() {
    let stream = "data: {\"error\":{\"code\":502,\"message\":\"x\"},\"choices\":[{\"finish_reason\":\"error\"}]}\n\n";
    let s = observe(SSE, None, &[stream.as_bytes()], true);
    assert_eq!(s.error_code, Some(502));
}

#[test]
fn it_skips_an_overlong_line_and_still_reads_the_usage_after_it() {
    let big = format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n", "z".repeat(5000));
    let stream = format!("{big}{STREAM}");
    let limits = ObserverLimits { max_sse_line: 4096, ..Default::default() };
    let s = observe_with(limits, SSE, None, &[stream.as_bytes()], true);
    assert_eq!(s.skipped_lines, 1);
    assert_eq!(s.total_tokens, Some(37));
    assert_eq!(s.events, 6);
}

#[test]
fn it_counts_data_that_is_not_json_as_a_bad_event() {
    let s = observe(SSE, None, &[b"data: {not json\n\ndata: [DONE]\n\n"], true);
    assert_eq!((s.events, s.bad_events, s.done), (2, 1, true));
}

#[test]
fn it_marks_a_cut_stream_incomplete_but_keeps_what_it_saw() {
    let cut = STREAM.find("\"usage\"").unwrap();
    let s = observe(SSE, None, &[&STREAM.as_bytes()[..cut]], false);
    assert_eq!(s.not_inspected, Some(reason::INCOMPLETE));
    assert!(s.inspected && s.streamed && !s.done);
    assert_eq!(s.provider.as_deref(), Some("Anthropic"));
    assert_eq!(s.total_tokens, None);
}

const JSON_OK: &str = r#"{"id":"gen-42","provider":"Google AI Studio","model":"google/gemini-2.5-flash","object":"chat.completion","created":1759000000,"choices":[{"logprobs":null,"finish_reason":"length","native_finish_reason":"MAX_TOKENS","index":0,"message":{"role":"assistant","content":"¡Hola! 👋","refusal":null,"reasoning":null}}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,"cost":0.0000123,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":3}}}"#;

#[test]
fn it_reads_a_json_success_body_split_anywhere() {
    let bytes = JSON_OK.as_bytes();
    for at in 0..=bytes.len() {
        let (a, b) = bytes.split_at(at);
        let s = observe("application/json", None, &[a, b], true);
        assert!(s.inspected && !s.streamed);
        assert_eq!(s.generation_id.as_deref(), Some("gen-42"));
        assert_eq!(s.provider.as_deref(), Some("Google AI Studio"));
        assert_eq!(s.model_used.as_deref(), Some("google/gemini-2.5-flash"));
        assert_eq!((s.prompt_tokens, s.completion_tokens, s.total_tokens), (Some(5), Some(7), Some(12)));
        assert_eq!((s.cached_tokens, s.reasoning_tokens), (Some(2), Some(3)));
        assert_eq!(s.cost, Some(0.0000123));
        assert_eq!(s.finish_reason.as_deref(), Some("length"));
        assert_eq!(s.not_inspected, None);
    }
}

#[test]
fn it_reads_an_error_body_code_and_never_its_message() {
    let body = r#"{"error":{"code":403,"message":"Input flagged: my SSN is 078-05-1120","metadata":{"reasons":["pii"],"flagged_input":"078-05-1120"}}}"#;
    let mut obs = ResponseObserver::new(ObserverLimits::default());
    obs.on_headers(403, Some("application/json"), None, None);
    obs.on_chunk(body.as_bytes());
    let s = obs.finish(true);
    assert_eq!((s.status, s.error_code), (Some(403), Some(403)));
    assert!(s.inspected);
    assert!(!format!("{s:?}").contains("078"));
}

#[test]
fn it_passes_a_too_large_body_through_uninspected() {
    let limits = ObserverLimits { max_json_bytes: 100, ..Default::default() };
    let pieces: Vec<&[u8]> = JSON_OK.as_bytes().chunks(64).collect();
    let s = observe_with(limits, "application/json", Some("gen-h"), &pieces, true);
    assert_eq!((s.inspected, s.not_inspected), (false, Some(reason::TOO_LARGE)));
    assert_eq!(s.generation_id.as_deref(), Some("gen-h"));
    assert_eq!(s.body_bytes, JSON_OK.len() as u64);
}

#[test]
fn it_reports_garbage_declared_as_json_as_bad_json() {
    let s = observe("application/json", None, &[b"\x00\xffnot {json"], true);
    assert_eq!((s.inspected, s.not_inspected), (false, Some(reason::BAD_JSON)));
}

#[test]
fn it_does_not_read_a_body_that_is_not_json() {
    let s = observe("text/html; charset=utf-8", None, &[b"<html>502</html>"], true);
    assert_eq!((s.inspected, s.not_inspected), (false, Some(reason::NOT_JSON)));
}

fn observe_encoded(content_type: &str, coding: &str, body: &[u8], limits: ObserverLimits) -> ResponseSummary {
    let mut obs = ResponseObserver::new(limits);
    obs.on_headers(200, Some(content_type), Some(coding), None);
    // In pieces, as Envoy hands them over.
    for piece in body.chunks(7) {
        obs.on_chunk(piece);
    }
    obs.finish(true)
}

#[test]
fn it_decodes_a_compressed_json_body_to_read_it() {
    use crate::core::decode::testenc::{gzip, zlib, zstd};
    use crate::core::decode::Coding;
    let plain = observe("application/json", None, &[JSON_OK.as_bytes()], true);
    assert!(plain.inspected && plain.provider.is_some(), "{plain:?}");
    for (coding, name, body) in [
        (Coding::Gzip, "gzip", gzip(JSON_OK.as_bytes())),
        (Coding::Deflate, "deflate", zlib(JSON_OK.as_bytes())),
        (Coding::Zstd, "zstd", zstd(JSON_OK.as_bytes())),
    ] {
        let s = observe_encoded("application/json", name, &body, ObserverLimits::default());
        let want = ResponseSummary { body_bytes: body.len() as u64, decoded_from: Some(coding), ..plain.clone() };
        assert_eq!(s, want, "{name}");
    }
}

#[test]
fn a_compressed_body_that_does_not_decode_is_not_read() {
    use crate::core::decode::testenc::gzip;
    let mut corrupt = gzip(JSON_OK.as_bytes());
    let n = corrupt.len();
    corrupt[n - 6] ^= 1;
    let s = observe_encoded("application/json", "gzip", &corrupt, ObserverLimits::default());
    assert_eq!((s.inspected, s.not_inspected, s.provider), (false, Some(reason::BAD_ENCODING), None));
    // A bomb: small compressed, too large decoded.
    let limits = ObserverLimits { max_json_bytes: 64 * 1024, ..ObserverLimits::default() };
    let bomb = gzip(&vec![b' '; 10 << 20]);
    assert!(bomb.len() < limits.max_json_bytes);
    let s = observe_encoded("application/json", "gzip", &bomb, limits);
    assert_eq!((s.inspected, s.not_inspected), (false, Some(reason::TOO_LARGE)));
}

#[test]
fn it_does_not_read_a_body_in_a_coding_it_does_not_decode() {
    for (ct, coding) in [
        ("application/json", "br"),
        ("application/json", "gzip, zstd"),
        ("application/json", "compress"),
        ("text/event-stream", "gzip"),
    ] {
        let s = observe_encoded(ct, coding, b"\x1f\x8b\x08", ObserverLimits::default());
        assert_eq!(
            (s.inspected, s.not_inspected, s.decoded_from),
            (false, Some(reason::ENCODED), None),
            "{ct} {coding}"
        );
    }
}

#[test]
fn it_does_not_parse_a_json_body_that_was_cut() {
    let s = observe("application/json", None, &[&JSON_OK.as_bytes()[..50]], false);
    assert_eq!((s.inspected, s.not_inspected), (false, Some(reason::INCOMPLETE)));
}

#[test]
fn it_takes_the_generation_id_from_the_header_when_the_body_has_none() {
    let s = observe("application/json", Some("gen-hdr"), &[br#"{"choices":[]}"#], true);
    assert_eq!(s.generation_id.as_deref(), Some("gen-hdr"));
}

#[test]
fn it_reads_vendor_json_media_types_and_a_missing_content_type() {
    let s = observe("application/vnd.api+json", None, &[JSON_OK.as_bytes()], true);
    assert!(s.inspected);
    let mut obs = ResponseObserver::new(ObserverLimits::default());
    obs.on_headers(200, None, None, None);
    obs.on_chunk(JSON_OK.as_bytes());
    assert!(obs.finish(true).inspected);
}

#[test]
fn it_returns_the_same_summary_when_finished_twice() {
    let mut obs = ResponseObserver::new(ObserverLimits::default());
    obs.on_headers(200, Some(SSE), None, None);
    obs.on_chunk(STREAM.as_bytes());
    let first = obs.finish(true);
    assert_eq!(obs.finish(false), first);
}

#[test]
fn it_reports_no_headers_when_finished_before_headers() {
    let mut obs = ResponseObserver::new(ObserverLimits::default());
    obs.on_chunk(b"{}");
    assert_eq!(obs.finish(true).not_inspected, Some(reason::NO_HEADERS));
}
