//! PHONE: telephone numbers, with digit-count rules per shape.
//!
//! - International: `+` (or `00`) then 8–15 digits in groups (`+44 20 7946 0958`, `+49 30 901820`,
//!   `+14155550132`); country code 1 must be a valid NANP number (11 digits).
//! - NANP: `[1 ]NXX NXX XXXX` with one consistent separator (`415-555-0132`, `415.555.0132`,
//!   `(415) 555-0132`, `1-800-555-0199`), area and exchange starting 2–9.
//! - National with trunk prefix: `0` + 1–4 digits, then groups of ≥ 2 digits, 9–11 digits in all
//!   (`020 7946 0958`, `030 901820`, `01 23 45 67 89`).
//! - Ten bare digits (or 11 starting with 1) only after a phone context word ("call", "phone", "tel").
//!
//! Dates (`2024-08-06`), year ranges, versions, prices and ids do not fit these shapes.

use super::numeric::{Cluster, Hit, CLOSE, DASH, DOT, NL, OPEN, SP};
use crate::core::pii::text::context_before;

const CONTEXT: [&[u8]; 11] =
    [b"phone", b"call", b"tel", b"mobile", b"cell", b"fax", b"sms", b"text me", b"whatsapp", b"dial", b"reach me"];

/// Words right before a bare number that make it an identifier, not a phone number.
pub const NOT_PHONE: [&[u8]; 8] = [b"order", b"invoice", b"ticket", b"account", b"ref", b"id ", b"#", b"serial"];

fn phone_sep(c: &Cluster, k: usize) -> bool {
    let (m, l) = c.sep(k);
    m & NL == 0 && m & !(SP | DASH | DOT | OPEN | CLOSE) == 0 && l <= 3
}

fn nanp_digits_ok(area_first: u8, exch_first: u8) -> bool {
    (b'2'..=b'9').contains(&area_first) && (b'2'..=b'9').contains(&exch_first)
}

/// `(` right before group `k` (as a prefix of the cluster or inside the separator).
fn paren_before(c: &Cluster, k: usize) -> bool {
    if k == 0 {
        c.before(0) == b'('
    } else {
        c.sep(k - 1).0 & OPEN != 0
    }
}

fn international(c: &Cluster, s: usize) -> Option<Hit> {
    let plus = s == 0 && c.before(0) == b'+';
    let double_zero = !plus && c.len(s) >= 3 && c.len(s) <= 5 && c.digits(s).starts_with(b"00");
    if !plus && !double_zero {
        return None;
    }
    let skip = if double_zero { 2 } else { 0 };
    let cc_first = c.digits(s).get(skip).copied().unwrap_or(b'0');
    if cc_first == b'0' {
        return None;
    }
    let max = if cc_first == b'1' { 11 } else { 15 };
    let mut total = c.len(s) - skip;
    let mut k = s;
    let mut all_dots = true;
    let mut opens = 0i32;
    while k + 1 < c.n && phone_sep(c, k) && total + c.len(k + 1) <= max {
        let m = c.sep(k).0;
        all_dots &= m == DOT;
        opens += i32::from(m & OPEN != 0) - i32::from(m & CLOSE != 0);
        if !(0..=1).contains(&opens) {
            break;
        }
        total += c.len(k + 1);
        k += 1;
    }
    let mut e = k + 1;
    let dots_ok = all_dots || (s..k).all(|j| c.sep(j).0 & DOT == 0);
    if !(8..=max).contains(&total) || opens != 0 || !dots_ok {
        return None;
    }
    if !c.right_ok(e) {
        // Glued to more digits ("+44 20 7946 09581-2345"): a `+` number is strong evidence, so
        // take the whole run rather than let a national reading claim only its tail (fuzz F6).
        let mut t = total;
        while e < c.n && phone_sep(c, e - 1) && c.sep(e - 1).0 & DOT == 0 && t + c.len(e) <= 20 {
            t += c.len(e);
            e += 1;
        }
        if e == k + 1 || !c.right_ok(e) {
            return None;
        }
        let start = if plus { c.group(s).s - 1 } else { c.group(s).s };
        return Some(Hit { next: e, start, end: c.group(e - 1).e });
    }
    if cc_first == b'1' {
        let mut buf = [0u8; 15];
        let n = c.collect(s, e, &mut buf)?;
        let d = buf.get(skip..n)?;
        if d.len() != 11 || !nanp_digits_ok(d.get(1).copied()?, d.get(4).copied()?) {
            return None;
        }
    }
    let start = if plus { c.group(s).s - 1 } else { c.group(s).s };
    Some(Hit { next: e, start, end: c.group(e - 1).e })
}

