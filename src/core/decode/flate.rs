//! `gzip` (RFC 1952: header, raw deflate, CRC-32 and size trailer; several members) and
//! `deflate` (RFC 1950 zlib with its Adler-32 check, or a raw RFC 1951 stream) on miniz_oxide.

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::crc32::Crc32;
use super::{DecodeError, Out, CHUNK};

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 8];
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;
const FRESERVED: u8 = 0xe0;

/// Decodes one deflate stream (`format`: raw or zlib) at the start of `input` into `out`;
/// returns how many input bytes it took. `crc`, when given, runs over the decoded bytes.
fn inflate_one(
    format: DataFormat,
    input: &[u8],
    out: &mut Out,
    mut crc: Option<&mut Crc32>,
) -> Result<usize, DecodeError> {
    let mut state = InflateState::new_boxed(format);
    let mut scratch = vec![0u8; CHUNK];
    let mut pos = 0usize;
    loop {
        let rest = input.get(pos..).unwrap_or_default();
        let r = inflate(&mut state, rest, &mut scratch, MZFlush::None);
        pos = pos.saturating_add(r.bytes_consumed);
        let written = scratch.get(..r.bytes_written).unwrap_or_default();
        if let Some(c) = crc.as_deref_mut() {
            c.update(written);
        }
        out.push(written)?;
        match r.status {
            Ok(MZStatus::StreamEnd) => return Ok(pos),
            Ok(_) if r.bytes_consumed > 0 || r.bytes_written > 0 => {}
            Ok(_) | Err(MZError::Buf) if pos >= input.len() => return Err(DecodeError::Truncated),
            Err(MZError::Data) if format == DataFormat::Zlib && pos >= input.len() => {
                return Err(DecodeError::Corrupt("the deflate (zlib) stream is corrupt or fails its Adler-32 check"))
            }
            _ => return Err(DecodeError::Corrupt("the deflate stream is corrupt")),
        }
    }
}

/// `deflate`: zlib when the first two bytes are a zlib header (RFC 1950 §2.2: method 8, window
/// ≤ 32 KiB, no preset dictionary, header checksum), else a raw deflate stream.
pub(super) fn deflate(input: &[u8], out: &mut Out) -> Result<(), DecodeError> {
    let zlib = match input {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && flg & 0x20 == 0 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        _ => false,
    };
    let format = if zlib { DataFormat::Zlib } else { DataFormat::Raw };
    let used = inflate_one(format, input, out, None)?;
    if used < input.len() {
        return Err(DecodeError::Corrupt("bytes follow the end of the deflate stream"));
    }
    Ok(())
}

/// `gzip`: one or more members, each checked against its CRC-32 and size trailer.
pub(super) fn gzip(input: &[u8], out: &mut Out) -> Result<(), DecodeError> {
    let mut rest = input;
    while !rest.is_empty() {
        let header = header_len(rest)?;
        let body = rest.get(header..).ok_or(DecodeError::Truncated)?;
        let before = out.bytes.len();
        let mut crc = Crc32::new();
        let used = inflate_one(DataFormat::Raw, body, out, Some(&mut crc))?;
        let trailer = body.get(used..used.saturating_add(8)).ok_or(DecodeError::Truncated)?;
        let (want_crc, want_size) = match trailer {
            [a, b, c, d, e, f, g, h] => (u32::from_le_bytes([*a, *b, *c, *d]), u32::from_le_bytes([*e, *f, *g, *h])),
            _ => return Err(DecodeError::Truncated),
        };
        if crc.value() != want_crc {
            return Err(DecodeError::Corrupt("a gzip member fails its CRC-32 check"));
        }
        // ISIZE is the member's decoded size modulo 2^32.
        if out.bytes.len().saturating_sub(before) as u32 != want_size {
            return Err(DecodeError::Corrupt("a gzip member's size does not match its trailer"));
        }
        rest = body.get(used.saturating_add(8)..).unwrap_or_default();
    }
    Ok(())
}

/// Length of the gzip member header at the start of `m` (RFC 1952 §2.3).
fn header_len(m: &[u8]) -> Result<usize, DecodeError> {
    if m.len() < 10 {
        return if GZIP_MAGIC.starts_with(m) || m.starts_with(&GZIP_MAGIC) {
            Err(DecodeError::Truncated)
        } else {
            Err(DecodeError::Corrupt("not a gzip member (bytes follow the last member?)"))
        };
    }
    if !m.starts_with(&GZIP_MAGIC) {
        return Err(DecodeError::Corrupt("not a gzip member (bytes follow the last member?)"));
    }
    let flags = m.get(3).copied().unwrap_or(0);
    if flags & FRESERVED != 0 {
        return Err(DecodeError::Corrupt("a gzip header sets reserved flags"));
    }
    let mut pos = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = match m.get(pos..pos + 2) {
            Some([a, b]) => usize::from(u16::from_le_bytes([*a, *b])),
            _ => return Err(DecodeError::Truncated),
        };
        pos = pos.saturating_add(2).saturating_add(xlen);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let zero = m.get(pos..).and_then(|r| r.iter().position(|&b| b == 0)).ok_or(DecodeError::Truncated)?;
            pos = pos.saturating_add(zero).saturating_add(1);
        }
    }
    if flags & FHCRC != 0 {
        let Some([a, b]) = m.get(pos..pos.saturating_add(2)) else { return Err(DecodeError::Truncated) };
        let mut c = Crc32::new();
        c.update(m.get(..pos).unwrap_or_default());
        if (c.value() & 0xffff) as u16 != u16::from_le_bytes([*a, *b]) {
            return Err(DecodeError::Corrupt("a gzip header fails its CRC-16 check"));
        }
        pos = pos.saturating_add(2);
    }
    if pos > m.len() {
        return Err(DecodeError::Truncated);
    }
    Ok(pos)
}
