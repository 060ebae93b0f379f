//! The `mask` action: reversible, numbered placeholders for one request.
//!
//! A masked value becomes `[<ENTITY>_<n>]` (`[EMAIL_1]`, `[PHONE_2]`, `[US_SSN_1]`); the same value
//! of the same entity gets the same placeholder everywhere in the request (every message, every
//! string). The table lives in the stream's memory only: it is never logged, never put in filter
//! state, and dropped with the stream; its `Debug` prints counts, never values.
//!
//! **Collisions with the client's own text.** A client may write `[EMAIL_1]` itself (quoting an
//! earlier answer, or on purpose to make the filter restore someone else's value into its answer).
//! Before the walk, every placeholder-shaped token in the request's decoded strings is *reserved*
//! ([`Masks::reserve_literals`]); numbering skips reserved tags, so a tag the filter issues never
//! equals text the client wrote, and a model that echoes the client's literal `[EMAIL_1]` gets it
//! back untouched.

use std::collections::{HashMap, HashSet};
use std::fmt;

/// Longest entity name (same bound as custom pattern and dictionary names).
pub(crate) const MAX_NAME: usize = 64;
/// Most digits of a placeholder number.
pub(crate) const MAX_DIGITS: usize = 10;
/// Longest placeholder: `[` + name + `_` + number + `]`.
pub(crate) const MAX_PLACEHOLDER: usize = 1 + MAX_NAME + 1 + MAX_DIGITS + 1;

/// The placeholder table of one request.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    /// (entity, value) → number.
    by_value: HashMap<(String, String), u32>,
    /// Tag (`EMAIL_1`, without brackets) → value.
    by_tag: HashMap<String, String>,
    /// Last number issued per entity.
    last: HashMap<String, u32>,
    /// Placeholder-shaped tags the client wrote itself (never issued).
    reserved: HashSet<String>,
}

impl fmt::Debug for Masks {
    /// Counts only: the table holds the user's values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masks").field("issued", &self.by_tag.len()).field("reserved", &self.reserved.len()).finish()
    }
}

/// Whether `b` is a placeholder name byte (`[A-Z0-9_]`).
fn name_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
}

/// If `s` starts with a whole placeholder `[NAME_N]`, returns its length and the tag `NAME_N`'s
/// split: (name, number).
pub(crate) fn parse_placeholder(s: &[u8]) -> Option<(usize, &[u8], u32)> {
    if s.first() != Some(&b'[') || !s.get(1).is_some_and(u8::is_ascii_uppercase) {
        return None;
    }
    let body_len = s.iter().skip(1).take(MAX_NAME + 1 + MAX_DIGITS + 1).take_while(|&&b| name_byte(b)).count();
    if s.get(1 + body_len) != Some(&b']') {
        return None;
    }
    let body = s.get(1..1 + body_len)?;
    let us = body.iter().rposition(|&b| b == b'_')?;
    let (name, digits) = (body.get(..us)?, body.get(us + 1..)?);
    let well_formed = !name.is_empty()
        && name.len() <= MAX_NAME
        && !digits.is_empty()
        && digits.len() <= MAX_DIGITS
        && digits.iter().all(u8::is_ascii_digit)
        && digits.first() != Some(&b'0');
    if !well_formed {
        return None;
    }
    let n = std::str::from_utf8(digits).ok()?.parse::<u32>().ok()?;
    Some((body_len + 2, name, n))
}

impl Masks {
    /// Reserves every placeholder-shaped token of `text` (the client's own text): never issued.
    pub(crate) fn reserve_literals(&mut self, text: &str) {
        let b = text.as_bytes();
        let mut i = 0;
        while let Some(off) = b.get(i..).and_then(|r| r.iter().position(|&x| x == b'[')) {
            let at = i + off;
            match b.get(at..).and_then(parse_placeholder) {
                Some((len, _, _)) => {
                    if let Some(tag) = text.get(at + 1..at + len - 1) {
                        self.reserved.insert(tag.to_owned());
                    }
                    i = at + len;
                }
                None => i = at + 1,
            }
        }
    }

    /// The placeholder (with brackets) for `value` of `entity`, issuing the next free number the
    /// first time the pair is seen.
    pub(crate) fn placeholder(&mut self, entity: &str, value: &str) -> String {
        let key = (entity.to_owned(), value.to_owned());
        if let Some(n) = self.by_value.get(&key) {
            return format!("[{entity}_{n}]");
        }
        let mut n = self.last.get(entity).copied().unwrap_or(0);
        let tag = loop {
            n = n.saturating_add(1);
            let tag = format!("{entity}_{n}");
            if !self.reserved.contains(&tag) || n == u32::MAX {
                break tag;
            }
        };
        self.last.insert(entity.to_owned(), n);
        self.by_value.insert(key, n);
        let out = format!("[{tag}]");
        self.by_tag.insert(tag, value.to_owned());
        out
    }

    /// The value behind tag `name_n` (`EMAIL`, 1), if this request issued it.
    pub(crate) fn lookup(&self, name: &[u8], n: u32) -> Option<&str> {
        let name = std::str::from_utf8(name).ok()?;
        self.by_tag.get(&format!("{name}_{n}")).map(String::as_str)
    }

    /// Whether no placeholder was issued.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_tag.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_value_gets_the_same_number_and_entities_count_apart() {
        let mut m = Masks::default();
        assert_eq!(m.placeholder("EMAIL", "a@x.com"), "[EMAIL_1]");
        assert_eq!(m.placeholder("PHONE", "415 555 0132"), "[PHONE_1]");
        assert_eq!(m.placeholder("EMAIL", "b@x.com"), "[EMAIL_2]");
        assert_eq!(m.placeholder("EMAIL", "a@x.com"), "[EMAIL_1]");
        assert_eq!(m.lookup(b"EMAIL", 2), Some("b@x.com"));
        assert_eq!(m.lookup(b"EMAIL", 3), None);
        assert_eq!(m.by_tag.len(), 3, "placeholders issued");
    }

    #[test]
    fn tags_the_client_wrote_are_never_issued() {
        let mut m = Masks::default();
        m.reserve_literals("see [EMAIL_1] and [EMAIL_3], not [EMAIL 2] or [email_2]");
        assert_eq!(m.placeholder("EMAIL", "a@x.com"), "[EMAIL_2]");
        assert_eq!(m.placeholder("EMAIL", "b@x.com"), "[EMAIL_4]");
        assert_eq!(m.lookup(b"EMAIL", 1), None);
    }

    #[test]
    fn placeholders_parse_only_in_their_exact_shape() {
        assert_eq!(parse_placeholder(b"[EMAIL_1] x"), Some((9, &b"EMAIL"[..], 1)));
        assert_eq!(parse_placeholder(b"[US_SSN_12]"), Some((11, &b"US_SSN"[..], 12)));
        for bad in [&b"[EMAIL 1]"[..], b"[EMAIL_01]", b"[EMAIL_]", b"[_1]", b"[email_1]", b"[EMAIL_1", b"[EMAIL]"] {
            assert_eq!(parse_placeholder(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let long = format!("[{}_1]", "A".repeat(MAX_NAME + 1));
        assert_eq!(parse_placeholder(long.as_bytes()), None);
        assert_eq!(parse_placeholder(b"[EMAIL_99999999999]"), None);
    }

    #[test]
    fn debug_never_prints_values() {
        let mut m = Masks::default();
        m.placeholder("EMAIL", "secret@x.com");
        assert!(!format!("{m:?}").contains("secret"));
    }
}
