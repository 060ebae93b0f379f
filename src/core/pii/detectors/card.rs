//! CREDIT_CARD: 13–19 digits, ungrouped or grouped by spaces, dashes or line breaks, or by one
//! repeated `.` or `/` (4-4-4-4, 4-4-4-4-3, Amex 4-6-5, Diners 4-6-4, 4-6-6, 8-8, or one digit per
//! group), Luhn-valid, with a known issuer prefix for its length; 12-digit Maestro grouped 4-4-4
//! (with dashes: any prefix of Maestro's block 50, 56–69).
//! After a card word on the same line ("card", "carte", "Kreditkarte", "tarjeta", "PAN", "cc", …)
//! any Luhn-valid 12–19 digits are a card, whatever the prefix or grouping.

use super::cluster::{Cluster, Hit, DASH, DOT, NL, SLASH, SP};
use crate::core::pii::text::word_on_line;
use crate::core::pii::validate::{card_iin_ok, luhn, maestro12};

/// Words naming a payment card, in the languages of the numbering plan's larger countries
/// (lower case; a word starting with a letter must start a word: "cc" is not found in "acc").
pub(crate) const CARD_WORDS: [&[u8]; 19] = [
    b"card",
    b"carte",
    b"karte",
    b"kreditkarte",
    b"kaart",
    b"tarjeta",
    b"carta",
    "cart\u{e3}o".as_bytes(),
    b"cartao",
    b"creditcard",
    b"pan",
    b"cc",
    b"cb",
    b"visa",
    b"mastercard",
    b"amex",
    b"maestro",
    "\u{30ab}\u{30fc}\u{30c9}".as_bytes(),
    "\u{4fe1}\u{7528}\u{5361}".as_bytes(),
];

/// Whether a card word stands on the line before byte `i`, within 40 bytes.
fn card_word_before(b: &[u8], i: usize) -> bool {
    word_on_line(b, i, 40, &CARD_WORDS)
}

fn grouping_ok(c: &Cluster, s: usize, e: usize) -> bool {
    let m = e - s;
    if m == 1 {
        return true;
    }
    let lens = |k: usize| c.len(s + k);
    let fours = (0..m - 1).all(|k| lens(k) == 4) && (1..=4).contains(&lens(m - 1));
    let amex_diners = m == 3 && lens(0) == 4 && lens(1) == 6 && (4..=6).contains(&lens(2));
    let eights = m == 2 && lens(0) == 8 && lens(1) == 8;
    let singles = m >= 13 && (0..m).all(|k| lens(k) == 1);
    fours || amex_diners || eights || singles
}

/// If groups `s..` look like a card grouped by fours (three or more groups, 13–19 digits) that
/// failed validation, the group after them: their digits are not re-read as a phone number.
pub(crate) fn shaped_end(c: &Cluster, s: usize) -> Option<usize> {
    let mut e = s;
    let mut total = 0;
    while e < c.n && c.len(e) == 4 && total + 4 <= 19 {
        total += 4;
        e += 1;
        if e < c.n && c.sep(e - 1).0 & !(SP | DASH) != 0 {
            break;
        }
    }
    // A short last group (`4-4-4-4-3`), unless it starts a dotted value (`… 5711 148.84.247.244`).
    let dotted = e + 1 < c.n && c.sep(e).0 & DOT != 0;
    if e > s
        && e < c.n
        && (1..=4).contains(&c.len(e))
        && total + c.len(e) <= 19
        && c.sep(e - 1).0 & !(SP | DASH) == 0
        && !dotted
    {
        total += c.len(e);
        e += 1;
    }
    (e - s >= 3 && (13..=19).contains(&total)).then_some(e)
}

