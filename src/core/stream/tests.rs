//! The state machine driven natively by a mock host: every phase transition, and the odd orders
//! Envoy is not expected to produce (response before the decision, trailers, a second end of
//! stream, log without headers, callbacks after the log).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;

use super::*;
use crate::core::audit::Decision;
use crate::core::headers::RawHeader;
use crate::core::reason::Reason;

const POLICY: &str = r#"{
  "hosts": ["openrouter.ai"], "clusters": ["openrouter"], "default_profile": "main",
  "profile_header": "x-data-classification", "max_body_bytes": 4096,
  "profiles": {
    "main": {"models": [{"deny": "*:free"}, {"allow": "anthropic/*"}],
             "provider": {"order": ["anthropic"], "allow_fallbacks": false}, "max_tokens": 1000,
             "pii": {"builtin_defaults": false, "entities": {"EMAIL": "redact"}}},
    "strict": {"models": [{"allow": "anthropic/*"}], "provider": {"order": ["anthropic"], "allow_fallbacks": false},
               "enforce_served": true}
  }
}"#;

const ALLOWED: &[u8] =
    br#"{"model":"anthropic/claude-3.5-sonnet","messages":[{"role":"user","content":"Mail jane@example.org"}]}"#;
const ALLOWED_STREAM: &[u8] = br#"{"model":"anthropic/claude-3.5-sonnet","stream":true,"messages":[{"role":"user","content":"Mail jane@example.org"}]}"#;
const DENIED: &[u8] = br#"{"model":"openai/gpt-oss-20b:free","messages":[{"role":"user","content":"hi"}]}"#;
const ANSWER: &[u8] = br#"{"id":"gen-1","model":"anthropic/claude-3.5-sonnet","provider":"Anthropic","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;

#[derive(Default)]
struct Mock {
    now: u64,
    request_headers: Vec<RawHeader>,
    trailers: Vec<RawHeader>,
    response_headers: Vec<RawHeader>,
    request_body: Vec<u8>,
    response_body: Vec<u8>,
    properties: Vec<(Property, Vec<u8>)>,
    refusal: Option<Rejection>,
    fail_reads: bool,
    store: crate::core::spend::ledger::mock::MockStore,
}

fn pairs(h: &[(&str, &str)]) -> Vec<RawHeader> {
    h.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

impl Mock {
    fn chat(extra: &[(&str, &str)]) -> Self {
        let mut h = vec![
            (":method", "POST"),
            (":path", "/api/v1/chat/completions"),
            (":authority", "openrouter.ai"),
            ("content-type", "application/json"),
            ("x-request-id", "r-1"),
        ];
        h.extend_from_slice(extra);
        Self { now: 1_700_000_000_000_000_000, request_headers: pairs(&h), ..Self::default() }
    }

    fn models() -> Self {
        Self::chat(&[]).with_request_headers(&[
            (":method", "GET"),
            (":path", "/api/v1/models"),
            (":authority", "openrouter.ai"),
        ])
    }

    fn with_request_headers(mut self, h: &[(&str, &str)]) -> Self {
        self.request_headers = pairs(h);
        self
    }

    fn respond(&mut self, status: &str, content_type: &str) {
        self.response_headers = pairs(&[(":status", status), ("content-type", content_type)]);
    }

    fn read<T: Clone>(&self, v: &T) -> Result<T, HostFailure> {
        if self.fail_reads {
            Err(HostFailure)
        } else {
            Ok(v.clone())
        }
    }
}

impl StreamHost for Mock {
    fn now_ns(&mut self) -> u64 {
        self.now += 1_000_000;
        self.now
    }
    fn request_header(&mut self, name: &str) -> Option<Vec<u8>> {
        self.request_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v.clone())
    }
    fn request_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        self.read(&self.request_headers)
    }
    fn request_trailers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        self.read(&self.trailers)
    }
    fn response_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        self.read(&self.response_headers)
    }
    fn request_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure> {
        self.read(&self.request_body).map(|b| b.into_iter().take(max).collect())
    }
    fn response_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure> {
        self.read(&self.response_body).map(|b| b.into_iter().take(max).collect())
    }
    fn property(&mut self, p: Property) -> Option<Vec<u8>> {
        self.properties.iter().find(|(k, _)| *k == p).map(|(_, v)| v.clone())
    }
    fn hold_refusal(&mut self) -> Option<Rejection> {
        self.refusal.clone()
    }
    fn counters(&mut self) -> &mut dyn crate::core::spend::CounterStore {
        &mut self.store
    }
}

fn stream() -> Stream {
    let policy = Rc::new(Policy::from_json(POLICY.as_bytes()).unwrap());
    Stream::new(policy, Rc::new(RefCell::new(AuditChain::new("t".into()))))
}

/// Sends the body in one DATA frame with end of stream.
fn send_body(s: &mut Stream, h: &mut Mock, body: &[u8]) -> Outcome {
    h.request_body = body.to_vec();
    s.on_request_body(h, body.len(), true)
}

/// Ends the stream; returns the published record.
fn log(s: &mut Stream, h: &mut Mock) -> (Value, Outcome) {
    let out = s.on_log(h);
    let lines: Vec<&String> =
        out.effects.iter().filter_map(|e| if let Effect::PublishAudit(l) = e { Some(l) } else { None }).collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    let rec = serde_json::from_str(lines[0]).unwrap();
    assert!(matches!(s.phase(), Phase::Logged));
    (rec, out)
}

