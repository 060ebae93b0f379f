//! Byte-level helpers shared by the detectors. Every read goes through [`at`], which returns 0
//! outside the slice; 0 never occurs in a detection view (normalisation drops NUL), so it doubles
//! as an "edge of text" sentinel.

/// The byte at `i`, or 0 past either end.
#[inline]
pub fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// The byte before `i`, or 0 at the start.
#[inline]
pub fn before(b: &[u8], i: usize) -> u8 {
    match i.checked_sub(1) {
        Some(j) => at(b, j),
        None => 0,
    }
}

/// ASCII letter, digit or underscore: a byte that continues an identifier.
#[inline]
pub fn is_word(x: u8) -> bool {
    x.is_ascii_alphanumeric() || x == b'_'
}

/// ASCII decimal digit.
#[inline]
pub fn is_digit(x: u8) -> bool {
    x.is_ascii_digit()
}

/// Index of the first non-digit at or after `i`.
#[inline]
pub fn digits_end(b: &[u8], mut i: usize) -> usize {
    while is_digit(at(b, i)) {
        i += 1;
    }
    i
}

/// Case-insensitive (ASCII) equality of `b[i..i+needle.len()]` with `needle` (given in lower case).
pub fn starts_with_ci(b: &[u8], i: usize, needle: &[u8]) -> bool {
    match b.get(i..i.saturating_add(needle.len())) {
        Some(s) => s.iter().zip(needle).all(|(x, y)| x.to_ascii_lowercase() == *y),
        None => false,
    }
}

/// Whether any of `needles` (lower case) occurs, case-insensitively, in the `window` bytes that
/// end at `end`. Used for context words ("ssn", "phone", "secret"); bounded by the window.
pub fn context_before(b: &[u8], end: usize, window: usize, needles: &[&[u8]]) -> bool {
    let start = end.saturating_sub(window.min(96));
    let mut buf = [0u8; 96];
    let src = b.get(start..end).unwrap_or(&[]);
    let n = src.len().min(buf.len());
    for (d, s) in buf.iter_mut().zip(src.iter()) {
        *d = s.to_ascii_lowercase();
    }
    let hay = buf.get(..n).unwrap_or(&[]);
    needles.iter().any(|nd| !nd.is_empty() && hay.windows(nd.len()).any(|w| w == *nd))
}

/// First index `>= from` where `needle` occurs in `h` (plain byte search; used on rare paths).
pub fn find_from(h: &[u8], needle: &[u8], from: usize) -> Option<usize> {
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
    fn find_from_finds_later_occurrences() {
        assert_eq!(find_from(b"--x--END--END", b"END", 6), Some(10));
        assert_eq!(find_from(b"abc", b"zz", 0), None);
    }
}