fn nanp(c: &Cluster, s: usize) -> Option<Hit> {
    let mut k = s;
    if c.len(s) == 1 && c.first(s) == b'1' {
        let (m, l) = c.sep(s);
        if !(m & OPEN != 0 || (l == 1 && matches!(m, SP | DASH | DOT))) {
            return None;
        }
        k = s + 1;
    }
    let single = |x: (u8, u8)| x.1 == 1 && matches!(x.0, SP | DASH | DOT);
    // "415 5550132": area code, then the seven-digit local number (not "415.5550132", a decimal).
    let sp_or_dash = |x: (u8, u8)| x.1 == 1 && matches!(x.0, SP | DASH);
    if k + 1 < c.n && c.len(k) == 3 && c.len(k + 1) == 7 && sp_or_dash(c.sep(k)) && (k == s || c.sep(s).0 == c.sep(k).0)
    {
        if nanp_digits_ok(c.first(k), c.first(k + 1)) && c.right_ok(k + 2) {
            return Some(Hit { next: k + 2, start: c.group(s).s, end: c.group(k + 1).e });
        }
        return None;
    }
    if k + 2 >= c.n || c.len(k) != 3 || c.len(k + 1) != 3 || c.len(k + 2) != 4 {
        return None;
    }
    let (a, b) = (c.sep(k), c.sep(k + 1));
    // "(415) 555-0132"; a parenthesis around the whole number is just a boundary.
    let paren = paren_before(c, k) && a.0 & CLOSE != 0 && a.0 & !(CLOSE | SP | DASH) == 0 && single(b);
    let seps_ok = paren || a == b && single(a) && (k == s || c.sep(s).0 == a.0);
    if !seps_ok || !nanp_digits_ok(c.first(k), c.first(k + 1)) || !c.right_ok(k + 3) {
        return None;
    }
    let start = if paren && k == s && s == 0 { c.group(0).s - 1 } else { c.group(s).s };
    Some(Hit { next: k + 3, start, end: c.group(k + 2).e })
}

fn trunk(c: &Cluster, s: usize) -> Option<Hit> {
    let d = c.digits(s);
    if !(2..=5).contains(&d.len()) || d.first() != Some(&b'0') || d.get(1) == Some(&b'0') {
        return None;
    }
    let paren = s == 0 && c.before(0) == b'(' && c.sep(s).0 & CLOSE != 0;
    let mut kind = None;
    let mut total = d.len();
    let mut k = s;
    while k + 1 < c.n && c.len(k + 1) >= 2 && total + c.len(k + 1) <= 11 {
        let (m, l) = c.sep(k);
        let ok = if paren && k == s {
            m & CLOSE != 0 && m & !(CLOSE | SP) == 0
        } else {
            l == 1 && matches!(m, SP | DASH) && kind.is_none_or(|x| x == m)
        };
        if !ok {
            break;
        }
        if !(paren && k == s) {
            kind = Some(m);
        }
        total += c.len(k + 1);
        k += 1;
    }
    // "083-00-8551" is an (invalid) SSN shape, not a national number.
    let ssn_shape = k == s + 2 && d.len() == 3 && c.len(s + 1) == 2 && c.len(s + 2) == 4;
    if k == s || ssn_shape || !(9..=11).contains(&total) || !c.right_ok(k + 1) {
        return None;
    }
    let start = if paren { c.group(s).s - 1 } else { c.group(s).s };
    Some(Hit { next: k + 1, start, end: c.group(k).e })
}