fn replies(out: &Outcome) -> Vec<&Rejection> {
    out.effects
        .iter()
        .filter_map(|e| if let Effect::Reply(r) | Effect::ReplaceResponse(r) = e { Some(r) } else { None })
        .collect()
}

fn metric_names(out: &Outcome) -> Vec<&str> {
    out.effects.iter().filter_map(|e| if let Effect::Metric(m) = e { Some(m.name.as_str()) } else { None }).collect()
}

/// The body the upstream gets: the rewritten prefix and the rest of `original` (the buffered body).
fn new_body(out: &Outcome, original: &[u8]) -> Option<Value> {
    out.effects.iter().find_map(|e| match e {
        Effect::Edit { edit: Edit::ReplaceRequestBody { old_len, bytes }, .. } => {
            serde_json::from_slice(&[&bytes[..], &original[*old_len..]].concat()).ok()
        }
        _ => None,
    })
}

/// Governed request held at its headers.
fn held(h: &mut Mock) -> Stream {
    let mut s = stream();
    let out = s.on_request_headers(h, false);
    assert_eq!(out.flow, Flow::Pause);
    assert!(out.effects.contains(&Effect::Watch), "{out:?}");
    assert!(matches!(s.phase(), Phase::RequestHeld));
    s
}

/// A request allowed and forwarded.
fn forwarded(h: &mut Mock) -> Stream {
    forwarded_with(h, ALLOWED)
}

fn forwarded_with(h: &mut Mock, body: &[u8]) -> Stream {
    let mut s = held(h);
    assert_eq!(send_body(&mut s, h, body).flow, Flow::Continue);
    assert!(matches!(s.phase(), Phase::Forwarded));
    s
}

#[test]
fn idle_to_ungoverned_lets_everything_pass_and_records_nothing() {
    let mut h = Mock::chat(&[]).with_request_headers(&[(":authority", "example.com"), (":path", "/x")]);
    let mut s = stream();
    assert_eq!(s.on_request_headers(&mut h, false), Outcome::proceed());
    assert!(matches!(s.phase(), Phase::Ungoverned));
    assert_eq!(s.on_request_headers(&mut h, false), Outcome::proceed());
    assert_eq!(send_body(&mut s, &mut h, DENIED), Outcome::proceed());
    assert_eq!(s.on_request_trailers(&mut h), Outcome::proceed());
    h.respond("200", "application/json");
    assert_eq!(s.on_response_headers(&mut h, false), Outcome::proceed());
    assert_eq!(s.on_response_body(&mut h, 3, true), Outcome::proceed());
    assert_eq!(s.on_log(&mut h), Outcome::proceed());
}

#[test]
fn cluster_alone_governs() {
    let mut h = Mock::chat(&[]);
    h.request_headers.retain(|(k, _)| k != b":authority");
    h.request_headers.push((b":authority".to_vec(), b"127.0.0.1:10000".to_vec()));
    h.properties.push((Property::ClusterName, b"openrouter".to_vec()));
    let mut s = stream();
    s.on_request_headers(&mut h, false);
    assert!(matches!(s.phase(), Phase::RequestHeld));
}

#[test]
fn held_to_forwarded_with_rewritten_body_and_exact_length() {
    let mut h = Mock::chat(&[("x-data-classification", "main")]);
    let mut s = stream();
    let out = s.on_request_headers(&mut h, false);
    assert!(out.effects.contains(&Effect::Edit {
        edit: Edit::RemoveRequestHeader("x-data-classification".into()),
        on_fail: Some(Reason::HeaderEditFailed)
    }));
    assert!(out
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Edit { edit: Edit::SetLogPath(p), .. } if p == "/api/v1/chat/completions")));
    assert_eq!(s.on_request_body(&mut h, 10, false), Outcome { flow: Flow::Pause, effects: vec![Effect::Unwatch] });
    let out = send_body(&mut s, &mut h, ALLOWED);
    assert_eq!(out.flow, Flow::Continue);
    let body = new_body(&out, &h.request_body).unwrap();
    assert_eq!(body["provider"]["order"][0], "anthropic");
    assert_eq!(body["max_tokens"], 1000);
    assert!(!body.to_string().contains("jane@example.org"));
    let len = out.effects.iter().find_map(|e| match e {
        Effect::Edit { edit: Edit::SetRequestHeader("content-length", v), on_fail } => {
            assert_eq!(*on_fail, Some(Reason::WriteBodyFailed));
            Some(v.clone())
        }
        _ => None,
    });
    assert_eq!(len, Some(body.to_string().len().to_string()));
    // A second end of stream (or a stray body callback) after the decision changes nothing.
    assert_eq!(send_body(&mut s, &mut h, DENIED), Outcome::proceed());
    assert_eq!(s.on_request_trailers(&mut h), Outcome::proceed());
    assert_eq!(s.on_request_headers(&mut h, true), Outcome::proceed());
    let (rec, out) = log(&mut s, &mut h);
    assert_eq!(rec["decision"], "allow");
    assert_eq!(rec["redactions"]["EMAIL"]["redact"], 1);
    assert!(metric_names(&out).contains(&"openrouter_guard_requests_total.decision.allow.profile.main"));
    assert!(metric_names(&out).contains(&"openrouter_guard_redactions_total.entity.EMAIL.action.redact"));
}

