//! Lower-case hexadecimal: the one encoder for digests (`prompt_sha256`, the audit chain), chain
//! ids, keyed pseudonyms and `\u00XX` escapes.

const DIGITS: [u8; 16] = *b"0123456789abcdef";

/// The hex digit of the low four bits of `n`.
#[inline]
pub(crate) fn digit(n: u8) -> u8 {
    DIGITS.get(usize::from(n & 15)).copied().unwrap_or(b'0')
}

/// Appends two hex digits per byte of `bytes` to `out`.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(digit(b >> 4)));
        out.push(char::from(digit(b)));
    }
}

/// `bytes` as lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_encodes_every_nibble_in_lower_case() {
        assert_eq!(to_hex(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]), "0123456789abcdef");
        assert_eq!(to_hex(&[]), "");
        let mut s = String::from("x:");
        push_hex(&mut s, &[0xff, 0x00]);
        assert_eq!(s, "x:ff00");
        assert_eq!(digit(0x3a), b'a');
    }
}
