//! The RTC as a reset device: a wake alarm `rtc_wake_delay` seconds ahead,
//! then power off, a sleep state, or nothing (`rtc_mode`).
//!
//! The alarm is relative, so it is computed in the RTC's own time base: read
//! the RTC (RTC_RD_TIME), add the delay as if the time were UTC, set it
//! (RTC_WKALM_SET, or RTC_ALM_SET + RTC_AIE_ON on old drivers, within a day),
//! and read it back. Whether the RTC keeps local time or UTC does not matter.
//! The configured path (`/dev/rtc` is usually a link) is resolved to the real
//! device first, so the sysfs wakeup control is found (rtcwake, given
//! `/dev/rtc`, looks for a device named `rtc` and fails). Without `rtc_path`
//! the RTC is the first of /dev/rtc, /dev/rtc0 and /dev/misc/rtc that exists,
//! hwclock's order: /dev/rtc is a link that udev (or some mdev setups) makes,
//! and devtmpfs alone has only /dev/rtc0.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};

use crate::clock::{days_from_civil, Civil};
use crate::config::{RtcBackend, RtcConfig, RtcMode};
use crate::fsutil::show;
use crate::log::strerror;
use crate::signals::Signals;
use crate::sysfs;
use crate::uapi::{self, RtcTime, RtcWkalrm};

/// Where the RTC is looked for when `rtc_path` is not set, in hwclock's order.
pub const DEFAULT_PATHS: [&str; 3] = ["/dev/rtc", "/dev/rtc0", "/dev/misc/rtc"];
/// What an unset `rtc_path` means, for messages.
pub const UNSET: &str =
    "rtc_path is not set: the first of /dev/rtc, /dev/rtc0, /dev/misc/rtc that exists";

/// The RTC behind the configured path.
pub struct Resolved {
    /// The path used: rtc_path, or the default found.
    pub path: CString,
    /// The device node, links resolved: /dev/rtc0.
    pub dev: CString,
    pub num: sysfs::DevNum,
    /// /sys/class/rtc/rtc0, if found.
    pub sysfs: Option<CString>,
}

/// The RTC of the config: `rtc_path` as given, or the first of
/// `DEFAULT_PATHS` that exists. What `probe`, `--dry-run` and a fault use.
pub fn find(cfg: &RtcConfig) -> Result<Resolved, String> {
    // `/dev/rtc` set explicitly is the seed's default, which its users' config
    // files carry: it means "the system's RTC", as for hwclock, so a board
    // without that link (devtmpfs alone) still finds /dev/rtc0.
    let seed_default = cfg.path.as_bytes() == DEFAULT_PATHS[0].as_bytes();
    if cfg.path_set && !(seed_default && nix::sys::stat::stat(cfg.path.as_c_str()).is_err()) {
        return resolve(&cfg.path);
    }
    DEFAULT_PATHS
        .iter()
        .filter_map(|p| CString::new(*p).ok())
        .find(|p| nix::sys::stat::stat(p.as_c_str()).is_ok())
        .map_or_else(
            || Err(format!("{UNSET}: none does; is the RTC driver loaded?")),
            |p| resolve(&p),
        )
}

pub fn resolve(path: &CStr) -> Result<Resolved, String> {
    let num = sysfs::char_device(path)
        .map_err(|e| format!("{e}: check rtc_path and that the RTC driver is loaded"))?;
    let dev = crate::fsutil::realpath(path).unwrap_or_else(|| path.to_owned());
    Ok(Resolved {
        path: path.to_owned(),
        dev,
        num,
        sysfs: sysfs::class_device("rtc", num),
    })
}

impl Resolved {
    fn wakeup_file(&self) -> Option<CString> {
        self.sysfs
            .as_ref()
            .map(|d| sysfs::join(d.as_bytes(), "device/power/wakeup"))
    }

    /// "enabled", "disabled", or why it is unknown.
    pub fn wakeup_state(&self) -> String {
        self.wakeup_file()
            .and_then(|f| sysfs::read_text(&f))
            .unwrap_or_else(|| "unknown (no device/power/wakeup in sysfs)".to_owned())
    }