#[test]
fn held_to_replied_on_a_denied_model_and_stays_replied() {
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    let out = send_body(&mut s, &mut h, DENIED);
    assert_eq!(out.flow, Flow::Pause);
    assert_eq!(replies(&out)[0].reason, "model_denied");
    assert_eq!(out.effects.first(), Some(&Effect::Unwatch));
    assert!(matches!(s.phase(), Phase::Replied));
    // Everything after a reply stays paused on the request side and passes on the response side
    // (the local reply itself comes back through the response callbacks).
    assert_eq!(s.on_request_headers(&mut h, false), Outcome::pause());
    assert_eq!(send_body(&mut s, &mut h, ALLOWED), Outcome::pause());
    assert_eq!(s.on_request_trailers(&mut h), Outcome::pause());
    h.respond("403", "application/json");
    assert_eq!(s.on_response_headers(&mut h, true), Outcome::proceed());
    let (rec, out) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["status"].as_u64()), (Some("deny"), Some(403)));
    assert!(metric_names(&out).contains(&"openrouter_guard_denials_total.reason.model_denied"));
}

#[test]
fn body_over_the_limit_is_refused_while_buffering() {
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    let out = s.on_request_body(&mut h, 5000, false);
    assert_eq!(replies(&out)[0].status, 413);
    assert!(matches!(s.phase(), Phase::Replied));
}

#[test]
fn bodyless_requests_are_decided_on_their_headers() {
    let mut h = Mock::models();
    let mut s = stream();
    let out = s.on_request_headers(&mut h, true);
    assert_eq!(out.flow, Flow::Continue);
    assert!(!out.effects.contains(&Effect::Watch));
    assert!(matches!(s.phase(), Phase::Forwarded));
    let mut h = Mock::chat(&[]);
    let mut s = stream();
    let out = s.on_request_headers(&mut h, true);
    assert_eq!((out.flow, replies(&out)[0].reason), (Flow::Pause, Reason::ModelMissing));
    assert!(matches!(s.phase(), Phase::Replied));
}

#[test]
fn headers_refusals_reply_at_once() {
    let mut h = Mock::chat(&[("x-data-classification", "nope")]);
    let mut s = stream();
    let out = s.on_request_headers(&mut h, false);
    assert_eq!(replies(&out)[0].reason, "unknown_profile");
    assert!(matches!(s.phase(), Phase::Replied));
    // An interpreted header that is not UTF-8: refused; the log scrub is best effort.
    let mut h = Mock::chat(&[]);
    h.request_headers.push((b"content-type".to_vec(), b"\xff".to_vec()));
    let mut s = stream();
    let out = s.on_request_headers(&mut h, false);
    assert_eq!(replies(&out)[0].reason, "header_not_utf8");
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Edit { edit: Edit::SetLogPath(_), on_fail: None })));
}

#[test]
fn trailers_end_the_request_are_removed_and_noted() {
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    h.request_body = ALLOWED.to_vec();
    assert_eq!(s.on_request_body(&mut h, ALLOWED.len(), false).flow, Flow::Pause);
    h.trailers = vec![(b"x-checksum".to_vec(), b"1".to_vec()), (b"x-\xff".to_vec(), b"\xe9".to_vec())];
    let out = s.on_request_trailers(&mut h);
    assert_eq!(out.flow, Flow::Continue);
    let removed: Vec<&Vec<u8>> = out
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Edit { edit: Edit::RemoveRequestTrailer(n), on_fail: Some(Reason::TrailersEditFailed) } => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(removed, [&b"x-checksum".to_vec(), &b"x-\xff".to_vec()]);
    assert!(new_body(&out, &h.request_body).is_some());
    assert!(s.audit().reasons.iter().any(|r| r == "request_trailers_dropped"));
    // Over the limit at the trailers: 413.
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    h.request_body = vec![b' '; 4097];
    assert_eq!(replies(&s.on_request_trailers(&mut h))[0].status, 413);
}

#[test]
fn failed_reads_and_edits_fail_closed_with_500() {
    let mut h = Mock::chat(&[]);
    h.fail_reads = true;
    let mut s = stream();
    let out = s.on_request_headers(&mut h, false);
    assert_eq!((replies(&out)[0].status, replies(&out)[0].reason), (500, Reason::ReadHeadersFailed));
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    h.fail_reads = true;
    assert_eq!(replies(&s.on_request_body(&mut h, 3, true))[0].reason, "read_body_failed");
    // The adapter reports a failed edit: the request is refused, recorded as an error.
    let mut h = Mock::chat(&[]);
    let mut s = forwarded(&mut h);
    let out = s.edit_failed(Reason::WriteBodyFailed);
    assert_eq!((out.flow, replies(&out)[0].status), (Flow::Pause, 500));
    assert!(matches!(s.phase(), Phase::Replied));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!(rec["decision"], "error");
    assert_eq!(rec["prompt_sha256"], Value::Null);
    assert_eq!(rec["reasons"].as_array().unwrap().last().unwrap(), "write_body_failed");
}

