use super::crc32::Crc32;
use super::testenc::{gzip as gzip_member, raw_deflate, zlib, zstd};
use super::{decode, parse_coding, Coding, DecodeError, Unsupported};

const BODY: &[u8] = br#"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hello hello hello"}]}"#;

fn all(data: &[u8]) -> Vec<(Coding, Vec<u8>)> {
    vec![(Coding::Gzip, gzip_member(data)), (Coding::Deflate, zlib(data)), (Coding::Zstd, zstd(data))]
}

#[test]
fn content_encoding_values_are_read_strictly() {
    assert_eq!(parse_coding(""), Ok(None));
    assert_eq!(parse_coding(" identity "), Ok(None));
    assert_eq!(parse_coding("GZIP"), Ok(Some(Coding::Gzip)));
    assert_eq!(parse_coding("x-gzip"), Ok(Some(Coding::Gzip)));
    assert_eq!(parse_coding("deflate"), Ok(Some(Coding::Deflate)));
    assert_eq!(parse_coding("zstd"), Ok(Some(Coding::Zstd)));
    assert_eq!(parse_coding("br"), Err(Unsupported));
    assert_eq!(parse_coding("identity, gzip"), Ok(Some(Coding::Gzip)));
    assert_eq!(parse_coding("gzip, zstd"), Err(Unsupported));
    assert_eq!(parse_coding("gzip, gzip"), Err(Unsupported));
    assert_eq!(parse_coding("compress"), Err(Unsupported));
    assert_eq!(parse_coding("lz4"), Err(Unsupported));
}

#[test]
fn every_coding_round_trips() {
    for (coding, enc) in all(BODY) {
        assert_eq!(decode(coding, &enc, BODY.len()).as_deref(), Ok(BODY), "{coding:?}");
    }
    // Raw deflate (no zlib header) is accepted as `deflate` too.
    assert_eq!(decode(Coding::Deflate, &raw_deflate(BODY), 1 << 20).as_deref(), Ok(BODY));
    for coding in [Coding::Gzip, Coding::Deflate, Coding::Zstd] {
        assert_eq!(decode(coding, b"", 0), Ok(Vec::new()));
    }
}

#[test]
fn a_large_body_spans_many_scratch_buffers() {
    let big: Vec<u8> = (0..400_000u32).flat_map(|i| format!("{i},").into_bytes()).collect();
    for (coding, enc) in all(&big) {
        assert_eq!(decode(coding, &enc, big.len()).map(|v| v == big), Ok(true), "{coding:?}");
    }
}

#[test]
fn bombs_stop_at_the_limit() {
    // 16 MiB of zeros compress to a few KiB; the limit is 1 MiB.
    let zeros = vec![0u8; 16 << 20];
    for (coding, enc) in all(&zeros) {
        assert!(enc.len() < 200_000, "{coding:?} {}", enc.len());
        assert_eq!(decode(coding, &enc, 1 << 20), Err(DecodeError::TooLarge), "{coding:?}");
    }
    // Exactly at the limit is fine; one byte less is too large.
    for (coding, enc) in all(BODY) {
        assert_eq!(decode(coding, &enc, BODY.len() - 1), Err(DecodeError::TooLarge), "{coding:?}");
    }
}

#[test]
fn truncated_streams_are_errors() {
    for (coding, enc) in all(BODY) {
        for cut in [1, enc.len() / 2, enc.len() - 1] {
            let r = decode(coding, enc.get(..cut).unwrap_or_default(), 1 << 20);
            assert!(
                matches!(r, Err(DecodeError::Truncated | DecodeError::Corrupt(_))),
                "{coding:?} cut at {cut}: {r:?}"
            );
        }
    }
    assert_eq!(decode(Coding::Gzip, &gzip_member(BODY)[..14], 1 << 20), Err(DecodeError::Truncated));
}

#[test]
fn trailing_garbage_is_an_error() {
    for (coding, mut enc) in all(BODY) {
        enc.extend_from_slice(b"GARBAGE!");
        assert!(matches!(decode(coding, &enc, 1 << 20), Err(DecodeError::Corrupt(_))), "{coding:?}");
    }
}

#[test]
fn gzip_members_are_concatenated() {
    let mut two = gzip_member(b"{\"a\":");
    two.extend(gzip_member(b"1}"));
    assert_eq!(decode(Coding::Gzip, &two, 100).as_deref(), Ok(&b"{\"a\":1}"[..]));
    // The limit counts across members.
    assert_eq!(decode(Coding::Gzip, &two, 6), Err(DecodeError::TooLarge));
}

