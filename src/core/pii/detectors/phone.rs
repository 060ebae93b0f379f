//! PHONE: telephone numbers, with digit-count rules per shape.
//!
//! - International: `+` (or `00`) then 8–15 digits in groups (`+44 20 7946 0958`, `+49 30 901820`,
//!   `+14155550132`); country code 1 must be a valid NANP number (11 digits).
//! - NANP: `[1 ]NXX NXX XXXX` with one consistent separator (`415-555-0132`, `415.555.0132`,
//!   `(415) 555-0132`, `1-800-555-0199`), area and exchange starting 2–9.
//! - National with trunk prefix: `0` + 1–4 digits, then groups of ≥ 2 digits, 9–11 digits in all
//!   (`020 7946 0958`, `030 901820`, `01 23 45 67 89`).
//! - Ten bare digits (or 11 starting with 1) only after a phone context word ("call", "phone", "tel").
//! - National numbers of the countries in the generated numbering plan (`phone_plan.rs`, from
//!   libphonenumber's metadata): the digits, grouped by spaces, `-`, `.`, `/` or parentheses, must
//!   be a valid national significant number of some country (possible length and general
//!   pattern) after its national prefix (`06 12 34 56 78`, `030/1234567`, `0171-12345678`,
//!   `8 (912) 345-67-89`, a bare `0612345678`). Without a prefix (`138 0013 8000`,
//!   `(11) 91234-5678`, `956 74 08 96`) the number must be grouped exactly as one of the country's
//!   formats and be a valid mobile number, or any valid number in three or more groups not all of
//!   three digits; or follow a phone word in one of the plan's languages.
//!
//! Dates (`2024-08-06`), year ranges, versions, prices and ids do not fit these shapes.

use super::cluster::{Cluster, Hit, CLOSE, DASH, DOT, NL, OPEN, SLASH, SP};
use super::phone_plan::{CALLING_CODES, PLAN};
use super::phone_plan_types::MAX_DIGITS;
use crate::core::pii::fields::{self, Named};
use crate::core::pii::text::{before, context_before, context_on_line, field_start, word_on_line};

/// Phone words (lower case, UTF-8) in the languages of the plan's countries: "tel" covers
/// telephone, Telefon, teléfono, telefono, telefoon; "mobil" mobile and Mobilnummer.
const CONTEXT: [&[u8]; 49] = [
    b"phone",
    b"landline",
    b"call",
    b"tel",
    b"mobil",
    b"cell",
    b"fax",
    b"sms",
    b"text me",
    b"whatsapp",
    b"dial",
    b"reach me",
    b"reach you",
    "t\u{e9}l".as_bytes(),
    "t\u{c9}l".as_bytes(),
    b"handy",
    b"portable",
    b"appel",
    b"ruf",
    b"llam",
    b"chiam",
    "m\u{f3}vil".as_bytes(),
    b"movil",
    b"celular",
    b"fone",
    b"contact",
    b"hotline",
    b"mob:",
    b"ph:",
    b"tlf",
    b"tfn",
    b"natel",
    b"gsm",
    // Greek "Τηλ." (τηλέφωνο) and "Κινητό" (mobile), capitalised as labels or not.
    "\u{3a4}\u{3b7}\u{3bb}".as_bytes(),
    "\u{3c4}\u{3b7}\u{3bb}".as_bytes(),
    "\u{39a}\u{3b9}\u{3bd}\u{3b7}\u{3c4}".as_bytes(),
    "\u{3ba}\u{3b9}\u{3bd}\u{3b7}\u{3c4}".as_bytes(),
    "kom\u{f3}rka".as_bytes(),
    // "My number is …" in the plan's languages.
    b"my number",
    "mi n\u{fa}mero".as_bytes(),
    b"mio numero",
    b"mijn nummer",
    b"mitt nummer",
    b"mit nummer",
    b"meine nummer",
    "mon num\u{e9}ro".as_bytes(),
    "meu n\u{fa}mero".as_bytes(),
    "m\u{f3}j numer".as_bytes(),
    b"moj numer",
];

/// Whether a phone word precedes offset `i` within 40 bytes (a label may sit on the line above),
/// after the end of the field before it ([`field_start`]): a phone word names the value that
/// follows it, not the next field of a record (`"phone": "+61 412 791 981", "customer_no":
/// "365225496"`, `<tel>…</tel> <pedido>97050299`, `telefone) VALUES (1, '64299082'`).
/// A record grammar naming the field a phone number ([`fields`]: vCard `TEL`, HL7 PID-13, FHIR
/// `"system": "phone"`) counts as a phone word.
pub(crate) fn phone_word_before(b: &[u8], i: usize) -> bool {
    context_before(b, i, i - field_start(b, i.saturating_sub(40), i), &CONTEXT)
        || fields::named(b, i) == Some(Named::Phone)
}

