//! IP_ADDRESS: dotted IPv4 (four octets ≤ 255, not part of a longer dotted number, not after a
//! version word or a `v`) and IPv6 in full, compressed (`::`) and IPv4-embedded forms.

use super::cluster::{Cluster, Hit, NL, SLASH, SP};
use crate::core::pii::text::{at, before, is_word, word_on_line};

/// Words that make a dotted quad on the same line a version number (within 24 bytes before it,
/// starting a word): "version", a pin (`==`, `>=`), "upgraded to".
const VERSION_WORDS: [&[u8]; 19] = [
    b"version",
    b"ver.",
    b"ver ",
    b"release",
    b"build",
    b"firmware",
    b"rev.",
    b"upgraded to",
    b"upgrade to",
    b"updated to",
    b"update to",
    b"downgrade",
    b"==",
    b">=",
    b"<=",
    b"~=",
    b"!=",
    b"bumped to",
    b"changelog",
];

/// Names that make the dotted quad right after them (one space) a version: software, not hosts.
const PRODUCT_WORDS: [&[u8]; 16] = [
    b"app", b"node", b"nodejs", b"python", b"java", b"chrome", b"firefox", b"safari", b"ios", b"android", b"windows",
    b"macos", b"sdk", b"kernel", b"client", b"agent",
];

/// An IPv4 address of groups `s..s+4`.
pub(crate) fn v4_at(c: &Cluster, s: usize) -> Option<Hit> {
    if !v4_shape(c, s) || version_word_before(c, s) {
        return None;
    }
    Some(Hit { next: s + 4, start: c.group(s).s, end: c.group(s + 3).e })
}

/// Whether groups `s..s+4` are an IPv4 address turned down only because a version word precedes
/// them: a near miss (see `Sink::near_miss`), since that word may sit inside another finding.
pub(crate) fn v4_version_near_miss(c: &Cluster, s: usize) -> bool {
    v4_shape(c, s) && version_word_before(c, s)
}

fn version_word_before(c: &Cluster, s: usize) -> bool {
    let mut g = c.group(s).s;
    // A form's dot leader (`version ........ 9.2.20.140`) stands between a label and its value.
    let mut k = g;
    while k > 0 && g - k < 64 && matches!(before(c.b, k), b' ' | b'.' | b'\t') {
        k -= 1;
    }
    if c.b.get(k..g).is_some_and(|w| w.windows(3).any(|x| x == b"...")) {
        g = k;
    }
    if word_on_line(c.b, g, g - key_start(c.b, g), &VERSION_WORDS) {
        return true;
    }
    let g = c.group(s).s;
    // The word right before, separated by one space.
    if before(c.b, g) != b' ' {
        return false;
    }
    let e = g - 1;
    let mut w = e;
    while w > 0 && e - w < 8 && before(c.b, w).is_ascii_alphabetic() {
        w -= 1;
    }
    let word = c.b.get(w..e).unwrap_or(&[]);
    !is_word(before(c.b, w)) && PRODUCT_WORDS.iter().any(|p| word.eq_ignore_ascii_case(p))
}

/// Where the version cue window of a value at `g` starts: 24 bytes back, or the key of the last
/// `key=` / `key:` pair in them (a key ends in a letter or `_`), so a cue names its own value only:
/// in `build=17.7.8.20 ip=172.75.165.50` "build" says nothing about the address after `ip=`.
fn key_start(b: &[u8], g: usize) -> usize {
    let lo = g.saturating_sub(24);
    let win = b.get(lo..g).unwrap_or(&[]);
    let sep = win.iter().enumerate().rev().find(|&(j, &x)| {
        matches!(x, b'=' | b':') && j > 0 && win.get(j - 1).is_some_and(|&p| p.is_ascii_alphabetic() || p == b'_')
    });
    let Some((j, _)) = sep else { return lo };
    let mut k = lo + j;
    while k > lo && (is_word(before(b, k)) || matches!(before(b, k), b'.' | b'-')) {
        k -= 1;
    }
    k
}

/// Four dotted octets ≤ 255, not part of a longer dotted number.
fn v4_shape(c: &Cluster, s: usize) -> bool {
    if s + 4 > c.n {
        return false;
    }
    for k in s..s + 4 {
        if !(1..=3).contains(&c.len(k)) || c.value(k) > 255 {
            return false;
        }
        if k < s + 3 && c.sep(k) != (super::cluster::DOT, 1) {
            return false;
        }
    }
    let left = if s == 0 { c.left_ok(0) && c.before(0) != b'.' } else { c.sep(s - 1).0 & (SP | NL) != 0 };
    let right = if s + 4 == c.n {
        let end = c.end();
        let q = at(c.b, end);
        !(is_word(q) || q == b'.' && at(c.b, end + 1).is_ascii_digit())
    } else {
        // A space, or a CIDR suffix (`10.0.0.0/8`).
        c.sep(s + 3).0 & (SP | NL) != 0 || c.sep(s + 3) == (SLASH, 1) && c.len(s + 4) <= 3
    };
    left && right
}