#[test]
fn forwarded_to_response_to_done_fills_the_record() {
    let mut h = Mock::chat(&[]);
    let mut s = forwarded(&mut h);
    h.respond("200", "application/json");
    assert_eq!(s.on_response_headers(&mut h, false), Outcome::proceed());
    assert!(matches!(s.phase(), Phase::Response(Fate::Decided, _)));
    h.response_body = ANSWER.to_vec();
    assert_eq!(s.on_response_body(&mut h, ANSWER.len(), true), Outcome::proceed());
    assert!(matches!(s.phase(), Phase::ResponseDone(Fate::Decided)));
    // A body chunk after the end (Envoy does not send one) is ignored.
    assert_eq!(s.on_response_body(&mut h, 3, true), Outcome::proceed());
    let (rec, out) = log(&mut s, &mut h);
    assert_eq!((rec["status"].as_u64(), rec["upstream_status"].as_u64()), (Some(200), Some(200)));
    assert_eq!((rec["provider"].as_str(), rec["prompt_tokens"].as_u64()), (Some("Anthropic"), Some(3)));
    assert_eq!(rec["provider_verdict"], "approved");
    assert!(rec["latency_first_byte_ms"].is_u64() && rec["latency_ms"].is_u64());
    assert!(metric_names(&out).contains(&"openrouter_guard_prompt_tokens_total.profile.main"));
    // A second log (on_done after on_log) publishes nothing.
    assert_eq!(s.on_log(&mut h), Outcome::proceed());
    assert_eq!(s.on_request_headers(&mut h, false), Outcome::pause());
}

#[test]
fn streams_pass_chunk_by_chunk_and_a_cut_stream_is_summarised_at_log() {
    let mut h = Mock::chat(&[("x-data-classification", "strict")]);
    let mut s = forwarded_with(&mut h, ALLOWED_STREAM);
    h.respond("200", "text/event-stream");
    assert_eq!(s.on_response_headers(&mut h, false), Outcome::proceed()); // never held, even when enforced
    h.response_body = b"data: {\"id\":\"gen-2\",\"provider\":\"Anthropic\"}\n\n".to_vec();
    let n = h.response_body.len();
    assert_eq!(s.on_response_body(&mut h, n, false), Outcome::proceed());
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!((rec["streamed"].as_bool(), rec["response_not_inspected"].as_str()), (Some(true), Some("incomplete")));
    assert_eq!(rec["generation_id"], "gen-2");
}

#[test]
fn enforced_response_is_held_and_replaced_when_unapproved() {
    let mut h = Mock::chat(&[("x-data-classification", "strict")]);
    let mut s = forwarded(&mut h);
    h.respond("200", "application/json");
    assert_eq!(s.on_response_headers(&mut h, false), Outcome::pause());
    assert_eq!(s.on_response_body(&mut h, 10, false), Outcome::pause());
    h.response_body = br#"{"id":"gen-3","model":"anthropic/claude-3.5-sonnet","provider":"OpenAI"}"#.to_vec();
    let n = h.response_body.len();
    let out = s.on_response_body(&mut h, n, true);
    assert_eq!((out.flow, replies(&out)[0].reason), (Flow::Pause, Reason::ServedUnapproved));
    assert!(matches!(out.effects.as_slice(), [Effect::ReplaceResponse(_)]));
    assert!(matches!(s.phase(), Phase::Replied));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["status"].as_u64()), (Some("deny"), Some(502)));
    assert_eq!(rec["provider_verdict"], "unapproved");
    // Approved: released at its end.
    let mut h = Mock::chat(&[("x-data-classification", "strict")]);
    let mut s = forwarded(&mut h);
    h.respond("200", "application/json");
    s.on_response_headers(&mut h, false);
    h.response_body = ANSWER.to_vec();
    assert_eq!(s.on_response_body(&mut h, ANSWER.len(), true), Outcome::proceed());
    // Too large to inspect: withheld at once.
    let mut h = Mock::chat(&[("x-data-classification", "strict")]);
    let mut s = forwarded(&mut h);
    h.respond("200", "application/json");
    s.on_response_headers(&mut h, false);
    let out = s.on_response_body(&mut h, 2 << 20, false);
    assert_eq!(replies(&out)[0].reason, "served_unapproved");
    assert_eq!(s.audit().response.response_not_inspected, Some(crate::core::response::reason::TOO_LARGE));
}

#[test]
fn response_before_the_decision_means_lost_control_and_is_replaced() {
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    h.properties.push((Property::RequestSize, 42u64.to_le_bytes().to_vec()));
    h.respond("200", "application/json");
    let out = s.on_response_headers(&mut h, false);
    assert_eq!(
        (out.flow, replies(&out)[0].reason, replies(&out)[0].status),
        (Flow::Pause, Reason::FilterBypassed, 502)
    );
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Log(Level::Error, m) if m.contains("lost control"))));
    assert!(metric_names(&out).contains(&"openrouter_guard_unexpected_path_total"));
    assert!(matches!(out.effects.last(), Some(Effect::ReplaceResponse(_))));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!(rec["reasons"], serde_json::json!(["filter_bypassed"]));
    assert_eq!(
        (rec["decision"].as_str(), rec["status"].as_u64(), rec["upstream_status"].as_u64()),
        (Some("error"), Some(502), Some(200))
    );
    assert_eq!((rec["bytes_in"].as_u64(), rec["bytes_out"].as_u64()), (Some(42), Some(42)));
}

