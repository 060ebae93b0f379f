//! Personal data and secrets outside the body (attack round 4, finding 1): the request headers
//! the upstream receives and the query string of the forwarded path are scanned with the
//! profile's request engine, like the body's strings.
//!
//! OpenRouter stores the app-attribution headers `HTTP-Referer` and `X-Title` and shows them on
//! its public app pages; any other header and the query string reach its logs. An e-mail in
//! `X-Title` or a key in `?note=…` went there unread before.
//!
//! - **Headers**: every value whose name is UTF-8, except the ones in [`NOT_SCANNED`] (the
//!   credential the upstream needs, the framing the filter sets, trace ids), the client-address
//!   headers and Envoy's own `x-envoy-*` (removed after the router, [`STRIPPED_BEFORE_UPSTREAM`])
//!   and the policy's profile, user and team headers (removed before the upstream).
//!   `user-agent` and `sec-ch-ua*` are scanned without `IP_ADDRESS`. A value to change is
//!   replaced by its redacted text; several values of one name are sent as one, joined with `, `
//!   (`; ` for `cookie`).
//! - **Query string**: each `&`-separated name and value, percent-decoded (`+` as a space, a `%`
//!   without two hex digits kept as written); a changed part is sent percent-encoded
//!   (`%5BEMAIL%5D`), the others exactly as written.
//! - `block` refuses the request (403 `pii_blocked`); `flag` counts; `redact`, `hash` and `mask`
//!   replace (a masked value outside the body is never restored: it does not reach the model).
//!   The findings are counted in the audit record's `redactions` with the body's.

use crate::core::pii::{Entity, PiiTally, Redactor};

/// Headers whose values are not scanned: the credential OpenRouter needs (`reject_client_keys`
/// governs it), the framing and coding the filter reads or sets, and ids of random digits and hex
/// a tracer or Envoy writes (not text a person wrote; `x-request-id` is checked for a credential
/// on its own, core/request.rs, and recorded hashed when it holds one).
const NOT_SCANNED: &[&str] = &[
    "authorization",
    "x-api-key",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "accept-encoding",
    "host",
    "x-request-id",
    "traceparent",
    "tracestate",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "x-amzn-trace-id",
    "x-cloud-trace-context",
    "x-datadog-trace-id",
    "x-datadog-parent-id",
    "sentry-trace",
];

/// Client-address headers the shipped Envoy and Istio configs remove after the router, so they
/// never reach the upstream: not scanned (every real request's `x-forwarded-for` is an address).
/// Same list as tools/envoy_config.py `STRIPPED_REQUEST_HEADERS` (tools test
/// `test_stripped_headers_match_the_filter` compares them); `x-envoy-*` is skipped by prefix.
const STRIPPED_BEFORE_UPSTREAM: &[&str] =
    &["x-forwarded-client-cert", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "forwarded"];

/// Headers naming the client's software, scanned without `IP_ADDRESS`: every browser's
/// `Chrome/120.0.0.0` reads as an IPv4 address, and so do the `sec-ch-ua-*` versions.
const SOFTWARE_PREFIXES: [&str; 2] = ["user-agent", "sec-ch-ua"];

/// What the scan found outside the body.
#[derive(Debug, Default)]
pub(crate) struct HeadFindings {
    /// Headers to replace before the upstream: (name as sent, new value).
    pub(crate) headers: Vec<(String, String)>,
    /// The new query string (without `?`) when a part of it changed.
    pub(crate) query: Option<String>,
    /// Findings counted (and `blocked` set on a `block` finding).
    pub(crate) tally: PiiTally,
}

fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len()).is_some_and(|n| n.eq_ignore_ascii_case(prefix))
}

fn scanned(name: &str, removed: &[String]) -> bool {
    !name.starts_with(':')
        && !has_prefix(name, "x-envoy-")
        && !NOT_SCANNED.iter().chain(STRIPPED_BEFORE_UPSTREAM).any(|n| n.eq_ignore_ascii_case(name))
        && !removed.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Scans the headers (`removed`: names the filter removes anyway) and `query` (after the `?`).
pub(crate) fn scan(redactor: &Redactor, headers: &[(String, String)], removed: &[String], query: &str) -> HeadFindings {
    let mut out = HeadFindings::default();
    let mut done: Vec<&str> = Vec::new();
    for (name, _) in headers {
        if !scanned(name, removed) || done.iter().any(|d| d.eq_ignore_ascii_case(name)) {
            continue;
        }
        done.push(name);
        let software = SOFTWARE_PREFIXES.iter().any(|p| has_prefix(name, p));
        let mut changed = false;
        let mut values: Vec<String> = Vec::new();
        for (_, v) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            let new = redactor.scan_without(v, &mut out.tally, software.then_some(Entity::IpAddress));
            if out.tally.blocked.is_some() {
                return out;
            }
            changed |= new.is_some();
            values.push(new.unwrap_or_else(|| v.clone()));
        }
        if changed {
            // Cookies are joined with `; ` (RFC 6265 §5.4), any other header with `, `.
            let sep = if name.eq_ignore_ascii_case("cookie") { "; " } else { ", " };
            out.headers.push((name.clone(), values.join(sep)));
        }
    }
    out.query = scan_query(redactor, query, &mut out.tally);
    out
}

/// The query with its changed parts re-encoded; `None` when nothing changed (or on `block`).
fn scan_query(redactor: &Redactor, query: &str, tally: &mut PiiTally) -> Option<String> {
    if query.is_empty() {
        return None;
    }
    let mut changed = false;
    let mut parts: Vec<String> = Vec::new();
    for pair in query.split('&') {
        let (k, v) = match pair.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (pair, None),
        };
        let mut part = component(redactor, k, tally, &mut changed);
        if let Some(v) = v {
            part.push('=');
            part.push_str(&component(redactor, v, tally, &mut changed));
        }
        if tally.blocked.is_some() {
            return None;
        }
        parts.push(part);
    }
    changed.then(|| parts.join("&"))
}

