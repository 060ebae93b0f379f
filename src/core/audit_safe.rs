//! Client-controlled values as the audit record may carry them (docs/audit.md, "Where each field
//! comes from"): a value that fits a strict grammar is kept, anything else is replaced by its
//! SHA-256 ([`hashed`]), so no free text a client chose (an e-mail in `x-request-id`, a `;param` in
//! the path, the body's `user`) reaches the record or Envoy's operator log.

use crate::core::audit::sha256_hex;
use crate::core::endpoint::{Endpoint, Route};
use crate::core::model::canonical_model;

/// Longest request id kept as sent.
const MAX_ID: usize = 128;
/// Longest authority kept as sent (a DNS name is at most 253 bytes, plus a port).
const MAX_AUTHORITY: usize = 261;

/// Paths outside the inference endpoints that are recorded as sent when they match exactly:
/// OpenRouter's read-only API endpoints. Any other unknown path is recorded only as a hash.
const KNOWN_OTHER_PATHS: [&str; 7] = [
    "/api/v1/models",
    "/api/v1/models/user",
    "/api/v1/generation",
    "/api/v1/credits",
    "/api/v1/key",
    "/api/v1/providers",
    "/api/v1/auth/key",
];

/// Methods recorded by name; any other is `OTHER`.
const METHODS: [&str; 9] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE"];

/// The recorded form of a value that failed its grammar: `sha256-` and the hex SHA-256 of the
/// value as received. It fits the id grammar itself (so it can replace an `x-request-id` header).
/// Unkeyed: it hides the value from a reader but does not anonymise it (a guess can be checked).
pub(crate) fn hashed(raw: &str) -> String {
    format!("sha256-{}", sha256_hex(raw.as_bytes()))
}

/// Whether `s` is `[A-Za-z0-9._-]{1,128}` (a UUID is a special case).
pub(crate) fn is_plain_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `x-request-id` as recorded: kept when it is a plain id, hashed otherwise.
pub(crate) fn request_id(raw: &str) -> String {
    if is_plain_id(raw) {
        raw.to_string()
    } else {
        hashed(raw)
    }
}

/// `:method` as recorded: a standard method name, else `OTHER`.
pub(crate) fn method(raw: &str) -> String {
    METHODS.iter().find(|m| **m == raw).map_or("OTHER", |m| m).to_string()
}

/// `:authority` as recorded: a host name or IPv4 address with an optional port, else hashed.
pub(crate) fn authority(raw: &str) -> String {
    let (host, port) = match raw.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (raw, None),
    };
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok && raw.len() <= MAX_AUTHORITY {
        raw.to_string()
    } else {
        hashed(raw)
    }
}

/// The path as recorded, and the hash of the path as sent when they differ. `route` is the
/// classified normalised path (core/urlpath.rs), `sent` the `:path` as received without its query
/// string. An inference endpoint is recorded in its canonical spelling
/// (`/api/v1/[presets/<slug>/]<endpoint>`, `/api/alpha/...` for the alpha API); a known read-only
/// endpoint as normalised (or a model's endpoint list, model id in canonical form); any other path
/// is `None`. A preset slug outside the id grammar is `-`. `sent` is hashed whenever it is not
/// exactly the recorded path, so extra segments, escapes and odd spellings never appear in clear.
pub(crate) fn path(route: &Route, sent: &str) -> (Option<String>, Option<String>) {
    let canonical = match route.endpoint {
        Endpoint::Other => known_other_path(&route.path),
        e => {
            let version = if route.path.to_ascii_lowercase().starts_with("/api/alpha/") { "alpha" } else { "v1" };
            Some(match &route.preset {
                Some(slug) if is_plain_id(slug) => format!("/api/{version}/presets/{slug}/{}", e.name()),
                Some(_) => format!("/api/{version}/presets/-/{}", e.name()),
                None => format!("/api/{version}/{}", e.name()),
            })
        }
    };
    let hash = (canonical.as_deref() != Some(sent)).then(|| sha256_hex(sent.as_bytes()));
    (canonical, hash)
}

