//! EMAIL: `local@domain.tld`, anchored at `@`.
//!
//! Local part: `[A-Za-z0-9._%+-]{1,64}` (plus-tags included). Domain: dot-separated labels of
//! `[A-Za-z0-9-]` (no leading/trailing `-`, at most 63 bytes each), at least two labels, and a top
//! label of 2–24 letters or an `xn--` IDN label. File extensions that are not TLDs (`icon@2x.png`,
//! `lib@1.2.3`) are refused.

use super::secrets::placeholder;
use crate::core::pii::text::{at, before};

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// A domain byte: ASCII letter, digit, `-`, `.`, or a byte of a non-ASCII character (an
/// internationalised domain written in Unicode: `bücher.de`, `пример.рф`).
fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c >= 0x80
}

/// Extensions that look like a TLD but are not one: `name@2x.png` is a file, not an address.
const NOT_TLDS: [&[u8]; 29] = [
    b"png", b"jpg", b"jpeg", b"gif", b"svg", b"webp", b"ico", b"bmp", b"tiff", b"js", b"mjs", b"cjs", b"ts", b"tsx",
    b"jsx", b"css", b"scss", b"html", b"htm", b"json", b"yaml", b"yml", b"xml", b"txt", b"csv", b"toml", b"lock",
    b"pdf", b"wasm",
];

/// Country-code TLDs that are also file extensions (`.md` Moldova, `.py` Paraguay, `.rs` Serbia,
/// `.sh`, `.pl`, `.so`): an address only when no domain label starts with a digit (`x@2x.md`
/// is a file).
const EXTENSION_CCTLDS: [&[u8]; 6] = [b"md", b"py", b"rs", b"sh", b"pl", b"so"];

/// The span of an address around the `@` at `at_pos`, if there is one.
pub(crate) fn find(b: &[u8], at_pos: usize) -> Option<(usize, usize)> {
    // Local part, leftwards, at most 64 bytes.
    let mut s = at_pos;
    while s > 0 && at_pos - s < 64 && is_local(before(b, s)) {
        s -= 1;
    }
    if is_local(before(b, s)) && s > 0 {
        return None; // longer than 64: not an address (and bounded work on hostile input)
    }
    while at(b, s) == b'.' && s < at_pos {
        s += 1;
    }
    // `%GITHUB_TOKEN%@github.com` in a URL: a variable reference, not a mailbox. The user part
    // of a URL holds a credential: a placeholder there (`https://ghp_REPLACE_ME@github.com`,
    // `https://var.token@…`) names nobody.
    if at(b, s) == b'%' && before(b, at_pos) == b'%' {
        return None;
    }
    if b.get(..s).is_some_and(|p| p.ends_with(b"://")) && b.get(s..at_pos).is_some_and(placeholder) {
        return None;
    }
    if s >= at_pos || before(b, at_pos) == b'.' {
        return None;
    }
    // Domain, rightwards, at most 253 bytes.
    let ds = at_pos + 1;
    let mut e = ds;
    while e - ds < 253 && is_domain(at(b, e)) {
        e += 1;
    }
    while e > ds && matches!(before(b, e), b'.' | b'-') {
        e -= 1;
    }
    // Non-ASCII text glued after an ASCII top label ("jane@example.com你好") is not part of it.
    let last_dot = b.get(ds..e)?.iter().rposition(|&c| c == b'.').map_or(ds, |j| ds + j + 1);
    let label = b.get(last_dot..e)?;
    if label.first().is_some_and(u8::is_ascii_alphabetic) {
        if let Some(j) = label.iter().position(|&c| c >= 0x80) {
            e = last_dot + j;
        }
    }
    let domain = b.get(ds..e)?;
    if domain.is_empty() || at(b, e).is_ascii_alphanumeric() {
        return None;
    }
    let mut labels = 0usize;
    let mut last: &[u8] = &[];
    for label in domain.split(|&c| c == b'.') {
        if label.is_empty() || label.len() > 63 || label.first() == Some(&b'-') || label.last() == Some(&b'-') {
            return None;
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return None;
    }
    // An ASCII TLD of letters, `xn--` punycode, or a Unicode TLD (`рф`, `中国`: 2–24 characters).
    let unicode_tld = last.iter().all(|&c| c >= 0x80) && (4..=96).contains(&last.len());
    let tld_ok = (2..=24).contains(&last.len()) && last.iter().all(u8::is_ascii_alphabetic)
        || (last.len() > 4 && last.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"xn--")))
        || unicode_tld;
    if !tld_ok || NOT_TLDS.iter().any(|t| last.eq_ignore_ascii_case(t)) {
        return None;
    }
    let digit_label = domain.split(|&c| c == b'.').any(|l| l.first().is_some_and(u8::is_ascii_digit));
    if digit_label && EXTENSION_CCTLDS.iter().any(|t| last.eq_ignore_ascii_case(t)) {
        return None;
    }
    if message_id(b, s, e) {
        return None;
    }
    Some((s, e))
}

/// Header fields whose value is a list of RFC 5322 message identifiers (`<id-left@id-right>`).
const MSG_ID_FIELDS: [&[u8]; 5] = [b"message-id", b"in-reply-to", b"references", b"content-id", b"resent-message-id"];