/// One query name or value: as written, or percent-encoded redacted text.
fn component(redactor: &Redactor, raw: &str, tally: &mut PiiTally, changed: &mut bool) -> String {
    match redactor.scan(&form_decode(raw), tally) {
        Some(new) => {
            *changed = true;
            percent_encode(&new)
        }
        None => raw.to_string(),
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// `application/x-www-form-urlencoded` decoding as servers apply it to a query: `+` is a space,
/// `%XX` a byte, a `%` without two hex digits stays; bytes that are not UTF-8 become U+FFFD.
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let escaped = (c == b'%').then(|| Some(hex(*b.get(i + 1)?)? * 16 + hex(*b.get(i + 2)?)?)).flatten();
        match (c, escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every byte but the unreserved ones (RFC 3986 §2.3) as `%XX`.
fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
            out.push(char::from(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0')));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::PiiConfig;

    fn redactor(entities: &str) -> Redactor {
        let cfg = PiiConfig::from_json(&format!(r#"{{"entities":{entities}}}"#)).unwrap();
        Redactor::compile(&cfg, None, "pii").unwrap()
    }

    fn hdrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    const KEY: &str = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn header_values_are_redacted_and_credentials_left_alone() {
        let r = redactor(r#"{"EMAIL":"redact"}"#);
        let bearer = format!("Bearer {KEY}");
        let h = hdrs(&[
            (":path", "/api/v1/chat/completions"),
            ("authorization", &bearer),
            ("X-Title", "Notes for jane.doe@example.org"),
            ("x-customer", "a@example.org"),
            ("x-customer", "plain"),
            ("x-user-id", "bob@example.org"),
            ("x-envoy-original-path", "/x?e=c@example.org"),
            ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36"),
            ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ("Sec-CH-UA-Full-Version-List", "\"Chromium\";v=\"120.0.6099.109\""),
            ("x-stainless-runtime-version", "3.11.4"),
        ]);
        let f = scan(&r, &h, &["x-user-id".to_string()], "");
        assert_eq!(
            f.headers,
            vec![
                ("X-Title".to_string(), "Notes for [EMAIL]".to_string()),
                ("x-customer".to_string(), "[EMAIL], plain".to_string())
            ]
        );
        assert_eq!(f.tally.counts, vec![("EMAIL".to_string(), "redact", 2)]);
        assert_eq!(f.query, None);
    }

    #[test]
    fn query_parts_are_decoded_scanned_and_re_encoded() {
        let r = redactor(r#"{"EMAIL":"redact"}"#);
        let f = scan(&r, &[], &[], "a=1&note=mail+jane%40example.org&%zz&b");
        assert_eq!(f.query.as_deref(), Some("a=1&note=mail%20%5BEMAIL%5D&%zz&b"));
        assert_eq!(scan(&r, &[], &[], "a=1&b=two+words").query, None);
    }

    #[test]
    fn client_addresses_are_not_scanned_and_software_names_are_scanned_without_ip() {
        let r = redactor(r#"{"IP_ADDRESS":"block","SECRETS":"block"}"#);
        let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36";
        let h = hdrs(&[
            ("x-forwarded-for", "203.0.113.7, 198.51.100.2"),
            ("X-Real-IP", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7;proto=https"),
            ("x-forwarded-host", "203.0.113.7"),
            ("x-forwarded-client-cert", "By=spiffe://x;URI=spiffe://y;DNS=203.0.113.7"),
            ("user-agent", ua),
            ("sec-ch-ua-full-version-list", "\"Chromium\";v=\"120.0.6099.109\""),
        ]);
        let f = scan(&r, &h, &[], "");
        assert!(f.tally.blocked.is_none() && f.headers.is_empty() && f.tally.counts.is_empty(), "{f:?}");
        // Elsewhere the address is found.
        let f = scan(&r, &hdrs(&[("x-client", "203.0.113.7")]), &[], "");
        assert_eq!(f.tally.blocked.as_deref(), Some("IP_ADDRESS"));
        // A key in the user agent is found.
        let f = scan(&r, &hdrs(&[("User-Agent", &format!("{ua} {KEY}"))]), &[], "");
        assert_eq!(f.tally.blocked.as_deref(), Some("OPENROUTER_KEY"));
    }

    #[test]
    fn cookies_are_rejoined_with_semicolons() {
        let r = redactor(r#"{"EMAIL":"redact"}"#);
        let f = scan(&r, &hdrs(&[("cookie", "a=jane@example.org"), ("cookie", "b=2")]), &[], "");
        assert_eq!(f.headers, vec![("cookie".to_string(), "a=[EMAIL]; b=2".to_string())]);
    }

    #[test]
    fn block_stops_the_scan() {
        let r = redactor(r#"{"SECRETS":"block"}"#);
        let f = scan(&r, &hdrs(&[("x-debug", KEY)]), &[], "");
        assert_eq!(f.tally.blocked.as_deref(), Some("OPENROUTER_KEY"));
        let f = scan(&r, &[], &[], &format!("k={KEY}"));
        assert!(f.tally.blocked.is_some() && f.query.is_none());
    }

    #[test]
    fn decoding_and_encoding_round_trip() {
        assert_eq!(form_decode("a+b%20c%4"), "a b c%4");
        assert_eq!(form_decode("%ff"), "\u{fffd}");
        assert_eq!(percent_encode("[E] a~b"), "%5BE%5D%20a~b");
    }
}