/// Words right before a bare number that make it an identifier, not a phone number.
pub(crate) const NOT_PHONE: [&[u8]; 8] = [b"order", b"invoice", b"ticket", b"account", b"ref", b"id ", b"#", b"serial"];

/// Words before a number that make it an identifier (on the same line, within 24 bytes: a JSON key
/// `"tracking_number": "` is 20); a `#`
/// does only when no phone word comes before it ("Phone #0612345678" is a phone number).
const ID_WORDS: [&[u8]; 10] =
    [b"order", b"invoice", b"ticket", b"account", b"ref", b"id ", b"serial", b"isbn", b"tracking", b"sku"];

/// Labels of conference and record ids (`Meeting ID: 467 3542 3022`), as whole words: "David: …"
/// in a chat export is no id.
const ID_LABELS: [&[u8]; 2] = [b"id:", b"meeting id"];

fn id_before(c: &Cluster, s: usize) -> bool {
    let g = c.group(s).s;
    // A field a record grammar names a phone (`TEL;type=pref:…`: "ref" is no id word there).
    if fields::named(c.b, g) == Some(Named::Phone) {
        return false;
    }
    if context_on_line(c.b, g, 24, &ID_WORDS) || word_on_line(c.b, g, 24, &ID_LABELS) {
        return true;
    }
    let hash = c.b.get(g.saturating_sub(3)..g).is_some_and(|w| w.contains(&b'#'));
    hash && !phone_word_before(c.b, g)
}

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

/// Whether `d` (all digits, no `+`) is `00`, a calling code of the plan and a valid national
/// significant number of that country: `0043664195883`, `004534112968`. Written without spaces
/// the number has no grouping to go by, so the plan decides (NANP for code 1).
pub(crate) fn compact_00(d: &[u8]) -> bool {
    let Some(rest) = d.strip_prefix(b"00") else { return false };
    if !(8..=15).contains(&rest.len()) || rest.first() == Some(&b'0') {
        return false;
    }
    PLAN.iter().any(|k| {
        let mut cc = [0u8; 5];
        let mut n = 0;
        let mut v = k.cc;
        while v > 0 && n < cc.len() {
            if let Some(x) = cc.get_mut(n) {
                *x = b'0' + (v % 10) as u8;
            }
            v /= 10;
            n += 1;
        }
        let code = cc.get_mut(..n).map(|c| {
            c.reverse();
            &*c
        });
        let Some(nsn) = code.and_then(|c| rest.strip_prefix(c)) else { return false };
        if k.cc == 1 {
            nsn.len() == 10 && nanp_digits_ok(nsn.first().copied().unwrap_or(0), nsn.get(3).copied().unwrap_or(0))
        } else {
            k.valid(nsn)
        }
    })
}

fn international(c: &Cluster, s: usize) -> Option<Hit> {
    let plus = s == 0 && c.before(0) == b'+';
    if !plus && (10..=17).contains(&c.len(s)) && compact_00(c.digits(s)) && c.right_ok(s + 1) && !id_before(c, s) {
        let single = s + 1 >= c.n || !phone_sep(c, s);
        if single {
            return Some(Hit { next: s + 1, start: c.group(s).s, end: c.group(s).e });
        }
    }
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
        let mut buf = [0u8; 24];
        let n = c.collect(s, e, &mut buf)?;
        if !dialable(buf.get(skip..n)?) {
            return None;
        }
        let start = if plus { c.group(s).s - 1 } else { c.group(s).s };
        return Some(Hit { next: e, start, end: c.group(e - 1).e });
    }
    let mut buf = [0u8; 24];
    let n = c.collect(s, e, &mut buf)?;
    let d = buf.get(skip..n)?;
    if !dialable(d) || cc_first == b'1' && (d.len() != 11 || !nanp_digits_ok(d.get(1).copied()?, d.get(4).copied()?)) {
        return None;
    }
    let start = if plus { c.group(s).s - 1 } else { c.group(s).s };
    Some(Hit { next: e, start, end: c.group(e - 1).e })
}

/// Whether `d` (the digits after `+` or `00`) starts with a country calling code that exists and
/// has a subscriber part that is not all zeros: `+999 939 9845`, `+210 564 3357` (spare codes) and
/// `+46 0000 0000` reach nobody, so they are dummies rather than someone's number.
fn dialable(d: &[u8]) -> bool {
    if d.first() == Some(&b'0') {
        return false; // `+00 …`: no calling code starts with 0
    }
    let mut v = 0u16;
    for (i, &x) in d.iter().take(3).enumerate() {
        v = v * 10 + u16::from(x.saturating_sub(b'0'));
        if CALLING_CODES.binary_search(&v).is_ok() {
            return d.get(i + 1..).is_some_and(|nsn| !zeros(nsn));
        }
    }
    false
}

