//! Digit clusters: runs of digits joined by short separators (`415-555-0132`, `4111 1111 1111 1111`,
//! `+1 (415) 555-0132`, `10.0.0.1`): the grammar shared by the IPv4, card, SSN and phone rules, which
//! pick sub-ranges of a cluster's groups. [`super::numeric`] parses one at the first digit of a run
//! and hands it to them.
//!
//! Grammar (at most [`MAX_GROUPS`] groups; everything on the stack):
//!
//! ```text
//! cluster   = group *( sep group )
//! group     = 1*DIGIT
//! sep       = 1*3( SP / "~" / CR / LF / "-" / "." / "(" / ")" / "/" )
//! ```
//!
//! A tab ends a cluster: in TSV and aligned tables it separates fields, never the groups of one
//! value. A `,` `;` `|` `"` or `=` is no glue either (CSV, tables, `key=value` logs); a `,`
//! between digits joins them only as a thousands separator (`1,234`: one to three digits, then
//! exactly three).

use crate::core::pii::text::{at, before, digits_end, is_digit, is_word};

/// Most groups in one cluster; longer clusters continue as a new cluster.
pub(crate) const MAX_GROUPS: usize = 24;
/// Separator contains a space.
pub(crate) const SP: u8 = 1;
/// Separator contains a line break.
pub(crate) const NL: u8 = 2;
/// Separator contains `-`.
pub(crate) const DASH: u8 = 4;
/// Separator contains `.`.
pub(crate) const DOT: u8 = 8;
/// Separator contains `(`.
pub(crate) const OPEN: u8 = 16;
/// Separator contains `)`.
pub(crate) const CLOSE: u8 = 32;
/// Separator contains `/` (`030/1234567`; dates `12/05/2024` are refused by each rule's shape).
pub(crate) const SLASH: u8 = 64;

/// One run of digits, `s..e` in the view.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Group {
    /// First digit.
    pub s: usize,
    /// One past the last digit.
    pub e: usize,
}

/// A parsed cluster over a byte view.
#[derive(Debug)]
pub(crate) struct Cluster<'a> {
    /// The whole view.
    pub b: &'a [u8],
    groups: [Group; MAX_GROUPS],
    seps: [(u8, u8); MAX_GROUPS],
    /// Number of groups.
    pub n: usize,
}

impl<'a> Cluster<'a> {
    /// Parses the cluster whose first digit is at `start`.
    pub(crate) fn parse(b: &'a [u8], start: usize) -> Self {
        let mut c = Cluster { b, groups: [Group::default(); MAX_GROUPS], seps: [(0, 0); MAX_GROUPS], n: 0 };
        let mut i = start;
        loop {
            let e = digits_end(b, i);
            if let Some(g) = c.groups.get_mut(c.n) {
                *g = Group { s: i, e };
            }
            c.n += 1;
            if c.n >= MAX_GROUPS {
                break;
            }
            let mut j = e;
            let mut mask = 0u8;
            while j - e < 3 {
                let m = match at(b, j) {
                    // LaTeX's `~` is a non-breaking space (`+41~78~116~17~10` in a table cell).
                    b' ' | b'~' => SP,
                    b'\n' | b'\r' => NL,
                    b'-' => DASH,
                    b'.' => DOT,
                    b'(' => OPEN,
                    b')' => CLOSE,
                    b'/' => SLASH,
                    _ => break,
                };
                mask |= m;
                j += 1;
            }
            if j == e || !is_digit(at(b, j)) {
                break;
            }
            if let Some(sp) = c.seps.get_mut(c.n - 1) {
                *sp = (mask, (j - e) as u8);
            }
            i = j;
        }
        c
    }

    /// Group `k` (empty past the end).
    pub(crate) fn group(&self, k: usize) -> Group {
        self.groups.get(k).copied().unwrap_or_default()
    }

    /// Number of digits in group `k`.
    pub(crate) fn len(&self, k: usize) -> usize {
        let g = self.group(k);
        g.e - g.s
    }

