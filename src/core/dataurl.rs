//! `data:` URLs read the way a downstream reader reads them, so the walker scans the text they
//! carry, not their encoding.
//!
//! The reading follows the WHATWG URL parser and fetch's `data:` URL processor: leading and
//! trailing C0 controls and spaces are stripped and tabs and line breaks dropped anywhere; the
//! scheme is case-insensitive; the header ends at the first comma; `;base64` ends the header
//! whatever its case, with spaces before it; the body is percent-decoded, then (base64) every
//! ASCII whitespace byte is dropped and up to two `=` end it (forgiving base64). A base64 body
//! that reader refuses is not passed on unscanned: decoders in the wild (Python's `b64decode`,
//! Node's `Buffer.from`) skip bytes outside the alphabet, take `-`/`_` or stop at `=` and would
//! still read text from it, so such a URL is [`Read::Unreadable`] and the request is refused. The
//! same holds for a header that names `base64` anywhere but at its end.

use std::borrow::Cow;

use crate::core::base64;

/// What a string is to the walker.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read<'a> {
    /// Not a `data:` URL, or one without a comma (no reader gets a body from it): plain text.
    Text,
    /// A `data:` URL and its body as a reader decodes it.
    Url(DataUrl<'a>),
    /// Marked base64 but not readable as forgiving base64, or ambiguous: refuse the request.
    Unreadable,
}

/// A `data:` URL split as a reader splits it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DataUrl<'a> {
    /// The header between `data:` and the comma, as written (trimmed), `;base64` included.
    pub header: String,
    /// Whether the body is base64.
    pub base64: bool,
    /// The body: base64 text without whitespace (`base64`), or the percent-decoded bytes.
    pub body: Cow<'a, [u8]>,
}

fn is_url_strip(c: char) -> bool {
    c <= ' '
}

fn is_tab_or_newline(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
}

fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Whether `s` reads as a `data:` URL scheme (before any allocation: most strings stop at once).
fn has_data_scheme(s: &str) -> bool {
    let mut it = s.trim_start_matches(is_url_strip).chars().filter(|c| !is_tab_or_newline(*c));
    "data:".chars().all(|want| it.next().is_some_and(|c| c.eq_ignore_ascii_case(&want)))
}

/// Reads `s` (a decoded JSON string).
pub(crate) fn read(s: &str) -> Read<'_> {
    if !has_data_scheme(s) {
        return Read::Text;
    }
    let trimmed = s.trim_matches(is_url_strip);
    if !trimmed.contains(is_tab_or_newline) {
        return read_clean(trimmed);
    }
    let url: String = trimmed.chars().filter(|c| !is_tab_or_newline(*c)).collect();
    match read_clean(&url) {
        Read::Url(d) => {
            Read::Url(DataUrl { header: d.header, base64: d.base64, body: Cow::Owned(d.body.into_owned()) })
        }
        Read::Text => Read::Text,
        Read::Unreadable => Read::Unreadable,
    }
}

/// [`read`] of a URL without tabs and line breaks.
fn read_clean(url: &str) -> Read<'_> {
    let Some(rest) = url.get(5..) else { return Read::Text };
    let Some((header, raw_body)) = rest.split_once(',') else { return Read::Text };
    let header = header.trim_matches(|c: char| c.is_ascii_whitespace());
    let base64 = ends_with_base64(header);
    if !base64 && contains_ci(header, "base64") {
        return Read::Unreadable;
    }
    let header = header.to_owned();
    let body = percent_decode(raw_body);
    if !base64 {
        return Read::Url(DataUrl { header, base64, body });
    }
    match forgiving_base64(body) {
        Some(body) => Read::Url(DataUrl { header, base64, body }),
        None => Read::Unreadable,
    }
}

