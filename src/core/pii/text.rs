//! Byte-level helpers shared by the detectors. Every read goes through [`at`], which returns 0
//! outside the slice; 0 never occurs in a detection view (normalisation drops NUL), so it doubles
//! as an "edge of text" sentinel.
//!
//! The one-line helpers are `#[inline(always)]`: built for size (`opt-level = "z"`, which the filter
//! used before it fit its budget at opt-level 3) they stayed calls in the hottest loops; the
//! attribute keeps every build profile fast.

use crate::core::swar::{first_flag, HIGHS, ONES};

/// The byte at `i`, or 0 past either end.
#[inline(always)]
pub(crate) fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// The byte before `i`, or 0 at the start.
#[inline(always)]
pub(crate) fn before(b: &[u8], i: usize) -> u8 {
    match i.checked_sub(1) {
        Some(j) => at(b, j),
        None => 0,
    }
}

/// ASCII letter, digit or underscore: a byte that continues an identifier.
#[inline(always)]
pub(crate) fn is_word(x: u8) -> bool {
    x.is_ascii_alphanumeric() || x == b'_'
}

/// ASCII decimal digit.
#[inline(always)]
pub(crate) fn is_digit(x: u8) -> bool {
    x.is_ascii_digit()
}

/// Index of the first non-digit at or after `i`.
#[inline(always)]
pub(crate) fn digits_end(b: &[u8], mut i: usize) -> usize {
    while is_digit(at(b, i)) {
        i += 1;
    }
    i
}

/// Eight bytes from `i` as a little-endian word (byte `i` in the low bits); bytes past the end
/// read as 0, like [`at`].
#[inline(always)]
pub(crate) fn word_at(b: &[u8], i: usize) -> u64 {
    match b.get(i..i.saturating_add(8)).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
        Some(w) => u64::from_le_bytes(w),
        None => tail_word(b.get(i..).unwrap_or(&[])),
    }
}

/// The (fewer than eight) bytes of `tail` as a word, zero-padded; the cold path of [`word_at`].
#[cold]
fn tail_word(tail: &[u8]) -> u64 {
    tail.iter().take(8).rev().fold(0u64, |w, &x| (w << 8) | u64::from(x))
}

/// SWAR (SIMD within a register): the high bit of each byte of the result is set when that byte of
/// `w` is *not* an ASCII lower-case letter `a..=z`; the other bits are 0.
///
/// With `lo = w & 0x7f..` every byte is at most 0x7f, so adding 0x1f or 0x05 to each byte never
/// carries into the next one: `lo + 0x1f` has its high bit set exactly when the byte is ≥ `a`
/// (0x61), `lo + 0x05` exactly when it is ≥ `{` (0x7b, one past `z`). A byte of `w` with its own
/// high bit set is not ASCII. Each byte's answer is exact, so the lowest set bit marks the first
/// byte that is not a lower-case letter.
#[inline(always)]
pub(crate) fn not_lower_mask(w: u64) -> u64 {
    let lo = w & !HIGHS;
    let ge_a = lo.wrapping_add(0x1f * ONES);
    let past_z = lo.wrapping_add(0x05 * ONES);
    !(ge_a & !past_z & !w) & HIGHS
}

/// Like [`not_lower_mask`] for ASCII letters of either case: setting bit 0x20 maps `A..=Z` onto
/// `a..=z` and no other byte onto a lower-case letter (`@[\]^_` become ``` `{|}~DEL```).
#[inline(always)]
pub(crate) fn not_alpha_mask(w: u64) -> u64 {
    not_lower_mask(w | (0x20 * ONES))
}

/// Index of the first byte at or after `i` for which `mask` (one of the masks above) has its high
/// bit set, reading eight bytes per step; `b.len()` or later only when the run reaches the end.
#[inline(always)]
pub(crate) fn run_end(b: &[u8], mut i: usize, mask: impl Fn(u64) -> u64) -> usize {
    loop {
        let m = mask(word_at(b, i));
        if m != 0 {
            return i + first_flag(m);
        }
        i += 8;
    }
}

/// Index of the first byte at or after `i` that is not `a..=z`.
#[inline(always)]
pub(crate) fn lower_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, not_lower_mask)
}

/// Index of the first byte at or after `i` that is not an ASCII letter.
#[inline(always)]
pub(crate) fn alpha_end(b: &[u8], i: usize) -> usize {
    run_end(b, i, not_alpha_mask)
}