fn is_v6(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

/// Parses `t` as an IPv6 address (RFC 4291 text forms, no zone id). Requires at least two
/// groups and four hex digits, so `::1` and `a::b` are not taken for addresses.
pub(crate) fn parse_v6(t: &[u8]) -> bool {
    if t.len() < 3 || t.len() > 45 {
        return false;
    }
    let dc = t.windows(2).position(|w| w == b"::");
    let (head, tail) = match dc {
        Some(i) => (t.get(..i).unwrap_or(&[]), t.get(i + 2..).unwrap_or(&[])),
        None => (t, &[][..]),
    };
    if tail.windows(2).any(|w| w == b"::") {
        return false;
    }
    let (mut groups, mut digits) = (0usize, 0usize);
    let halves = [(head, dc.is_none()), (tail, true)];
    for (part, may_end_v4) in halves {
        if part.is_empty() {
            continue;
        }
        let n = part.split(|&c| c == b':').count();
        for (k, g) in part.split(|&c| c == b':').enumerate() {
            if may_end_v4 && k + 1 == n && g.contains(&b'.') {
                if !v4_text(g) {
                    return false;
                }
                groups += 2;
                digits += 4;
            } else if (1..=4).contains(&g.len()) && g.iter().all(u8::is_ascii_hexdigit) {
                groups += 1;
                digits += g.len();
            } else {
                return false;
            }
        }
    }
    let shape_ok = if dc.is_some() { groups <= 7 } else { groups == 8 };
    shape_ok && groups >= 2 && digits >= 4
}

fn v4_text(p: &[u8]) -> bool {
    let mut n = 0;
    for o in p.split(|&c| c == b'.') {
        n += 1;
        if o.is_empty() || o.len() > 3 || !o.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let v = o.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
        if v > 255 {
            return false;
        }
    }
    n == 4
}

/// An IPv6 address around the `:` at `colon`. Returns the span if any, and the offset the scan of
/// this candidate reached (the engine skips colons before it).
pub(crate) fn find_v6(b: &[u8], colon: usize) -> (Option<(usize, usize)>, usize) {
    let mut s = colon;
    while s > 0 && colon - s < 45 && matches!(before(b, s), c if c.is_ascii_hexdigit() || c == b':') {
        s -= 1;
    }
    let mut e = colon + 1;
    while e - s < 46 && is_v6(at(b, e)) {
        e += 1;
    }
    let reached = e;
    // Sentence punctuation after an address: "fe80::1." or "host 2001:db8::1:".
    while e > colon + 1 && matches!(before(b, e), b'.') {
        e -= 1;
    }
    if before(b, e) == b':' && before(b, e - 1) != b':' {
        e -= 1;
    }
    if is_word(before(b, s)) || is_word(at(b, e)) || before(b, s) == b':' {
        return (None, reached);
    }
    match b.get(s..e) {
        Some(t) if parse_v6(t) => (Some((s, e)), reached),
        _ => (None, reached),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(t: &str) -> Option<&str> {
        let i = t.find(|c: char| c.is_ascii_digit())?;
        let c = Cluster::parse(t.as_bytes(), i);
        (0..c.n).find_map(|s| v4_at(&c, s)).map(|h| &t[h.start..h.end])
    }

    fn v6(t: &str) -> Option<&str> {
        let i = t.find(':')?;
        find_v6(t.as_bytes(), i).0.map(|(a, b)| &t[a..b])
    }

    #[test]
    fn a_version_label_before_a_dot_leader_names_its_value() {
        assert_eq!(v4("version ................. 9.2.20.140\n"), None);
        assert_eq!(v4("host .................... 9.2.20.140\n"), Some("9.2.20.140"));
    }

    #[test]
    fn it_finds_ipv4_addresses() {
        assert_eq!(v4("host 192.168.1.20."), Some("192.168.1.20"));
        assert_eq!(v4("10.0.0.1:8080"), Some("10.0.0.1"));
        assert_eq!(v4("net 10.0.0.0/8"), Some("10.0.0.0"));
    }

    #[test]
    fn versions_and_invalid_octets_are_not_ipv4() {
        for t in ["version 1.2.3.4", "v1.2.3.4", "1.2.3.4.5", "256.1.1.1", "release 10.0.0.1", "1.2.3"] {
            assert_eq!(v4(t), None, "{t}");
        }
    }

    #[test]
    fn it_finds_ipv6_in_full_and_compressed_forms() {
        assert_eq!(
            v6("at 2001:0db8:85a3:0000:0000:8a2e:0370:7334 ok"),
            Some("2001:0db8:85a3:0000:0000:8a2e:0370:7334")
        );
        assert_eq!(v6("at fe80::1ff:fe23:4567:890a."), Some("fe80::1ff:fe23:4567:890a"));
        assert_eq!(v6("[2001:db8::1]:443"), Some("2001:db8::1"));
        assert_eq!(v6("::ffff:192.0.2.128 x"), Some("::ffff:192.0.2.128"));
        assert_eq!(v6("prefix 2001:db8:: end"), Some("2001:db8::"));
    }

    #[test]
    fn times_macs_and_paths_are_not_ipv6() {
        for t in
            ["at 12:30:45", "mac 00:1a:2b:3c:4d:5e", "std::vec::Vec", "a:b", "::1", "Note: fine", "1:2:3:4:5:6:7:8:9"]
        {
            assert_eq!(v6(t), None, "{t}");
        }
    }
}
