//! The boot-loop guard: a persistent count of the resets stability caused,
//! kept in `state_dir/guard`. Once it reaches `max_resets`, faults are logged
//! and monitored but do not reset the board, so an indicator that comes back
//! at every boot cannot reset it forever.
//!
//! The count clears once the system has stayed up `reset_window` without a
//! fault, measured on CLOCK_BOOTTIME from the later of the boot and the last
//! fault seen in this boot (the file remembers the boot id and uptime of the
//! last fault, so a daemon restart does not forget it). A wall clock set back
//! to 1970 cannot clear or hold the guard. The count only grows by a reset or
//! clears by a quiet window; a file that cannot be parsed counts as "limit
//! reached" (never as zero) until a quiet window rewrites it.

use std::ffi::CStr;
use std::fmt::Write as _;

use crate::clock::fmt_ms;
use crate::statefile;

pub const FILE: &str = "guard";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guard {
    /// Resets caused by stability since the guard last cleared;
    /// `None` when the file was unreadable (counts as the limit).
    pub count: Option<u32>,
    /// Boot id and CLOCK_BOOTTIME of the last fault seen, if any.
    pub fault_boot_id: heapless::String<36>,
    pub fault_uptime_ms: u64,
}

impl Guard {
    pub fn zero() -> Guard {
        Guard {
            count: Some(0),
            fault_boot_id: heapless::String::new(),
            fault_uptime_ms: 0,
        }
    }

    /// Reads the guard; a missing file is a zero count.
    pub fn load(dir: &CStr) -> Result<Guard, String> {
        let Some(text) = statefile::read(dir, FILE)? else {
            return Ok(Guard::zero());
        };
        Ok(Guard::parse(&text))
    }

    fn parse(text: &str) -> Guard {
        let count = statefile::value(text, "count").and_then(|v| v.parse::<u32>().ok());
        let mut fault_boot_id = heapless::String::new();
        // Only a well-formed boot id is kept (hex digits and dashes, at most
        // 36 bytes); anything else means "fault time unknown".
        if let Some(id) = statefile::value(text, "fault_boot_id")
            .filter(|id| id.len() <= 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        {
            let _ = fault_boot_id.push_str(id);
        }
        let fault_uptime_ms = statefile::value(text, "fault_uptime")
            .and_then(parse_ms)
            .unwrap_or(0);
        Guard {
            count,
            fault_boot_id,
            fault_uptime_ms,
        }
    }

    pub fn save(&self, dir: &CStr) -> Result<(), String> {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "# stability boot-loop guard; see README \"Boot-loop guard\""
        );
        let _ = writeln!(text, "format=1");
        let _ = writeln!(text, "count={}", self.count.unwrap_or(u32::MAX));
        let _ = writeln!(text, "fault_boot_id={}", self.fault_boot_id);
        let _ = writeln!(text, "fault_uptime={}", fmt_ms(self.fault_uptime_ms));
        statefile::write_atomic(dir, FILE, text.as_bytes())
    }

    /// Whether another reset would exceed `max`.
    pub fn reached(&self, max: u32) -> bool {
        self.count.map_or(true, |c| c >= max)
    }

    /// How long this boot has been free of faults at `now_ms` of CLOCK_BOOTTIME.
    pub fn quiet_ms(&self, boot_id: &str, now_ms: u64) -> u64 {
        if self.fault_boot_id == boot_id {
            now_ms.saturating_sub(self.fault_uptime_ms)
        } else {
            now_ms
        }
    }

    /// Whether the count is due to clear.
    pub fn due_to_clear(&self, window_ms: u64, boot_id: &str, now_ms: u64) -> bool {
        self.count != Some(0) && self.quiet_ms(boot_id, now_ms) >= window_ms
    }

    /// Notes a fault seen now (whether it resets or is refused).
    pub fn note_fault(&mut self, boot_id: &str, now_ms: u64) {
        self.fault_boot_id.clear();
        let _ = self.fault_boot_id.push_str(boot_id);
        self.fault_uptime_ms = now_ms;
    }

    /// "2/3", or "corrupt/3".
    pub fn show(&self, max: u32) -> impl std::fmt::Display + '_ {
        struct S(Option<u32>, u32);
        impl std::fmt::Display for S {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.0 {
                    Some(c) => write!(f, "{c}/{}", self.1),
                    None => write!(f, "unreadable/{}", self.1),
                }
            }
        }
        S(self.count, max)
    }
}

/// `1234.567` (seconds) back to milliseconds.
pub fn parse_ms(v: &str) -> Option<u64> {
    let (s, frac) = v.split_once('.').unwrap_or((v, "0"));
    let s: u64 = s.parse().ok()?;
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    s.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsable_count_is_treated_as_the_limit_never_as_zero() {
        let g = Guard::parse("count=banana\n");
        assert_eq!(g.count, None);
        assert!(g.reached(1000));
        assert!(Guard::parse("count=-1\n").reached(3));
        assert!(!Guard::parse("count=2\n").reached(3));
        assert!(Guard::parse("count=3\n").reached(3));
    }

    #[test]
    fn the_window_counts_from_the_last_fault_in_this_boot_or_from_boot() {
        let mut g = Guard::parse("count=2\n");
        assert_eq!(g.quiet_ms("b1", 5000), 5000);
        g.note_fault("b1", 4000);
        assert_eq!(g.quiet_ms("b1", 5000), 1000);
        assert_eq!(g.quiet_ms("b2", 700), 700);
        assert!(!g.due_to_clear(2000, "b1", 5000));
        assert!(g.due_to_clear(2000, "b1", 6000));
        assert!(!Guard::zero().due_to_clear(0, "b1", 6000));
    }

    #[test]
    fn saved_and_parsed_back_unchanged() {
        let mut g = Guard::zero();
        g.count = Some(2);
        g.note_fault("0f0e0d0c-0b0a-0908-0706-050403020100", 1_234_567);
        let dir = std::env::temp_dir().join(format!("stability-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        g.save(&c).unwrap();
        assert_eq!(Guard::load(&c).unwrap(), g);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_malformed_boot_id_is_dropped_not_cut() {
        // Found by the statefile fuzzer: cutting at byte 36 split a character.
        let g = Guard::parse("count=1\nfault_boot_id=0f0e0d0c-0b0a-0908-0706-05040302010\u{e9}\n");
        assert_eq!(g.fault_boot_id.as_str(), "");
        assert_eq!(g.count, Some(1));
        let g = Guard::parse("fault_boot_id=0f0e0d0c-0b0a-0908-0706-050403020100\n");
        assert_eq!(
            g.fault_boot_id.as_str(),
            "0f0e0d0c-0b0a-0908-0706-050403020100"
        );
    }

    #[test]
    fn milliseconds_parse_back() {
        assert_eq!(parse_ms("1234.567"), Some(1_234_567));
        assert_eq!(parse_ms("5"), Some(5000));
        assert_eq!(parse_ms("5.5"), Some(5500));
        assert_eq!(parse_ms("x"), None);
    }
}