    /// The digits of group `k`.
    pub(crate) fn digits(&self, k: usize) -> &'a [u8] {
        let g = self.group(k);
        self.b.get(g.s..g.e).unwrap_or(&[])
    }

    /// Numeric value of group `k` (groups longer than 9 digits saturate).
    pub(crate) fn value(&self, k: usize) -> u32 {
        self.digits(k).iter().take(9).fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'))
    }

    /// First digit of group `k` (0 if none).
    pub(crate) fn first(&self, k: usize) -> u8 {
        at(self.b, self.group(k).s)
    }

    /// Separator after group `k`: (mask, length in bytes); (0, 0) after the last group.
    pub(crate) fn sep(&self, k: usize) -> (u8, u8) {
        self.seps.get(k).copied().unwrap_or((0, 0))
    }

    /// Byte offset one past the last group.
    pub(crate) fn end(&self) -> usize {
        self.group(self.n.saturating_sub(1)).e
    }

    /// The byte just before group `s`'s first digit.
    pub(crate) fn before(&self, s: usize) -> u8 {
        before(self.b, self.group(s).s)
    }

    /// Whether a value may start at group `s`: not glued to a word, price, id or decimal on the left.
    pub(crate) fn left_ok(&self, s: usize) -> bool {
        if s > 0 {
            return self.sep(s - 1).0 & (SP | NL) != 0;
        }
        let g = self.group(0).s;
        let p = before(self.b, g);
        let pp = before(self.b, g.saturating_sub(1));
        // `#` is no glue ("Card #4111 …", "SSN #123-45-6789"); bare digits after it stay ids
        // (the bare-number rules check for `#` themselves).
        if is_word(p) || p == b'$' {
            return false;
        }
        // Glued by punctuation to an identifier or another number ("ORD-123", "1,234", "10:30",
        // "12/05"); a scheme before a colon ("tel:", "ssn:") is fine; a field separator is too.
        let glued = match p {
            b'.' | b'-' => is_word(pp) || pp == b'.',
            b'/' | b':' => is_digit(pp),
            b',' => is_digit(pp) && thousands(self.b, g.saturating_sub(1)),
            _ => false,
        };
        if glued {
            return false;
        }
        true
    }

    /// Whether a value may end after group `e - 1`: not glued to a word, decimal or unit on the right.
    pub(crate) fn right_ok(&self, e: usize) -> bool {
        if e < self.n {
            return self.sep(e - 1).0 & (SP | NL) != 0;
        }
        let end = self.end();
        let q = at(self.b, end);
        if is_word(q) || q == b'%' {
            return false;
        }
        if q == b',' {
            return !(is_digit(at(self.b, end + 1)) && thousands(self.b, end));
        }
        !(matches!(q, b'.' | b'-' | b'/' | b':') && is_digit(at(self.b, end + 1))
            || matches!(q, b'.' | b'-') && is_word(at(self.b, end + 1)))
    }

    /// Copies the digits of groups `s..e` into `buf`; returns how many (None if more than fit).
    pub(crate) fn collect(&self, s: usize, e: usize, buf: &mut [u8]) -> Option<usize> {
        let mut n = 0;
        for k in s..e {
            for &d in self.digits(k) {
                *buf.get_mut(n)? = d;
                n += 1;
            }
        }
        Some(n)
    }
}

