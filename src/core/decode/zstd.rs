//! `zstd` (RFC 8878) on ruzstd: frames one after another, skippable frames skipped, each
//! frame's content checksum verified when it has one, the window limited to 8 MiB (RFC 8878
//! §3.1.1.1.2: what a decoder of the `zstd` content coding must at least support, and what
//! encoders for HTTP stay within).

use std::io::Read;

use ruzstd::decoding::{FrameDecoder, StreamingDecoder};

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
        let mut frame = FrameDecoder::new();
        frame.set_max_window_size(MAX_WINDOW);
        let mut reader = StreamingDecoder::new_with_decoder(&mut rest, frame)
            .map_err(|_| DecodeError::Corrupt("not a zstd frame, or its window is over 8 MiB"))?;
        // One byte more than fits tells "at the limit" from "over it".
        let room = out.room() as u64;
        let mut limited = (&mut reader).take(room.saturating_add(1));
        let mut decoded = Vec::new();
        limited
            .read_to_end(&mut decoded)
            .map_err(|_| DecodeError::Corrupt("the zstd frame is corrupt or truncated"))?;
        out.push(&decoded)?;
        let d = &reader.decoder;
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