#[test]
fn envoy_own_reply_to_an_undecided_request_is_observed_then_recorded_incomplete() {
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    h.properties.push((Property::ResponseCodeDetails, b"request_payload_too_large".to_vec()));
    h.respond("413", "text/plain");
    assert_eq!(s.on_response_headers(&mut h, false), Outcome::proceed());
    assert!(matches!(s.phase(), Phase::Response(Fate::Undecided, _)));
    // Still undecided: a request callback now would still be decided, never passed unread.
    assert_eq!(s.on_request_headers(&mut h, false), Outcome::pause());
    assert_eq!(s.on_response_body(&mut h, 0, true), Outcome::proceed());
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["status"].as_u64()), (Some("reject"), Some(413)));
    assert_eq!(rec["reasons"], serde_json::json!(["request_incomplete"]));
    assert_eq!(rec["upstream_status"], Value::Null);
}

#[test]
fn log_while_held_records_incomplete_or_lost_control() {
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    let (rec, out) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["reasons"][0].as_str()), (Some("reject"), Some("request_incomplete")));
    assert!(out.effects.contains(&Effect::ForgetWatch));
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    h.properties.push((Property::UpstreamAddress, b"127.0.0.1:9".to_vec()));
    let (rec, out) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["reasons"][0].as_str()), (Some("error"), Some("filter_bypassed")));
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Log(_, m) if m.contains("(stream end)"))));
    assert!(metric_names(&out).contains(&"openrouter_guard_fail_closed_total"));
}

#[test]
fn log_without_headers_publishes_nothing() {
    let mut h = Mock::chat(&[]);
    let mut s = stream();
    assert_eq!(s.on_log(&mut h), Outcome::proceed());
    assert!(matches!(s.phase(), Phase::Idle));
    // Out-of-order callbacks before the request headers pass (the context exists for them only).
    h.respond("200", "application/json");
    assert_eq!(s.on_response_headers(&mut h, true), Outcome::proceed());
    assert_eq!(s.on_response_body(&mut h, 1, true), Outcome::proceed());
}

#[test]
fn hold_watch_reply_is_the_stream_reply() {
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    h.refusal = Some(Rejection::new(503, "internal_error", Reason::HeadersNotHeld, "x"));
    h.respond("503", "application/json");
    assert_eq!(s.on_response_headers(&mut h, true), Outcome::proceed());
    assert!(matches!(s.phase(), Phase::Replied));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["status"].as_u64()), (Some("error"), Some(503)));
    assert_eq!(rec["reasons"].as_array().unwrap().last().unwrap(), "headers_not_held");
}

#[test]
fn counters_of_zero_are_not_emitted() {
    let mut a = AuditRecord::new();
    a.profile = Some("p q".into());
    let ops = metrics::for_record(&a);
    let names: Vec<&str> = ops.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["openrouter_guard_requests_total.decision.allow.profile.p_q", "openrouter_guard_filter_duration_us"]
    );
    a.decision = Decision::Reject;
    a.reason(Reason::InvalidJson);
    let names: Vec<String> = metrics::for_record(&a).into_iter().map(|m| m.name).collect();
    assert!(names.contains(&"openrouter_guard_parse_failures_total.kind.request".to_string()));
}

#[test]
fn a_failed_response_edit_replaces_the_response_not_the_request() {
    let mut h = Mock::chat(&[]);
    let mut s = forwarded(&mut h);
    h.respond("200", "application/json");
    s.on_response_headers(&mut h, false);
    let out = s.edit_failed(Reason::WriteBodyFailed);
    assert_eq!(out.flow, Flow::Pause);
    assert!(matches!(out.effects.as_slice(), [Effect::ReplaceResponse(r)] if r.status == 500));
    assert!(matches!(s.phase(), Phase::Replied));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["status"].as_u64()), (Some("error"), Some(500)));
    assert!(rec["prompt_sha256"].is_string(), "the request was forwarded: its digest stays");
}

#[test]
fn governed_requests_ask_for_identity_and_compressed_bodies_are_forwarded_decoded() {
    use crate::core::decode::testenc::gzip;
    let mut h = Mock::chat(&[("content-encoding", "gzip")]);
    let mut s = stream();
    let out = s.on_request_headers(&mut h, false);
    assert!(out.effects.contains(&Effect::Edit {
        edit: Edit::SetRequestHeader("accept-encoding", "identity".into()),
        on_fail: Some(Reason::HeaderEditFailed)
    }));
    let out = send_body(&mut s, &mut h, &gzip(ALLOWED));
    assert_eq!(out.flow, Flow::Continue);
    assert!(new_body(&out, &h.request_body).is_some_and(|b| b["max_tokens"] == 1000));
    assert!(out.effects.contains(&Effect::Edit {
        edit: Edit::RemoveRequestHeader("content-encoding".into()),
        on_fail: Some(Reason::WriteBodyFailed)
    }));
    assert!(s.audit().reasons.contains(&Reason::RequestDecodedGzip));
}

const MASK_POLICY: &str = r#"{"hosts": ["openrouter.ai"], "default_profile": "m",
  "profiles": {"m": {"models": [{"allow": "anthropic/*"}],
                     "pii": {"builtin_defaults": false, "entities": {"EMAIL": "mask"}}}}}"#;

fn masked_stream(h: &mut Mock) -> Stream {
    masked_with(h, ALLOWED)
}

/// Like [`masked_stream`] for a request that asks for a stream.
fn masked_sse(h: &mut Mock) -> Stream {
    masked_with(h, ALLOWED_STREAM)
}

