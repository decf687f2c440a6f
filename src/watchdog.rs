//! The hardware watchdog as a reset device.
//!
//! Forcing a reset is: open the device (never creating it), make sure it is a
//! character device that answers WDIOC_GETSUPPORT, enable it, set the short
//! `wdt_timeout` and read back what the driver really took, then hold the file
//! descriptor without ever pinging it or writing the magic 'V' that would let
//! a close stop the timer. Each step that fails says why and what to do; the
//! recovery chain then moves on to the next device.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, SFlag};
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::config::{show, WatchdogConfig};
use crate::sysfs::{self, DevNum};
use crate::uapi;

/// An armed watchdog: the board resets `timeout_s` after arming unless
/// something pings it. Dropping it closes the descriptor without the magic
/// character, which leaves a MAGICCLOSE timer running.
pub struct Armed {
    _fd: OwnedFd,
    pub timeout_s: u32,
    pub options: u32,
}

/// The names of the `WDIOF_*` bits set in `bits`: "SETTIMEOUT,MAGICCLOSE".
pub fn flag_names(bits: u32) -> String {
    let mut out = String::new();
    for (bit, name, _) in uapi::WDIOF_FLAGS {
        if bits & bit != 0 {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(name);
        }
    }
    let unknown = bits & !uapi::WDIOF_FLAGS.iter().fold(0, |acc, (b, _, _)| acc | b);
    if unknown != 0 {
        let _ = write!(
            out,
            "{}0x{unknown:x}",
            if out.is_empty() { "" } else { "," }
        );
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}

/// The device numbers that reach the same watchdog as `num`: watchdog0 is
/// also the legacy misc node, and the kernel lets only one of them be open.
pub fn aliases(num: DevNum) -> Vec<DevNum> {
    let mut nums = vec![num];
    let other = if num == sysfs::LEGACY_WATCHDOG {
        sysfs::attr(std::path::Path::new("/sys/class/watchdog/watchdog0"), "dev")
            .and_then(|d| parse_devnum(&d))
    } else if sysfs::watchdog_dir(num).is_some_and(|d| d.ends_with("watchdog0")) {
        Some(sysfs::LEGACY_WATCHDOG)
    } else {
        None
    };
    nums.extend(other);
    nums
}

fn parse_devnum(s: &str) -> Option<DevNum> {
    let (major, minor) = s.split_once(':')?;
    Some(DevNum {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

/// Why opening the watchdog failed, and what to do about it.
fn open_error(cfg: &WatchdogConfig, e: Errno) -> String {
    let path = show(&cfg.path);
    match e {
        Errno::ENOENT => format!("{path} does not exist: is the watchdog driver loaded? (`ls /dev/watchdog*`, `dmesg | grep -i watchdog`)"),
        Errno::EBUSY => {
            let holders = sysfs::char_device(&cfg.path).map(|n| sysfs::holders(&aliases(n))).unwrap_or_default();
            format!("{path} is busy (EBUSY): a watchdog can be open only once; {}", sysfs::watchdog_holder_advice(&holders))
        }
        Errno::EACCES | Errno::EPERM => format!("{path}: permission denied; stability must run as root"),
        Errno::ENXIO | Errno::ENODEV => format!("{path}: no device behind the node ({}); is the driver loaded?", e.desc()),
        e => format!("cannot open {path}: {}", e.desc()),
    }
}

/// Arms the watchdog for a reset, as described in the module comment.
pub fn arm(cfg: &WatchdogConfig) -> Result<Armed, String> {
    let path = show(&cfg.path);
    // No O_CREAT: with no driver loaded, a missing node must stay missing.
    let fd = crate::fsutil::open(cfg.path.as_c_str(), OFlag::O_WRONLY | OFlag::O_NOCTTY)
        .map_err(|e| open_error(cfg, e))?;
    let st = fstat(&fd).map_err(|e| format!("cannot stat {path}: {}", e.desc()))?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if kind != SFlag::S_IFCHR {
        return Err(format!(
            "{path} is a {}, not a watchdog device: a tool that opened it with O_CREAT while no driver was loaded \
             may have created it (py-stability-iot did); remove it and load the watchdog driver",
            crate::indicator::kind(st.st_mode as u32)
        ));
    }
    let raw = fd.as_raw_fd();
    let mut info = uapi::WatchdogInfo {
        options: 0,
        firmware_version: 0,
        identity: [0; 32],
    };
    // SAFETY: `raw` is an open descriptor and `info` is a valid, writable
    // struct watchdog_info of the size the request encodes.
    unsafe { uapi::wdioc_getsupport(raw, &mut info) }.map_err(|e| match e {
        Errno::ENOTTY | Errno::EINVAL => {
            format!("{path} is not a watchdog: WDIOC_GETSUPPORT failed ({e})")
        }
        e => format!("WDIOC_GETSUPPORT on {path} failed: {}", e.desc()),
    })?;
    let identity = crate::indicator::sanitize(until_nul(&info.identity));
    let mut bootstatus: libc::c_int = 0;
    // SAFETY: valid descriptor; `bootstatus` is a writable int as the request encodes.
    let boot =
        unsafe { uapi::wdioc_getbootstatus(raw, &mut bootstatus) }.map(|_| bootstatus as u32);
    crate::info!(
        "{path}: \"{identity}\", options {}, boot status {}",
        flag_names(info.options),
        boot.map_or_else(|e| format!("unknown ({})", e.desc()), flag_names)
    );
    if info.options & uapi::WDIOF_ALARMONLY != 0 {
        crate::warning!(
            "{path} reports ALARMONLY: it may raise an alarm instead of resetting the board"
        );
    }
    let enable: libc::c_int = uapi::WDIOS_ENABLECARD;
    // SAFETY: valid descriptor; `enable` is a readable int as the request encodes.
    if let Err(e) = unsafe { uapi::wdioc_setoptions(raw, &enable) } {
        crate::notice!(
            "{path}: WDIOS_ENABLECARD refused ({}); opening the device started the timer already",
            e.desc()
        );
    }
    let timeout_s = set_timeout(raw, cfg, info.options, st.st_rdev as libc::dev_t)?;
    Ok(Armed {
        _fd: fd,
        timeout_s,
        options: info.options,
    })
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())]
}

fn settimeout(raw: libc::c_int, seconds: u32) -> nix::Result<u32> {
    let mut value = seconds as libc::c_int;
    // SAFETY: valid descriptor; `value` is a readable and writable int as the
    // request encodes; the driver writes back the timeout it set.
    unsafe { uapi::wdioc_settimeout(raw, &mut value) }?;
    Ok(value as u32)
}

fn gettimeout(raw: libc::c_int) -> nix::Result<u32> {
    let mut value: libc::c_int = 0;
    // SAFETY: valid descriptor; `value` is a writable int as the request encodes.
    unsafe { uapi::wdioc_gettimeout(raw, &mut value) }?;
    Ok(value as u32)
}

/// Sets `wdt_timeout`, or the smallest timeout the driver accepts above it,
/// and returns the timeout the driver reports afterwards.
fn set_timeout(
    raw: libc::c_int,
    cfg: &WatchdogConfig,
    options: u32,
    rdev: libc::dev_t,
) -> Result<u32, String> {
    let path = show(&cfg.path);
    let want = cfg.timeout_s;
    if options & uapi::WDIOF_SETTIMEOUT == 0 {
        let now = gettimeout(raw)
            .map_err(|e| format!("{path}: cannot change or read the timeout ({})", e.desc()))?;
        crate::warning!(
            "{path}: the driver cannot change its timeout; the reset comes after its own {now} s"
        );
        return Ok(now);
    }
    let echoed = match settimeout(raw, want) {
        Ok(v) => v,
        Err(Errno::EINVAL) => {
            let num = DevNum {
                major: libc::major(rdev) as u32,
                minor: libc::minor(rdev) as u32,
            };
            let min = sysfs::watchdog_dir(num)
                .and_then(|d| sysfs::attr(&d, "min_timeout"))
                .and_then(|s| s.parse::<u32>().ok())
                .filter(|&m| m > want);
            // Walk up from the sysfs minimum (or from the request) to the first value taken.
            let first = min.unwrap_or(want + 1);
            let taken = (first..=first.saturating_add(3600)).find_map(|t| settimeout(raw, t).ok());
            match taken {
                Some(v) => {
                    crate::warning!("{path}: the driver refused a {want} s timeout; using {v} s, the smallest it accepts");
                    v
                }
                None => {
                    let now = gettimeout(raw).unwrap_or(0);
                    crate::warning!("{path}: the driver refused every timeout from {want} s up; it keeps {now} s");
                    now
                }
            }
        }
        Err(e) => {
            return Err(format!(
                "{path}: WDIOC_SETTIMEOUT({want}) failed: {}",
                e.desc()
            ))
        }
    };
    // Some drivers echo the request and keep their own value: ask again.
    match gettimeout(raw) {
        Ok(v) if v != echoed => {
            crate::warning!(
                "{path}: the driver echoed {echoed} s but reports {v} s: trusting {v} s"
            );
            Ok(v)
        }
        Ok(v) => Ok(v),
        Err(_) => Ok(echoed),
    }
}

/// The class device of a watchdog node, or why the node is not a watchdog.
/// The legacy node (10:130) of an old driver may have no class device.
pub fn sysfs_dir(path: &std::ffi::CStr, num: DevNum) -> Result<Option<std::path::PathBuf>, String> {
    match sysfs::watchdog_dir(num) {
        Some(dir) => Ok(Some(dir)),
        None if num == sysfs::LEGACY_WATCHDOG => Ok(None),
        None => Err(format!(
            "{} ({}:{}) is not a watchdog: /sys/class/watchdog has no such device",
            show(path),
            num.major,
            num.minor
        )),
    }
}

/// What arming would find, without opening the device: for --dry-run.
pub fn plan(cfg: &WatchdogConfig) -> Result<String, String> {
    let num = sysfs::char_device(&cfg.path)?;
    let mut out = format!("{} ({}:{})", show(&cfg.path), num.major, num.minor);
    if let Some(dir) = sysfs_dir(&cfg.path, num)? {
        for (attr, label) in [
            ("identity", ""),
            ("timeout", "current timeout "),
            ("min_timeout", "min "),
            ("max_timeout", "max "),
        ] {
            if let Some(v) = sysfs::attr(&dir, attr) {
                let _ = write!(out, ", {label}{v}");
            }
        }
    }
    let holders = sysfs::holders(&aliases(num));
    if !holders.is_empty() {
        return Err(format!(
            "{out}: {}",
            sysfs::watchdog_holder_advice(&holders)
        ));
    }
    Ok(out)
}
