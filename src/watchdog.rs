//! The hardware watchdog, as a reset device and (in keepalive mode) as the
//! device stability owns and pings.
//!
//! Forcing a reset is: open the device (never creating it), make sure it is a
//! character device that answers WDIOC_GETSUPPORT, enable it, set the short
//! `wdt_timeout` and read back what the driver really took, then hold the file
//! descriptor without ever pinging it or writing the magic 'V' that would let
//! a close stop the timer. Each step that fails says why and what to do; the
//! recovery chain then moves on to the next device. Keepalive mode opens it
//! with the same checks (`open_checked`) and pings it from `keepalive`.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, SFlag};
use std::ffi::CStr;
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::config::WatchdogConfig;
use crate::fsutil::show;
use crate::log::strerror;
use crate::msg;
use crate::msg::{Msg, Text};
use crate::sysfs::{self, DevNum};
use crate::uapi;

/// An open watchdog that answered WDIOC_GETSUPPORT. Opening it started the
/// timer. Dropping it closes the descriptor without the magic character,
/// which leaves a MAGICCLOSE timer running.
pub struct Opened {
    fd: OwnedFd,
    pub options: u32,
    rdev: libc::dev_t,
}

/// A watchdog armed to reset the board `timeout_s` after `at_ms`.
pub struct Armed {
    dog: Opened,
    pub timeout_s: u32,
    pub options: u32,
    /// CLOCK_BOOTTIME when the timeout in force was set.
    pub at_ms: u64,
}

/// The names of the `WDIOF_*` bits set in `bits`: "SETTIMEOUT,MAGICCLOSE".
pub fn flag_names(bits: u32) -> Text<192> {
    let mut out = Text::new();
    let mut first = true;
    for (bit, name, _) in uapi::WDIOF_FLAGS {
        if bits & bit != 0 {
            let _ = write!(out, "{}{name}", if first { "" } else { "," });
            first = false;
        }
    }
    let unknown = bits & !uapi::WDIOF_FLAGS.iter().fold(0, |acc, (b, _, _)| acc | b);
    if unknown != 0 {
        let _ = write!(out, "{}0x{unknown:x}", if first { "" } else { "," });
        first = false;
    }
    if first {
        let _ = out.write_str("none");
    }
    out
}