#[test]
fn gzip_checks_crc_size_and_header() {
    let good = gzip_member(BODY);
    let n = good.len();
    let mut bad_crc = good.clone();
    bad_crc[n - 8] ^= 1;
    assert_eq!(
        decode(Coding::Gzip, &bad_crc, 1 << 20),
        Err(DecodeError::Corrupt("a gzip member fails its CRC-32 check"))
    );
    let mut bad_size = good.clone();
    bad_size[n - 4] ^= 1;
    assert!(matches!(decode(Coding::Gzip, &bad_size, 1 << 20), Err(DecodeError::Corrupt(_))));
    let mut reserved = good.clone();
    reserved[3] = 0x80;
    assert!(matches!(decode(Coding::Gzip, &reserved, 1 << 20), Err(DecodeError::Corrupt(_))));
    let mut not_gzip = good.clone();
    not_gzip[0] = b'{';
    assert!(matches!(decode(Coding::Gzip, &not_gzip, 1 << 20), Err(DecodeError::Corrupt(_))));

    // FEXTRA, FNAME, FCOMMENT and a correct FHCRC are skipped.
    let mut h = vec![0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3, 3, 0, b'a', b'b', b'c'];
    h.extend(b"name.json\0a comment\0");
    let mut c = Crc32::new();
    c.update(&h);
    let hcrc = (c.value() & 0xffff) as u16;
    let mut member = h.clone();
    member.extend(hcrc.to_le_bytes());
    member.extend(&good[10..]);
    assert_eq!(decode(Coding::Gzip, &member, 1 << 20).as_deref(), Ok(BODY));
    let mut wrong = h;
    wrong.extend((hcrc ^ 1).to_le_bytes());
    wrong.extend(&good[10..]);
    assert!(matches!(decode(Coding::Gzip, &wrong, 1 << 20), Err(DecodeError::Corrupt(_))));
}

#[test]
fn corrupt_streams_are_errors() {
    for (coding, enc) in all(BODY) {
        let mut flipped = enc.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        // A flipped bit in the middle may still decode (to other bytes) only where no check
        // covers it; gzip, zlib and a checksummed zstd frame must catch it.
        let r = decode(coding, &flipped, 1 << 20);
        assert!(r.as_deref() != Ok(BODY), "{coding:?}");
    }
    assert!(matches!(decode(Coding::Zstd, b"not zstd at all", 1 << 20), Err(DecodeError::Corrupt(_))));
    assert!(decode(Coding::Deflate, &[0xff; 64], 1 << 20).is_err());
}

#[test]
fn zstd_frames_and_skippable_frames() {
    let mut two = zstd(b"{\"a\":");
    two.extend([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    two.extend(zstd(b"1}"));
    assert_eq!(decode(Coding::Zstd, &two, 100).as_deref(), Ok(&b"{\"a\":1}"[..]));
    // A skippable frame that claims more bytes than there are is truncated.
    assert_eq!(decode(Coding::Zstd, &[0x50, 0x2a, 0x4d, 0x18, 9, 0, 0, 0, 1], 100), Err(DecodeError::Truncated));
}

#[test]
fn zstd_content_checksum_is_verified() {
    let enc = zstd(BODY);
    // Frame header descriptor (byte 4): bit 2 is the content checksum flag.
    if enc[4] & 4 != 0 {
        let mut bad = enc.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert_eq!(
            decode(Coding::Zstd, &bad, 1 << 20),
            Err(DecodeError::Corrupt("a zstd frame fails its content checksum"))
        );
    } else {
        panic!("the test encoder no longer writes a checksum: build a checksummed frame");
    }
}

#[test]
fn zstd_windows_over_8_mib_are_refused() {
    // Frame header: magic, descriptor 0 (window descriptor present, no FCS), window descriptor
    // exponent 14 → a 2^(10+14) = 16 MiB window.
    let frame = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 14 << 3, 1, 0, 0];
    assert!(matches!(decode(Coding::Zstd, &frame, 1 << 20), Err(DecodeError::Corrupt(_))));
}

/// Mutated and truncated streams never panic (a panic traps the VM) and never pass the limit.
#[test]
fn mutated_streams_fail_cleanly() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let body: Vec<u8> = (0..3000u32).flat_map(|i| format!("{{\"k{i}\":\"v{}\"}},", i % 97).into_bytes()).collect();
    for (coding, enc) in all(&body) {
        for round in 0..1500 {
            let mut m = enc.clone();
            for _ in 0..1 + round % 4 {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            if round % 5 == 0 {
                m.truncate((next() as usize) % m.len());
            }
            let limit = 1 + (next() as usize) % (2 * body.len());
            if let Ok(out) = decode(coding, &m, limit) {
                assert!(out.len() <= limit, "{coding:?}");
            }
        }
    }
}
