//! The reset record, `state_dir/reset-record`: why and how stability last
//! reset the board, as documented `key=value` lines that fleet tooling can
//! parse and people can read. It is written (atomically, see `statefile`)
//! before the reset starts and rewritten each time the recovery moves on to
//! the next device, so after the reset it says what was being tried when the
//! board went down and what had failed before. The next boot logs it once.

use std::ffi::CStr;
use std::fmt::Write as _;

use crate::clock::{fmt_ms, Civil};
use crate::statefile;

pub const FILE: &str = "reset-record";

/// What made stability act.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Trigger {
    Indicator,
    Heartbeat,
    /// `stability trigger`.
    Manual,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Indicator => "indicator",
            Trigger::Heartbeat => "heartbeat",
            Trigger::Manual => "manual",
        }
    }
}

/// One reset, as written to the record.
#[derive(Clone, Debug)]
pub struct Record {
    /// Increases by one per reset, across boots: a gap means a lost record.
    pub seq: u64,
    /// Wall-clock seconds (may be wrong on a board without an RTC battery).
    pub epoch: i64,
    pub boot_id: heapless::String<36>,
    /// CLOCK_BOOTTIME when the fault was acted on.
    pub uptime_ms: u64,
    pub trigger: Trigger,
    /// The indicator or heartbeat path; empty for a manual trigger.
    pub source: String,
    pub reason: String,
    /// The configured chain, e.g. "watchdog,rtc,reboot".
    pub chain: String,
    /// The device being tried when this was written.
    pub method: &'static str,
    /// What failed before `method`, "device: why; ...".
    pub failed: String,
    /// The guard counter including this reset, e.g. "2/3".
    pub guard: String,
}

/// Values are single lines: newlines (which sanitized reasons never hold,
/// but error texts might) become spaces.
fn one_line(out: &mut String, key: &str, value: &str) {
    let _ = write!(out, "{key}=");
    out.extend(
        value
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
    );
    out.push('\n');
}

impl Record {
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# stability reset record; see README \"Reset record\"\n");
        one_line(&mut out, "format", "1");
        one_line(&mut out, "seq", &self.seq.to_string());
        one_line(
            &mut out,
            "time",
            &format!("{}Z", Civil::from_seconds(self.epoch)),
        );
        one_line(&mut out, "epoch", &self.epoch.to_string());
        one_line(&mut out, "boot_id", &self.boot_id);
        one_line(&mut out, "uptime", &fmt_ms(self.uptime_ms).to_string());
        one_line(&mut out, "trigger", self.trigger.name());
        one_line(&mut out, "source", &self.source);
        one_line(&mut out, "reason", &self.reason);
        one_line(&mut out, "chain", &self.chain);
        one_line(&mut out, "method", self.method);
        one_line(&mut out, "failed", &self.failed);
        one_line(&mut out, "guard", &self.guard);
        out
    }

    pub fn save(&self, dir: &CStr) -> Result<(), String> {
        statefile::write_atomic(dir, FILE, self.render().as_bytes())
    }
}

/// The text of the last record, if there is one.
pub fn load(dir: &CStr) -> Result<Option<String>, String> {
    statefile::read(dir, FILE)
}

/// The sequence number the next record gets.
pub fn next_seq(previous: Option<&str>) -> u64 {
    previous
        .and_then(|text| statefile::value(text, "seq"))
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(1, |s| s.saturating_add(1))
}

/// The boot file, `state_dir/boot`: the boot stability last ran in, whether
/// that run ended with a deliberate stop, and the seq the next record gets.
/// A record lost because storage did not answer in time (the kernel log line
/// is then the only record) leaves a trace here: the next start finds a
/// previous boot that neither stopped nor left a record, says so, and skips
/// one seq, so the records show a gap where that boot ended.
pub const BOOT_FILE: &str = "boot";

/// This boot, as the boot file has it.
pub struct Boot {
    pub next_seq: u64,
}

fn parse_u64(text: Option<&str>, key: &str) -> Option<u64> {
    text.and_then(|t| statefile::value(t, key))
        .and_then(|v| v.parse().ok())
}

