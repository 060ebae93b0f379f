//! PHONE read out group by group: a comma and a space between the digit groups (`090, 3874, 8760`,
//! `+1, 415, 555, 0132`), as call-centre transcripts and dictated notes write a number spoken
//! aloud. A `,` is no glue inside a digit cluster ([`super::cluster`]), so these groups are
//! separate clusters; this rule joins them, only after a phone word
//! ([`phone::phone_word_before`]), and the joined digits must be a phone number by the column
//! rule ([`phone::column_value`]: after a `+`, 8–15 digits; otherwise NANP or a national number
//! of the plan).
//!
//! Shape: two to six groups; the first of at most six digits, the others of at most nine; every
//! group of two or more digits except a `+` number's calling code and the group after it
//! (`+63, 2, 4339, 9763`); 7–15 digits in all. A list of small counts (`call 2, 3, 4`) has
//! single digits, a list of prices decimals or letters glued to a group, a list of years two or more
//! groups of 19xx/20xx.

use super::phone;
use crate::core::pii::text::{at, before, digits_end, is_digit, is_word};

/// Most groups joined.
const MAX_GROUPS: usize = 6;

/// A number spoken in groups starting at the digit run at `start` (whose cluster is a single
/// group followed by `, ` and a digit): the span (a `+` included) or None.
pub(crate) fn at_run(b: &[u8], start: usize) -> Option<(usize, usize)> {
    let plus = before(b, start) == b'+';
    let s = start - usize::from(plus);
    if is_word(before(b, s)) {
        return None;
    }
    let mut d = [0u8; 15];
    let mut n = 0usize;
    let mut i = start;
    let mut k = 0usize;
    let mut years = 0usize;
    let end = loop {
        let e = digits_end(b, i);
        let len = e - i;
        let max = if k == 0 { 6 } else { 9 };
        let short_ok = plus && k < 2;
        if len > max || (len < 2 && !short_ok) || n + len > d.len() {
            return None;
        }
        for (slot, &x) in d.iter_mut().skip(n).zip(b.get(i..e)?) {
            *slot = x;
        }
        n += len;
        k += 1;
        years += usize::from(len == 4 && year(b.get(i..e)?));
        let q = at(b, e);
        if q == b',' && at(b, e + 1) == b' ' && is_digit(at(b, e + 2)) && k < MAX_GROUPS {
            i = e + 2;
            continue;
        }
        // The last group must end the number: no letter, and no `.` `-` `/` `:` joining more digits.
        if is_word(q) || matches!(q, b'.' | b'-' | b'/' | b':') && is_digit(at(b, e + 1)) {
            return None;
        }
        break e;
    };
    let d = d.get(..n)?;
    let ok = k >= 2
        && years < 2
        && (7..=15).contains(&n)
        && !(plus && d.first() == Some(&b'0'))
        && phone::column_value(d, plus)
        && phone::phone_word_before(b, s);
    ok.then_some((s, end))
}

/// Four digits read as a year of 1900–2099: two of them make a list of years ("the calls of 2019, 2020,
/// 2021"), not a number read out.
fn year(g: &[u8]) -> bool {
    matches!(g, [b'1', b'9', ..] | [b'2', b'0', ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken(t: &str) -> Option<&str> {
        let i = t.find(|c: char| c.is_ascii_digit())?;
        at_run(t.as_bytes(), i).map(|(s, e)| &t[s..e])
    }

    #[test]
    fn a_number_read_out_in_groups_after_a_phone_word_is_found() {
        for (t, want) in [
            ("my mobile is 0612, 345, 678 thanks", "0612, 345, 678"),
            ("landline: 020, 7946, 0958\n", "020, 7946, 0958"),
            ("call me on +44, 20, 7946, 0958 later", "+44, 20, 7946, 0958"),
            ("phone +33, 6, 12, 34, 56, 78.", "+33, 6, 12, 34, 56, 78"),
            ("the number to reach you on?\nB: it's 415, 555, 0132", "415, 555, 0132"),
            ("my mobile is 0171, 12345678 or", "0171, 12345678"),
        ] {
            assert_eq!(spoken(t), Some(want), "{t}");
        }
    }

    #[test]
    fn lists_counts_and_prices_are_no_spoken_number() {
        for t in [
            // No phone word.
            "we shipped 0612, 345, 678 units",
            "rows 415, 555, 0132 failed",
            // Single-digit groups, a decimal or a word glued to the last group.
            "phone 4, 1, 5, 5, 5, 5, 0",
            "phone bill 0612, 345, 678.50 paid",
            "phone 0612, 345, 678kg",
            // Too few digits, or too many for any number.
            "phone 12, 34, 56",
            "phone 0612, 345, 678, 901, 234",
            // A first group longer than any area code.
            "phone 4155550132, 12",
            // A list of years.
            "summary of the call (2020, 2007, 2025 and 2000)",
        ] {
            assert_eq!(spoken(t), None, "{t}");
        }
    }
}
