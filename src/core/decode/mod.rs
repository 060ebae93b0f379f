//! Content codings (RFC 9110 §8.4.1): decoding a whole `gzip`, `deflate` or `zstd` body within a
//! bound on the decoded size, so a decompression bomb costs at most the bound.
//!
//! `br` is not decoded: brotli-decompressor (its 120 KiB dictionary and transforms) added 203 KB
//! to the `.wasm`, which would pass the 1 MiB budget (docs/design.md, "Compressed bodies"). It is
//! an unsupported coding like any unknown one.
//!
//! Used on both sides: a compressed request body is decoded, governed and forwarded decoded
//! (`core::request`); a compressed non-streaming response is decoded to be read
//! (`core::response`). Host-agnostic: bytes in, bytes out.
//!
//! Strict on purpose: trailing bytes after the last member or frame, a CRC or checksum mismatch
//! and a truncated stream are errors, never "what decoded so far".

mod crc32;
mod flate;
mod zstd;

use crate::core::reason::Reason;

#[cfg(test)]
pub(crate) mod testenc;
#[cfg(test)]
mod tests;

/// A content coding the filter can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// RFC 1952 (also `x-gzip`); several members are decoded one after another.
    Gzip,
    /// RFC 1950 zlib; a raw RFC 1951 stream (what some servers send) is accepted too.
    Deflate,
    /// RFC 8878 Zstandard; several frames and skippable frames are accepted.
    Zstd,
}

impl Coding {
    /// The coding's token, as in `content-encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Zstd => "zstd",
        }
    }

    /// Audit note: the request body arrived in this coding and was forwarded decoded.
    pub fn request_note(self) -> Reason {
        match self {
            Coding::Gzip => Reason::RequestDecodedGzip,
            Coding::Deflate => Reason::RequestDecodedDeflate,
            Coding::Zstd => Reason::RequestDecodedZstd,
        }
    }

    /// Audit note: the response body arrived in this coding and was decoded to be read (the
    /// client gets it as the upstream sent it).
    pub fn response_note(self) -> Reason {
        match self {
            Coding::Gzip => Reason::ResponseDecodedGzip,
            Coding::Deflate => Reason::ResponseDecodedDeflate,
            Coding::Zstd => Reason::ResponseDecodedZstd,
        }
    }
}

/// A `content-encoding` the filter does not decode: an unknown token, or several codings stacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported;

/// Reads a `content-encoding` value: `None` for identity (or empty), the coding, or
/// [`Unsupported`]. `identity` entries in a list are ignored; two real codings are unsupported.
pub(crate) fn parse_coding(value: &str) -> Result<Option<Coding>, Unsupported> {
    let mut found = None;
    for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let coding = match token.to_ascii_lowercase().as_str() {
            "identity" => continue,
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            "zstd" => Coding::Zstd,
            _ => return Err(Unsupported),
        };
        if found.replace(coding).is_some() {
            return Err(Unsupported);
        }
    }
    Ok(found)
}

/// Why a body did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The decoded body would be larger than the limit (decoding stopped there).
    TooLarge,
    /// The stream ends before its end marker.
    Truncated,
    /// Not a valid stream of the coding; the text says what (never content).
    Corrupt(&'static str),
}

impl DecodeError {
    /// A short description for error messages (no content).
    pub fn describe(&self) -> &'static str {
        match self {
            DecodeError::TooLarge => "the decoded body is too large",
            DecodeError::Truncated => "the compressed body is truncated",
            DecodeError::Corrupt(why) => why,
        }
    }
}

/// Size of the scratch buffer decoders write into before the output is appended.
const CHUNK: usize = 32 * 1024;

/// Decodes a whole body of `coding`, whose decoded size may be at most `limit` bytes. An empty
/// input decodes to an empty body (a message with no content has no stream to decode).
pub fn decode(coding: Coding, input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Out { bytes: Vec::new(), limit };
    match coding {
        Coding::Gzip => flate::gzip(input, &mut out)?,
        Coding::Deflate => flate::deflate(input, &mut out)?,
        Coding::Zstd => zstd::decode(input, &mut out)?,
    }
    Ok(out.bytes)
}

/// The decoded body so far, bounded.
struct Out {
    bytes: Vec<u8>,
    limit: usize,
}

impl Out {
    /// Appends decoded bytes, or fails once the body would pass the limit.
    fn push(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        if self.bytes.len().saturating_add(chunk.len()) > self.limit {
            return Err(DecodeError::TooLarge);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }
}