impl Boot {
    /// At the daemon's start-up (`note`): reads what the previous run left,
    /// decides how its boot ended, and writes this boot's file
    /// (`state=running`). Without `note` (a single run, `trigger`) only the
    /// next seq is worked out.
    pub fn begin(
        dir: &CStr,
        boot_id: &str,
        last_record: Option<&str>,
        note: bool,
    ) -> Result<Boot, String> {
        let prev = statefile::read(dir, BOOT_FILE)?;
        let prev = prev.as_deref();
        let prev_boot = prev.and_then(|t| statefile::value(t, "boot_id"));
        let mut next_seq = parse_u64(last_record, "seq")
            .map_or(1, |s| s.saturating_add(1))
            .max(parse_u64(prev, "next_seq").unwrap_or(0));
        if !note {
            return Ok(Boot { next_seq });
        }
        let recorded = last_record.and_then(|t| statefile::value(t, "boot_id"));
        let previous_end = match prev_boot {
            None => "unknown".to_owned(),
            // A restart within this boot: the previous boot is as it was.
            Some(b) if b == boot_id => prev
                .and_then(|t| statefile::value(t, "previous_end"))
                .unwrap_or("unknown")
                .to_owned(),
            Some(_) if prev.and_then(|t| statefile::value(t, "state")) == Some("stopped") => {
                "stopped".to_owned()
            }
            Some(b) if recorded == Some(b) => "reset".to_owned(),
            Some(b) => {
                crate::warning!(
                    "the previous boot ({b}) ended without a deliberate stop and without a reset record: \
                     if stability reset it, storage did not take the record in time (the kernel log of \
                     that boot has the reset line); otherwise a power cut or a crash. Record seq {next_seq} \
                     is skipped to mark it"
                );
                next_seq += 1;
                "abrupt".to_owned()
            }
        };
        let boot = Boot { next_seq };
        boot.save(dir, boot_id, "running", &previous_end)?;
        Ok(boot)
    }

    fn save(
        &self,
        dir: &CStr,
        boot_id: &str,
        state: &str,
        previous_end: &str,
    ) -> Result<(), String> {
        let text = format!(
            "# stability boot file; see README \"Reset record\"\nformat=1\nboot_id={boot_id}\nstate={state}\nnext_seq={}\nprevious_end={previous_end}\n",
            self.next_seq
        );
        statefile::write_atomic(dir, BOOT_FILE, text.as_bytes())
    }

    /// A deliberate stop: `state=stopped`, the rest as it was.
    pub fn stopped(dir: &CStr) -> Result<(), String> {
        let Some(text) = statefile::read(dir, BOOT_FILE)? else {
            return Ok(());
        };
        let boot = Boot {
            next_seq: parse_u64(Some(&text), "next_seq").unwrap_or(1),
        };
        boot.save(
            dir,
            statefile::value(&text, "boot_id").unwrap_or("unknown"),
            "stopped",
            statefile::value(&text, "previous_end").unwrap_or("unknown"),
        )
    }
}

/// One line for the log: "2026-11-24T10:15:02Z trigger=indicator reason=...".
pub fn summary(text: &str) -> String {
    let mut out = String::new();
    for key in ["time", "trigger", "reason", "method", "failed", "guard"] {
        if let Some(v) = statefile::value(text, key).filter(|v| !v.is_empty()) {
            let _ = write!(out, "{}{key}={v}", if out.is_empty() { "" } else { " " });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut boot_id = heapless::String::new();
        let _ = boot_id.push_str("0f0e0d0c-0b0a-0908-0706-050403020100");
        Record {
            seq: 7,
            epoch: 1_795_515_302,
            boot_id,
            uptime_ms: 1_234_567,
            trigger: Trigger::Indicator,
            source: "/run/fault".into(),
            reason: "oom in container".into(),
            chain: "watchdog,reboot".into(),
            method: "reboot",
            failed: "watchdog: busy\nheld by pid 1".into(),
            guard: "2/3".into(),
        }
    }

    #[test]
    fn the_record_is_documented_key_value_lines() {
        let text = sample().render();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.contains('='), "{line}");
        }
        assert_eq!(
            statefile::value(&text, "time"),
            Some("2026-11-24T10:15:02Z")
        );
        assert_eq!(statefile::value(&text, "uptime"), Some("1234.567"));
        assert_eq!(
            statefile::value(&text, "failed"),
            Some("watchdog: busy held by pid 1")
        );
        assert_eq!(next_seq(Some(&text)), 8);
        assert_eq!(next_seq(None), 1);
        assert_eq!(next_seq(Some("seq=junk\n")), 1);
    }
}
