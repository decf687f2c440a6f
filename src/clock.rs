//! Time and boot identity.
//!
//! Decisions that measure how long something lasted (the boot-loop guard's
//! window, heartbeat staleness) use CLOCK_BOOTTIME: it counts from boot,
//! includes suspend, and cannot jump when a board without an RTC battery
//! sets its wall clock back to 1970 or NTP moves it by years. The wall clock
//! is only written down, for people. Calendar conversion is the proleptic
//! Gregorian arithmetic of `days_from_civil`, used for the RTC's own time
//! base and for timestamps, with no time zone involved.

use core::fmt;
use nix::time::{clock_gettime, ClockId};

fn millis(clock: ClockId) -> Option<u64> {
    let ts = clock_gettime(clock).ok()?;
    Some(ts.tv_sec() as u64 * 1000 + ts.tv_nsec() as u64 / 1_000_000)
}

/// Milliseconds since boot, suspend included.
pub fn boottime_ms() -> u64 {
    millis(ClockId::CLOCK_BOOTTIME)
        .or_else(|| millis(ClockId::CLOCK_MONOTONIC))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch by the wall clock (which may be wrong).
// libc's time_t, c_long and mode_t differ in width between targets.
#[allow(clippy::useless_conversion)]
pub fn realtime_s() -> i64 {
    clock_gettime(ClockId::CLOCK_REALTIME).map_or(0, |ts| i64::from(ts.tv_sec()))
}

/// A calendar date and time of day, with no time zone.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Civil {
    pub year: i64,
    /// 1-12
    pub month: u32,
    /// 1-31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number from `days_from_civil`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl Civil {
    /// The calendar time `secs` seconds after 1970-01-01 00:00:00.
    pub fn from_seconds(secs: i64) -> Civil {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400) as u32;
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    /// Seconds since 1970-01-01 00:00:00, or None if a field is out of range.
    pub fn to_seconds(self) -> Option<i64> {
        let days_in_month = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0) => 29,
            2 => 28,
            _ => return None,
        };
        if self.day == 0
            || self.day > days_in_month
            || self.hour > 23
            || self.minute > 59
            || self.second > 60
        {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        Some(days * 86_400 + i64::from(self.hour * 3600 + self.minute * 60 + self.second))
    }
}

impl fmt::Display for Civil {
    /// ISO 8601 without a zone: `2026-11-24T10:15:02`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Milliseconds as seconds with three decimals: `1234.567`.
pub fn fmt_ms(ms: u64) -> impl fmt::Display {
    struct S(u64);
    impl fmt::Display for S {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
        }
    }
    S(ms)
}

/// Milliseconds as seconds for people: `5`, `0.2`, `1.25`.
pub fn secs(ms: u64) -> impl fmt::Display {
    struct S(u64);
    impl fmt::Display for S {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let (whole, frac) = (self.0 / 1000, self.0 % 1000);
            match frac {
                0 => write!(f, "{whole}"),
                _ if frac % 100 == 0 => write!(f, "{whole}.{}", frac / 100),
                _ if frac % 10 == 0 => write!(f, "{whole}.{:02}", frac / 10),
                _ => write!(f, "{whole}.{frac:03}"),
            }
        }
    }
    S(ms)
}

/// The kernel's random id of this boot (36 characters), or "unknown"
/// without /proc.
pub fn boot_id() -> heapless::String<36> {
    let mut id = heapless::String::new();
    let mut buf = [0u8; 64];
    let read = crate::fsutil::read_small("/proc/sys/kernel/random/boot_id", &mut buf);
    if let Some(text) = read.ok().and_then(|b| core::str::from_utf8(b).ok()) {
        let text = text.trim();
        if text.len() == 36 && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            let _ = id.push_str(text);
            return id;
        }
    }
    let _ = id.push_str("unknown");
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips_across_leap_years_and_centuries() {
        for secs in [
            0i64,
            951_782_400,
            951_868_799,
            1_709_164_800,
            4_107_542_399,
            -86_400,
            253_402_300_799,
        ] {
            let c = Civil::from_seconds(secs);
            assert_eq!(c.to_seconds(), Some(secs), "{c}");
        }
        assert_eq!(
            Civil::from_seconds(951_782_400).to_string(),
            "2000-02-29T00:00:00"
        );
        assert_eq!(Civil::from_seconds(0).to_string(), "1970-01-01T00:00:00");
    }

    #[test]
    fn impossible_dates_are_rejected() {
        let c = Civil {
            year: 2023,
            month: 2,
            day: 29,
            ..Civil::default()
        };
        assert_eq!(c.to_seconds(), None);
        assert_eq!(
            Civil {
                month: 13,
                day: 1,
                ..c
            }
            .to_seconds(),
            None
        );
        assert_eq!(
            Civil {
                year: 2024,
                month: 2,
                day: 29,
                ..c
            }
            .to_seconds(),
            Some(1_709_164_800)
        );
    }

    #[test]
    fn boottime_moves_forward() {
        let a = boottime_ms();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(boottime_ms() >= a + 20);
    }
}