fn masked_with(h: &mut Mock, body: &[u8]) -> Stream {
    let policy = Rc::new(Policy::from_json(MASK_POLICY.as_bytes()).unwrap());
    let mut s = Stream::new(policy, Rc::new(RefCell::new(AuditChain::new("t".into()))));
    s.on_request_headers(h, false);
    let out = send_body(&mut s, h, body);
    let fwd = new_body(&out, &h.request_body).unwrap().to_string();
    assert!(fwd.contains("[EMAIL_1]") && !fwd.contains("jane@example.org"), "{fwd}");
    s
}

#[test]
fn masked_values_are_restored_in_a_held_json_answer_with_its_exact_length() {
    let mut h = Mock::chat(&[]);
    let mut s = masked_stream(&mut h);
    h.respond("200", "application/json");
    let out = s.on_response_headers(&mut h, false);
    assert_eq!(out.flow, Flow::Pause, "held whole to be rewritten");
    assert!(out.effects.contains(&Effect::Edit { edit: Edit::RemoveResponseHeader("content-length"), on_fail: None }));
    let answer = br#"{"choices":[{"message":{"content":"Wrote to [EMAIL_1]."}}]}"#;
    assert_eq!(s.on_response_body(&mut h, 10, false), Outcome::pause());
    h.response_body = answer.to_vec();
    let out = s.on_response_body(&mut h, answer.len(), true);
    assert_eq!(out.flow, Flow::Continue);
    let body = out.effects.iter().find_map(|e| match e {
        Effect::Edit {
            edit: Edit::ReplaceResponseBody { old_len, bytes },
            on_fail: Some(Reason::ResponseUnreadable),
        } => {
            assert_eq!(*old_len, answer.len());
            Some(String::from_utf8(bytes.clone()).unwrap())
        }
        _ => None,
    });
    let body = body.unwrap();
    assert!(body.contains("Wrote to jane@example.org."), "{body}");
    assert!(out.effects.contains(&Effect::Edit {
        edit: Edit::SetResponseHeader("content-length", body.len().to_string()),
        on_fail: Some(Reason::ResponseUnreadable)
    }));
    // The write failing withholds the answer.
    let out = s.edit_failed(Reason::ResponseUnreadable);
    assert!(matches!(out.effects.as_slice(), [Effect::ReplaceResponse(r)] if r.reason == Reason::ResponseUnreadable));
}

#[test]
fn an_answer_that_cannot_be_restored_is_withheld_and_a_stream_is_rewritten_per_chunk() {
    let mut h = Mock::chat(&[]);
    let mut s = masked_stream(&mut h);
    h.response_headers = pairs(&[(":status", "200"), ("content-type", "application/json"), ("content-encoding", "br")]);
    let out = s.on_response_headers(&mut h, false);
    assert_eq!(
        (out.flow, replies(&out)[0].status, replies(&out)[0].reason),
        (Flow::Pause, 502, Reason::ResponseUnreadable)
    );
    assert!(matches!(s.phase(), Phase::Replied));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["status"].as_u64()), (Some("deny"), Some(502)));

    let mut h = Mock::chat(&[]);
    let mut s = masked_sse(&mut h);
    h.respond("200", "text/event-stream");
    assert_eq!(s.on_response_headers(&mut h, false).flow, Flow::Continue);
    let mut sent = String::new();
    for chunk in [
        "data: {\"choices\":[{\"delta\":{\"content\":\"to [EMA\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"IL_1]!\"}}]}\n\ndata: [DONE]\n\n",
    ] {
        h.response_body = chunk.as_bytes().to_vec();
        let out = s.on_response_body(&mut h, chunk.len(), chunk.ends_with("[DONE]\n\n"));
        assert_eq!(out.flow, Flow::Continue);
        let replaced = out.effects.iter().find_map(|e| match e {
            Effect::Edit { edit: Edit::ReplaceResponseBody { bytes, .. }, on_fail: None } => {
                Some(String::from_utf8(bytes.clone()).unwrap())
            }
            _ => None,
        });
        sent.push_str(&replaced.unwrap_or_else(|| chunk.to_string()));
    }
    assert!(sent.contains("jane@example.org") && !sent.contains("[EMAIL_1]"), "{sent}");
}

#[test]
fn the_request_decides_what_is_streamed_and_the_bytes_how_it_is_read() {
    // A requested stream labelled `text/plain` is streamed and read as events: the tag cut
    // across events is restored (before: held whole and read as raw text).
    let mut h = Mock::chat(&[]);
    let mut s = masked_sse(&mut h);
    h.respond("200", "text/plain");
    assert_eq!(s.on_response_headers(&mut h, false).flow, Flow::Continue);
    let chunk = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"to [EMA\"}}]}\n\n\
                 data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"IL_1]\"}}]}\n\ndata: [DONE]\n\n";
    h.response_body = chunk.as_bytes().to_vec();
    let out = s.on_response_body(&mut h, chunk.len(), true);
    let sent = replaced_response(&out).unwrap();
    assert!(sent.contains("jane@example.org") && !sent.contains("EMA"), "{sent}");

    // An event-stream label on an answer to a request that asked for no stream: held and read
    // whole (before: streamed, and under `enforce_served` never checked).
    let mut h = Mock::chat(&[]);
    let mut s = masked_stream(&mut h);
    h.respond("200", "text/event-stream");
    assert_eq!(s.on_response_headers(&mut h, false).flow, Flow::Pause);
    h.response_body = chunk.as_bytes().to_vec();
    let out = s.on_response_body(&mut h, chunk.len(), true);
    let sent = replaced_response(&out).unwrap();
    assert!(sent.contains("jane@example.org") && !sent.contains("EMA"), "{sent}");
}