/// Digits that are all `0` (`0000 000 000`, `000-000-0000`): a placeholder, no numbering plan's number.
fn zeros(d: &[u8]) -> bool {
    d.iter().all(|&x| x == b'0')
}

/// Whether the cluster is a `+` number no plan can dial (see [`dialable`]; `+1` then an area code
/// starting 0 or 1, `+1 (000) 000-3873`): nothing in it is a phone number, and no other reading
/// may take its tail (`+999 939 9845` is no NANP `999 939 9845`). Only group `s` within the first
/// 15 digits joined by phone separators is refused. A `+` before a trunk prefix (`+07911 123456`,
/// `+0612345678`: `0` then a digit 1–9) is a slip, not a calling code: the national reading stays.
fn undialable_plus(c: &Cluster, s: usize) -> bool {
    if !plus_led(c) || !(0..s).all(|k| phone_sep(c, k)) {
        return false;
    }
    let mut d = [0u8; 15];
    let mut n = 0;
    for k in 0..c.n {
        for &x in c.digits(k) {
            if let Some(slot) = d.get_mut(n) {
                *slot = x;
                n += 1;
            }
        }
        if k < s && n >= 15 {
            return false;
        }
        if n >= 15 || !phone_sep(c, k) {
            break;
        }
    }
    let d = d.get(..n).unwrap_or(&[]);
    let trunk_led = d.first() == Some(&b'0') && d.get(1).is_some_and(|&x| x != b'0');
    !trunk_led && !dialable(d) || d.first() == Some(&b'1') && matches!(d.get(1), Some(b'0' | b'1'))
}

/// A cluster led by a `+` that starts a word (`+999 …`, `Tel:+46 …`): a country calling code
/// follows. A `+` glued to a `)` or a word (`(18)+2944-2835`) is a typo or an operator.
fn plus_led(c: &Cluster) -> bool {
    let q = before(c.b, c.group(0).s.saturating_sub(1));
    c.before(0) == b'+' && !(q.is_ascii_alphanumeric() || q == b')')
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
    if !phone_word_before(c.b, c.group(s).s) || id_before(c, s) {
        return None;
    }
    Some(Hit { next: s + 1, start: c.group(s).s, end: c.group(s).e })
}

/// A separator inside a national number: spaces, `-`, `.`, `/`, parentheses; no line break.
fn national_sep(c: &Cluster, k: usize) -> bool {
    let (m, l) = c.sep(k);
    m & NL == 0 && m & !(SP | DASH | DOT | SLASH | OPEN | CLOSE) == 0 && l <= 3
}

/// Whether groups `s..=k` (`lens`) with a dot among their separators can be a national number
/// written with dots: every separator a single `.`, except that the first may be `-` or `/`
/// (`070-159.74.63`); three or more groups (`06.12.34.56.78`, `612.79.52.73`), or two when the
/// first is a trunk prefix and area code (`0664.199036`, `06.12405016`). Not a decimal
/// (`448.0270497`), and not a dotted quad of short groups that could be an address or a version,
/// unless no address or version is written so: a group over 255 or with a leading zero
/// (`12.347.86.39`, `021.256.01.61`).
fn dotted_ok(c: &Cluster, s: usize, k: usize, lens: &[usize]) -> bool {
    // `(02).1215.7777`: an area code in parentheses, then dots.
    let seps_ok = (s..k).all(|x| {
        let (m, l) = c.sep(x);
        l == 1 && (m == DOT || x == s && matches!(m, DASH | SLASH)) || x == s && l == 2 && m == CLOSE | DOT
    });
    let first = c.digits(s);
    let trunk_area = first.len() >= 2 && first.first() == Some(&b'0') && first.get(1) != Some(&b'0');
    if !seps_ok || lens.len() < 2 || lens.len() == 2 && !trunk_area {
        return false;
    }
    let quad = lens.len() == 4 && lens.iter().all(|&l| l <= 3);
    let leading_zero = (s..=k).any(|x| c.len(x) > 1 && c.first(x) == b'0');
    !quad || (s..=k).any(|x| c.value(x) > 255) || leading_zero
}

