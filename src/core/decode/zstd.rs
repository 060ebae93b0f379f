//! `zstd` (RFC 8878) on ruzstd: frames one after another, skippable frames skipped, each
//! frame's content checksum verified when it has one, the window limited to 8 MiB (RFC 8878
//! §3.1.1.1.2: what a decoder of the `zstd` content coding must at least support, and what
//! encoders for HTTP stay within).

use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

use super::{DecodeError, Out};

const MAX_WINDOW: u64 = 8 * 1024 * 1024;
const SKIPPABLE: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;

pub(super) fn decode(input: &[u8], out: &mut Out) -> Result<(), DecodeError> {
    let mut rest = input;
    while !rest.is_empty() {
        let magic = match rest.get(..4) {
            Some([a, b, c, d]) => u32::from_le_bytes([*a, *b, *c, *d]),
            _ => return Err(DecodeError::Truncated),
        };
        if SKIPPABLE.contains(&magic) {
            let len = match rest.get(4..8) {
                Some([a, b, c, d]) => u32::from_le_bytes([*a, *b, *c, *d]) as usize,
                _ => return Err(DecodeError::Truncated),
            };
            rest = rest.get(8usize.saturating_add(len)..).ok_or(DecodeError::Truncated)?;
            continue;
        }
        // The frame decoder is driven directly, not through `StreamingDecoder`'s `io::Read`: that
        // boxes ruzstd's errors into `io::Error`, which keeps all their `Display`/`Debug` code and
        // messages and std's error formatting in the .wasm (~50 KB) although the filter never prints them.
        let mut d = FrameDecoder::new();
        d.set_max_window_size(MAX_WINDOW);
        d.init(&mut rest).map_err(|_| DecodeError::Corrupt("not a zstd frame, or its window is over 8 MiB"))?;
        // One block at a time, each collected into `out` as it comes: `out` refuses what is over
        // its limit, so a frame is never decoded past it (beyond the window and one block).
        loop {
            let finished = d
                .decode_blocks(&mut rest, BlockDecodingStrategy::UptoBlocks(1))
                .map_err(|_| DecodeError::Corrupt("the zstd frame is corrupt or truncated"))?;
            if let Some(chunk) = d.collect() {
                out.push(&chunk)?;
            }
            if finished {
                break;
            }
        }
        if !d.is_finished() {
            return Err(DecodeError::Truncated);
        }
        if let Some(want) = d.get_checksum_from_data() {
            if d.get_calculated_checksum() != Some(want) {
                return Err(DecodeError::Corrupt("a zstd frame fails its content checksum"));
            }
        }
    }
    Ok(())
}
