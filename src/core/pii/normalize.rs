//! The normalised view a string is scanned in, with a map back to the original.
//!
//! Evasion characters are removed or folded before detection: format characters (zero-width
//! space/joiner/non-joiner, word joiner, BOM, soft hyphen, bidi controls, tag characters, other
//! other `Cf`), variation selectors and other invisible fillers, ASCII control characters; fullwidth
//! forms (`４`, `＠`, `．`) and other Unicode decimal digits fold to ASCII; Unicode spaces fold to
//! a space and Unicode dashes to `-`. A finding in the view maps back to the whole original span,
//! so invisible characters inside a value are redacted with it.
//!
//! Fast path: a string of printable ASCII (plus tab, CR, LF) needs no view and none is built;
//! neither is one for non-ASCII text whose characters all stay as they are.

use std::borrow::Cow;

use super::fold_table::{DIGIT_RANGES, MARK_RANGES, TWO_DIGITS};
use crate::core::swar::{HIGHS, ONES};

/// What normalisation does with one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    Keep,
    Drop,
    To(u8),
    /// Two ASCII bytes (`⑩` → `10`).
    Two(&'static str),
    /// A combining mark: dropped after a digit (`4̲1̲` → `41`), kept elsewhere.
    Mark,
}

fn fold(c: char) -> Fold {
    let u = c as u32;
    if u < 0x80 {
        return match u {
            0x09 | 0x0a | 0x0d => Fold::Keep,
            0x0b | 0x0c => Fold::To(b' '),
            0x00..=0x1f | 0x7f => Fold::Drop,
            _ => Fold::Keep,
        };
    }
    match u {
        // C1 controls, soft hyphen, combining grapheme joiner, Arabic/Syriac format marks.
        0x80..=0x9f | 0xad | 0x34f | 0x61c | 0x600..=0x605 | 0x6dd | 0x70f | 0x8e2 => Fold::Drop,
        0xa0 | 0x1680 | 0x2000..=0x200a | 0x202f | 0x205f | 0x3000 => Fold::To(b' '),
        0x2028 | 0x2029 => Fold::To(b'\n'),
        // Hangul fillers, Khmer inherent vowels, Mongolian selectors and vowel separator.
        0x115f | 0x1160 | 0x17b4 | 0x17b5 | 0x180b..=0x180f | 0x3164 | 0xffa0 => Fold::Drop,
        // Zero-width space/non-joiner/joiner, LRM/RLM, bidi embeddings, word joiner, invisible
        // operators, bidi isolates, deprecated format chars.
        0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f => Fold::Drop,
        0x2010..=0x2015 | 0x2212 | 0xfe58 | 0xfe63 => Fold::To(b'-'),
        0x2024 | 0x3002 | 0xfe52 => Fold::To(b'.'),
        0xfe6b => Fold::To(b'@'),
        // Variation selectors, BOM / zero-width no-break space, interlinear annotation.
        0xfe00..=0xfe0f | 0xfeff | 0xfff9..=0xfffb => Fold::Drop,
        // Fullwidth ASCII: `！`..`～` map to `!`..`~`.
        0xff01..=0xff5e => Fold::To((u - 0xfee0) as u8),
        0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a => Fold::Drop,
        // Tag characters and variation selectors supplement.
        0xe0001 | 0xe0020..=0xe007f | 0xe0100..=0xe01ef => Fold::Drop,
        // Mathematical alphanumeric digits: five styles of 0-9.
        0x1d7ce..=0x1d7ff => Fold::To(b'0' + ((u - 0x1d7ce) % 10) as u8),
        // Latin letters, CJK ideographs and Hangul syllables hold no digit or mark: skip the tables.
        0xc0..=0x2ff | 0x3400..=0x9fff | 0xac00..=0xd7a3 => Fold::Keep,
        _ => match other_digit(u) {
            Some(d) => Fold::To(b'0' + d),
            None => compat(u),
        },
    }
}