/// `31.12.2024`, `12/05/24`, `2024-08-06`: three groups of a date with one separator.
fn date_shape(c: &Cluster, s: usize) -> bool {
    if s + 2 >= c.n || c.sep(s) != c.sep(s + 1) || !matches!(c.sep(s).0, DOT | SLASH | DASH) {
        return false;
    }
    if s + 3 < c.n && c.sep(s + 2) == c.sep(s) {
        return false; // `06.12.34.56.78`: a fourth group with the same separator
    }
    let (a, b, d) = (c.len(s), c.len(s + 1), c.len(s + 2));
    ((1..=2).contains(&a) && (1..=2).contains(&b) && (d == 2 || d == 4)) || (a == 4 && b <= 2 && d <= 2)
}

/// `2020.12.4087`: a year (1990–2099), a dot and a month (1–12) start a calendar-versioned build
/// number, not a phone number written with dots.
fn calver(c: &Cluster, s: usize) -> bool {
    s + 1 < c.n
        && c.len(s) == 4
        && (1990..=2099).contains(&c.value(s))
        && c.sep(s) == (DOT, 1)
        && (1..=2).contains(&c.len(s + 1))
        && (1..=12).contains(&c.value(s + 1))
}

/// Whether `d` (all digits, `lens` its groups) is a number of some country in the plan: after
/// its national prefix, or without one when `cue` (a phone word) or the grouping says so.
fn plan_number(d: &[u8], lens: &[usize], cue: bool) -> bool {
    if zeros(d) {
        return false;
    }
    let multi = lens.len() > 1;
    // Groups of four are how cards, IBANs and amount lists are written: only after a phone word.
    if multi && !cue && lens.iter().all(|&l| l == 4) {
        return false;
    }
    PLAN.iter().filter(|k| k.cc != 1).any(|k| {
        let p = k.prefix.as_bytes();
        let trunk = !p.is_empty() && d.starts_with(p) && {
            let nsn = d.get(p.len()..).unwrap_or(&[]);
            let shaped = if cue {
                true
            } else if multi {
                let formatted = formatted_national(k, nsn, lens, p.len());
                // Eight digits with the prefix only in one of the country's own groupings of three
                // or more groups (`08-17 19 17`).
                d.len() >= 9 && (formatted || p == b"0" && phone_like(lens))
                    || d.len() == 8 && lens.len() >= 3 && formatted
            } else {
                // A bare 13-digit run with a valid EAN-13 check digit is an article number.
                p == b"0" && d.len() >= 10 && !(d.len() == 13 && ean13(d))
            };
            shaped && k.valid(nsn)
        };
        trunk
            || if cue {
                k.valid(d)
            } else {
                multi && d.first() != Some(&b'0') && k.formatted_as(d, lens) && {
                    // Eight digits without a prefix: only where the country has no trunk prefix,
                    // so eight digits are its whole number (Denmark, Norway), in four groups.
                    d.len() >= 9 && unprefixed(k, d, lens)
                        || d.len() == 8 && p.is_empty() && lens.len() == 4 && k.valid(d)
                }
            }
    })
}

/// Whether 13 digits carry a valid EAN-13 (GTIN-13) check digit: weights 1, 3, 1, … over the
/// first twelve, the thirteenth makes the sum a multiple of ten.
fn ean13(d: &[u8]) -> bool {
    d.len() == 13
        && d.iter()
            .enumerate()
            .map(|(i, &x)| u32::from(x.wrapping_sub(b'0')) * if i % 2 == 0 { 1 } else { 3 })
            .sum::<u32>()
            % 10
            == 0
}

/// A number without a national prefix or phone word, already grouped exactly as one of the
/// country's formats: a mobile number, or any valid number (fixed line: `956 74 08 96`,
/// `(85) 4199-7465`) written in three or more groups that are not all of three digits
/// (`123 456 789` is how amounts are grouped).
fn unprefixed(k: &super::phone_plan_types::Country, d: &[u8], lens: &[usize]) -> bool {
    k.mobile(d) || lens.len() >= 3 && !lens.iter().all(|&l| l == 3) && k.valid(d)
}

/// Whether groups `lens` of a number with a national prefix of `plen` digits are one of the
/// country's formats: the prefix is written in the first group (`06 12 …`) or alone (`8 (912) …`).
fn formatted_national(k: &super::phone_plan_types::Country, nsn: &[u8], lens: &[usize], plen: usize) -> bool {
    let mut g = [0usize; 8];
    let Some(&first) = lens.first() else { return false };
    let rest = lens.get(1..).unwrap_or(&[]);
    let (n, shifted) = if first == plen {
        (rest.len(), rest)
    } else if first > plen {
        if let Some(x) = g.first_mut() {
            *x = first - plen;
        }
        (lens.len(), lens)
    } else {
        return false;
    };
    for (j, &l) in shifted.iter().enumerate().skip(usize::from(first > plen)) {
        if let Some(x) = g.get_mut(j) {
            *x = l;
        }
    }
    g.get(..n).is_some_and(|g| k.formatted_as(nsn, g))
}

