//! The RTC as a reset device: a wake alarm `rtc_wake_delay` seconds ahead,
//! then power off, a sleep state, or nothing (`rtc_mode`).
//!
//! The alarm is relative, so it is computed in the RTC's own time base: read
//! the RTC (RTC_RD_TIME), add the delay as if the time were UTC, set it
//! (RTC_WKALM_SET, or RTC_ALM_SET + RTC_AIE_ON on old drivers, within a day),
//! and read it back. Whether the RTC keeps local time or UTC does not matter.
//! The configured path (`/dev/rtc` is usually a link) is resolved to the real
//! device first, so the sysfs wakeup control is found (rtcwake, given
//! `/dev/rtc`, looks for a device named `rtc` and fails).

use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::clock::{days_from_civil, Civil};
use crate::config::{show, RtcBackend, RtcConfig, RtcMode};
use crate::signals::Signals;
use crate::sysfs;
use crate::uapi::{self, RtcTime, RtcWkalrm};

/// The RTC behind the configured path.
pub struct Resolved {
    /// The device node, links resolved: /dev/rtc0.
    pub dev: CString,
    pub num: sysfs::DevNum,
    /// /sys/class/rtc/rtc0, if found.
    pub sysfs: Option<PathBuf>,
}

pub fn resolve(path: &CStr) -> Result<Resolved, String> {
    let num = sysfs::char_device(path)
        .map_err(|e| format!("{e}: check rtc_path and that the RTC driver is loaded"))?;
    let real = std::fs::canonicalize(crate::config::as_path(path))
        .unwrap_or_else(|_| crate::config::as_path(path).to_owned());
    let dev = CString::new(real.as_os_str().as_bytes()).unwrap_or_else(|_| path.to_owned());
    Ok(Resolved {
        dev,
        num,
        sysfs: sysfs::class_device("rtc", num),
    })
}

impl Resolved {
    fn wakeup_file(&self) -> Option<PathBuf> {
        self.sysfs.as_ref().map(|d| d.join("device/power/wakeup"))
    }

    /// "enabled", "disabled", or why it is unknown.
    pub fn wakeup_state(&self) -> String {
        match self
            .wakeup_file()
            .and_then(|f| std::fs::read_to_string(f).ok())
        {
            Some(s) => s.trim().to_owned(),
            None => "unknown (no device/power/wakeup in sysfs)".to_owned(),
        }
    }

    /// Lets the RTC wake the system, as rtcwake requires.
    fn enable_wakeup(&self) -> Result<(), String> {
        let Some(file) = self.wakeup_file().filter(|f| f.exists()) else {
            crate::warning!(
                "{}: no wakeup control in sysfs; the alarm may not wake the board",
                show(&self.dev)
            );
            return Ok(());
        };
        let state = std::fs::read_to_string(&file).unwrap_or_default();
        if state.trim() == "enabled" {
            return Ok(());
        }
        std::fs::write(&file, "enabled")
            .map_err(|e| format!("cannot enable wakeup in {}: {e}", file.display()))?;
        crate::info!("{}: wakeup enabled ({})", show(&self.dev), file.display());
        Ok(())
    }

    fn open(&self) -> Result<OwnedFd, String> {
        crate::fsutil::open(self.dev.as_c_str(), OFlag::O_RDONLY | OFlag::O_NOCTTY).map_err(|e| {
            match e {
                Errno::EBUSY => {
                    let holders = sysfs::holders(&[self.num]);
                    format!(
                        "{} is busy: an RTC can be open only once; held by {}",
                        show(&self.dev),
                        if holders.is_empty() {
                            "an unknown process".to_owned()
                        } else {
                            sysfs::show_holders(&holders)
                        }
                    )
                }
                e => format!("cannot open {}: {}", show(&self.dev), e.desc()),
            }
        })
    }
}

fn to_civil(tm: &RtcTime) -> Option<Civil> {
    Civil {
        year: i64::from(tm.tm_year) + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
    }
    .to_seconds()
    .map(Civil::from_seconds)
}

fn to_rtc_time(c: Civil) -> RtcTime {
    let days = days_from_civil(c.year, c.month, c.day);
    RtcTime {
        tm_sec: c.second as i32,
        tm_min: c.minute as i32,
        tm_hour: c.hour as i32,
        tm_mday: c.day as i32,
        tm_mon: c.month as i32 - 1,
        tm_year: (c.year - 1900) as i32,
        tm_wday: (days + 4).rem_euclid(7) as i32, // 1970-01-01 was a Thursday
        tm_yday: (days - days_from_civil(c.year, 1, 1)) as i32,
        tm_isdst: 0,
    }
}

