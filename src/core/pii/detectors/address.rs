//! ADDRESS (best effort, off by default): a street number, one to four street-name words and a
//! street type ("221B Baker Street", "1600 Pennsylvania Ave NW"), optionally followed by a unit
//! ("Apt 4B", "Suite 200"), and a US city/state/ZIP tail (", Springfield, IL 62704").

use super::Sink;
use crate::core::pii::entity::Entity;
use crate::core::pii::text::{at, before, digits_end, is_word};

const STREET_TYPES: [&[u8]; 38] = [
    b"street",
    b"st",
    b"avenue",
    b"ave",
    b"road",
    b"rd",
    b"boulevard",
    b"blvd",
    b"lane",
    b"ln",
    b"drive",
    b"dr",
    b"court",
    b"ct",
    b"way",
    b"place",
    b"pl",
    b"terrace",
    b"ter",
    b"parkway",
    b"pkwy",
    b"highway",
    b"hwy",
    b"circle",
    b"cir",
    b"square",
    b"sq",
    b"trail",
    b"trl",
    b"crescent",
    b"close",
    b"alley",
    b"plaza",
    b"loop",
    b"row",
    b"strasse",
    b"walk",
    b"mews",
];
const UNITS: [&[u8]; 7] = [b"apt", b"apartment", b"suite", b"ste", b"unit", b"floor", b"fl"];
const DIRECTIONS: [&[u8]; 8] = [b"n", b"s", b"e", b"w", b"nw", b"ne", b"sw", b"se"];

/// End of the word starting at `i` (letters, digits, `'`, `-`).
fn word_end(b: &[u8], mut i: usize) -> usize {
    while at(b, i).is_ascii_alphanumeric() || (matches!(at(b, i), b'\'' | b'-') && at(b, i + 1).is_ascii_alphanumeric())
    {
        i += 1;
    }
    i
}

fn word_in(b: &[u8], s: usize, e: usize, set: &[&[u8]]) -> bool {
    b.get(s..e).is_some_and(|w| set.iter().any(|x| w.eq_ignore_ascii_case(x)))
}

fn street(b: &[u8], num: usize) -> Option<usize> {
    let mut i = digits_end(b, num);
    if i - num > 6 {
        return None;
    }
    if at(b, i).is_ascii_alphabetic() && !at(b, i + 1).is_ascii_alphanumeric() {
        i += 1; // 221B
    }
    for names in 0..5 {
        if at(b, i) != b' ' {
            return None;
        }
        let s = i + 1;
        let e = word_end(b, s);
        if e == s {
            return None;
        }
        if names > 0 && word_in(b, s, e, &STREET_TYPES) {
            let mut end = if at(b, e) == b'.' && e - s <= 4 { e + 1 } else { e };
            // Trailing direction: "Ave NW".
            let ds = end + 1;
            let de = word_end(b, ds);
            if at(b, end) == b' ' && word_in(b, ds, de, &DIRECTIONS) && at(b, ds).is_ascii_uppercase() {
                end = de;
            }
            return Some(end);
        }
        let first = at(b, s);
        let ordinal = first.is_ascii_digit()
            && b.get(e.saturating_sub(2)..e)
                .is_some_and(|x| [&b"st"[..], b"nd", b"rd", b"th"].iter().any(|o| x.eq_ignore_ascii_case(o)));
        if !first.is_ascii_uppercase() && !ordinal {
            return None;
        }
        i = e;
    }
    None
}

fn tail(b: &[u8], mut end: usize) -> usize {
    // Unit: ", Apt 4B" / " Suite 200" / " #12".
    let sep = if at(b, end) == b',' { 2 } else { 1 };
    let us = end + sep;
    if at(b, end + sep - 1) == b' ' {
        let ue = word_end(b, us);
        let unit_word = word_in(b, us, ue, &UNITS);
        if unit_word || at(b, us) == b'#' {
            let mut v = if unit_word { ue } else { us + 1 };
            while matches!(at(b, v), b' ' | b'.' | b'#') && v < ue + 3 {
                v += 1;
            }
            let ve = word_end(b, v);
            if ve > v {
                end = ve;
            }
        }
    }
    // City, ST 12345(-6789).
    if at(b, end) == b',' && at(b, end + 1) == b' ' && at(b, end + 2).is_ascii_uppercase() {
        let mut c = end + 2;
        for _ in 0..3 {
            c = word_end(b, c);
            if at(b, c) == b' ' && at(b, c + 1).is_ascii_uppercase() && !(at(b, c + 2).is_ascii_uppercase()) {
                c += 1;
            } else {
                break;
            }
        }
        let st = if at(b, c) == b',' { c + 2 } else { c + 1 };
        let state_ok = matches!(at(b, st - 1), b' ')
            && at(b, st).is_ascii_uppercase()
            && at(b, st + 1).is_ascii_uppercase()
            && !is_word(at(b, st + 2));
        if state_ok {
            end = st + 2;
            if at(b, end) == b' ' && digits_end(b, end + 1) == end + 6 {
                end += 6;
                if at(b, end) == b'-' && digits_end(b, end + 1) == end + 5 {
                    end += 5;
                }
            }
        }
    }
    end
}

/// Records ADDRESS findings anywhere in `b`.
pub(crate) fn scan(b: &[u8], sink: &mut Sink) {
    let mut i = 0;
    while i < b.len() {
        if !at(b, i).is_ascii_digit() || is_word(before(b, i)) {
            i += 1;
            continue;
        }
        match street(b, i) {
            Some(e) => {
                let end = tail(b, e);
                sink.push(i, end, Entity::Address);
                i = end;
            }
            None => i = digits_end(b, i),
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn addrs(t: &str) -> Vec<&str> {
        Sink::texts(t, scan)
    }

    #[test]
    fn it_finds_street_addresses_with_units_and_zip() {
        assert_eq!(
            addrs("Ship to 742 Evergreen Terrace, Springfield, IL 62704 today"),
            vec!["742 Evergreen Terrace, Springfield, IL 62704"]
        );
        assert_eq!(addrs("at 221B Baker Street."), vec!["221B Baker Street"]);
        assert_eq!(
            addrs("1600 Pennsylvania Ave NW, Washington, DC 20500"),
            vec!["1600 Pennsylvania Ave NW, Washington, DC 20500"]
        );
        assert_eq!(addrs("10 Downing St, Apt 4B"), vec!["10 Downing St, Apt 4B"]);
    }

    #[test]
    fn numbers_without_a_street_type_are_not_addresses() {
        assert!(addrs("We sold 300 Large Boxes on 12 May").is_empty());
        assert!(addrs("in 2024 the way forward").is_empty());
    }
}