    /// Lets the RTC wake the system, as rtcwake requires.
    fn enable_wakeup(&self) -> Result<(), String> {
        let Some(file) = self
            .wakeup_file()
            .filter(|f| nix::sys::stat::stat(f.as_c_str()).is_ok())
        else {
            crate::warning!(
                "{}: no wakeup control in sysfs; the alarm may not wake the board",
                show(&self.dev)
            );
            return Ok(());
        };
        if sysfs::read_text(&file).as_deref() == Some("enabled") {
            return Ok(());
        }
        crate::fsutil::open(file.as_c_str(), OFlag::O_WRONLY | OFlag::O_TRUNC)
            .and_then(|fd| crate::fsutil::write_all(&fd, b"enabled"))
            .map_err(|e| format!("cannot enable wakeup in {}: {}", show(&file), strerror(e)))?;
        crate::info!("{}: wakeup enabled ({})", show(&self.dev), show(&file));
        Ok(())
    }

    fn open(&self) -> Result<OwnedFd, String> {
        crate::fsutil::open(self.dev.as_c_str(), OFlag::O_RDONLY | OFlag::O_NOCTTY).map_err(|e| {
            match e {
                Errno::EBUSY => {
                    let holders = crate::holders::holders(&[self.num]);
                    format!(
                        "{} is busy: an RTC can be open only once; held by {}",
                        show(&self.dev),
                        if holders.is_empty() && !holders.cut {
                            "an unknown process".to_owned()
                        } else {
                            crate::holders::show_holders(&holders)
                        }
                    )
                }
                e => format!("cannot open {}: {}", show(&self.dev), strerror(e)),
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
        .map_err(|e| format!("RTC_RD_TIME on {dev} failed: {}", strerror(e)))?;
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
                strerror(e)
            );
            // SAFETY: valid descriptor; `alarm.time` is a readable struct rtc_time.
            unsafe { uapi::rtc_alm_set(raw, &alarm.time) }
                .map_err(|e| format!("RTC_ALM_SET on {dev} failed: {}", strerror(e)))?;
            // SAFETY: valid descriptor; the request takes no argument.
            unsafe { uapi::rtc_aie_on(raw) }
                .map_err(|e| format!("RTC_AIE_ON on {dev} failed: {}", strerror(e)))?;
            false
        }
        Err(e) => return Err(format!("RTC_WKALM_SET on {dev} failed: {}", strerror(e))),
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
            strerror(e)
        ),
    }
    crate::info!("{dev}: RTC time {now}, wake alarm set for {at} (+{delay_s} s)");
    Ok(at)
}

/// How far ahead the alarm must still be when the power goes off: the
/// kernel's own power-off (device shutdown) must be over before it fires,
/// or the board would stay off.
const MIN_AHEAD_S: i64 = 5;

/// Just before the power-off: the alarm set for `at` must still be at least
/// `MIN_AHEAD_S` ahead of the RTC's time (it is, unless the RTC jumped or
/// the time since the set ran long); otherwise it is set again.
fn still_ahead(rtc: &Resolved, at: Civil, delay_s: u32) -> Result<(), String> {
    let fd = rtc.open()?;
    let mut now = RtcTime::default();
    // SAFETY: valid descriptor; `now` is a writable struct rtc_time as the request encodes.
    unsafe { uapi::rtc_rd_time(fd.as_raw_fd(), &mut now) }
        .map_err(|e| format!("RTC_RD_TIME on {} failed: {}", show(&rtc.dev), strerror(e)))?;
    drop(fd);
    let (Some(now_s), Some(at_s)) = (to_civil(&now).and_then(Civil::to_seconds), at.to_seconds())
    else {
        return Ok(());
    };
    if at_s - now_s >= MIN_AHEAD_S {
        return Ok(());
    }
    crate::warning!(
        "{}: the wake alarm ({at}) is {} s from the RTC's time: setting it again",
        show(&rtc.dev),
        at_s - now_s
    );
    set_alarm(rtc, delay_s).map(drop)
}

