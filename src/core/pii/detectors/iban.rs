//! IBAN: two letters of a country in the length table, two check digits, then exactly the
//! country's number of alphanumerics, grouped by single spaces/dashes (any grouping) or not,
//! passing ISO 13616 mod-97. Anchored at the first check digit when two letters precede it.

use crate::core::pii::text::{at, before, is_word};
use crate::core::pii::validate::{iban_length, iban_mod97};

/// What [`find`] saw at a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// A valid IBAN ending here.
    Valid(usize),
    /// IBAN-shaped (known country, check digits, at least 8 more alphanumerics) but invalid: its
    /// digits must not be re-read as phone or card numbers. Ends here.
    Shaped(usize),
    /// Not an IBAN.
    No,
}

/// Looks for an IBAN whose country code starts at `p`.
pub(crate) fn scan(b: &[u8], p: usize) -> Scan {
    let mut shape = Shape::default();
    match find_inner(b, p, &mut shape) {
        Some(e) => Scan::Valid(e),
        None if shape.strict && shape.full => Scan::Shaped(shape.end),
        None => Scan::No,
    }
}

/// How IBAN-like a failed candidate was: full length, grouped strictly by four (or not at all),
/// letters only in the bank-code part.
#[derive(Debug, Default)]
struct Shape {
    full: bool,
    strict: bool,
    end: usize,
}

fn find_inner(b: &[u8], p: usize, shape: &mut Shape) -> Option<usize> {
    if is_word(before(b, p)) {
        return None;
    }
    let cc = [at(b, p).to_ascii_uppercase(), at(b, p + 1).to_ascii_uppercase()];
    let len = iban_length(cc)?;
    if !at(b, p + 2).is_ascii_digit() || !at(b, p + 3).is_ascii_digit() {
        return None;
    }
    let mut buf = [0u8; 34];
    let mut n = 0usize;
    let mut i = p;
    let mut strict = true;
    while n < len {
        let x = at(b, i);
        if x.is_ascii_alphanumeric() {
            *buf.get_mut(n)? = x.to_ascii_uppercase();
            strict &= n < 12 || x.is_ascii_digit();
            n += 1;
            i += 1;
        } else if n >= 4 && matches!(x, b' ' | b'-' | b'\t' | b'\n') && at(b, i + 1).is_ascii_alphanumeric() {
            strict &= n.is_multiple_of(4);
            i += 1;
        } else {
            return None;
        }
    }
    *shape = Shape { full: true, strict: strict && !at(b, i).is_ascii_alphanumeric(), end: i };
    if is_word(at(b, i)) {
        return None;
    }
    iban_mod97(buf.get(..n)?).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of a valid IBAN whose country code starts at `p`, if there is one.
    fn find(b: &[u8], p: usize) -> Option<usize> {
        find_inner(b, p, &mut Shape::default())
    }

    fn iban(t: &str) -> Option<&str> {
        let p = (0..t.len()).find(|&i| t.as_bytes().get(i + 2).is_some_and(u8::is_ascii_digit))?;
        find(t.as_bytes(), p).map(|e| &t[p..e])
    }

    #[test]
    fn it_finds_grouped_and_ungrouped_ibans() {
        assert_eq!(iban("IBAN DE89 3704 0044 0532 0130 00 thanks"), Some("DE89 3704 0044 0532 0130 00"));
        assert_eq!(iban("GB82WEST12345698765432."), Some("GB82WEST12345698765432"));
        assert_eq!(iban("NO93 8601 1117 947"), Some("NO93 8601 1117 947"));
    }

    #[test]
    fn a_full_length_invalid_iban_is_reported_as_shaped_so_its_digits_are_skipped() {
        let t = b"x DE12 3704 0044 0532 0130 00 y";
        assert_eq!(scan(t, 2), Scan::Shaped(29));
        assert_eq!(scan(b"DE12 3456 and more words here", 0), Scan::No);
    }

    #[test]
    fn wrong_checksums_lengths_and_countries_are_refused() {
        assert_eq!(iban("DE89 3704 0044 0532 0130 01"), None);
        assert_eq!(iban("DE89 3704 0044 0532 0130 0012"), None);
        assert_eq!(iban("US89 3704 0044 0532 0130 00"), None);
    }
}
