//! The `probe` and `status` reports: `key=value` lines, one fact per line,
//! with stable dotted keys (documented in README "probe" and "status") so a
//! fleet can collect them, and values a person can read. Nothing here opens a
//! watchdog (that would start it) or writes anything: facts come from sysfs,
//! /proc and the state files.

use std::ffi::CStr;

use crate::clock::{self, fmt_ms};
use crate::config::Config;
use crate::fsutil::show;
use crate::guard::Guard;
use crate::log::strerror;
use crate::record;
use crate::sysfs::{self, DevNum};
use crate::{rtc, statefile, watchdog};

/// Collects lines and prints them at the end.
struct Report {
    out: String,
}

impl Report {
    fn new() -> Report {
        Report { out: String::new() }
    }

    fn put(&mut self, key: &str, value: impl std::fmt::Display) {
        self.put_dyn(key, &value);
    }

    /// The one copy of the line-writing code, whatever the value's type.
    #[inline(never)]
    fn put_dyn(&mut self, key: &str, value: &dyn std::fmt::Display) {
        use std::fmt::Write as _;
        let value = value.to_string();
        let _ = write!(self.out, "{key}=");
        // One line per fact, whatever the value holds.
        self.out
            .extend(value.chars().map(|c| if c.is_control() { ' ' } else { c }));
        self.out.push('\n');
    }

    fn print(self) {
        crate::log::out_str(&self.out);
    }
}

fn flags_value(text: &str) -> Option<String> {
    let bits = watchdog::parse_flags(text)?;
    Some(format!("0x{bits:x} ({})", watchdog::flag_names(bits)))
}

/// `stability probe`.
pub fn probe(cfg: &Config) {
    let mut r = Report::new();
    r.put("stability.version", env!("CARGO_PKG_VERSION"));
    r.put("config", &cfg.source);
    probe_watchdog(&mut r, cfg);
    probe_rtc(&mut r, cfg);
    probe_power(&mut r, cfg);
    probe_state_dir(&mut r, &cfg.state_dir);
    r.print();
}

fn probe_watchdog(r: &mut Report, cfg: &Config) {
    let path = &cfg.watchdog.path;
    r.put("watchdog.path", show(path));
    let num = match sysfs::char_device(path) {
        Ok(n) => n,
        Err(e) => return r.put("watchdog.error", e),
    };
    r.put(
        "watchdog.device",
        format_args!("{}:{}", num.major, num.minor),
    );
    match watchdog::sysfs_dir(path, num) {
        Err(e) => return r.put("watchdog.error", e),
        Ok(Some(dir)) => {
            r.put("watchdog.sysfs", show(&dir));
            for attr in [
                "identity",
                "state",
                "timeout",
                "min_timeout",
                "max_timeout",
                "pretimeout",
                "timeleft",
                "nowayout",
                "fw_version",
            ] {
                if let Some(v) = sysfs::attr(dir.as_bytes(), attr) {
                    r.put(&format!("watchdog.{attr}"), v);
                }
            }
            for attr in ["bootstatus", "status"] {
                if let Some(v) = sysfs::attr(dir.as_bytes(), attr) {
                    r.put(&format!("watchdog.{attr}"), flags_value(&v).unwrap_or(v));
                }
            }
            match sysfs::attr(dir.as_bytes(), "options").and_then(|v| flags_value(&v)) {
                Some(v) => r.put("watchdog.options", v),
                None => r.put("watchdog.options", "unknown (sysfs has no options before Linux 6.4; opening the device to ask would start it)"),
            }
            r.put(
                "watchdog.keepalive",
                watchdog::keepalive_verdict(dir.as_bytes(), cfg.watchdog.keepalive_timeout_s),
            );
        }
        Ok(None) => r.put(
            "watchdog.sysfs",
            "none (a legacy driver without /sys/class/watchdog)",
        ),
    }
    let holders = crate::holders::holders(&watchdog::aliases(num));
    r.put(
        "watchdog.held_by",
        if holders.is_empty() && !holders.cut {
            "none".to_owned()
        } else {
            crate::holders::watchdog_holder_advice(&holders)
        },
    );
}

fn probe_rtc(r: &mut Report, cfg: &Config) {
    let rtc = rtc::find(&cfg.rtc);
    match (&rtc, cfg.rtc.path_set) {
        (Ok(rtc), false) => r.put(
            "rtc.path",
            format_args!("{} ({})", show(&rtc.path), rtc::UNSET),
        ),
        (Ok(rtc), true) if rtc.path.as_c_str() != cfg.rtc.path.as_c_str() => r.put(
            "rtc.path",
            format_args!(
                "{} (rtc_path = {} does not exist: hwclock's next)",
                show(&rtc.path),
                show(&cfg.rtc.path)
            ),
        ),
        (_, true) => r.put("rtc.path", show(&cfg.rtc.path)),
        (Err(_), false) => {} // rtc.error says it
    }
    let rtc = match rtc {
        Ok(rtc) => rtc,
        Err(e) => return r.put("rtc.error", e),
    };
    r.put("rtc.device", show(&rtc.dev));
    if let Some(dir) = &rtc.sysfs {
        r.put("rtc.sysfs", show(dir));
        if let Some(name) = sysfs::attr(dir.as_bytes(), "name") {
            r.put("rtc.name", name);
        }
        if let (Some(date), Some(time)) = (
            sysfs::attr(dir.as_bytes(), "date"),
            sysfs::attr(dir.as_bytes(), "time"),
        ) {
            r.put("rtc.time", format_args!("{date} {time}"));
        }
        if let Some(alarm) = sysfs::attr(dir.as_bytes(), "wakealarm") {
            let shown = match alarm.parse::<i64>() {
                Ok(secs) => format!("{secs} ({}Z)", clock::Civil::from_seconds(secs)),
                Err(_) if alarm.is_empty() => "none".to_owned(),
                Err(_) => alarm,
            };
            r.put("rtc.wakealarm", shown);
        }
    }
    r.put("rtc.wakeup", rtc.wakeup_state());
    let holders = crate::holders::holders(&[rtc.num]);
    r.put(
        "rtc.held_by",
        if holders.is_empty() && !holders.cut {
            "none".to_owned()
        } else {
            crate::holders::show_holders(&holders)
        },
    );
}

