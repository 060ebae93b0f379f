//! US_SSN: `123-45-6789` or `123 45 6789` (same separator twice), or nine bare digits when an SSN
//! context word ("ssn", "social security", "ss#") precedes them. Area ≠ 000, 666, 900–999;
//! group ≠ 00; serial ≠ 0000.

use super::cluster::{Cluster, Hit, DASH, SP};
use crate::core::pii::fields::{self, Named};
use crate::core::pii::text::{context_before, context_on_line, field_start};
use crate::core::pii::validate::ssn_ok;

/// Words naming a social security number (lower case; found inside longer words and keys:
/// `social_security_number`, `Sozialversicherungsnummer`, `N° sécurité sociale`).
pub(crate) const CONTEXT: [&[u8]; 17] = [
    b"ssn",
    b"social security",
    b"social_security",
    b"social-security",
    b"socialsecurity",
    b"social sec",
    b"ss#",
    b"ss no",
    b"seguro social",
    b"seguro_social",
    "s\u{e9}curit\u{e9} sociale".as_bytes(),
    "s\u{e9}curit\u{e9}_sociale".as_bytes(),
    b"securite sociale",
    b"securite_sociale",
    b"sozialversicherung",
    b"previdenza sociale",
    "\u{793e}\u{4f1a}\u{4fdd}\u{969c}".as_bytes(),
];

/// An SSN starting at group `s` of the cluster.
pub(crate) fn at(c: &Cluster, s: usize) -> Option<Hit> {
    if !c.left_ok(s) {
        return None;
    }
    if c.len(s) == 3 && c.len(s + 1) == 2 && c.len(s + 2) == 4 && s + 2 < c.n {
        let (a, b) = (c.sep(s), c.sep(s + 1));
        let sep_ok = a == b && a.1 == 1 && (a.0 == DASH || a.0 == SP);
        if sep_ok && c.right_ok(s + 3) && ssn_ok(c.value(s), c.value(s + 1), c.value(s + 2)) {
            return Some(Hit { next: s + 3, start: c.group(s).s, end: c.group(s + 2).e });
        }
        return None;
    }
    if c.len(s) == 9
        && c.right_ok(s + 1)
        && {
            let g = c.group(s).s;
            context_before(c.b, g, g - field_start(c.b, g.saturating_sub(40), g), &CONTEXT)
                || fields::named(c.b, g) == Some(Named::Ssn)
        }
        && !context_on_line(c.b, c.group(s).s, 16, &super::phone::NOT_PHONE)
    {
        let v = c.value(s);
        if ssn_ok(v / 1_000_000, (v / 10_000) % 100, v % 10_000) {
            return Some(Hit { next: s + 1, start: c.group(s).s, end: c.group(s).e });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssn(t: &str) -> Option<&str> {
        let i = t.find(|c: char| c.is_ascii_digit())?;
        let c = Cluster::parse(t.as_bytes(), i);
        (0..c.n).find_map(|s| at(&c, s)).map(|h| &t[h.start..h.end])
    }

    #[test]
    fn it_finds_dashed_and_spaced_ssns() {
        assert_eq!(ssn("ssn 123-45-6789."), Some("123-45-6789"));
        assert_eq!(ssn("id 123 45 6789"), Some("123 45 6789"));
    }

    #[test]
    fn bare_nine_digits_need_a_context_word() {
        assert_eq!(ssn("My SSN: 123456789"), Some("123456789"));
        assert_eq!(ssn("social_security_number=123456789"), Some("123456789"));
        assert_eq!(ssn("Mi N\u{fa}mero de Seguro Social es 123456789."), Some("123456789"));
        assert_eq!(ssn("sozialversicherungsnummer_(us): 123456789"), Some("123456789"));
        assert_eq!(ssn("N\u{b0} s\u{e9}curit\u{e9} sociale (US) : 123456789"), Some("123456789"));
        assert_eq!(ssn("\"n\u{fa}mero_de_seguro_social\": \"313400845\""), Some("313400845"));
        assert_eq!(ssn("n\u{b0}_s\u{e9}curit\u{e9}_sociale_(us)=388196605 HTTP/1.1"), Some("388196605"));
        assert_eq!(ssn("Order 123456789"), None);
    }

    #[test]
    fn an_ssn_word_names_its_own_field_only() {
        let t = "<us_ssn>381-91-0891</us_ssn>\n    <customer_no>455314894</customer_no>";
        let c = Cluster::parse(t.as_bytes(), t.find("455").unwrap());
        assert_eq!((0..c.n).find_map(|s| at(&c, s)), None);
        let t = "\"ssn\": \"219-09-9999\", \"member_id\": \"455314894\"";
        let c = Cluster::parse(t.as_bytes(), t.find("455").unwrap());
        assert_eq!((0..c.n).find_map(|s| at(&c, s)), None);
    }

    #[test]
    fn reserved_areas_groups_serials_and_mixed_separators_are_refused() {
        for t in ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "123-45 6789"] {
            assert_eq!(ssn(t), None, "{t}");
        }
    }
}
