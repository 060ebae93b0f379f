//! HMAC-SHA-256 (RFC 2104) over the `sha2` crate, for the `hash` action's keyed pseudonyms.
//!
//! The keyed inner and outer states are computed once at configuration load; each pseudonym then
//! clones them, so a hash costs two SHA-256 compressions plus the message.

use sha2::{Digest, Sha256};

const BLOCK: usize = 64;

/// A pre-keyed HMAC-SHA-256.
#[derive(Clone)]
pub(crate) struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl std::fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material, not even derived state.
        f.write_str("HmacSha256(..)")
    }
}

impl HmacSha256 {
    /// Keys the MAC: keys longer than the block are hashed first, shorter ones zero-padded.
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK];
        if key.len() > BLOCK {
            let d = Sha256::digest(key);
            for (b, k) in block.iter_mut().zip(d.iter()) {
                *b = *k;
            }
        } else {
            for (b, k) in block.iter_mut().zip(key.iter()) {
                *b = *k;
            }
        }
        let mut ipad = [0x36u8; BLOCK];
        let mut opad = [0x5cu8; BLOCK];
        for ((i, o), k) in ipad.iter_mut().zip(opad.iter_mut()).zip(block.iter()) {
            *i ^= k;
            *o ^= k;
        }
        let mut inner = Sha256::new();
        inner.update(ipad);
        let mut outer = Sha256::new();
        outer.update(opad);
        Self { inner, outer }
    }

    /// MAC of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for p in parts {
            inner.update(p);
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn it_matches_rfc4231_test_vectors() {
        // (key, data, HMAC-SHA-256) from RFC 4231 test cases 1, 2, 3, 4, 6, 7.
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(hex(&HmacSha256::new(&key).mac(&[&data])), want);
        }
    }

    #[test]
    fn rfc4231_truncated_case_5_prefix_matches() {
        let m = HmacSha256::new(&[0x0c; 20]).mac(&[b"Test With Truncation"]);
        assert_eq!(hex(&m[..16]), "a3b6167473100ee06e0c796c2955552b");
    }

    #[test]
    fn split_message_parts_mac_like_the_concatenation() {
        let h = HmacSha256::new(b"k");
        assert_eq!(h.mac(&[b"ab", b"c"]), h.mac(&[b"abc"]));
    }

    #[test]
    fn debug_output_hides_key_state() {
        assert_eq!(format!("{:?}", HmacSha256::new(b"secret")), "HmacSha256(..)");
    }
}