const OUTPUT_POLICY: &str = r#"{"hosts": ["openrouter.ai"], "default_profile": "m",
  "profiles": {"m": {"models": [{"allow": "anthropic/*"}],
                     "output_pii": {"builtin_defaults": false, "entities": {"SECRETS": "block"}}}}}"#;
const LEAK: &str = "the key is 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 ok";

fn output_stream(h: &mut Mock) -> Stream {
    let policy = Rc::new(Policy::from_json(OUTPUT_POLICY.as_bytes()).unwrap());
    let mut s = Stream::new(policy, Rc::new(RefCell::new(AuditChain::new("t".into()))));
    s.on_request_headers(h, false);
    assert_eq!(send_body(&mut s, h, ALLOWED).flow, Flow::Continue);
    s
}

fn replaced_response(out: &Outcome) -> Option<String> {
    out.effects.iter().find_map(|e| match e {
        Effect::Edit { edit: Edit::ReplaceResponseBody { bytes, .. }, .. } => {
            Some(String::from_utf8(bytes.clone()).unwrap())
        }
        _ => None,
    })
}

#[test]
fn trailers_end_a_held_answer_which_is_restored_or_blocked_as_at_its_end() {
    // Restore: the last body callback has no end of stream; the trailers finish the held body.
    let mut h = Mock::chat(&[]);
    let mut s = masked_stream(&mut h);
    h.respond("200", "application/json");
    assert_eq!(s.on_response_headers(&mut h, false).flow, Flow::Pause);
    let answer = br#"{"choices":[{"message":{"content":"Wrote to [EMAIL_1]."}}]}"#;
    h.response_body = answer.to_vec();
    assert_eq!(s.on_response_body(&mut h, answer.len(), false), Outcome::pause());
    let out = s.on_response_trailers(&mut h);
    assert_eq!(out.flow, Flow::Continue);
    let body = replaced_response(&out).unwrap();
    assert!(body.contains("Wrote to jane@example.org."), "{body}");
    assert!(out.effects.contains(&Effect::Edit {
        edit: Edit::SetResponseHeader("content-length", body.len().to_string()),
        on_fail: Some(Reason::ResponseUnreadable)
    }));
    assert!(matches!(s.phase(), Phase::ResponseDone(_)));

    // Output inspection `block`: the held answer is withheld at the trailers, never passed unread.
    let mut h = Mock::chat(&[]);
    let mut s = output_stream(&mut h);
    h.respond("200", "application/json");
    assert_eq!(s.on_response_headers(&mut h, false).flow, Flow::Pause);
    let answer = format!(r#"{{"choices":[{{"message":{{"content":"{LEAK}"}}}}]}}"#);
    h.response_body = answer.clone().into_bytes();
    assert_eq!(s.on_response_body(&mut h, answer.len(), false), Outcome::pause());
    let out = s.on_response_trailers(&mut h);
    assert_eq!((out.flow, replies(&out)[0].status, replies(&out)[0].reason), (Flow::Pause, 502, Reason::OutputBlocked));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!((rec["decision"].as_str(), rec["status"].as_u64()), (Some("deny"), Some(502)));

    // A held body that cannot be read at the trailers is withheld (502), not passed unread.
    let mut h = Mock::chat(&[]);
    let mut s = masked_stream(&mut h);
    h.respond("200", "application/json");
    s.on_response_headers(&mut h, false);
    assert_eq!(s.on_response_body(&mut h, 10, false), Outcome::pause());
    h.fail_reads = true;
    let out = s.on_response_trailers(&mut h);
    assert_eq!(
        (out.flow, replies(&out)[0].status, replies(&out)[0].reason),
        (Flow::Pause, 502, Reason::ResponseUnreadable)
    );
    assert!(matches!(s.phase(), Phase::Replied));
}

#[test]
fn trailers_after_a_rewritten_stream_drop_its_held_tail_noted_and_counted() {
    let mut h = Mock::chat(&[]);
    let mut s = masked_sse(&mut h);
    h.respond("200", "text/event-stream");
    assert_eq!(s.on_response_headers(&mut h, false).flow, Flow::Continue);
    // The event is incomplete (no blank line): the rewriting holds it back.
    let chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"to [EMAIL_1]\"}}]}";
    h.response_body = chunk.as_bytes().to_vec();
    let out = s.on_response_body(&mut h, chunk.len(), false);
    let sent = replaced_response(&out).unwrap_or_else(|| chunk.to_string());
    assert!(!sent.contains("EMAIL") && !sent.contains("jane"), "{sent}");
    h.response_body.clear();
    let out = s.on_response_trailers(&mut h);
    assert_eq!(out.flow, Flow::Continue);
    assert_eq!(replaced_response(&out), None, "nothing can follow the last data frame");
    assert!(metric_names(&out).contains(&metrics::RESPONSE_TAIL_DROPPED), "{out:?}");
    let (rec, _) = log(&mut s, &mut h);
    assert!(rec["reasons"].as_array().unwrap().iter().any(|r| r == "response_tail_dropped"), "{rec}");

    // No tail held back: nothing is dropped or noted.
    let mut h = Mock::chat(&[]);
    let mut s = masked_sse(&mut h);
    h.respond("200", "text/event-stream");
    s.on_response_headers(&mut h, false);
    let chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
    h.response_body = chunk.as_bytes().to_vec();
    s.on_response_body(&mut h, chunk.len(), false);
    let out = s.on_response_trailers(&mut h);
    assert!(!metric_names(&out).contains(&metrics::RESPONSE_TAIL_DROPPED), "{out:?}");
    let (rec, _) = log(&mut s, &mut h);
    assert!(!rec["reasons"].as_array().is_some_and(|a| a.iter().any(|r| r == "response_tail_dropped")), "{rec}");
}

#[test]
fn trailers_end_an_enforced_held_answer_which_is_checked_as_at_its_end() {
    for (provider, replaced) in [("OpenAI", true), ("Anthropic", false)] {
        let mut h = Mock::chat(&[("x-data-classification", "strict")]);
        let mut s = forwarded(&mut h);
        h.respond("200", "application/json");
        assert_eq!(s.on_response_headers(&mut h, false), Outcome::pause());
        h.response_body =
            format!(r#"{{"id":"gen-3","model":"anthropic/claude-3.5-sonnet","provider":"{provider}"}}"#).into_bytes();
        let n = h.response_body.len();
        assert_eq!(s.on_response_body(&mut h, n, false), Outcome::pause());
        let out = s.on_response_trailers(&mut h);
        let (rec, _) = log(&mut s, &mut h);
        if replaced {
            assert_eq!((out.flow, replies(&out)[0].reason), (Flow::Pause, Reason::ServedUnapproved));
            assert_eq!(rec["provider_verdict"], "unapproved");
        } else {
            assert_eq!(out, Outcome::proceed());
            assert_eq!(rec["provider_verdict"], "approved");
        }
    }
}

#[test]
fn the_clock_is_read_twice_per_deciding_callback_and_never_while_buffering() {
    // Each read is a host call (issue 17): the callback's start time serves the record's `ts`,
    // the budgets and the first-byte latency; buffering callbacks decide nothing and read none.
    let (mut s, mut h) = (stream(), Mock::chat(&[]));
    let reads = |h: &Mock, from: u64| (h.now - from) / 1_000_000;
    let t = h.now;
    assert_eq!(s.on_request_headers(&mut h, false).flow, Flow::Pause);
    assert_eq!(reads(&h, t), 2);
    let t = h.now;
    h.request_body = ALLOWED[..10].to_vec();
    let out = s.on_request_body(&mut h, 10, false);
    assert_eq!(out.flow, Flow::Pause);
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Unwatch)), "{out:?}");
    assert_eq!(reads(&h, t), 0);
    let t = h.now;
    assert_eq!(send_body(&mut s, &mut h, ALLOWED).flow, Flow::Continue);
    assert_eq!(reads(&h, t), 2);
    h.respond("200", "application/json");
    let t = h.now;
    s.on_response_headers(&mut h, false);
    assert_eq!(reads(&h, t), 2);
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!(rec["decision"], "allow");
    // Headers at t0, response headers 4 reads (4 ms) later.
    assert_eq!(rec["latency_first_byte_ms"], 4);
    // A body over the limit is still refused at the first callback that shows it.
    let (mut s, mut h) = (stream(), Mock::chat(&[]));
    s.on_request_headers(&mut h, false);
    let out = s.on_request_body(&mut h, 5000, false);
    assert!(out.effects.iter().any(|e| matches!(e, Effect::Reply(r) if r.status == 413)), "{out:?}");
}

