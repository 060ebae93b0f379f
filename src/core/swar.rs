//! "SWAR" (SIMD within a register): testing eight bytes at once in a little-endian `u64`, each
//! byte's answer in its high bit. The shared constants and the flag-to-offset step; the tests
//! themselves live next to their one user (the JSON string scanner, the PII engine's word skips).
//! Portable: plain integer arithmetic, no `unsafe`, no target features.

/// `0x01` in every byte of a word.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// `0x80` (the high bit) in every byte of a word.
pub(crate) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Index of the lowest byte whose high bit is set in `flags` (non-zero); little-endian, so byte `k`
/// of the word owns bits `8k..8k+7`.
#[inline(always)]
pub(crate) const fn first_flag(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}
