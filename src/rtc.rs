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
use nix::sys::signal::{SigSet, Signal};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use crate::clock::{days_from_civil, Civil};
use crate::config::{show, RtcBackend, RtcConfig, RtcMode};
use crate::log::strerror;
use crate::signals::Signals;
use crate::sysfs;
use crate::uapi::{self, RtcTime, RtcWkalrm};

/// The RTC behind the configured path.
pub struct Resolved {
    /// The device node, links resolved: /dev/rtc0.
    pub dev: CString,
    pub num: sysfs::DevNum,
    /// /sys/class/rtc/rtc0, if found.
    pub sysfs: Option<CString>,
}

pub fn resolve(path: &CStr) -> Result<Resolved, String> {
    let num = sysfs::char_device(path)
        .map_err(|e| format!("{e}: check rtc_path and that the RTC driver is loaded"))?;
    let dev = crate::fsutil::realpath(path).unwrap_or_else(|| path.to_owned());
    Ok(Resolved {
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
            .and_then(|fd| crate::log::write_all(&fd, b"enabled"))
            .map_err(|e| format!("cannot enable wakeup in {}: {}", show(&file), strerror(e)))?;
        crate::info!("{}: wakeup enabled ({})", show(&self.dev), show(&file));
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
    let rtc = resolve(&cfg.path)?;
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
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = path
        .as_bytes()
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
    let status = spawn_and_wait(&program, &argv)
        .map_err(|e| format!("cannot run {}: {}", show(&program), strerror(e)))?;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!(
            "{} {}; its own message is above",
            show(&program),
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

/// Runs `program` with `args` (argv[0] is the program) and waits for it:
/// posix_spawn(3), never a shell. The child inherits the standard streams
/// and the environment, and starts as std::process::Command would start it:
/// with an empty signal mask and the default disposition of the signals this
/// daemon blocks, handles or ignores (SIGPIPE). Returns the wait status.
fn spawn_and_wait(program: &CStr, args: &[CString]) -> nix::Result<libc::c_int> {
    extern "C" {
        static environ: *const *mut libc::c_char;
    }
    let mut argv: Vec<*mut libc::c_char> = Vec::with_capacity(args.len() + 2);
    argv.push(program.as_ptr().cast_mut());
    argv.extend(args.iter().map(|a| a.as_ptr().cast_mut()));
    argv.push(core::ptr::null_mut());
    let mut defaults = SigSet::empty();
    for s in [
        Signal::SIGPIPE,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        defaults.add(s);
    }
    let no_mask = SigSet::empty();
    let mut attr = core::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    // SAFETY: `attr` is writable storage for the attribute object it initializes.
    Errno::result(unsafe { libc::posix_spawnattr_init(attr.as_mut_ptr()) })?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: `attr` was initialized above and is destroyed once, here; the
    // sets are valid sigset_t; `argv` is a null-terminated array of pointers
    // to C strings that outlive the call, and `environ` is the process's own
    // null-terminated environment, as execve(2) takes them.
    let spawned = unsafe {
        let attr = attr.as_mut_ptr();
        libc::posix_spawnattr_setsigmask(attr, no_mask.as_ref());
        libc::posix_spawnattr_setsigdefault(attr, defaults.as_ref());
        libc::posix_spawnattr_setflags(
            attr,
            (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
        );
        let rc = libc::posix_spawn(
            &mut pid,
            program.as_ptr(),
            core::ptr::null(),
            attr,
            argv.as_ptr(),
            environ,
        );
        libc::posix_spawnattr_destroy(attr);
        rc
    };
    if spawned != 0 {
        return Err(Errno::from_raw(spawned));
    }
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waits for the child spawned above; `status` is a writable int.
        match Errno::result(unsafe { libc::waitpid(pid, &mut status, 0) }) {
            Ok(_) => return Ok(status),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

fn exit_words(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("was killed by signal {}", libc::WTERMSIG(status))
    } else {
        "failed".to_owned()
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