/// Reads the RTC and sets the alarm `delay_s` ahead of it; returns the alarm
/// time in the RTC's time base.
fn set_alarm(rtc: &Resolved, delay_s: u32) -> Result<Civil, String> {
    let dev = show(&rtc.dev);
    let fd = rtc.open()?;
    let raw = fd.as_raw_fd();
    let mut now = RtcTime::default();
    // SAFETY: valid descriptor; `now` is a writable struct rtc_time as the request encodes.
    unsafe { uapi::rtc_rd_time(raw, &mut now) }
        .map_err(|e| format!("RTC_RD_TIME on {dev} failed: {}", e.desc()))?;
    let now = to_civil(&now)
        .ok_or_else(|| format!("{dev} holds an invalid time: set it (hwclock --systohc) first"))?;
    let at = Civil::from_seconds(now.to_seconds().unwrap_or(0) + i64::from(delay_s));
    let alarm = RtcWkalrm {
        enabled: 1,
        pending: 0,
        time: to_rtc_time(at),
    };
    // SAFETY: valid descriptor; `alarm` is a readable struct rtc_wkalrm as the request encodes.
    let wkalm = unsafe { uapi::rtc_wkalm_set(raw, &alarm) };
    let full_date = match wkalm {
        Ok(_) => true,
        Err(e @ (Errno::ENOTTY | Errno::EINVAL)) if delay_s < 86_400 => {
            crate::notice!(
                "{dev}: RTC_WKALM_SET not supported ({}); using RTC_ALM_SET + RTC_AIE_ON",
                e.desc()
            );
            // SAFETY: valid descriptor; `alarm.time` is a readable struct rtc_time.
            unsafe { uapi::rtc_alm_set(raw, &alarm.time) }
                .map_err(|e| format!("RTC_ALM_SET on {dev} failed: {}", e.desc()))?;
            // SAFETY: valid descriptor; the request takes no argument.
            unsafe { uapi::rtc_aie_on(raw) }
                .map_err(|e| format!("RTC_AIE_ON on {dev} failed: {}", e.desc()))?;
            false
        }
        Err(e) => return Err(format!("RTC_WKALM_SET on {dev} failed: {}", e.desc())),
    };
    let mut back = RtcWkalrm::default();
    // SAFETY: valid descriptor; `back` is a writable struct rtc_wkalrm.
    match unsafe { uapi::rtc_wkalm_rd(raw, &mut back) } {
        Ok(_) if back.enabled == 0 => {
            return Err(format!(
                "{dev} did not keep the alarm enabled (RTC_WKALM_RD)"
            ))
        }
        Ok(_) => {
            let same = if full_date {
                back.time.tm_year == alarm.time.tm_year
                    && back.time.tm_mon == alarm.time.tm_mon
                    && back.time.tm_mday == alarm.time.tm_mday
            } else {
                true
            } && (back.time.tm_hour, back.time.tm_min, back.time.tm_sec)
                == (alarm.time.tm_hour, alarm.time.tm_min, alarm.time.tm_sec);
            if !same {
                let got = to_civil(&back.time)
                    .map_or_else(|| "an invalid time".to_owned(), |c| c.to_string());
                crate::warning!(
                    "{dev}: alarm set for {at} but the RTC reports {got} (coarser resolution?)"
                );
            }
        }
        Err(e) => crate::warning!(
            "{dev}: cannot read the alarm back ({}); trusting the set",
            e.desc()
        ),
    }
    crate::info!("{dev}: RTC time {now}, wake alarm set for {at} (+{delay_s} s)");
    Ok(at)
}

/// Turns the alarm off after a resume, so it cannot fire again later.
fn disable_alarm(rtc: &Resolved) {
    let result = rtc.open().and_then(|fd| {
        // SAFETY: valid descriptor; the request takes no argument.
        unsafe { uapi::rtc_aie_off(fd.as_raw_fd()) }
            .map(drop)
            .map_err(|e| e.desc().to_owned())
    });
    match result {
        Ok(()) => crate::info!("{}: wake alarm disabled", show(&rtc.dev)),
        Err(e) => crate::warning!("{}: cannot disable the wake alarm: {e}", show(&rtc.dev)),
    }
}

/// How an RTC recovery ended, when it returns at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The system slept and woke up after `slept_ms`: monitoring goes on.
    Resumed { slept_ms: u64 },
    /// `rtc_mode = no`: the alarm is set and nothing else was asked.
    AlarmSet,
}

