//! `Policy::from_json` on arbitrary bytes.
//!
//! Properties: never panics (regex and dictionary compilation included); an accepted config was
//! valid JSON to serde_json; the compiled policy is coherent (a default profile that exists,
//! profile names unique ignoring case, limits in range); every compiled profile can run a request
//! and a PII scan without panicking.

use openrouter_guard::api::AuditRecord;
use openrouter_guard::api::PiiTally;
use openrouter_guard::api::{Policy, MAX_JSON_DEPTH_CEILING};
use openrouter_guard::api::{on_body, on_head, RequestHead};

const PROBE_TEXT: &str = "mail jane@corp.io, call 415-555-0132, Blue Heron EMP-123456, my name is Ann Lee, 1 Main St";

/// Runs every property on `data`.
pub fn check(data: &[u8]) {
    let Ok(p) = Policy::from_json(data) else { return };
    assert!(serde_json::from_slice::<serde_json::Value>(data).is_ok(), "accepted a config serde_json refuses");
    assert!(!p.profiles.is_empty(), "no profiles");
    assert!(p.default_profile < p.profiles.len(), "default profile out of range");
    assert!((1..=MAX_JSON_DEPTH_CEILING).contains(&p.max_json_depth), "max_json_depth out of range");
    assert!(p.max_body_bytes >= 1, "max_body_bytes is 0");
    let mut names: Vec<String> = p.profiles.iter().map(|x| x.name.to_ascii_lowercase()).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "profile names collide ignoring case");
    assert!(p.user_header.as_deref() != Some(p.profile_header.as_str()));
    for (i, prof) in p.profiles.iter().enumerate() {
        assert_eq!(p.profile_by_name(&prof.name), Some(i), "profile_by_name does not find its own profile");
        let mut tally = PiiTally::default();
        let _ = prof.redactor.scan(PROBE_TEXT, &mut tally);
        let headers: Vec<(String, String)> = vec![
            (":method".into(), "POST".into()),
            (":path".into(), "/api/v1/chat/completions".into()),
            ("content-type".into(), "application/json".into()),
            (p.profile_header.clone(), prof.name.clone()),
        ];
        let mut audit = AuditRecord::new();
        if let Ok(plan) = on_head(&p, RequestHead { headers: &headers, end_of_stream: false }, &mut audit) {
            let body = format!(
                r#"{{"model":"anthropic/claude-3.5-sonnet","messages":[{{"role":"user","content":"{PROBE_TEXT}"}}],"max_tokens":99999}}"#
            );
            let _ = on_body(&p, &plan, body.as_bytes(), &mut audit);
        }
        assert!(serde_json::from_str::<serde_json::Value>(&audit.to_json()).is_ok());
    }
}
