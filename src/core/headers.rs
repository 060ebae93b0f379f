//! Header bytes from the host, and what a value that is not UTF-8 means.
//!
//! HTTP header values are bytes (RFC 9110 §5.5 allows obs-text, and Envoy passes Latin-1 values
//! such as `X-Title: Caf\xe9` through on both codecs). The filter reads every header as bytes and
//! decides here, per header, what a non-UTF-8 value means:
//!
//! - a header the filter interprets on the request path ([`INTERPRETED`], plus the policy's profile
//!   and user headers): the request is refused with 400 `header_not_utf8` ([`Reason::HeaderNotUtf8`]) — guessing a profile, a
//!   media type, a length or a credential from undecodable bytes is not failing closed;
//! - `x-request-id`: only copied into the audit record, so it is treated as absent there;
//! - every other header: read as Latin-1 only by the PII scan of forwarded headers
//!   (`core::head_pii`), passed through to the upstream untouched unless that scan redacts it.
//!
//! Either of the last two adds the audit note `header_not_utf8_passed`.
//!
//! Also here: the decoder of the host's header-map wire format (count, lengths, NUL-terminated
//! names and values), bounds-checked so a malformed map is an error, never a trap.

use crate::core::reason::Reason;
use crate::core::reply::Rejection;

/// One header as the host gave it.
pub type RawHeader = (Vec<u8>, Vec<u8>);

/// Request headers whose values the filter interprets: a non-UTF-8 value is refused with 400.
/// (`authorization` and `x-api-key` are interpreted by their presence for `reject_client_keys`;
/// an undecodable credential is refused rather than forwarded unexamined.)
pub(crate) const INTERPRETED: &[&str] = &[
    ":authority",
    ":path",
    ":method",
    "content-type",
    "content-encoding",
    "content-length",
    "authorization",
    "x-api-key",
];

/// Request headers as text for the core's request step.
#[derive(Debug, Default)]
pub(crate) struct TextHeaders {
    /// Headers whose name and value are UTF-8 (names as the host gave them).
    pub headers: Vec<(String, String)>,
    /// How many headers were left out because they were not UTF-8 (and are not interpreted).
    pub(crate) passed_opaque: usize,
    /// Set when an interpreted header was not UTF-8: the request must be refused with this
    /// (`headers` then lacks that header; it still describes the request for the audit record).
    pub(crate) refused: Option<Rejection>,
}

fn interpreted(name: &str, extra: &[&str]) -> bool {
    INTERPRETED.iter().chain(extra.iter()).any(|h| h.eq_ignore_ascii_case(name))
}

/// Turns raw request headers into text. `extra` are the policy's own interpreted headers
/// (profile header, user header). `refused` is a 400 when an interpreted header is not UTF-8;
/// its message names the header (a fixed or configured name, never client content).
///
/// Takes the host's copies by value: a UTF-8 name and value become the text as they are, without a
/// second copy (two allocations per header fewer on every request; issue 17).
pub(crate) fn request_text(raw: Vec<RawHeader>, extra: &[&str]) -> TextHeaders {
    let mut out = TextHeaders { headers: Vec::with_capacity(raw.len()), passed_opaque: 0, refused: None };
    for (name, value) in raw {
        let Ok(name) = String::from_utf8(name) else {
            // A name that is not UTF-8 cannot be one the filter interprets: pass it on unread.
            out.passed_opaque += 1;
            continue;
        };
        match String::from_utf8(value) {
            Ok(v) => out.headers.push((name, v)),
            Err(_) if interpreted(&name, extra) => {
                let shown = INTERPRETED.iter().chain(extra.iter()).find(|h| h.eq_ignore_ascii_case(&name));
                out.refused.get_or_insert_with(|| {
                    Rejection::bad_request(
                        Reason::HeaderNotUtf8,
                        format!("header {} is not valid UTF-8", shown.copied().unwrap_or("(interpreted)")),
                    )
                });
            }
            Err(e) => {
                out.passed_opaque += 1;
                // Read as Latin-1 (how Node's and most HTTP servers read obs-text) for the PII scan
                // of forwarded headers (core::head_pii), which replaces it only when it redacts.
                // `x-request-id` stays absent: the record never carries an id it cannot print.
                if !name.eq_ignore_ascii_case("x-request-id") {
                    out.headers.push((name, e.as_bytes().iter().map(|&b| char::from(b)).collect()));
                }
            }
        }
    }
    out
}

/// A response header value the filter reads (`content-type`, `content-encoding`): lossy text, so
/// that undecodable bytes can never equal a known token (`gzip`, `application/json`) and the body
/// is then treated as unknown, never as something it might not be. Returns whether it was lossy.
pub(crate) fn response_text(value: &[u8]) -> (String, bool) {
    match std::str::from_utf8(value) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (String::from_utf8_lossy(value).into_owned(), true),
    }
}

