//! Compressed request bodies: decoded within `max_body_bytes`, governed, forwarded decoded.

use super::*;
use crate::core::decode::testenc::{gzip, zlib, zstd};
use crate::core::decode::Coding;
use crate::core::reason::Reason;

const POLICY: &str = r#"{
  "hosts": ["openrouter.ai"], "default_profile": "p", "max_body_bytes": 4096,
  "profiles": {"p": {"models": [{"allow": "openai/*"}], "pii": {"entities": {"EMAIL": "redact"}}}}
}"#;

fn run(encoding: &str, body: &[u8]) -> (Result<Option<Vec<u8>>, Rejection>, AuditRecord, Option<Plan>) {
    let p = Policy::from_json(POLICY.as_bytes()).unwrap();
    let h: Vec<(String, String)> = [
        (":method", "POST"),
        (":path", "/api/v1/responses"),
        (":authority", "openrouter.ai"),
        ("content-type", "application/json"),
        ("content-encoding", encoding),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut audit = AuditRecord::new();
    let plan = match on_head(&p, RequestHead { headers: &h, end_of_stream: false }, &mut audit) {
        Ok(plan) => plan,
        Err(r) => return (Err(r), audit, None),
    };
    let out = on_body(&p, &plan, body, &mut audit);
    (out, audit, Some(plan))
}

#[test]
fn every_governed_request_asks_for_an_uncompressed_answer() {
    let (_, _, plan) = run("identity", b"{\"model\":\"openai/gpt-4o\"}");
    let plan = plan.unwrap();
    assert_eq!(plan.set_headers, vec![("accept-encoding", "identity")]);
    assert!(!plan.body_decoded());
}

#[test]
fn a_gzip_body_is_governed_and_forwarded_decoded() {
    let json = br#"{"model":"openai/gpt-4o","input":"mail bob@example.com"}"#;
    let (out, audit, plan) = run("gzip", &gzip(json));
    assert!(plan.unwrap().body_decoded());
    let sent = out.unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(v["input"], "mail [EMAIL]");
    assert!(audit.reasons.iter().any(|r| r == "request_decoded_gzip"), "{:?}", audit.reasons);
    assert_eq!(audit.bytes_out, sent.len() as u64);
    assert_eq!(audit.bytes_in, gzip(json).len() as u64);
    assert_eq!(audit.prompt_sha256.as_deref(), Some(sha256_hex(&sent).as_str()));
}

#[test]
fn a_decoded_body_that_needs_no_edit_is_still_forwarded_decoded() {
    let json = br#"{"model":"openai/gpt-4o","input":"hello"}"#;
    for (name, enc) in [("zstd", zstd(json)), ("deflate", zlib(json))] {
        let (out, audit, plan) = run(name, &enc);
        assert_eq!(plan.unwrap().content_coding.map(Coding::name), Some(name));
        assert_eq!(out.unwrap().as_deref(), Some(&json[..]), "{name}");
        assert_eq!(audit.decision, Decision::Allow);
    }
}

#[test]
fn a_disallowed_model_inside_a_compressed_body_is_denied() {
    let json = br#"{"model":"anthropic/claude-3.5-sonnet","input":"hi"}"#;
    let (out, audit, _) = run("zstd", &zstd(json));
    assert_eq!(out.unwrap_err().reason, "model_denied");
    assert_eq!(audit.decision, Decision::Deny);
}

#[test]
fn a_bomb_is_413_and_a_corrupt_stream_400() {
    let bomb = format!(r#"{{"model":"openai/gpt-4o","input":"{}"}}"#, "a".repeat(5000));
    for (name, enc) in [("gzip", gzip(bomb.as_bytes())), ("zstd", zstd(bomb.as_bytes()))] {
        assert!(enc.len() < 4096);
        let (out, audit, _) = run(name, &enc);
        let r = out.unwrap_err();
        assert_eq!((r.status, r.reason), (413, Reason::BodyTooLarge), "{name}");
        assert_eq!(audit.reasons, vec![Reason::BodyTooLarge]);
    }
    let mut corrupt = gzip(br#"{"model":"openai/gpt-4o"}"#);
    let n = corrupt.len();
    corrupt[n - 8] ^= 1;
    let (out, audit, _) = run("gzip", &corrupt);
    let r = out.unwrap_err();
    assert_eq!((r.status, r.reason), (400, Reason::InvalidEncoding));
    assert!(r.message.contains("CRC-32"), "{}", r.message);
    assert_eq!(audit.decision, Decision::Reject);
    let (out, _, _) = run("zstd", b"{\"model\":\"openai/gpt-4o\"}");
    assert_eq!(out.unwrap_err().reason, "invalid_encoding");
}

#[test]
fn unknown_or_stacked_codings_stay_415() {
    for enc in ["br", "compress", "gzip, zstd", "zstd, zstd"] {
        let (out, _, _) = run(enc, b"");
        let r = out.unwrap_err();
        assert_eq!((r.status, r.reason), (415, Reason::UnsupportedEncoding), "{enc}");
    }
}
