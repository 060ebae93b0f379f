//! Fixed UTC windows: a limit's counter resets when its window changes. A window is named by
//! its start (seconds since the epoch); a month is a calendar month.

use crate::core::config::LimitWindow;

/// Days since 1970-01-01 of the first day of `month` (1–12) of `year` (proleptic Gregorian;
/// Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month) of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, u32::try_from(m).unwrap_or(1))
}

/// The window `now` (seconds since the epoch) falls in: `(start, end)`, end exclusive.
pub(crate) fn bounds(window: LimitWindow, now: u64) -> (u64, u64) {
    let fixed = |len: u64| {
        let start = now - now % len;
        (start, start.saturating_add(len))
    };
    match window {
        LimitWindow::Minute => fixed(60),
        LimitWindow::Hour => fixed(3600),
        LimitWindow::Day => fixed(86_400),
        LimitWindow::Month => {
            let days = i64::try_from(now / 86_400).unwrap_or(i64::MAX / 2);
            let (y, m) = civil_from_days(days);
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let secs = |d: i64| u64::try_from(d).unwrap_or(0).saturating_mul(86_400);
            (secs(days_from_civil(y, m, 1)), secs(days_from_civil(ny, nm, 1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_are_aligned_to_utc() {
        // 2026-12-03T06:41:30Z
        let now = 1_796_280_090;
        assert_eq!(bounds(LimitWindow::Minute, now), (1_796_280_060, 1_796_280_120));
        assert_eq!(bounds(LimitWindow::Hour, now), (1_796_277_600, 1_796_281_200));
        assert_eq!(bounds(LimitWindow::Day, now), (1_796_256_000, 1_796_342_400));
    }

    #[test]
    fn months_are_calendar_months_leap_years_included() {
        // 2026-12-03 → [2026-12-01, 2027-01-01)
        assert_eq!(bounds(LimitWindow::Month, 1_796_280_090), (1_796_083_200, 1_798_761_600));
        // 2024-02-29T12:00Z → [2024-02-01, 2024-03-01): 29 days
        let (s, e) = bounds(LimitWindow::Month, 1_709_208_000);
        assert_eq!((s, e - s), (1_706_745_600, 29 * 86_400));
        // The epoch itself.
        assert_eq!(bounds(LimitWindow::Month, 0), (0, 31 * 86_400));
    }
}
