//! Encoders for tests: what a client or an upstream would send.

use super::crc32::Crc32;

/// A raw deflate stream.
pub(crate) fn raw_deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(data, 6)
}

/// A zlib stream (HTTP `deflate`).
pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// One gzip member with a minimal header.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut m = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    m.extend(raw_deflate(data));
    let mut c = Crc32::new();
    c.update(data);
    m.extend(c.value().to_le_bytes());
    m.extend((data.len() as u32).to_le_bytes());
    m
}

/// One zstd frame (with a content checksum).
pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}