/// The device numbers that reach the same watchdog as `num`: watchdog0 is
/// also the legacy misc node, and the kernel lets only one of them be open.
pub fn aliases(num: DevNum) -> Vec<DevNum> {
    let mut nums = vec![num];
    let other = if num == sysfs::LEGACY_WATCHDOG {
        sysfs::attr(sysfs::WATCHDOG0.as_bytes(), "dev").and_then(|d| parse_devnum(&d))
    } else if sysfs::watchdog_dir(num).is_some_and(|d| d.as_bytes().ends_with(b"/watchdog0")) {
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

/// Why opening the watchdog failed, and what to do about it. On the fault
/// path (`at_fault`) a busy device's holder is not searched for in /proc:
/// that search allocates, and nothing may there (`stability probe` names it).
fn open_error(node: &CStr, e: Errno, at_fault: bool) -> Msg {
    let path = show(node);
    match e {
        Errno::ENOENT => msg!("{path} does not exist: is the watchdog driver loaded? (`ls /dev/watchdog*`, `dmesg | grep -i watchdog`)"),
        Errno::EBUSY if at_fault => msg!("{path} is busy (EBUSY): a watchdog can be open only once; `stability probe` names the process holding it"),
        Errno::EBUSY => {
            let holders = sysfs::char_device(node).map(|n| crate::holders::holders(&aliases(n))).unwrap_or_default();
            msg!("{path} is busy (EBUSY): a watchdog can be open only once; {}", crate::holders::watchdog_holder_advice(&holders))
        }
        Errno::EACCES | Errno::EPERM => msg!("{path}: permission denied; stability must run as root"),
        Errno::ENXIO | Errno::ENODEV => msg!("{path}: no device behind the node ({}); is the driver loaded?", strerror(e)),
        e => msg!("cannot open {path}: {}", strerror(e)),
    }
}

/// Arms the watchdog for a reset, as described in the module comment, with
/// `timeout_s` or the nearest timeout the driver takes in direction `search`.
pub fn arm(cfg: &WatchdogConfig, timeout_s: u32, search: Search) -> Result<Armed, Msg> {
    let dog = open_checked(&cfg.path, true)?;
    let timeout_s = dog.set_timeout(&cfg.path, timeout_s, search)?;
    let options = dog.options;
    Ok(Armed {
        dog,
        timeout_s,
        options,
        at_ms: crate::clock::boottime_ms(),
    })
}

impl Armed {
    /// When the timeout in force runs out, on CLOCK_BOOTTIME.
    pub fn expires_at(&self) -> u64 {
        self.at_ms + u64::from(self.timeout_s) * 1000
    }

    /// Sets another timeout (which also restarts the count).
    pub fn set_timeout(&mut self, node: &CStr, want: u32, search: Search) -> Result<u32, Msg> {
        self.timeout_s = self.dog.set_timeout(node, want, search)?;
        self.at_ms = crate::clock::boottime_ms();
        Ok(self.timeout_s)
    }
}

/// Opens the watchdog with every check: no O_CREAT, a character device, a
/// driver that answers WDIOC_GETSUPPORT; logs what it is and enables it.
/// `at_fault`: called after a fault was seen (see `open_error`).
pub fn open_checked(node: &CStr, at_fault: bool) -> Result<Opened, Msg> {
    let path = show(node);
    // No O_CREAT: with no driver loaded, a missing node must stay missing.
    let fd = crate::fsutil::open(node, OFlag::O_WRONLY | OFlag::O_NOCTTY)
        .map_err(|e| open_error(node, e, at_fault))?;
    let st = fstat(&fd).map_err(|e| msg!("cannot stat {path}: {}", strerror(e)))?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if kind != SFlag::S_IFCHR {
        return Err(msg!(
            "{path} is a {}, not a watchdog device: a tool that opened it with O_CREAT while no driver was loaded \
             may have created it (py-stability-iot did); remove it and load the watchdog driver",
            crate::fsutil::kind(st.st_mode as u32)
        ));
    }
    // The open itself may have started a watchdog's timer: say so when the
    // device then fails, since the board may reset after all.
    const OPENED: &str = "; if it is a watchdog after all, the open may have started its timer, \
         so the board may still reset at the driver's default timeout";
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
            let name = if e == Errno::ENOTTY {
                "ENOTTY"
            } else {
                "EINVAL"
            };
            msg!(
                "{path} is not a watchdog: WDIOC_GETSUPPORT failed ({name}: {}){OPENED}",
                strerror(e)
            )
        }
        e => msg!("WDIOC_GETSUPPORT on {path} failed: {}{OPENED}", strerror(e)),
    })?;
    let identity = crate::msg::sanitize(until_nul(&info.identity));
    let mut bootstatus: libc::c_int = 0;
    // SAFETY: valid descriptor; `bootstatus` is a writable int as the request encodes.
    let boot =
        unsafe { uapi::wdioc_getbootstatus(raw, &mut bootstatus) }.map(|_| bootstatus as u32);
    match boot {
        Ok(bits) => crate::info!(
            "{path}: \"{identity}\", options {}, boot status {}",
            flag_names(info.options),
            flag_names(bits)
        ),
        Err(e) => crate::info!(
            "{path}: \"{identity}\", options {}, boot status unknown ({})",
            flag_names(info.options),
            strerror(e)
        ),
    }
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
            strerror(e)
        );
    }
    Ok(Opened {
        fd,
        options: info.options,
        rdev: st.st_rdev as libc::dev_t,
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

/// Which way to look when the driver refuses a timeout.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// The smallest it accepts above (forcing a reset: fast, never slower than needed).
    Up,
    /// The largest it accepts below (keepalive: never longer than asked), or
    /// if there is none (below the driver's minimum), the smallest above.
    Down,
}

impl Opened {
    fn raw(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    /// Sets `want` seconds, or the nearest timeout the driver accepts in the
    /// direction `search`, and returns what the driver reports afterwards.
    pub fn set_timeout(&self, node: &CStr, want: u32, search: Search) -> Result<u32, Msg> {
        let (path, raw) = (show(node), self.raw());
        if self.options & uapi::WDIOF_SETTIMEOUT == 0 {
            let now = gettimeout(raw).map_err(|e| {
                msg!(
                    "{path}: cannot change or read the timeout ({})",
                    strerror(e)
                )
            })?;
            crate::warning!("{path}: the driver cannot change its timeout; it stays at {now} s");
            return Ok(now);
        }
        let echoed = match settimeout(raw, want) {
            Ok(v) => v,
            Err(Errno::EINVAL) => {
                // Start from the sysfs limit when it is known, then walk.
                let num = DevNum::of(self.rdev);
                let limit = |attr: &str| sysfs::watchdog_attr_u32(num, attr);
                let up = || {
                    let first = limit("min_timeout")
                        .filter(|&m| m > want)
                        .unwrap_or(want.saturating_add(1));
                    (first..=first.saturating_add(3600))
                        .find_map(|t| settimeout(raw, t).ok())
                        .map(|v| (v, "smallest it accepts above"))
                };
                let down = || {
                    let first = limit("max_timeout")
                        .filter(|&m| m > 0 && m < want)
                        .unwrap_or(want.saturating_sub(1));
                    (1..=first)
                        .rev()
                        .find_map(|t| settimeout(raw, t).ok())
                        .map(|v| (v, "largest it accepts below"))
                };
                // Below the driver's minimum, Down finds nothing: the
                // smallest timeout above is then the nearest to the intent.
                let taken = match search {
                    Search::Up => up(),
                    Search::Down => down().or_else(up),
                };
                match taken {
                    Some((v, nearest)) => {
                        crate::warning!("{path}: the driver refused a {want} s timeout; using {v} s, the {nearest}");
                        v
                    }
                    None => {
                        let now = gettimeout(raw).unwrap_or(0);
                        crate::warning!("{path}: the driver refused a {want} s timeout and every other tried; it keeps {now} s");
                        now
                    }
                }
            }
            Err(e) => {
                return Err(msg!(
                    "{path}: WDIOC_SETTIMEOUT({want}) failed: {}",
                    strerror(e)
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

    /// One ping: WDIOC_KEEPALIVE, or a write of one byte (never 'V') if the
    /// driver lacks KEEPALIVEPING (a write always pings).
    pub fn ping(&self) -> nix::Result<()> {
        if self.options & uapi::WDIOF_KEEPALIVEPING != 0 {
            let mut dummy: libc::c_int = 0;
            // SAFETY: valid descriptor; `dummy` is a writable int as the request encodes.
            unsafe { uapi::wdioc_keepalive(self.raw(), &mut dummy) }.map(drop)
        } else {
            nix::unistd::write(&self.fd, b"\0").map(drop)
        }
    }

    /// Writes the magic 'V' and closes: the timer stops, unless the driver
    /// was loaded with nowayout.
    pub fn magic_close(self) -> nix::Result<()> {
        nix::unistd::write(&self.fd, b"V")?;
        nix::unistd::close(self.fd)
    }
}

/// Whether the watchdog behind `node` has nowayout set (sysfs), if known.
pub fn nowayout(node: &CStr) -> Option<bool> {
    let dir = sysfs::watchdog_dir(sysfs::char_device(node).ok()?)?;
    sysfs::attr(dir.as_bytes(), "nowayout").map(|v| v == "1")
}

/// Whether keepalive mode would work on this watchdog, from sysfs only (for
/// `probe`): options (Linux >= 6.4), nowayout and the timeout range.
pub fn keepalive_verdict(dir: &[u8], keepalive_timeout_s: u32) -> String {
    let Some(options) = sysfs::attr(dir, "options").and_then(|v| parse_flags(&v)) else {
        return "unknown (sysfs shows the options from Linux 6.4 on; opening the device would start it)".to_owned();
    };
    if options & uapi::WDIOF_MAGICCLOSE == 0 {
        return "not usable: no magic close, so the daemon's death would stop the watchdog"
            .to_owned();
    }
    let mut notes = String::new();
    if options & uapi::WDIOF_SETTIMEOUT == 0 {
        notes.push_str("; its timeout cannot be set");
    }
    if let Some(max) = sysfs::attr(dir, "max_timeout").and_then(|v| v.parse::<u32>().ok()) {
        if max > 0 && max < keepalive_timeout_s {
            let _ = write!(
                notes,
                "; keepalive_timeout would be cut to max_timeout {max} s"
            );
        }
    }
    if options & uapi::WDIOF_KEEPALIVEPING == 0 {
        notes.push_str("; pinged by writes (no KEEPALIVEPING)");
    }
    if sysfs::attr(dir, "nowayout").as_deref() == Some("1") {
        notes.push_str("; nowayout: stopping stability will reset the board");
    }
    format!("usable{notes}")
}

/// `0x8180` or `384` as bits.
pub fn parse_flags(text: &str) -> Option<u32> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The class device of a watchdog node, or why the node is not a watchdog.
/// The legacy node (10:130) of an old driver may have no class device.
pub fn sysfs_dir(path: &std::ffi::CStr, num: DevNum) -> Result<Option<std::ffi::CString>, String> {
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
            if let Some(v) = sysfs::attr(dir.as_bytes(), attr) {
                let _ = write!(out, ", {label}{v}");
            }
        }
    }
    let holders = crate::holders::holders(&aliases(num));
    if !holders.is_empty() {
        return Err(format!(
            "{out}: {}",
            crate::holders::watchdog_holder_advice(&holders)
        ));
    }
    Ok(out)
}