/// Case-insensitive (ASCII) equality of `b[i..i+needle.len()]` with `needle` (given in lower case).
pub(crate) fn starts_with_ci(b: &[u8], i: usize, needle: &[u8]) -> bool {
    match b.get(i..i.saturating_add(needle.len())) {
        Some(s) => s.iter().zip(needle).all(|(x, y)| x.to_ascii_lowercase() == *y),
        None => false,
    }
}

/// Whether any of `needles` (lower case) occurs, case-insensitively, in the `window` bytes that
/// end at `end`. Used for context words ("ssn", "phone", "secret"); bounded by the window. A word
/// inside a redaction placeholder does not count (see `in_placeholder`).
pub(crate) fn context_before(b: &[u8], end: usize, window: usize, needles: &[&[u8]]) -> bool {
    let start = end.saturating_sub(window.min(96));
    let mut buf = [0u8; 96];
    let src = b.get(start..end).unwrap_or(&[]);
    let n = src.len().min(buf.len());
    for (d, s) in buf.iter_mut().zip(src.iter()) {
        *d = s.to_ascii_lowercase();
    }
    let hay = buf.get(..n).unwrap_or(&[]);
    needles.iter().any(|nd| {
        !nd.is_empty()
            && hay
                .windows(nd.len())
                .enumerate()
                .any(|(j, w)| w.first() == nd.first() && w == *nd && !in_placeholder(b, start + j, nd.len()))
    })
}

/// Where the field holding offset `i` starts, looking back no further than `lo`: after the last
/// `,` `;` `|` before it, after the last closing tag (`</tel>`), or after a line break that ends a
/// line with a value (a digit or a redaction placeholder's `]`, maybe followed by `.` `)` or a
/// quote). A context word before that
/// point names an earlier value of the record, not the one at `i`.
pub(crate) fn field_start(b: &[u8], lo: usize, i: usize) -> usize {
    let win = b.get(lo..i).unwrap_or(&[]);
    let mut j = win.len();
    while j > 0 {
        j -= 1;
        let cut = match win.get(j).copied().unwrap_or(0) {
            b',' | b';' | b'|' => true,
            b'<' => win.get(j + 1) == Some(&b'/'),
            b'\n' => win
                .get(..j)
                .and_then(|w| w.iter().rev().find(|c| !matches!(c, b' ' | b'\r' | b'\t' | b'.' | b')' | b'"' | b'\'')))
                .is_some_and(|&c| c.is_ascii_digit() || c == b']'),
            _ => false,
        };
        if cut {
            // A closing tag's name is no context: the field starts after its `>`.
            let after =
                win.get(j..).and_then(|w| w.iter().position(|&c| c == b'>')).filter(|_| win.get(j) == Some(&b'<'));
            return lo + after.map_or(j, |k| j + k) + 1;
        }
    }
    lo
}

/// Like [`context_before`], but the window stops at the start of the line holding `end`: a word
/// on the line above (a version cue at the end of one log line, a header row) says nothing about
/// a value that starts the next one.
pub(crate) fn context_on_line(b: &[u8], end: usize, window: usize, needles: &[&[u8]]) -> bool {
    let lo = end.saturating_sub(window.min(96));
    let line_start = b.get(lo..end).and_then(|w| w.iter().rposition(|&c| c == b'\n')).map_or(lo, |j| lo + j + 1);
    context_before(b, end, end - line_start, needles)
}

/// Like [`context_on_line`], but a needle that starts with a letter must start a word: `ver `
/// is not found in "server ".
pub(crate) fn word_on_line(b: &[u8], end: usize, window: usize, needles: &[&[u8]]) -> bool {
    let lo = end.saturating_sub(window.min(96));
    let start = b.get(lo..end).and_then(|w| w.iter().rposition(|&c| c == b'\n')).map_or(lo, |j| lo + j + 1);
    let hay = b.get(start..end).unwrap_or(&[]);
    needles.iter().any(|nd| {
        !nd.is_empty()
            && hay.windows(nd.len()).enumerate().any(|(j, w)| {
                w.eq_ignore_ascii_case(nd)
                    && !(nd.first().is_some_and(u8::is_ascii_alphabetic) && before(b, start + j).is_ascii_alphabetic())
                    && !in_placeholder(b, start + j, nd.len())
            })
    })
}

