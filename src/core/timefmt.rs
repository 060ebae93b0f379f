//! RFC 3339 timestamps without a date library.

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn rfc3339_millis(epoch_ms: u64) -> String {
    let ms = epoch_ms % 1000;
    let secs = epoch_ms / 1000;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    // Digit by digit, not `format!`: the formatting machinery was ~1 % of a 1 KB request (issue 17).
    let mut out = String::with_capacity(24);
    push_digits(&mut out, u64::try_from(y).unwrap_or(0), 4);
    out.push('-');
    push_digits(&mut out, u64::from(m), 2);
    out.push('-');
    push_digits(&mut out, u64::from(d), 2);
    out.push('T');
    push_digits(&mut out, sod / 3600, 2);
    out.push(':');
    push_digits(&mut out, (sod % 3600) / 60, 2);
    out.push(':');
    push_digits(&mut out, sod % 60, 2);
    out.push('.');
    push_digits(&mut out, ms, 3);
    out.push('Z');
    out
}

/// `n` in decimal, zero-padded to at least `width` digits (`{n:0width$}`).
fn push_digits(out: &mut String, n: u64, width: u32) {
    if width > 1 || n >= 10 {
        push_digits(out, n / 10, width.saturating_sub(1));
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_millis(1_795_440_000_000), "2026-11-23T13:20:00.000Z");
        assert_eq!(rfc3339_millis(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_millis(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
        for ms in [1, 59_999, 86_399_999, 1_764_766_800_042] {
            let secs = ms / 1000;
            let (y, m, d) = civil_from_days((secs / 86_400) as i64);
            let sod = secs % 86_400;
            let want = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                sod / 3600,
                (sod % 3600) / 60,
                sod % 60,
                ms % 1000
            );
            assert_eq!(rfc3339_millis(ms), want);
        }
    }
}