/// A card number made of groups `s..` of the cluster.
pub(crate) fn at(c: &Cluster, s: usize) -> Option<Hit> {
    if !c.left_ok(s) {
        return None;
    }
    // Cards only span separators made of spaces, line breaks and dashes.
    let mut max_e = s + 1;
    while max_e < c.n.min(s + 19) {
        let (m, l) = c.sep(max_e - 1);
        let dot_or_slash = (m == DOT || m == SLASH) && l == 1;
        if (m & !(SP | NL | DASH) != 0 && !dot_or_slash) || l > 3 {
            break;
        }
        max_e += 1;
    }
    let mut total: usize = (s..max_e).map(|k| c.len(k)).sum();
    for e in (s + 1..=max_e).rev() {
        if e < max_e {
            total -= c.len(e);
        }
        if total < 12 {
            return None;
        }
        if total > 19 {
            continue;
        }
        // Grouped by dots or slashes: the same separator throughout (no `4111.1111-1111.1111`).
        let marked = (s..e - 1).any(|k| c.sep(k).0 & (DOT | SLASH) != 0);
        if marked && (s..e - 1).any(|k| c.sep(k) != c.sep(s)) {
            continue;
        }
        if !grouping_ok(c, s, e) || !c.right_ok(e) {
            continue;
        }
        let mut buf = [0u8; 19];
        let n = c.collect(s, e, &mut buf)?;
        let digits = buf.get(..n)?;
        if !luhn(digits) {
            continue;
        }
        // 12 digits are a Maestro card only grouped 4-4-4; otherwise a card word must name it.
        // Either way the number is all the groups there are: the first twelve digits of a longer
        // number that failed Luhn (`card_number: 2242 4284 9400 0578`) are not a card.
        // A line break after the last group ends the value too (a CSV row, a log line): the digits
        // that start the next line are another value.
        let whole = e == max_e || c.sep(e - 1).0 & NL != 0;
        let dashed = (s..e - 1).all(|k| c.sep(k) == (DASH, 1));
        let shaped = if n == 12 { whole && e - s == 3 && maestro12(digits, dashed) } else { card_iin_ok(digits) };
        if shaped || whole && card_word_before(c.b, c.group(s).s) {
            return Some(Hit { next: e, start: c.group(s).s, end: c.group(e - 1).e });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(t: &str) -> Option<&str> {
        let i = t.find(|c: char| c.is_ascii_digit())?;
        let c = Cluster::parse(t.as_bytes(), i);
        (0..c.n).find_map(|s| at(&c, s)).map(|h| &t[h.start..h.end])
    }

    #[test]
    fn it_finds_grouped_and_ungrouped_valid_cards() {
        assert_eq!(card("pay 4111 1111 1111 1111 now"), Some("4111 1111 1111 1111"));
        assert_eq!(card("pay 4111-1111-1111-1111."), Some("4111-1111-1111-1111"));
        assert_eq!(card("pay 5555555555554444"), Some("5555555555554444"));
        assert_eq!(card("amex 3782 822463 10005"), Some("3782 822463 10005"));
    }

    #[test]
    fn it_finds_cards_grouped_by_dots_slashes_eights_and_4_6_6() {
        assert_eq!(card("pay 4111.1111.1111.1111 now"), Some("4111.1111.1111.1111"));
        assert_eq!(card("pay 4111/1111/1111/1111 now"), Some("4111/1111/1111/1111"));
        assert_eq!(card("pay 41111111 11111111 now"), Some("41111111 11111111"));
        assert_eq!(card("pay 4111 111111 111111 now"), Some("4111 111111 111111"));
        assert_eq!(card("pay 4111.1111-1111.1111 now"), None);
    }

    #[test]
    fn it_finds_a_card_split_by_line_breaks() {
        assert_eq!(card("4111 1111\n1111 1111"), Some("4111 1111\n1111 1111"));
    }

    #[test]
    fn it_finds_a_card_followed_by_an_expiry_group() {
        assert_eq!(card("4111 1111 1111 1111 12 27"), Some("4111 1111 1111 1111"));
    }

    #[test]
    fn an_invalid_card_grouped_by_fours_is_shaped() {
        let t = b"3678 0718 1922 90.";
        assert_eq!(shaped_end(&Cluster::parse(t, 0), 0), Some(4));
        assert_eq!(shaped_end(&Cluster::parse(b"020 7946 0958", 0), 0), None);
    }

    #[test]
    fn an_address_after_a_card_shaped_number_is_not_its_last_group() {
        let t = "test_card: 4001 5799 3517 5711 148.84.247.244, x";
        let c = Cluster::parse(t.as_bytes(), 11);
        assert_eq!(shaped_end(&c, 0), Some(4));
        assert_eq!(shaped_end(&Cluster::parse(b"4001 5799 3517 5711 148 x", 0), 0), Some(5));
    }

    #[test]
    fn twelve_digit_maestro_cards_grouped_by_fours_are_found() {
        assert_eq!(card("pay 6759 6396 8341 now"), Some("6759 6396 8341"));
        assert_eq!(card("pay 5018-4115-5648."), Some("5018-4115-5648"));
        // Ungrouped, or outside Maestro's 50 / 56–69 ranges: an id unless a card word names it.
        assert_eq!(card("ref 675963968341"), None);
        assert_eq!(card("ref 4111 1111 1111"), None);
        // Maestro's wider block (56–69) without a card word would take lists of amounts.
        assert_eq!(card("see 6892 9812 1658 and 4227"), None);
        assert_eq!(card("Numero de carte: 675963968341"), Some("675963968341"));
        // With dashes the groups are no list of amounts: Maestro's whole block.
        assert_eq!(card("x\t6390-9696-4395\ty"), Some("6390-9696-4395"));
        assert_eq!(card("x,5824-8766-6056,y"), Some("5824-8766-6056"));
        assert_eq!(card("x 4390-9696-4390 y"), None);
        assert_eq!(card("x 6390-9696 4395 y"), None);
    }

    #[test]
    fn a_line_break_after_the_last_group_ends_the_card() {
        // The next line starts with digits (a CSV row number, a log timestamp): another value.
        assert_eq!(card("x,5038-1752-7826\n1001,Bearer"), Some("5038-1752-7826"));
        assert_eq!(card("card_number=6390 4088 6165\n2026-04-18T12:03:40Z"), Some("6390 4088 6165"));
        assert_eq!(card("pay 4111 1111\n1111 1111 ok"), Some("4111 1111\n1111 1111"));
    }

    #[test]
    fn the_whole_jcb_block_is_read_as_jcb() {
        assert_eq!(card("pay 3501 7486 1298 5731"), Some("3501 7486 1298 5731"));
        assert_eq!(card("pay 3501748612985731"), Some("3501748612985731"));
    }

    #[test]
    fn after_a_card_word_any_luhn_valid_number_is_a_card() {
        assert_eq!(card("\"cc\": \"0604 9949 3223\""), Some("0604 9949 3223"));
        assert_eq!(card("Kreditkarte 0604 9949 3223"), Some("0604 9949 3223"));
        assert_eq!(card("\u{30ab}\u{30fc}\u{30c9}\u{756a}\u{53f7}=060499493223"), Some("060499493223"));
        assert_eq!(card("acc 0604 9949 3223"), None);
        assert_eq!(card("card 0604 9949 3224"), None);
        assert_eq!(card("card\nref 0604 9949 3223"), None);
        // The leading twelve digits of a longer, Luhn-invalid number are not a card.
        assert_eq!(card("card_number: 2242 4284 9400 0578"), None);
        assert_eq!(card("pay 6759 6396 8341 1234 x"), None);
    }

    #[test]
    fn it_refuses_luhn_invalid_or_unknown_prefix_numbers() {
        assert_eq!(card("4111 1111 1111 1112"), None);
        assert_eq!(card("1234 5678 1234 5670"), None);
        assert_eq!(card("order 4111111111111111x"), None);
    }
}