/// A hand-written national number: an area group of 2–5 digits (prefix included), then groups
/// of at least two digits, not all of four (a card or amount list is grouped by fours).
fn phone_like(lens: &[usize]) -> bool {
    lens.first().is_some_and(|l| (2..=5).contains(l))
        && lens.iter().skip(1).all(|&l| l >= 2)
        && !lens.iter().all(|&l| l == 4)
}

/// A separator that sets a number apart from digits next to it: two or more bytes without a
/// parenthesis (" / ", " - "). A single space, dash, dot or slash joins digits into one number.
fn strong_sep(c: &Cluster, k: usize) -> bool {
    let (m, l) = c.sep(k);
    l >= 2 && m & (OPEN | CLOSE) == 0
}

/// Whether the digits `d` of a value in a phone column ([`super::table`]) are a phone number:
/// after a `+`, 8–15 digits; otherwise NANP or a number of the plan (the header is the cue).
pub(crate) fn column_value(d: &[u8], plus: bool) -> bool {
    if plus {
        return (8..=15).contains(&d.len()) && dialable(d);
    }
    let nanp =
        |x: &[u8]| x.len() == 10 && nanp_digits_ok(x.first().copied().unwrap_or(0), x.get(3).copied().unwrap_or(0));
    nanp(d)
        || d.first() == Some(&b'1') && d.get(1..).is_some_and(nanp)
        || compact_00(d)
        || plan_number(d, &[d.len()], true)
}

/// A national number of the plan starting at group `s` (see the module comment): the whole run
/// of groups joined by phone separators, unless set apart by a [`strong_sep`].
fn national(c: &Cluster, s: usize) -> Option<Hit> {
    // "083-00-8551" is an (invalid) SSN shape, not a national number.
    let ssn_shape = s + 2 < c.n && c.len(s) == 3 && c.len(s + 1) == 2 && c.len(s + 2) == 4;
    if date_shape(c, s) || calver(c, s) || ssn_shape || (s > 0 && !strong_sep(c, s - 1)) {
        return None;
    }
    let paren0 = s == 0 && c.before(0) == b'(';
    let mut digits = [0u8; MAX_DIGITS];
    let mut lens = [0usize; 8];
    // Group k of each candidate end, the digits so far, whether parentheses balance.
    let mut ends: [(usize, usize, bool); 8] = [(0, 0, false); 8];
    let mut n = 0usize;
    let mut nd = 0usize;
    let mut opens = i32::from(paren0);
    let mut k = s;
    loop {
        let g = c.digits(k);
        if nd + g.len() > 15 || n >= lens.len() {
            return None; // longer than any phone number: part of something else
        }
        for (slot, &x) in digits.iter_mut().skip(nd).zip(g) {
            *slot = x;
        }
        nd += g.len();
        if let Some(l) = lens.get_mut(n) {
            *l = g.len();
        }
        if let Some(e) = ends.get_mut(n) {
            *e = (k, nd, opens == 0);
        }
        n += 1;
        if k + 1 >= c.n || !national_sep(c, k) {
            break;
        }
        let m = c.sep(k).0;
        opens += i32::from(m & OPEN != 0) - i32::from(m & CLOSE != 0);
        if !(0..=1).contains(&opens) {
            break;
        }
        k += 1;
    }
    // Two slashes make a reference or a date (`76/2020/6681`, a court case number; `12/05/2024`):
    // a national number has at most one, after its area code (`030/1234567`).
    if (s..k).filter(|&x| c.sep(x).0 & SLASH != 0).nth(1).is_some() {
        return None;
    }
    // Context words are looked up only for a run that could be a number at all (most digit runs
    // in text are years, prices, counts: too short).
    if !ends.iter().take(n).any(|&(_, nd, _)| (7..=15).contains(&nd)) || id_before(c, s) {
        return None;
    }
    // A parenthesised trunk prefix and area code (`(022) 43211`, `(0)`-less national format) is
    // how a phone number is written: it stands in for a phone word.
    let paren_trunk = paren0
        && (3..=5).contains(&c.len(s))
        && c.first(s) == b'0'
        && c.digits(s).get(1) != Some(&b'0')
        && c.sep(s).0 & CLOSE != 0;
    let cue = paren_trunk || phone_word_before(c.b, c.group(s).s);
    for j in (0..n).rev() {
        let (k, nd, balanced) = ends.get(j).copied()?;
        let whole = j + 1 == n || strong_sep(c, k);
        if !whole || !balanced || !(7..=15).contains(&nd) || !c.right_ok(k + 1) {
            continue;
        }
        let lens = lens.get(..=j)?;
        // Dots: at least three groups, dots only (`06.12.34.56.78`); not a decimal (`448.0270497`)
        // nor a dotted quad of short groups (an address or version the IPv4 rule turned down).
        if (s..k).any(|x| c.sep(x).0 & DOT != 0) && !dotted_ok(c, s, k, lens) {
            continue;
        }
        if plan_number(digits.get(..nd)?, lens, cue) {
            let start = if paren0 { c.group(s).s - 1 } else { c.group(s).s };
            return Some(Hit { next: k + 1, start, end: c.group(k).e });
        }
    }
    None
}