/// Whether `b[i..i + len]` lies inside a redaction placeholder such as `[US_SSN]` or
/// `[AWS_SECRET_KEY:1a2b3c4d5e6f]`: an upper-case name in `[`, closed by `]` or `:`. A placeholder
/// is not a context word: otherwise a second scan of redacted text reads `[US_SSN]` as "ssn" and
/// finds nine bare digits the first scan rightly left alone (redaction must be idempotent).
fn in_placeholder(b: &[u8], i: usize, len: usize) -> bool {
    let name = |x: u8| x.is_ascii_uppercase() || x.is_ascii_digit() || x == b'_';
    // Entity names are at most 64 bytes; the walks stop there.
    let mut s = i;
    while s > 0 && i - s <= 64 && name(before(b, s)) {
        s -= 1;
    }
    let mut e = i;
    while e - i <= 64 && name(at(b, e)) {
        e += 1;
    }
    e >= i + len && before(b, s) == b'[' && matches!(at(b, e), b']' | b':')
}

/// First index `>= from` where `needle` occurs in `h` (plain byte search; used on rare paths).
pub(crate) fn find_from(h: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while let Some(rest) = h.get(i..) {
        let off = rest.iter().position(|&x| x == first)?;
        let j = i + off;
        if h.get(j..j + needle.len()) == Some(needle) {
            return Some(j);
        }
        i = j + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_outside_the_slice_are_zero() {
        assert_eq!(at(b"ab", 5), 0);
        assert_eq!(before(b"ab", 0), 0);
        assert_eq!(before(b"ab", 1), b'a');
    }

    #[test]
    fn context_words_are_found_case_insensitively_within_the_window_only() {
        let t = b"My SSN is 123456789";
        assert!(context_before(t, 10, 32, &[b"ssn"]));
        assert!(!context_before(t, 10, 4, &[b"ssn"]));
    }

    #[test]
    fn swar_masks_agree_with_byte_tests_for_every_byte_in_every_lane() {
        for x in 0..=255u8 {
            for lane in 0..8 {
                // Neighbours that would expose a carry between lanes.
                for fill in [0u8, b'a', b'z', 0x7f, 0xff, b'{', b'`'] {
                    let mut w = [fill; 8];
                    w[lane] = x;
                    let m = u64::from_le_bytes(w);
                    let bit = 0x80u64 << (8 * lane);
                    assert_eq!(not_lower_mask(m) & bit != 0, !x.is_ascii_lowercase(), "{x:#x} lane {lane}");
                    assert_eq!(not_alpha_mask(m) & bit != 0, !x.is_ascii_alphabetic(), "{x:#x} lane {lane}");
                }
            }
        }
    }

    #[test]
    fn runs_end_at_the_first_other_byte_or_the_end() {
        let t = b"abcdefghijklmnopq1Rst";
        assert_eq!(lower_end(t, 0), 17);
        assert_eq!(lower_end(t, 17), 17);
        assert_eq!(alpha_end(t, 18), t.len());
        assert_eq!(lower_end(b"abc", 0), 3);
        assert_eq!(lower_end(b"abc", 7), 7);
        assert_eq!(alpha_end(b"HelloWorld yes", 0), 10);
        assert_eq!(word_at(b"ab", 0), 0x6261);
    }

    #[test]
    fn line_context_stops_at_the_line_start() {
        let t = b"build 16.2.6.4\n10.0.0.1 up";
        assert!(context_before(t, 15, 24, &[b"build"]));
        assert!(!context_on_line(t, 15, 24, &[b"build"]));
        assert!(context_on_line(b"build 1.2.3.4", 6, 24, &[b"build"]));
    }

    #[test]
    fn placeholders_are_not_context_words() {
        assert!(!context_before(b"[US_SSN] 1", 9, 32, &[b"ssn"]));
        assert!(!context_before(b"[AWS_SECRET_KEY:0a1b2c3d4e5f] k", 30, 96, &[b"secret"]));
        assert!(context_before(b"user_ssn: 1", 10, 32, &[b"ssn"]));
        assert!(context_before(b"[ssn] 1", 6, 32, &[b"ssn"]));
    }

    #[test]
    fn find_from_finds_later_occurrences() {
        assert_eq!(find_from(b"--x--END--END", b"END", 6), Some(10));
        assert_eq!(find_from(b"abc", b"zz", 0), None);
    }
}