/// Where the range `lo..=hi` lies against `u`, for a binary search of sorted ranges.
fn against(lo: u32, hi: u32, u: u32) -> std::cmp::Ordering {
    if hi < u {
        std::cmp::Ordering::Less
    } else if lo > u {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// The generated tables: NFKC digit forms of every script and compatibility block (superscript,
/// subscript, circled, parenthesised, …) and combining marks.
fn compat(u: u32) -> Fold {
    let found = DIGIT_RANGES.binary_search_by(|&(lo, hi, _)| against(lo, hi, u));
    if let Some(&(lo, _, first)) = found.ok().and_then(|i| DIGIT_RANGES.get(i)) {
        return Fold::To(b'0' + (u32::from(first) + (u - lo)) as u8 % 10);
    }
    if let Ok(i) = TWO_DIGITS.binary_search_by_key(&u, |&(c, _)| c) {
        if let Some(&(_, v)) = TWO_DIGITS.get(i) {
            return Fold::Two(v);
        }
    }
    let mark = MARK_RANGES.binary_search_by(|&(lo, hi)| against(lo, hi, u));
    if mark.is_ok() {
        Fold::Mark
    } else {
        Fold::Keep
    }
}

/// An HTML character reference, a percent-encoded byte or a JSON `\u` escape at `i` that stands
/// for a printable ASCII character other than `%`, `&` and `\` (no second round of decoding):
/// `&#64;`, `&#x40;`, `&commat;`, `%40`, `\u0040`. Returns the character and the length of the
/// escape.
fn escape_at(b: &[u8], i: usize) -> Option<(u8, usize)> {
    let at = |k: usize| b.get(i + k).copied().unwrap_or(0);
    let printable = |v: u32| (0x20..0x7f).contains(&v) && v != u32::from(b'%') && v != u32::from(b'&');
    match at(0) {
        b'%' => {
            let h = |x: u8| char::from(x).to_digit(16);
            let v = h(at(1))? * 16 + h(at(2))?;
            printable(v).then_some((v as u8, 3))
        }
        b'&' if at(1) == b'#' => {
            let hex = matches!(at(2), b'x' | b'X');
            let mut k = if hex { 3 } else { 2 };
            let radix = if hex { 16 } else { 10 };
            let mut v = 0u32;
            let first = k;
            while let Some(d) = char::from(at(k)).to_digit(radix) {
                v = v.saturating_mul(radix).saturating_add(d);
                k += 1;
                if k - first > 7 {
                    return None;
                }
            }
            (k > first && at(k) == b';' && printable(v)).then_some((v as u8, k + 1))
        }
        b'&' => {
            let rest = b.get(i + 1..).unwrap_or(&[]);
            NAMED.iter().find(|(n, _)| rest.starts_with(n)).map(|&(n, c)| (c, n.len() + 1))
        }
        b'+' if query_plus(b, i) => Some((b' ', 1)),
        // A JSON `\uXXXX` escape written out in text (structured output a client `json.loads`,
        // attack round 3 finding 7): `jane\u0040example.net`, `sk\u002dor\u002dv1\u002d…`.
        b'\\' if at(1) == b'u' => {
            let mut v = 0u32;
            for k in 2..6 {
                v = v * 16 + char::from(at(k)).to_digit(16)?;
            }
            (printable(v) && v != u32::from(b'\\')).then_some((v as u8, 6))
        }
        _ => None,
    }
}

/// Whether the `+` at `i` stands for a space in a URL query value (form encoding:
/// `?cc=4111+1111+1111+1111&…`, `&ssn=597+51+6540`): between two non-space bytes, inside
/// `[?&]key=value` with no space, quote, `&`, `?` or `=` between the `=` and it, and not the value's
/// first byte (`phone=+44+20+…`: that `+` is the number's). Looks back at most 128 bytes.
fn query_plus(b: &[u8], i: usize) -> bool {
    let at = |k: usize| b.get(k).copied().unwrap_or(b' ');
    let edge = |c: u8| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'<' | b'>' | 0);
    if i == 0 || edge(at(i - 1)) || edge(at(i + 1)) || at(i - 1) == b'=' {
        return false;
    }
    let lo = i.saturating_sub(128);
    let mut j = i;
    // Back to the `=` that starts the value.
    while j > lo {
        j -= 1;
        match at(j) {
            b'=' => break,
            b'&' | b'?' => return false,
            c if edge(c) => return false,
            _ => {}
        }
    }
    if at(j) != b'=' || j == 0 {
        return false;
    }
    // Back over the key to the `?` or `&` before it.
    let mut k = j;
    loop {
        if k <= lo {
            return false;
        }
        k -= 1;
        match at(k) {
            b'?' | b'&' if k + 1 < j => break,
            b'?' | b'&' | b'=' => return false,
            c if edge(c) => return false,
            _ => {}
        }
    }
    spaced_value(b, j + 1)
}

/// Whether the query value at `s` reads as words or digit groups joined by `+` (`4111+1111+…`,
/// `fr90+3573+…`, `+44+(0)20+…`): letters, digits, `( ) - .` and pieces of at most 8 bytes. A
/// base64 secret holds `+` as one of its characters, in long pieces (`wJalr…+…`): it stays whole.
fn spaced_value(b: &[u8], s: usize) -> bool {
    let mut piece = 0usize;
    for &c in b.iter().skip(s).take(128) {
        match c {
            b'+' => piece = 0,
            b'&' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'#' => return true,
            c if c.is_ascii_alphanumeric() || matches!(c, b'(' | b')' | b'-' | b'.') => {
                piece += 1;
                if piece > 8 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// HTML named references for the characters detectors join values with.
const NAMED: [(&[u8], u8); 10] = [
    (b"commat;", b'@'),
    (b"period;", b'.'),
    (b"plus;", b'+'),
    (b"lowbar;", b'_'),
    (b"hyphen;", b'-'),
    (b"dash;", b'-'),
    (b"colon;", b':'),
    (b"sol;", b'/'),
    (b"num;", b'#'),
    (b"nbsp;", b' '),
];

/// Zero of each common Unicode `Nd` block (Arabic-Indic … Myanmar, Thai, Lao, Tibetan, …).
const DIGIT_ZEROS: [u32; 36] = [
    0x0660, 0x06f0, 0x07c0, 0x0966, 0x09e6, 0x0a66, 0x0ae6, 0x0b66, 0x0be6, 0x0c66, 0x0ce6, 0x0d66, 0x0de6, 0x0e50,
    0x0ed0, 0x0f20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50,
    0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xaa50, 0xabf0, 0x104a0, 0x1fbf0,
];

fn other_digit(u: u32) -> Option<u8> {
    if !(0x0660..=0x1fbf9).contains(&u) {
        return None;
    }
    DIGIT_ZEROS.iter().find(|&&z| u >= z && u < z + 10).map(|&z| (u - z) as u8)
}

/// Whether a byte forces a look at normalisation: non-ASCII, or an ASCII control other than
/// tab/CR/LF.
#[inline]
fn suspicious(b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') || b >= 0x7f
}

/// SWAR: the high bit of each byte of the result is set when that byte of `w` is ≥ 0x7f or < 0x20
/// (a superset of [`suspicious`]: tab, CR and LF are flagged too and sorted out byte by byte).
///
/// With `lo = w & 0x7f..` no per-byte addition carries: `lo + 0x01` reaches the high bit only for
/// 0x7f, `lo + 0x60` for bytes ≥ 0x20 (so its *clear* high bit means < 0x20); `w` itself carries
/// the high bit of non-ASCII bytes.
#[inline(always)]
fn flagged(w: u64) -> u64 {
    let lo = w & !HIGHS;
    (w | lo.wrapping_add(ONES) | !lo.wrapping_add(0x60 * ONES)) & HIGHS
}

/// Whether `text` could need normalisation: eight bytes per step, plain ASCII words cost a few
/// integer operations (no SIMD needed, so the same code is fast in wasm). A `%`, `&`, `+` or `\\`
/// is checked for an escape ([`escape_at`]) where it stands, in the same pass.
pub(crate) fn maybe_needs_view(text: &str) -> bool {
    let b = text.as_bytes();
    let mut words = b.chunks_exact(8);
    let mut base = 0usize;
    for chunk in words.by_ref() {
        let w = <[u8; 8]>::try_from(chunk).map_or(u64::MAX, u64::from_le_bytes);
        // One test per chunk; the bytes are looked at only when one may matter.
        let m = flagged(w) | eq_mask(w, b'%') | eq_mask(w, b'&') | eq_mask(w, b'+') | eq_mask(w, b'\\');
        if m != 0 && (chunk.iter().any(|&b| suspicious(b)) || escape_in(b, base, chunk)) {
            return true;
        }
        base += 8;
    }
    let rest = words.remainder();
    rest.iter().any(|&b| suspicious(b)) || escape_in(b, base, rest)
}

/// Whether an escape [`escape_at`] decodes starts at one of the bytes `part` of `b` (`part`
/// starts at `base`).
fn escape_in(b: &[u8], base: usize, part: &[u8]) -> bool {
    part.iter().enumerate().any(|(k, &x)| matches!(x, b'%' | b'&' | b'+' | b'\\') && escape_at(b, base + k).is_some())
}

/// SWAR: the high bit of a byte of the result is set where that byte of `w` equals `x` (a false
/// positive only next to a real match; callers confirm).
#[inline(always)]
fn eq_mask(w: u64, x: u8) -> u64 {
    let v = w ^ (u64::from(x) * ONES);
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// A string prepared for detection: either the original (no map) or a normalised copy with, for
/// each byte of the copy, the byte offset in the original that produced it.
#[derive(Debug)]
pub(crate) struct View<'a> {
    original: &'a str,
    text: Cow<'a, str>,
    map: Vec<u32>,
}

impl<'a> View<'a> {
    /// Builds the view; borrows `text` when nothing needs folding.
    pub(crate) fn new(text: &'a str) -> Self {
        let plain = Self { original: text, text: Cow::Borrowed(text), map: Vec::new() };
        if !maybe_needs_view(text) || text.len() > u32::MAX as usize {
            return plain;
        }
        let bytes = text.as_bytes();
        if text.chars().all(|c| matches!(fold(c), Fold::Keep | Fold::Mark)) && !escape_in(bytes, 0, bytes) {
            // Marks change nothing unless one follows a digit.
            let mut prev = '\0';
            let mark_after_digit = text.chars().any(|c| {
                let hit = fold(c) == Fold::Mark && prev.is_ascii_digit();
                prev = c;
                hit
            });
            if !mark_after_digit {
                return plain;
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut map = Vec::with_capacity(text.len());
        let mut off = 0usize;
        while let Some(c) = text.get(off..).and_then(|r| r.chars().next()) {
            if let Some((x, len)) = escape_at(bytes, off) {
                out.push(char::from(x));
                map.push(off as u32);
                off += len;
                continue;
            }
            match fold(c) {
                Fold::Drop => {}
                Fold::Mark if out.as_bytes().last().is_some_and(u8::is_ascii_digit) => {}
                Fold::To(b) => {
                    out.push(char::from(b));
                    map.push(off as u32);
                }
                Fold::Two(v) => {
                    out.push_str(v);
                    map.extend(std::iter::repeat_n(off as u32, v.len()));
                }
                Fold::Keep | Fold::Mark => {
                    out.push(c);
                    for k in 0..c.len_utf8() {
                        map.push((off + k) as u32);
                    }
                }
            }
            off += c.len_utf8();
        }
        Self { original: text, text: Cow::Owned(out), map }
    }

    /// The text to run detectors on.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether the view differs from the original.
    pub(crate) fn is_folded(&self) -> bool {
        matches!(self.text, Cow::Owned(_))
    }

    /// Maps a span of the view to the span of the original that produced it (whole characters,
    /// including any removed characters inside the span).
    pub(crate) fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        if !self.is_folded() || end <= start {
            return (start, end);
        }
        // The end is where the next kept character starts, so removed characters right after the
        // value go with it too.
        let s = self.map.get(start).map_or(self.original.len(), |&o| o as usize);
        let e = self.map.get(end).map_or(self.original.len(), |&o| o as usize);
        (s, e.max(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `s` folds to `text`, and the view's bytes `span` map back to `original` in `s`.
    fn assert_folds(s: &str, text: &str, span: (usize, usize), original: &str) {
        let v = View::new(s);
        assert_eq!(v.text(), text);
        let (a, b) = v.original_span(span.0, span.1);
        assert_eq!(&s[a..b], original, "{s:?}");
    }

    #[test]
    fn the_word_at_a_time_check_agrees_with_the_byte_test() {
        for x in 0..=255u8 {
            for lane in 0..8 {
                let mut w = [b'a'; 8];
                w[lane] = x;
                let flag = flagged(u64::from_le_bytes(w)) & (0x80u64 << (8 * lane)) != 0;
                assert!(flag || !suspicious(x), "{x:#x} lane {lane}");
                assert_eq!(flag, !(0x20..0x7f).contains(&x), "{x:#x} lane {lane}");
            }
        }
        for len in 0..20 {
            for pos in 0..len {
                let mut v = vec![b'a'; len];
                v[pos] = 0x01;
                assert!(maybe_needs_view(std::str::from_utf8(&v).unwrap()), "{len} {pos}");
                v[pos] = b'\n';
                assert!(!maybe_needs_view(std::str::from_utf8(&v).unwrap()), "{len} {pos}");
            }
        }
        // An escape is seen wherever it starts, also across a chunk boundary or in the tail;
        // the same bytes that decode to nothing are not.
        for len in 0..24 {
            for pos in 0..len {
                for (esc, decodes) in [("%40", true), ("&#64;", true), ("\\u0040", true), ("%4", false), ("&", false)] {
                    let t = format!("{}{esc}{}", "z".repeat(pos), "z".repeat(len - pos));
                    assert_eq!(maybe_needs_view(&t), decodes, "{t}");
                }
            }
        }
    }

    #[test]
    fn json_unicode_escapes_of_printable_ascii_are_decoded_and_spans_cover_them() {
        let s = r#"{"c": "jane\u0040example.net", "k": "sk\u002Dor"}"#;
        let v = View::new(s);
        assert_eq!(v.text(), r#"{"c": "jane@example.net", "k": "sk-or"}"#);
        let at = v.text().find("jane").unwrap();
        let (a, b) = v.original_span(at, at + "jane@example.net".len());
        assert_eq!(&s[a..b], r"jane\u0040example.net");
        // Not decoded: a backslash, `%`, `&`, a control character, a non-ASCII one, too few digits.
        for kept in [r"\u005c", r"\u0025", r"\u0026", r"\u000a", r"\u00e9", r"\u004", r"\U0040", r"\x40"] {
            assert!(!View::new(kept).is_folded(), "{kept}");
        }
    }

    #[test]
    fn plain_ascii_is_borrowed_without_a_map() {
        let v = View::new("mail john@example.com");
        assert!(!v.is_folded());
        assert_eq!(v.original_span(5, 21), (5, 21));
    }

    #[test]
    fn accented_text_without_evasion_characters_is_borrowed() {
        assert!(!View::new("café René").is_folded());
    }

    #[test]
    fn zero_width_and_soft_hyphen_are_dropped_and_spans_cover_them() {
        assert_folds(
            "x j\u{200b}ohn@ex\u{ad}ample.com y",
            "x john@example.com y",
            (2, 18),
            "j\u{200b}ohn@ex\u{ad}ample.com",
        );
        // Removed characters right after a value go with it.
        let s2 = "a\u{200b}b\u{200b} c";
        let v2 = View::new(s2);
        assert_eq!(v2.original_span(0, 2), (0, 8));
    }

    #[test]
    fn fullwidth_and_other_script_digits_fold_to_ascii() {
        assert_folds("４１１１ １１１１ ＠ ． ٤٥ १२ 𝟗", "4111 1111 @ . 45 12 9", (0, 4), "４１１１");
    }

    #[test]
    fn unicode_spaces_dashes_and_controls_fold() {
        let v = View::new("415\u{2011}555\u{a0}0132\u{1}\u{feff}");
        assert_eq!(v.text(), "415-555 0132");
    }

    #[test]
    fn compatibility_digits_fold_like_nfkc() {
        let s = "⁴¹¹¹ ₁₁₁₁ ①②③ ⑩ 𝟙 ⒎";
        assert_eq!(View::new(s).text(), "4111 1111 123 10 1 ⒎");
    }

    #[test]
    fn combining_marks_after_digits_are_dropped() {
        assert_folds(
            "4\u{332}1\u{332}1\u{20e3}1\u{301}-x\u{336}",
            "4111-x\u{336}",
            (0, 4),
            "4\u{332}1\u{332}1\u{20e3}1\u{301}",
        );
        // Accents on letters stay: no view at all.
        assert!(!View::new("cafe\u{301}").is_folded());
    }

    #[test]
    fn html_references_and_percent_escapes_are_decoded() {
        assert_folds(
            "jo&#64;ex&#x2E;com jo&commat;ex&period;com jo%40ex.com 50&amp;50 100%",
            "jo@ex.com jo@ex.com jo@ex.com 50&amp;50 100%",
            (0, 9),
            "jo&#64;ex&#x2E;com",
        );
        assert!(!View::new("a & b, 100% sure, &#; &#xZZ; %4").is_folded());
        assert!(!View::new("%25 and &#37; and &#38;").is_folded());
    }

    #[test]
    fn a_plus_in_a_url_query_value_is_a_space() {
        let s = "GET /t?cc=4111+1111+1111+1111&phone=+44+20+7946+0958&iban=fr90+3573 HTTP/1.1";
        let v = View::new(s);
        assert_eq!(v.text(), "GET /t?cc=4111 1111 1111 1111&phone=+44 20 7946 0958&iban=fr90 3573 HTTP/1.1");
        // Not in a query value: arithmetic, C++, a phone's plus, base64, a key.
        let key = "?k=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY&x=1";
        for t in ["x=1+2", "C++ and a+b", "call +44 20 7946 0958", "k=ab+cd", "/a?b+c=1", "?=1+2", "a?k=+1", key] {
            assert!(!View::new(t).is_folded(), "{t}");
        }
    }

    #[test]
    fn a_trailing_multibyte_character_maps_to_its_full_extent() {
        let s = "ab\u{200b}é";
        let v = View::new(s);
        assert_eq!(v.text(), "abé");
        assert_eq!(v.original_span(2, 4), (5, 7));
    }
}