/// Sets the alarm and performs `rtc_mode`. Power-off returns only on failure.
pub fn recover(cfg: &RtcConfig, signals: &Signals) -> Result<Outcome, String> {
    let rtc = resolve(&cfg.path)?;
    if let Some(state) = cfg.mode.sleep_state() {
        crate::power::check_sleep_state(state)?;
    }
    rtc.enable_wakeup()?;
    match cfg.backend {
        RtcBackend::Ioctl => {
            set_alarm(&rtc, cfg.wake_delay_s)?;
            match cfg.mode.sleep_state() {
                None if cfg.mode == RtcMode::No => Ok(Outcome::AlarmSet),
                None => {
                    crate::durable!(
                        crate::log::Level::Critical,
                        "powering off now; the RTC alarm should power the board on in {} s",
                        cfg.wake_delay_s
                    );
                    Err(crate::power::restart(
                        nix::sys::reboot::RebootMode::RB_POWER_OFF,
                    ))
                }
                Some(state) => {
                    let before = crate::clock::boottime_ms();
                    let slept = crate::power::suspend(state);
                    disable_alarm(&rtc);
                    slept.map(|()| Outcome::Resumed {
                        slept_ms: crate::clock::boottime_ms() - before,
                    })
                }
            }
        }
        RtcBackend::Rtcwake => run_rtcwake(cfg, &rtc, signals),
    }
}

/// Where rtcwake is: PATH first, then the sbin directories a daemon's PATH
/// (or a missing one) may lack.
fn find_rtcwake() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join("rtcwake"))
        .find(|p| p.is_file())
}

fn run_rtcwake(cfg: &RtcConfig, rtc: &Resolved, signals: &Signals) -> Result<Outcome, String> {
    let program = find_rtcwake().ok_or("rtcwake not found in PATH, /usr/sbin or /sbin: install util-linux or BusyBox rtcwake, or set rtc_backend = ioctl")?;
    let delay = cfg.wake_delay_s.to_string();
    let dev = std::ffi::OsStr::from_bytes(rtc.dev.as_bytes());
    let args = [
        std::ffi::OsStr::new("-d"),
        dev,
        "-s".as_ref(),
        delay.as_ref(),
        "-m".as_ref(),
        cfg.mode.name().as_ref(),
    ];
    crate::info!(
        "running {} -d {} -s {delay} -m {}",
        program.display(),
        show(&rtc.dev),
        cfg.mode.name()
    );
    if cfg.mode == RtcMode::Off {
        crate::durable!(
            crate::log::Level::Critical,
            "powering off through rtcwake; the RTC alarm should power the board on in {delay} s"
        );
    }
    let before = crate::clock::boottime_ms();
    // An argument vector, never a shell: nothing in the config is interpreted.
    let status = std::process::Command::new(&program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !status.success() {
        return Err(format!(
            "{} {}; its own message is above",
            program.display(),
            exit_words(status)
        ));
    }
    match cfg.mode {
        RtcMode::No => Ok(Outcome::AlarmSet),
        RtcMode::Off => {
            // rtcwake hands the power-off to init; give it until the alarm.
            signals.wait_through(u64::from(cfg.wake_delay_s) * 1000);
            Err(format!(
                "rtcwake -m off succeeded but the board is still up after {delay} s"
            ))
        }
        _ => {
            disable_alarm(rtc);
            Ok(Outcome::Resumed {
                slept_ms: crate::clock::boottime_ms() - before,
            })
        }
    }
}

fn exit_words(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "failed".to_owned(),
    }
}

/// What an RTC recovery would do, checked without touching the device: for --dry-run.
pub fn plan(cfg: &RtcConfig) -> Result<String, String> {
    let rtc = resolve(&cfg.path)?;
    if let Some(state) = cfg.mode.sleep_state() {
        crate::power::check_sleep_state(state)?;
    }
    if cfg.backend == RtcBackend::Rtcwake && find_rtcwake().is_none() {
        return Err("rtcwake not found in PATH, /usr/sbin or /sbin".to_owned());
    }
    let mut out = format!("{}", show(&rtc.dev));
    if let Some(dir) = &rtc.sysfs {
        if let (Some(date), Some(time)) = (sysfs::attr(dir, "date"), sysfs::attr(dir, "time")) {
            out.push_str(&format!(", RTC time {date} {time}"));
        }
    }
    out.push_str(&format!(", wakeup {}", rtc.wakeup_state()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_time_rolls_over_days_months_and_years() {
        let now = Civil {
            year: 2025,
            month: 12,
            day: 31,
            hour: 23,
            minute: 59,
            second: 30,
        };
        let at = Civil::from_seconds(now.to_seconds().unwrap() + 60);
        let tm = to_rtc_time(at);
        assert_eq!(
            (tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec),
            (126, 0, 1, 0, 0, 30)
        );
        assert_eq!(tm.tm_wday, 4); // 2026-01-01 is a Thursday
        assert_eq!(tm.tm_yday, 0);
        assert_eq!(to_civil(&tm), Some(at));
    }

    #[test]
    fn invalid_rtc_times_are_refused() {
        let tm = RtcTime {
            tm_mon: 13,
            tm_mday: 1,
            tm_year: 125,
            ..RtcTime::default()
        };
        assert_eq!(to_civil(&tm), None);
        let tm = RtcTime {
            tm_mon: -1,
            tm_mday: 1,
            tm_year: 125,
            ..RtcTime::default()
        };
        assert_eq!(to_civil(&tm), None);
    }
}
