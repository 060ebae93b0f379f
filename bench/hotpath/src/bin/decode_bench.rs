//! Throughput of the body decoders (`core::decode`) on a JSON body like a chat completion, in MB of
//! decoded output per second: `cargo run --release -p bench-hotpath --bin decode_bench [-- SIZE_KB]`.
//! Output lines: `RESULT <coding> <decoded bytes> <compressed bytes> <MB/s>`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use openrouter_guard::api::{decode, Coding};

fn body(size: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"model":"openai/gpt-4o","messages":["#);
    let mut i = 0u64;
    while s.len() < size {
        s.push_str(&format!(
            r#"{{"role":"user","content":"Message {i}: summarise the quarterly report for region {} and list the open items."}},"#,
            i % 17
        ));
        i += 1;
    }
    s.push_str(r#"{"role":"user","content":"end"}]}"#);
    s.into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut m = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    m.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    m.extend((!c).to_le_bytes());
    m.extend((data.len() as u32).to_le_bytes());
    m
}

fn main() {
    let kb: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1024);
    let plain = body(kb * 1024);
    let cases = [
        (Coding::Gzip, gzip(&plain)),
        (Coding::Deflate, miniz_oxide::deflate::compress_to_vec_zlib(&plain, 6)),
        (Coding::Zstd, ruzstd::encoding::compress_to_vec(&plain[..], ruzstd::encoding::CompressionLevel::Fastest)),
    ];
    for (coding, enc) in cases {
        assert_eq!(decode(coding, &enc, plain.len()).as_deref(), Ok(&plain[..]));
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(2) {
            black_box(decode(coding, black_box(&enc), plain.len()).map(|v| v.len()).unwrap_or(0));
            n += 1;
        }
        let mbps = (plain.len() as f64 * n as f64) / start.elapsed().as_secs_f64() / 1e6;
        println!("RESULT {} {} {} {mbps:.0}", coding.name(), plain.len(), enc.len());
    }
}