/// A read-only path recorded in clear: one of [`KNOWN_OTHER_PATHS`] as sent, or a model's endpoint
/// list `/api/v1/models/<model>/endpoints` with the model id in its canonical form (model-id grammar).
fn known_other_path(path: &str) -> Option<String> {
    if let Some(p) = KNOWN_OTHER_PATHS.iter().find(|p| **p == path) {
        return Some((*p).to_string());
    }
    let model = path.strip_prefix("/api/v1/models/")?.strip_suffix("/endpoints")?;
    canonical_model(model).map(|m| format!("/api/v1/models/{m}/endpoints"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::endpoint::classify;
    use crate::core::urlpath;

    #[test]
    fn request_ids_keep_their_grammar_or_are_hashed() {
        for ok in ["6f1c2a9e-0b5d-4c1e-9a7f-3d2b1c0e9f8a", "e2e-abc_1.2", &"a".repeat(128)] {
            assert_eq!(request_id(ok), ok);
        }
        for bad in ["ticket alice@example.com", "", "a/b", &"a".repeat(129), "é", "a\nb"] {
            let got = request_id(bad);
            assert_eq!(got, format!("sha256-{}", sha256_hex(bad.as_bytes())), "{bad}");
            assert!(is_plain_id(&got), "the hashed form is a plain id itself");
        }
    }

    #[test]
    fn methods_and_authorities_follow_their_grammar() {
        assert_eq!(method("POST"), "POST");
        assert_eq!(method("alice@example.com"), "OTHER");
        assert_eq!(method("post"), "OTHER");
        for ok in ["openrouter.ai", "OpenRouter.AI:443", "openrouter.ai.", "127.0.0.1:10000"] {
            assert_eq!(authority(ok), ok);
        }
        for bad in ["alice@example.com", "a b", "host:", "host:99999x", "[::1]:80", ""] {
            assert!(authority(bad).starts_with("sha256-"), "{bad}");
        }
    }

    /// What `describe_head` records for a `:path` the normaliser accepts.
    fn recorded(raw: &str) -> (Option<String>, Option<String>) {
        let normal = urlpath::normalize(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
        path(&classify(&normal.path), raw.split('?').next().unwrap_or_default())
    }

    #[test]
    fn paths_are_the_endpoint_plus_a_hash_of_anything_else() {
        let (p, h) = recorded("/api/v1/chat/completions?key=secret");
        assert_eq!((p.as_deref(), h), (Some("/api/v1/chat/completions"), None));
        // Another spelling of the endpoint: recorded canonically, the spelling as sent only hashed.
        for raw in ["/api/v1//chat/completions", "/api/v1/x/../chat/completions", "/api/v1/chat/%63ompletions"] {
            let (p, h) = recorded(raw);
            assert_eq!((p.as_deref(), h), (Some("/api/v1/chat/completions"), Some(sha256_hex(raw.as_bytes()))));
        }
        let (p, h) = recorded("/api/alpha/responses");
        assert_eq!((p.as_deref(), h), (Some("/api/alpha/responses"), None));
        let (p, h) = recorded("/api/v1/presets/team-a/chat/completions");
        assert_eq!((p.as_deref(), h), (Some("/api/v1/presets/team-a/chat/completions"), None));
        let (p, h) = recorded("/api/v1/presets/Alice/chat/completions");
        assert_eq!(p.as_deref(), Some("/api/v1/presets/alice/chat/completions"));
        assert!(h.is_some());
        let (p, h) = recorded("/api/v1/models");
        assert_eq!((p.as_deref(), h), (Some("/api/v1/models"), None));
        let (p, h) = recorded("/api/v1/models/anthropic/claude-3.5-sonnet/endpoints");
        assert_eq!((p.as_deref(), h), (Some("/api/v1/models/anthropic/claude-3.5-sonnet/endpoints"), None));
        let (p, h) = recorded("/api/v1/models/alice@example.com/x/endpoints");
        assert!(p.is_none() && h.is_some());
        let raw = "/api/v1/alice@example.com/x";
        assert_eq!(recorded(raw), (None, Some(sha256_hex(raw.as_bytes()))));
        let raw = "/v1/chat/completions/alice%40example.com";
        assert_eq!(recorded(raw), (None, Some(sha256_hex(raw.as_bytes()))));
    }
}