#[test]
fn a_clean_body_is_rewritten_by_its_prefix_only() {
    // Provider injection and the max_tokens cap edit the first bytes; the long clean tail stays in
    // the host's buffer instead of being copied into a new body and written back (issue 17).
    let tail = "lorem ipsum dolor sit amet ".repeat(100);
    let body = format!(
        r#"{{"model":"anthropic/claude-3.5-sonnet","max_tokens":5000,"messages":[{{"role":"user","content":"{tail}"}}]}}"#
    );
    let mut h = Mock::chat(&[]);
    let mut s = held(&mut h);
    let out = send_body(&mut s, &mut h, body.as_bytes());
    assert_eq!(out.flow, Flow::Continue);
    let (old_len, prefix) = out
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Edit { edit: Edit::ReplaceRequestBody { old_len, bytes }, .. } => Some((*old_len, bytes.clone())),
            _ => None,
        })
        .unwrap();
    assert!(old_len < 100 && prefix.len() < 200, "{old_len} {}", prefix.len());
    let sent = [&prefix[..], &body.as_bytes()[old_len..]].concat();
    let v: Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!((v["max_tokens"].as_u64(), v["messages"][0]["content"].as_str()), (Some(1000), Some(tail.as_str())));
    assert!(out.effects.contains(&Effect::Edit {
        edit: Edit::SetRequestHeader("content-length", sent.len().to_string()),
        on_fail: Some(Reason::WriteBodyFailed)
    }));
    let (rec, _) = log(&mut s, &mut h);
    assert_eq!(rec["bytes_out"], sent.len());
    assert_eq!(rec["prompt_sha256"], crate::core::audit::sha256_hex(&sent));
}