fn probe_power(r: &mut Report, cfg: &Config) {
    match sysfs::sleep_states() {
        Ok(states) => r.put("power.state", states),
        Err(e) => r.put("power.state", format_args!("unknown ({e})")),
    }
    if let Some(v) = sysfs::attr(b"/sys/power", "mem_sleep") {
        r.put("power.mem_sleep", v);
    }
    // The checks a fault makes before it opens the RTC: the device (the same
    // default search), the sleep state, rtcwake. (A holder: rtc.held_by.)
    let mode = cfg.rtc.mode;
    let usable = rtc::plan(&cfg.rtc).map_or_else(|e| format!("no: {e}"), |_| "yes".to_owned());
    r.put(
        "power.rtc_mode",
        format_args!("{} (usable now: {usable})", mode.name()),
    );
}

fn probe_state_dir(r: &mut Report, dir: &CStr) {
    r.put("state_dir.path", show(dir));
    let status = match nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK) {
        Ok(()) => "writable".to_owned(),
        Err(nix::errno::Errno::ENOENT) => "missing (created when the daemon starts)".to_owned(),
        Err(e) => format!(
            "NOT writable ({}): the boot-loop guard could not count",
            strerror(e)
        ),
    };
    r.put("state_dir.status", status);
    if let Some(fs) = crate::statefile::volatile_fs(dir) {
        r.put(
            "state_dir.persistent",
            format_args!("no ({fs}): the guard and the record do not survive a reset"),
        );
    }
}

/// `stability status`.
pub fn status(cfg: &Config) {
    let mut r = Report::new();
    let dir = cfg.state_dir.as_c_str();
    match record::load(dir) {
        Ok(Some(text)) => {
            r.put("record", "present");
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                if let Some((k, v)) = line.split_once('=') {
                    r.put(&format!("record.{k}"), v);
                }
            }
            let this_boot = statefile::value(&text, "boot_id") == Some(clock::boot_id().as_str());
            r.put("record.this_boot", if this_boot { "yes" } else { "no" });
        }
        Ok(None) => r.put("record", "none"),
        Err(e) => r.put("record", format_args!("error: {e}")),
    }
    // How the boot before the daemon's start ended (the boot file): a boot
    // that neither stopped deliberately nor left a record lost its record,
    // if stability reset it.
    match statefile::read(dir, record::BOOT_FILE) {
        Ok(Some(text)) => {
            let end = statefile::value(&text, "previous_end").unwrap_or("unknown");
            r.put("previous_boot.end", end);
            if end == "abrupt" {
                r.put(
                    "previous_boot.record",
                    "missing: it ended without a deliberate stop and without a reset record (a reset whose \
                     record storage did not take in time, a power cut or a crash); its kernel log has \
                     stability's lines, and the record seq skips one for it",
                );
            }
        }
        Ok(None) => r.put(
            "previous_boot.end",
            "unknown (no boot file: the daemon has not run here)",
        ),
        Err(e) => r.put("previous_boot.end", format_args!("unknown ({e})")),
    }
    match Guard::load(dir) {
        Ok(g) => {
            let boot_id = clock::boot_id();
            let now = clock::boottime_ms();
            r.put(
                "guard.count",
                g.count.map_or_else(
                    || "unreadable (counts as the limit)".to_owned(),
                    |c| c.to_string(),
                ),
            );
            r.put("guard.max_resets", cfg.max_resets);
            r.put("guard.reset_window", fmt_ms(cfg.reset_window_ms));
            r.put(
                "guard.engaged",
                if g.reached(cfg.max_resets) {
                    "yes"
                } else {
                    "no"
                },
            );
            let quiet = g.quiet_ms(&boot_id, now);
            r.put("guard.quiet_for", fmt_ms(quiet));
            if g.count != Some(0) {
                r.put(
                    "guard.clears_in",
                    fmt_ms(cfg.reset_window_ms.saturating_sub(quiet)),
                );
            }
        }
        Err(e) => r.put("guard.count", format_args!("error: {e}")),
    }
    let boot = sysfs::char_device(&cfg.watchdog.path)
        .ok()
        .and_then(|num: DevNum| sysfs::watchdog_dir(num))
        .and_then(|d| sysfs::attr(d.as_bytes(), "bootstatus"));
    match boot.as_deref().and_then(|b| {
        b.strip_prefix("0x").map_or_else(
            || b.parse::<u32>().ok(),
            |h| u32::from_str_radix(h, 16).ok(),
        )
    }) {
        Some(bits) => {
            r.put(
                "watchdog.bootstatus",
                format_args!("0x{bits:x} ({})", watchdog::flag_names(bits)),
            );
            r.put(
                "watchdog.reset_last_boot",
                if bits & crate::uapi::WDIOF_CARDRESET != 0 {
                    "yes"
                } else {
                    "no"
                },
            );
        }
        None => {
            r.put(
                "watchdog.bootstatus",
                "unknown (no sysfs bootstatus for this watchdog)",
            );
            r.put("watchdog.reset_last_boot", "unknown");
        }
    }
    r.print();
}