/// Whether the `,` at `comma` is a thousands separator: one to three digits before it (not more,
/// and no leading zero: `03,320` is two fields), exactly three after it, and the number ends there
/// or goes on as a decimal (`1,234.56`). Otherwise it separates fields (`…,4111 1111 1111 1111,3510.50`;
/// `…59,090-3080-9153`, `…9,082/6577606`, `…51,177.26.87.217`: a CSV cell starting with three digits).
pub(crate) fn thousands(b: &[u8], comma: usize) -> bool {
    let mut s = comma;
    while s > 0 && comma - s <= 3 && is_digit(before(b, s)) {
        s -= 1;
    }
    let left = comma - s;
    let re = digits_end(b, comma + 1);
    let right = re - (comma + 1);
    // Digits glued to a word are the tail of an identifier (`8446bf9,171.224.158.190`), no number.
    if !(1..=3).contains(&left) || right != 3 || is_word(before(b, s)) || left > 1 && at(b, s) == b'0' {
        return false;
    }
    // What follows the three digits: `-`/`/` and a digit continue another value; a decimal part
    // followed by a further `.digit` is a dotted quad or version.
    let q = at(b, re);
    if matches!(q, b'-' | b'/') && is_digit(at(b, re + 1)) {
        return false;
    }
    if q == b'.' && is_digit(at(b, re + 1)) {
        let fe = digits_end(b, re + 1);
        return !(at(b, fe) == b'.' && is_digit(at(b, fe + 1)));
    }
    true
}

/// A match inside a cluster: groups `s..next`, bytes `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    /// First group after the match.
    pub next: usize,
    /// Span start in the view.
    pub start: usize,
    /// Span end in the view.
    pub end: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_records_groups_and_separators() {
        let t = b"call +1 (415) 555-0132 now";
        let c = Cluster::parse(t, 6);
        assert_eq!(c.n, 4);
        assert_eq!(c.digits(1), b"415");
        assert_eq!(c.sep(0), (SP | OPEN, 2));
        assert_eq!(c.sep(1), (CLOSE | SP, 2));
        assert_eq!(c.sep(2), (DASH, 1));
        assert_eq!(c.before(0), b'+');
    }

    #[test]
    fn a_cluster_stops_at_a_separator_not_followed_by_a_digit() {
        let c = Cluster::parse(b"2024-08-06 - x", 0);
        assert_eq!(c.n, 3);
        assert_eq!(c.end(), 10);
    }

    #[test]
    fn values_glued_to_words_or_prices_are_not_left_bounded() {
        assert!(!Cluster::parse(b"x4111", 1).left_ok(0));
        assert!(!Cluster::parse(b"$4111", 1).left_ok(0));
        assert!(!Cluster::parse(b"gpt-4", 4).left_ok(0));
        assert!(Cluster::parse(b"(415", 1).left_ok(0));
        assert!(!Cluster::parse(b"4111x", 0).right_ok(1));
    }

    #[test]
    fn a_comma_after_an_identifier_is_no_thousands_separator() {
        assert!(thousands(b"1,234", 1));
        assert!(thousands(b"x 12,345,678", 4));
        assert!(thousands(b"x 12,345,678", 8));
        assert!(!thousands(b"8446bf9,171.2", 7));
        assert!(Cluster::parse(b"8446bf9,171.224.158.190", 8).left_ok(0));
        assert!(thousands(b"x 1,234.56 y", 3));
        assert!(thousands(b"x 0,250 y", 3));
    }

    #[test]
    fn a_comma_before_a_cell_that_starts_with_three_digits_is_a_field_separator() {
        // The next cell is a phone number, an address, a national number: not `59,090`.
        for (t, comma) in [
            (&b"GB57 6600 3755 59,090-3080-9153"[..], 17),
            (b"978-1-86110-422-9,082/6577606", 17),
            (b"DE05 2213 51,177.26.87.217", 12),
            (b"8847 03,320 004 6247", 7),
        ] {
            assert!(!thousands(t, comma), "{}", String::from_utf8_lossy(t));
            assert!(Cluster::parse(t, comma + 1).left_ok(0), "{}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn a_million_digits_parse_in_linear_time() {
        let t = vec![b'7'; 1 << 20];
        let c = Cluster::parse(&t, 0);
        assert_eq!(c.n, 1);
        let t = b"1 ".repeat(1 << 19);
        let c = Cluster::parse(&t, 0);
        assert_eq!(c.n, MAX_GROUPS);
    }
}