/// Turns the alarm off after a resume, so it cannot fire again later.
fn disable_alarm(rtc: &Resolved) {
    let result = rtc.open().and_then(|fd| {
        // SAFETY: valid descriptor; the request takes no argument.
        unsafe { uapi::rtc_aie_off(fd.as_raw_fd()) }
            .map(drop)
            .map_err(|e| strerror(e).to_string())
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
    let rtc = find(cfg)?;
    if !cfg.path_set {
        crate::info!("{UNSET}: {}", show(&rtc.path));
    } else if rtc.path.as_c_str() != cfg.path.as_c_str() {
        crate::info!(
            "rtc_path = {} does not exist: the first of /dev/rtc0, /dev/misc/rtc that does: {}",
            show(&cfg.path),
            show(&rtc.path)
        );
    }
    if let Some(state) = cfg.mode.sleep_state() {
        crate::power::check_sleep_state(state)?;
    }
    rtc.enable_wakeup()?;
    match cfg.backend {
        RtcBackend::Ioctl => {
            let at = set_alarm(&rtc, cfg.wake_delay_s)?;
            match cfg.mode.sleep_state() {
                None if cfg.mode == RtcMode::No => Ok(Outcome::AlarmSet),
                None => {
                    still_ahead(&rtc, at, cfg.wake_delay_s)?;
                    crate::durable!(
                        crate::log::Level::Critical,
                        "powering off now; the RTC alarm should power the board on in {} s",
                        cfg.wake_delay_s
                    );
                    Err(
                        crate::power::restart(nix::sys::reboot::RebootMode::RB_POWER_OFF)
                            .to_string(),
                    )
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
fn find_rtcwake() -> Option<CString> {
    let path = crate::fsutil::getenv(b"PATH\0").unwrap_or_default();
    let found = path
        .split(|&b| b == b':')
        .chain([&b"/usr/sbin"[..], b"/sbin", b"/usr/bin", b"/bin"])
        .filter_map(|dir| {
            let mut file = dir.to_vec();
            if !file.is_empty() && !file.ends_with(b"/") {
                file.push(b'/');
            }
            file.extend_from_slice(b"rtcwake");
            CString::new(file).ok()
        })
        .find(|p| {
            nix::sys::stat::stat(p.as_c_str()).is_ok_and(|st| {
                nix::sys::stat::SFlag::from_bits_truncate(st.st_mode)
                    & nix::sys::stat::SFlag::S_IFMT
                    == nix::sys::stat::SFlag::S_IFREG
            })
        });
    found
}

fn run_rtcwake(cfg: &RtcConfig, rtc: &Resolved, signals: &Signals) -> Result<Outcome, String> {
    let program = find_rtcwake().ok_or("rtcwake not found in PATH, /usr/sbin or /sbin: install util-linux or BusyBox rtcwake, or set rtc_backend = ioctl")?;
    let delay = cfg.wake_delay_s.to_string();
    crate::info!(
        "running {} -d {} -s {delay} -m {}",
        show(&program),
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
    let argv: Vec<CString> = ["-d", "-s", "-m"]
        .iter()
        .zip([
            rtc.dev.as_bytes(),
            delay.as_bytes(),
            cfg.mode.name().as_bytes(),
        ])
        .flat_map(|(flag, value)| [flag.as_bytes(), value])
        .filter_map(|a| CString::new(a).ok())
        .collect();
    let status = crate::process::spawn_and_wait(&program, &argv)
        .map_err(|e| format!("cannot run {}: {}", show(&program), strerror(e)))?;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!(
            "{} {}; its own message is above",
            show(&program),
            crate::process::exit_words(status)
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

/// What an RTC recovery would do, checked without touching the device: for --dry-run.
pub fn plan(cfg: &RtcConfig) -> Result<String, String> {
    let rtc = find(cfg)?;
    if let Some(state) = cfg.mode.sleep_state() {
        crate::power::check_sleep_state(state)?;
    }
    if cfg.backend == RtcBackend::Rtcwake && find_rtcwake().is_none() {
        return Err("rtcwake not found in PATH, /usr/sbin or /sbin".to_owned());
    }
    let mut out = format!("{}", show(&rtc.dev));
    if let Some(dir) = &rtc.sysfs {
        if let (Some(date), Some(time)) = (
            sysfs::attr(dir.as_bytes(), "date"),
            sysfs::attr(dir.as_bytes(), "time"),
        ) {
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

    /// The alarm across 2038-01-19T03:14:07Z (where a 32-bit time_t ends)
    /// and on 2040-02-29: the RTC's time is a calendar, added to in i64.
    #[test]
    fn alarms_after_2038_are_computed_in_the_rtc_calendar() {
        for (now, delay, want) in [
            ((2038, 1, 19, 3, 13, 30), 60, (138, 0, 19, 3, 14, 30)),
            ((2040, 2, 28, 23, 59, 30), 60, (140, 1, 29, 0, 0, 30)),
            ((2099, 12, 31, 23, 59, 0), 120, (200, 0, 1, 0, 1, 0)),
        ] {
            let c = Civil {
                year: now.0,
                month: now.1,
                day: now.2,
                hour: now.3,
                minute: now.4,
                second: now.5,
            };
            let at = Civil::from_seconds(c.to_seconds().unwrap() + delay);
            let tm = to_rtc_time(at);
            assert_eq!(
                (tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec),
                want
            );
            assert_eq!(to_civil(&tm), Some(at));
        }
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