/// A phone number starting at group `s` of the cluster.
pub(crate) fn at(c: &Cluster, s: usize) -> Option<Hit> {
    if !(c.left_ok(s) || s == 0 && matches!(c.before(0), b'+' | b'(')) || undialable_plus(c, s) {
        return None;
    }
    international(c, s).or_else(|| nanp(c, s)).or_else(|| trunk(c, s)).or_else(|| bare(c, s)).or_else(|| national(c, s))
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
    fn a_latex_tilde_is_a_space_between_groups() {
        for (t, want) in [
            ("Ana & +41~78~116~17~10 & x", "+41~78~116~17~10"),
            ("Ana & 0450~83~57~20 & x", "0450~83~57~20"),
            ("Ana & +1~506-576-2862 & x", "+1~506-576-2862"),
            ("Ana & +55~11~90764-4438 & x", "+55~11~90764-4438"),
        ] {
            assert_eq!(phone(t), Some(want), "{t}");
        }
    }

    #[test]
    fn greek_labels_and_parenthesised_trunk_codes_name_a_phone() {
        for (t, want) in [
            ("\u{3a4}\u{3b7}\u{3bb}. 2120876476 | x", "2120876476"),
            ("\u{39a}\u{3b9}\u{3bd}\u{3b7}\u{3c4}\u{3cc} 6913768973", "6913768973"),
            ("GSM 012308316", "012308316"),
            ("Troy & (022) 29241 & x", "(022) 29241"),
            ("TEL;type=WORK:5064893194\r\n", "5064893194"),
            ("TEL;type=CELL;type=VOICE;type=pref:0450.37.13.00\r\n", "0450.37.13.00"),
        ] {
            assert_eq!(phone(t), Some(want), "{t}");
        }
        // Without the parentheses eight digits in two groups need a phone word.
        assert_eq!(phone("total 022 29241 x"), None);
    }

    #[test]
    fn calendar_builds_and_meeting_ids_are_no_phone_numbers() {
        for t in [
            "value: \"2020.12.4087\"",
            "BUILD_NUMBER=2026.12.5883",
            "Meeting ID: 467 3542 3022",
            "Conference ID: 0612345678",
        ] {
            assert_eq!(phone(t), None, "{t}");
        }
        // "id:" is a word of its own: a name before a chat message is none.
        assert_eq!(phone("David: 004331642689471 (privat)"), Some("004331642689471"));
        // A dotted number whose first group is no year, or whose second is no month, still is one.
        assert_eq!(phone("ring 0450.37.13.00 soon"), Some("0450.37.13.00"));
    }

    #[test]
    fn national_formats_of_the_plan_are_found() {
        for (t, want) in [
            ("ring 06 12 34 56 78 soon", "06 12 34 56 78"),
            ("ring 06.12.34.56.78 soon", "06.12.34.56.78"),
            ("ring 0612345678 soon", "0612345678"),
            ("ring +33 (0)6 12 34 56 78 soon", "+33 (0)6 12 34 56 78"),
            ("ring 030/1234567 soon", "030/1234567"),
            ("ring 089/1234 5678 soon", "089/1234 5678"),
            ("ring 0171-12345678 soon", "0171-12345678"),
            ("ring 0170 12345678 soon", "0170 12345678"),
            ("ring +49 171 1234567 soon", "+49 171 1234567"),
            ("ring 07700 900123 soon", "07700 900123"),
            ("ring +1.415.555.0132 soon", "+1.415.555.0132"),
            ("ring +1-415-555-0132 soon", "+1-415-555-0132"),
            ("ring 138 0013 8000 soon", "138 0013 8000"),
            ("ring (11) 91234-5678 soon", "(11) 91234-5678"),
            ("ring 8 (912) 345-67-89 soon", "8 (912) 345-67-89"),
            ("Telefon: 301234567", "301234567"),
            ("Tél. : 612345678", "612345678"),
        ] {
            assert_eq!(phone(t), Some(want), "{t}");
        }
    }

    #[test]
    fn every_plan_example_is_found_nationally_and_internationally() {
        use super::super::phone_plan::EXAMPLES;
        for (region, mobile, intl, fixed) in EXAMPLES {
            // Argentina's national mobile form inserts "15" after the area code (a rewrite rule in
            // the metadata the plan does not carry); its international form is found.
            // Eight digits without a national prefix (Norway, Denmark, Singapore) are too common
            // a shape to take without a phone word.
            let short = mobile.bytes().filter(u8::is_ascii_digit).count() < 9 && !mobile.starts_with('0');
            let lead = if short { "Mobile:" } else { "x" };
            if region != "AR" {
                assert_eq!(phone(&format!("{lead} {mobile} y")), Some(mobile), "{region} mobile");
            }
            assert_eq!(phone(&format!("x {intl} y")), Some(intl), "{region} international");
            assert_eq!(phone(&format!("Tel: {fixed} y")), Some(fixed), "{region} fixed line");
        }
    }

    #[test]
    fn decoys_stay_out_of_the_national_reading() {
        for t in [
            "on 01.02.2024 at noon",
            "on 31/12/2024 at noon",
            "ISBN 0-306-40615-2",
            "order 0612345678",
            "invoice #0612345678",
            "ts 1717171717 ok",
            "v 1.22.333.4444 ok",
            "total 1234 5678 ok",
        ] {
            assert_eq!(phone(t), None, "{t}");
        }
    }

    #[test]
    fn references_with_two_slashes_are_no_national_numbers() {
        for t in ["referral of Ann Lee, 37/2021/8434", "Fixes: 29/2023/2123", "call about case 1/2019/6541"] {
            assert_eq!(phone(t), None, "{t}");
        }
        assert_eq!(phone("Tel. 089/1234 5678"), Some("089/1234 5678"));
    }

    #[test]
    fn numbers_no_plan_can_dial_are_dummies() {
        // Spare or reserved calling codes, a `+00` code, an all-zero subscriber part, NANP area
        // code 0xx: after a phone word too, and no national reading takes the tail.
        for t in [
            "Fax +999 939 9845",
            "Tel +210 564 3357",
            "Tel +969 425 64906490",
            "Tel +00 533 533 6653",
            "Tel +00 736 736 7005",
            "Fax +46 0000 0000",
            "Fax +1 (000) 000-3873",
            "Fax 0000 000 000",
            "phone 000-000-0000",
        ] {
            assert_eq!(phone(t), None, "{t}");
        }
        for (t, want) in [
            ("Fax +966 578 3712 371", "+966 578 3712 371"),
            ("Tel +46 70 000 0000", "+46 70 000 0000"),
            ("Tel +1 (503) 805-2707", "+1 (503) 805-2707"),
            ("Tel +800 1234 5678", "+800 1234 5678"),
        ] {
            assert_eq!(phone(t), Some(want), "{t}");
        }
    }

    #[test]
    fn a_stray_plus_before_a_national_number_keeps_the_national_reading() {
        // `+0…` is no calling code: the `+` is a slip before a trunk prefix, and the number after
        // it is still someone's (the "no other reading" rule is for spare codes such as +999).
        for (t, want) in [
            ("Mobile: +07911 123456", "07911 123456"),
            ("ring +07911 123456 soon", "07911 123456"),
            ("Tel +0612345678", "0612345678"),
            ("ring +06 12 34 56 78 soon", "06 12 34 56 78"),
            ("ring +020 7946 0958 soon", "020 7946 0958"),
            ("Tel: +(0)6 12 34 56 78", "(0)6 12 34 56 78"),
            ("Tel +0 6 12 34 56 78", "0 6 12 34 56 78"),
        ] {
            assert_eq!(phone(t), Some(want), "{t}");
        }
        // Spare codes still hide nothing behind them.
        for t in ["Fax +999 939 9845", "Tel +210 564 3357", "Tel +00 533 533 6653"] {
            assert_eq!(phone(t), None, "{t}");
        }
    }

    #[test]
    fn unprefixed_fixed_line_numbers_in_a_national_grouping_are_found() {
        // Spain writes 9-digit fixed lines 3-2-2-2, Brazil "(AA) NNNN-NNNN": no prefix, no phone word.
        for (t, want) in [
            ("x,956 74 08 96,y", "956 74 08 96"),
            ("\t(85) 4199-7465\t", "(85) 4199-7465"),
            ("| 922 14 34 17 |", "922 14 34 17"),
        ] {
            assert_eq!(phone(t), Some(want), "{t}");
        }
        // Groups of three are how amounts are written; two groups say too little.
        let es = PLAN.iter().find(|k| k.region == "ES").unwrap();
        assert!(unprefixed(es, b"956740896", &[3, 2, 2, 2]));
        assert!(!unprefixed(es, b"956740896", &[3, 3, 3]));
        assert!(!unprefixed(es, b"956740896", &[3, 6]));
    }

    #[test]
    fn compact_00_numbers_are_checked_against_the_plan() {
        for t in
            ["x 0043664195883 y", "| 004534112968 |", "<td>0034612798727</td>", "'0061493073647'", "x 0014155550132 y"]
        {
            let want = t.trim_matches(|c: char| !c.is_ascii_digit());
            assert_eq!(phone(t), Some(want), "{t}");
        }
        // `00`, then no calling code of the plan, or a number the country does not have; an id.
        for t in ["x 0000612345678 y", "x 0034012345678 y", "x 0014150550132 y", "order 0043664195883"] {
            assert_eq!(phone(t), None, "{t}");
        }
    }

    #[test]
    fn national_numbers_written_with_dots_are_found() {
        for (t, want) in [
            ("x 612.79.52.73 y", "612.79.52.73"),
            ("x 021.287.83.09 y", "021.287.83.09"),
            ("x 0664.428602 y", "0664.428602"),
            ("x 06.12405016 y", "06.12405016"),
            ("x 070-159.74.63 y", "070-159.74.63"),
        ] {
            assert_eq!(phone(t), Some(want), "{t}");
        }
        // Decimals, versions and addresses stay out.
        for t in ["x 448.0270497 y", "x 17.4.3.46 y", "x 192.168.10.200 y", "x 1.22.333.4444 y", "x 12.3456789 y"] {
            assert_eq!(phone(t), None, "{t}");
        }
    }

    #[test]
    fn eight_digit_numbers_need_a_national_grouping() {
        // Sweden (prefix 0, in its own grouping), Denmark (no prefix: eight digits are the number).
        assert_eq!(phone("x 08-17 19 17 y"), Some("08-17 19 17"));
        assert_eq!(phone("x 48 27 37 64 y"), Some("48 27 37 64"));
        // Denmark's numbers do not start with 0 or 1; other groupings or an id word say no.
        for t in ["x 18 27 37 64 y", "x 4827 3764 y", "x 48273764 y", "order 48 27 37 64"] {
            assert_eq!(phone(t), None, "{t}");
        }
    }

    #[test]
    fn a_phone_word_names_its_own_field_only() {
        // The word is the cue for the value after it…
        assert_eq!(phone("Tlf.: 35302975 x"), Some("35302975"));
        assert_eq!(phone("<tfn>08113505</tfn>"), Some("08113505"));
        assert_eq!(phone("mi n\u{fa}mero es 878997324."), Some("878997324"));
        assert_eq!(phone("(02).1215.7777 x"), Some("(02).1215.7777"));
        assert_eq!(phone("x 12.347.86.39 y"), Some("12.347.86.39"));
        // …not for the next field of the record.
        for t in [
            "\"phone\": \"+61 412 791 981\", \"customer_no\": \"365225496\"",
            "<telefono>+34-612-22-76-25</telefono>\n    <member_id>340117809</member_id>",
            "INSERT INTO t (id, telefone) VALUES (1, '64299082');",
            "il mio numero \u{e8} +3907766182272.\nean = 9076106071610.",
            "il mio numero \u{e8} [PHONE].\nean = 9076106071610.",
        ] {
            let last = t.rfind(|c: char| c.is_ascii_digit()).unwrap();
            let first = t[..=last].rfind(|c: char| !c.is_ascii_digit()).unwrap() + 1;
            let c = Cluster::parse(t.as_bytes(), first);
            assert_eq!((0..c.n).find_map(|s| at(&c, s)).map(|h| &t[h.start..h.end]), None, "{t}");
        }
    }

    #[test]
    fn an_ean_13_is_no_national_number() {
        assert_eq!(phone("x 0519466771480 y"), None);
        assert_eq!(phone("x 0519466771481 y"), Some("0519466771481"));
    }

    #[test]
    fn a_hash_after_a_phone_word_is_no_id_marker() {
        assert_eq!(phone("Phone #4155550132"), Some("4155550132"));
        assert_eq!(phone("Phone #06 12 34 56 78"), Some("06 12 34 56 78"));
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
            "\"tracking_number\": \"058889283774\"",
            "tracking_number = \"037611152018\"",
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