/// `…;base64` at the end of the header (spaces allowed after the `;`), any case.
fn ends_with_base64(header: &str) -> bool {
    let Some(head) = header.len().checked_sub(6).and_then(|i| header.get(..i)) else { return false };
    let tail = header.get(head.len()..).unwrap_or_default();
    tail.eq_ignore_ascii_case("base64") && head.trim_end_matches(' ').ends_with(';')
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Percent-decodes `body` (a `%` not followed by two hex digits stays as it is).
fn percent_decode(body: &str) -> Cow<'_, [u8]> {
    if !body.contains('%') {
        return Cow::Borrowed(body.as_bytes());
    }
    let b = body.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = |j: usize| b.get(j).and_then(|h| char::from(*h).to_digit(16));
        match (c, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(0));
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// WHATWG forgiving base64, checked but not decoded: whitespace dropped, `=` only as one or two
/// final bytes of a length that is a multiple of four, the standard alphabet only. Returns the
/// payload without whitespace.
fn forgiving_base64(body: Cow<'_, [u8]>) -> Option<Cow<'_, [u8]>> {
    let body = if body.iter().copied().any(is_ascii_ws) {
        Cow::Owned(body.iter().copied().filter(|b| !is_ascii_ws(*b)).collect())
    } else {
        body
    };
    let mut data: &[u8] = &body;
    if data.len().is_multiple_of(4) {
        for _ in 0..2 {
            if let Some(d) = data.strip_suffix(b"=") {
                data = d;
            }
        }
    }
    let ok = data.len() % 4 != 1 && data.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'));
    ok.then_some(body)
}

impl DataUrl<'_> {
    /// The body's bytes (base64 decoded).
    pub(crate) fn bytes(&self) -> Option<Cow<'_, [u8]>> {
        if !self.base64 {
            return Some(Cow::Borrowed(&self.body));
        }
        base64::decode(std::str::from_utf8(&self.body).ok()?).map(Cow::Owned)
    }

    /// Whether the body, decoded, cannot be UTF-8 text: the decoded start of the body holds a byte
    /// sequence invalid in UTF-8 (a PNG, JPEG or PDF header). Decodes at most 48 bytes.
    pub(crate) fn starts_binary(&self) -> bool {
        let head: Vec<u8> = if self.base64 {
            let n = self.body.len().min(64) / 4 * 4;
            let Some(Some(d)) = self.body.get(..n).map(|h| std::str::from_utf8(h).ok().and_then(base64::decode)) else {
                return false;
            };
            d
        } else {
            self.body.get(..48.min(self.body.len())).unwrap_or_default().to_vec()
        };
        std::str::from_utf8(&head).is_err_and(|e| e.error_len().is_some())
    }

    /// The media type's `type/subtype`, lower case (`text/plain` when the header has none or not a
    /// valid one, as a reader falls back).
    pub(crate) fn media_type(&self) -> String {
        let mt = self.header.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let token =
            |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c));
        match mt.split_once('/') {
            Some((t, st)) if token(t) && token(st) => mt,
            _ => "text/plain".to_owned(),
        }
    }

    /// The URL rebuilt with `header` and the body `bytes` (re-encoded: base64, or percent-encoded).
    pub(crate) fn rebuild(&self, header: &str, bytes: &[u8]) -> String {
        let mut out = format!("data:{header},");
        if self.base64 {
            out.push_str(&base64::encode(bytes));
        } else {
            for &b in bytes {
                if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) {
                    out.push(char::from(b));
                } else {
                    out.push('%');
                    crate::core::hex::push_hex(&mut out, &[b]);
                }
            }
        }
        out
    }
}

/// Whether a media type (`type/subtype`, lower case) names text, decoded and scanned even when
/// its bytes are not all UTF-8: `text/*` and the structured-text application types.
pub(crate) fn is_text_media(mt: &str) -> bool {
    mt.is_empty()
        || mt.starts_with("text/")
        || mt.ends_with("+json")
        || mt.ends_with("+xml")
        || [
            "application/json",
            "application/xml",
            "application/x-ndjson",
            "application/yaml",
            "application/x-yaml",
            "application/csv",
            "application/javascript",
            "application/sql",
            "application/x-sh",
        ]
        .contains(&mt)
}

#[cfg(test)]
#[path = "dataurl_tests.rs"]
mod tests;