/// Decodes the host's header-map encoding: a little-endian u32 count, then per entry two u32
/// lengths (name, value), then the names and values each followed by a NUL byte. `None` when the
/// bytes do not match that shape (never a panic, never a read past the end).
pub fn decode_pairs(bytes: &[u8]) -> Option<Vec<RawHeader>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        let arr: [u8; 4] = b.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(arr)).ok()
    };
    let count = word(0)?;
    // Each entry needs 8 bytes of lengths and 2 NULs: a count the buffer cannot hold is malformed
    // (and bounds the allocation below).
    if count > bytes.len() / 10 {
        return None;
    }
    let mut map = Vec::with_capacity(count);
    let mut p = count.checked_mul(8)?.checked_add(4)?;
    for n in 0..count {
        let s = n.checked_mul(8)?.checked_add(4)?;
        let (name_len, value_len) = (word(s)?, word(s.checked_add(4)?)?);
        let name_end = p.checked_add(name_len)?;
        let name = bytes.get(p..name_end)?.to_vec();
        p = name_end.checked_add(1)?;
        let value_end = p.checked_add(value_len)?;
        let value = bytes.get(p..value_end)?.to_vec();
        p = value_end.checked_add(1)?;
        map.push((name, value));
    }
    if p > bytes.len() {
        return None;
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (k, v) in pairs {
            out.extend_from_slice(&(k.len() as u32).to_le_bytes());
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        }
        for (k, v) in pairs {
            out.extend_from_slice(k);
            out.push(0);
            out.extend_from_slice(v);
            out.push(0);
        }
        out
    }

    fn raw(pairs: &[(&str, &[u8])]) -> Vec<RawHeader> {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.to_vec())).collect()
    }

    #[test]
    fn decodes_the_host_encoding_with_any_bytes() {
        let enc = encode(&[(b":path", b"/x"), (b"x-title", b"Caf\xe9"), (b"\xff", b"")]);
        let map = decode_pairs(&enc).unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map[1], (b"x-title".to_vec(), b"Caf\xe9".to_vec()));
        assert_eq!(map[2], (b"\xff".to_vec(), Vec::new()));
        assert_eq!(decode_pairs(&[]).unwrap(), Vec::<RawHeader>::new());
        assert_eq!(decode_pairs(&[0, 0, 0, 0]).unwrap(), Vec::<RawHeader>::new());
    }

    #[test]
    fn malformed_maps_are_errors_at_every_truncation() {
        let enc = encode(&[(b":path", b"/x"), (b"x-title", b"Caf\xe9")]);
        for cut in 1..enc.len() {
            assert!(decode_pairs(&enc[..cut]).is_none(), "cut at {cut}");
        }
        // Lengths pointing past the end, a count the buffer cannot hold.
        assert!(decode_pairs(&[1, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0]).is_none());
        assert!(decode_pairs(&[255, 255, 255, 255]).is_none());
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes() {
        // A small deterministic sweep: every 1..=3-byte mutation of a valid map.
        let enc = encode(&[(b"a", b"bc"), (b"d", b"")]);
        for i in 0..enc.len() {
            for b in [0u8, 1, 7, 0x80, 0xff] {
                let mut m = enc.clone();
                m[i] = b;
                let _ = decode_pairs(&m);
            }
        }
    }

    #[test]
    fn interpreted_non_utf8_headers_are_refused_with_400() {
        for name in [":authority", ":path", "content-type", "content-length", "Authorization", "x-api-key"] {
            let t = request_text(raw(&[(":method", b"POST"), (name, b"v\xe9")]), &[]);
            assert_eq!(t.headers.len(), 1, "{name}: the rest still describes the request");
            let r = t.refused.unwrap();
            assert_eq!((r.status, r.reason), (400, Reason::HeaderNotUtf8), "{name}");
            assert!(!r.message.contains('\u{e9}'));
        }
        let r =
            request_text(raw(&[("X-Data-Classification", b"conf\xe9")]), &["x-data-classification"]).refused.unwrap();
        assert_eq!(r.reason, Reason::HeaderNotUtf8);
        assert!(r.message.contains("x-data-classification"));
    }

    #[test]
    fn other_non_utf8_headers_are_passed_as_latin1_text() {
        let t = request_text(
            raw(&[(":path", b"/api/v1/chat/completions"), ("x-title", b"Caf\xe9"), ("x-request-id", b"\xff")]),
            &["x-user-id"],
        );
        assert!(t.refused.is_none());
        let want = [(":path", "/api/v1/chat/completions"), ("x-title", "Caf\u{e9}")];
        assert_eq!(t.headers, want.map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(t.passed_opaque, 2);
        let t = request_text(vec![(b"x-\xff".to_vec(), b"v".to_vec())], &[]);
        assert_eq!(t.passed_opaque, 1);
    }

    #[test]
    fn response_values_that_are_not_utf8_never_equal_a_known_token() {
        assert_eq!(response_text(b"gzip"), ("gzip".to_string(), false));
        let (t, lossy) = response_text(b"gzip\xe9");
        assert!(lossy && t != "gzip");
        let (t, lossy) = response_text(b"application/json\xff");
        assert!(lossy && !t.eq_ignore_ascii_case("application/json"));
    }
}