fn bare(c: &Cluster, s: usize) -> Option<Hit> {
    let d = c.digits(s);
    let d = match d.len() {
        10 => d,
        11 if d.first() == Some(&b'1') => d.get(1..)?,
        _ => return None,
    };
    if !nanp_digits_ok(d.first().copied()?, d.get(3).copied()?) || !c.right_ok(s + 1) {
        return None;
    }
    if !context_before(c.b, c.group(s).s, 40, &CONTEXT) || context_before(c.b, c.group(s).s, 16, &NOT_PHONE) {
        return None;
    }
    Some(Hit { next: s + 1, start: c.group(s).s, end: c.group(s).e })
}

/// A phone number starting at group `s` of the cluster.
pub fn at(c: &Cluster, s: usize) -> Option<Hit> {
    if !(c.left_ok(s) || s == 0 && matches!(c.before(0), b'+' | b'(')) {
        return None;
    }
    international(c, s).or_else(|| nanp(c, s)).or_else(|| trunk(c, s)).or_else(|| bare(c, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(t: &str) -> Option<&str> {
        let i = t.find(|c: char| c.is_ascii_digit())?;
        let c = Cluster::parse(t.as_bytes(), i);
        (0..c.n).find_map(|s| at(&c, s)).map(|h| &t[h.start..h.end])
    }

    #[test]
    fn it_finds_us_numbers_in_common_shapes() {
        assert_eq!(phone("call +1 (415) 555-0132 today"), Some("+1 (415) 555-0132"));
        assert_eq!(phone("call 415.555.0132"), Some("415.555.0132"));
        assert_eq!(phone("call 415-555-0132."), Some("415-555-0132"));
        assert_eq!(phone("call (415) 555-0132"), Some("(415) 555-0132"));
        assert_eq!(phone("call (415)555-0132"), Some("(415)555-0132"));
        assert_eq!(phone("call 1-800-555-0199"), Some("1-800-555-0199"));
        assert_eq!(phone("call 415 5550132"), Some("415 5550132"));
        assert_eq!(phone("tel:+14155550132"), Some("+14155550132"));
    }

    #[test]
    fn it_finds_international_and_national_numbers() {
        assert_eq!(phone("ring +44 20 7946 0958 please"), Some("+44 20 7946 0958"));
        assert_eq!(phone("ring +49 30 901820"), Some("+49 30 901820"));
        assert_eq!(phone("ring +33 1 23 45 67 89"), Some("+33 1 23 45 67 89"));
        assert_eq!(phone("ring 0044 20 7946 0958"), Some("0044 20 7946 0958"));
        assert_eq!(phone("ring 020 7946 0958"), Some("020 7946 0958"));
        assert_eq!(phone("ring 030 901820"), Some("030 901820"));
        assert_eq!(phone("ring (020) 7946 0958"), Some("(020) 7946 0958"));
        assert_eq!(phone("[call](tel:05 74 91 59 05)"), Some("05 74 91 59 05"));
        assert_eq!(phone("notes (020 7946 0958) end"), Some("020 7946 0958"));
        assert_eq!(phone("notes (415.555.0132) end"), Some("415.555.0132"));
    }

    #[test]
    fn a_plus_number_glued_to_more_digits_is_taken_whole() {
        assert_eq!(phone("x +44 20 7946 09581-2345 y"), Some("+44 20 7946 09581-2345"));
    }

    #[test]
    fn bare_ten_digits_need_a_phone_word() {
        assert_eq!(phone("call me at 4155550132"), Some("4155550132"));
        assert_eq!(phone("order 4155550132"), None);
        assert_eq!(phone("the call (order 4155550132)"), None);
    }

    #[test]
    fn dates_ranges_versions_prices_and_ids_are_not_phones() {
        for t in [
            "on 2024-08-06",
            "from 2019-2024",
            "v1.2.3",
            "$415.55",
            "id 415-555-01329",
            "at 10.30.2024",
            "x415-555-0132",
            "12/05/2024",
            "pi 3.14159265",
            "1.555.555.5555.5",
            "083-00-8551",
            "at 10:415-555-0132",
            "x 561.8216887",
        ] {
            assert_eq!(phone(t), None, "{t}");
        }
    }
}