/// Whether `s..e` is a message or calendar identifier that has an `@` but names no mailbox: a
/// `<…>` in the value of a `Message-ID:`, `In-Reply-To:`, `References:` or `Content-ID:` header
/// (folded continuation lines included), or the whole value of an iCalendar/vCard `UID:` line
/// (`UID:pp6jep3ao66n789erywvldnl3g@google.com`).
fn message_id(b: &[u8], s: usize, e: usize) -> bool {
    let line_start = |i: usize| {
        let lo = i.saturating_sub(998);
        b.get(lo..i).and_then(|w| w.iter().rposition(|&c| c == b'\n')).map_or(lo, |j| lo + j + 1)
    };
    let mut ls = line_start(s);
    // `UID:` alone on its line: the identifier is the whole value.
    if b.get(ls..s).is_some_and(|p| p.eq_ignore_ascii_case(b"uid:")) && matches!(at(b, e), b'\r' | b'\n' | 0) {
        return true;
    }
    if before(b, s) != b'<' || at(b, e) != b'>' {
        return false;
    }
    // A folded header goes on on lines that start with a space or tab.
    let mut lines = 0;
    while ls > 0 && matches!(at(b, ls), b' ' | b'\t') && lines < 16 {
        ls = line_start(ls - 1);
        lines += 1;
    }
    let name_end = b.get(ls..s).and_then(|w| w.iter().position(|&c| c == b':'));
    name_end
        .and_then(|n| b.get(ls..ls + n))
        .is_some_and(|name| MSG_ID_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Option<&str> {
        let at = s.find('@')?;
        find(s.as_bytes(), at).map(|(a, b)| &s[a..b])
    }

    #[test]
    fn it_finds_plus_tags_and_subdomains() {
        assert_eq!(
            email("write to john.doe+billing@mail.corp.example.co.uk now"),
            Some("john.doe+billing@mail.corp.example.co.uk")
        );
    }

    #[test]
    fn it_stops_at_brackets_mailto_and_sentence_dots() {
        assert_eq!(email("<jane@example.org>"), Some("jane@example.org"));
        assert_eq!(email("mailto:jane@example.org?subject=x"), Some("jane@example.org"));
        assert_eq!(email("mail jane@example.org."), Some("jane@example.org"));
    }

    #[test]
    fn a_placeholder_in_a_url_user_part_is_no_mailbox() {
        for t in [
            "url = https://ghp_REPLACE_ME@github.com/a/b.git",
            "url = https://xoxb-your-bot-token@github.com/a/b.git",
            "url = https://AKIAXXXXXXXXXXXXXXXX@github.com/a/b.git",
            "url = https://var.stripe_secret_key@github.com/a/b.git",
            "url = https://REDACTED@github.com/a/b.git",
        ] {
            assert_eq!(email(t), None, "{t}");
        }
        // A user name in a URL, or a placeholder-like mailbox outside one, is still an address.
        assert_eq!(email("url = https://jane.doe@github.com/a"), Some("jane.doe@github.com"));
        assert_eq!(email("mail REDACTED@example.com"), Some("REDACTED@example.com"));
    }

    #[test]
    fn it_refuses_shapes_without_a_real_tld() {
        assert_eq!(email("icon@2x.png"), None);
        assert_eq!(email("lodash@4.17.21"), None);
        assert_eq!(email("root@localhost"), None);
        assert_eq!(email("@decorator.route"), None);
        assert_eq!(email("a@-x.com"), None);
    }

    #[test]
    fn internationalised_domains_and_extension_like_cctlds_are_addresses() {
        assert_eq!(email("an anna@bücher.de bitte"), Some("anna@bücher.de"));
        assert_eq!(email("на ivan@пример.рф да"), Some("ivan@пример.рф"));
        assert_eq!(email("see ion@gov.md now"), Some("ion@gov.md"));
        assert_eq!(email("x jane@example.com你好"), Some("jane@example.com"));
        assert_eq!(email("logo@2x.md"), None);
    }

    #[test]
    fn message_ids_and_calendar_uids_are_no_addresses() {
        let t = "From: Maria <maria@example.com>\r\nMessage-ID: <CA+RzUvsVzK7ZL6MPmoRfpQuLiAWUvvl1@mail.gmail.com>\r\n\
                 References: <a1@mail.example.com>\r\n <b2@mail.example.com>\r\nReply-To: <ana@example.org>\r\n\
                 UID:pp6jep3ao66n789erywvldnl3g@google.com\r\nATTENDEE:mailto:evie28@gmail.com\r\n";
        let found: Vec<&str> =
            t.match_indices('@').filter_map(|(i, _)| find(t.as_bytes(), i).map(|(a, b)| &t[a..b])).collect();
        assert_eq!(found, ["maria@example.com", "ana@example.org", "evie28@gmail.com"]);
        // An address in a message body, in brackets, is one.
        assert_eq!(email("write to <jane@example.org> today"), Some("jane@example.org"));
    }

    #[test]
    fn a_very_long_local_part_is_refused() {
        let s = format!("{}@example.com", "a".repeat(100));
        assert_eq!(email(&s), None);
    }
}
