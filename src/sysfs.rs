//! What the kernel says about a device without the device being opened:
//! sysfs attributes, which class device a /dev node is, and which processes
//! hold it open (from /proc). Opening /dev/watchdog starts the watchdog, so
//! everything `probe` and `status` report comes from here.

use nix::sys::stat::SFlag;
use std::ffi::{CStr, CString};
use std::fmt::Write as _;

use crate::config::show;
use crate::fsutil;
use crate::log::strerror;

/// A character device's numbers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// The numbers of a `st_rdev`.
    // libc's dev_t differs in width between targets.
    #[allow(clippy::useless_conversion)]
    pub fn of(rdev: libc::dev_t) -> DevNum {
        DevNum {
            major: libc::major(rdev) as u32,
            minor: libc::minor(rdev) as u32,
        }
    }
}

/// The legacy /dev/watchdog node (misc 10:130), an alias of watchdog0.
pub const LEGACY_WATCHDOG: DevNum = DevNum {
    major: 10,
    minor: 130,
};

/// The class directory of watchdog0, the legacy node's alias.
pub const WATCHDOG0: &str = "/sys/class/watchdog/watchdog0";

fn is_char_device(st: &nix::sys::stat::FileStat) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR
}

/// stat(2) of a device path (following links: device paths are the
/// administrator's), which must be a character device.
pub fn char_device(path: &CStr) -> Result<DevNum, String> {
    let st = nix::sys::stat::stat(path).map_err(|e| format!("{}: {}", show(path), strerror(e)))?;
    if !is_char_device(&st) {
        return Err(format!(
            "{} is a {}, not a character device",
            show(path),
            crate::indicator::kind(st.st_mode as u32)
        ));
    }
    Ok(DevNum::of(st.st_rdev as libc::dev_t))
}

/// `dir/name`; neither holds a NUL byte (names come from this crate or from
/// readdir).
pub fn join(dir: &[u8], name: &str) -> CString {
    join_bytes(dir, name.as_bytes())
}

fn join_bytes(dir: &[u8], name: &[u8]) -> CString {
    let mut path = Vec::with_capacity(dir.len() + name.len() + 2);
    path.extend_from_slice(dir);
    path.push(b'/');
    path.extend_from_slice(name);
    CString::new(path).unwrap_or_default()
}

/// Reads a small sysfs or procfs file, trimmed; None if it is absent,
/// unreadable or not UTF-8 text.
pub fn read_text(path: &CStr) -> Option<String> {
    let mut buf = [0u8; 4096];
    let bytes = fsutil::read_small(path, &mut buf).ok()?;
    core::str::from_utf8(bytes)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Reads a sysfs attribute, trimmed; None if it is absent or unreadable.
pub fn attr(dir: &[u8], name: &str) -> Option<String> {
    read_text(&join(dir, name))
}

/// Calls `found` with the name of each entry of a directory ("." and ".."
/// left out) until it returns true; false if it never did, or the directory
/// cannot be read. A read error ends the listing.
fn any_entry(dir: &CStr, found: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    use nix::fcntl::OFlag;
    let Ok(entries) =
        fsutil::open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY).and_then(nix::dir::Dir::from_fd)
    else {
        return false;
    };
    for entry in entries.into_iter().map_while(Result::ok) {
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." && found(name) {
            return true;
        }
    }
    false
}

/// The class device (`/sys/class/<class>/<name>`) whose `dev` is `num`.
pub fn class_device(class: &str, num: DevNum) -> Option<CString> {
    let want = format!("{}:{}", num.major, num.minor);
    let dir = join(b"/sys/class", class);
    let mut device = None;
    any_entry(&dir, &mut |name| {
        let path = join_bytes(dir.as_bytes(), name);
        let hit = attr(path.as_bytes(), "dev").as_deref() == Some(want.as_str());
        if hit {
            device = Some(path);
        }
        hit
    });
    device
}

/// The watchdog class device of a /dev node (the legacy node is watchdog0).
pub fn watchdog_dir(num: DevNum) -> Option<CString> {
    if num == LEGACY_WATCHDOG {
        let dir = CString::new(WATCHDOG0).unwrap_or_default();
        return nix::sys::stat::stat(dir.as_c_str()).is_ok().then_some(dir);
    }
    class_device("watchdog", num)
}

/// A numeric attribute of the watchdog behind `num`, read without
/// allocating (for the fault path): `/sys/dev/char/MAJ:MIN/<attr>`, which the
/// kernel links to the class device, or watchdog0's for the legacy node.
pub fn watchdog_attr_u32(num: DevNum, attr: &str) -> Option<u32> {
    let mut path: heapless::String<96> = heapless::String::new();
    if num == LEGACY_WATCHDOG {
        write!(path, "{WATCHDOG0}/{attr}").ok()?;
    } else {
        write!(path, "/sys/dev/char/{}:{}/{attr}", num.major, num.minor).ok()?;
    }
    let mut buf = [0u8; 32];
    let text = fsutil::read_small(path.as_str(), &mut buf).ok()?;
    core::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// A process holding a device open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub comm: String,
}

/// Processes with an open file descriptor on any of `nums`.
pub fn holders(nums: &[DevNum]) -> Vec<Holder> {
    let mut found = Vec::new();
    let me = std::process::id();
    let proc = CString::new("/proc").unwrap_or_default();
    any_entry(&proc, &mut |name| {
        let Some(pid) = core::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&pid| pid != me)
        else {
            return false;
        };
        let proc_dir = format!("/proc/{pid}");
        let fd_dir = join(proc_dir.as_bytes(), "fd");
        let holds = any_entry(&fd_dir, &mut |fd| {
            nix::sys::stat::stat(join_bytes(fd_dir.as_bytes(), fd).as_c_str()).is_ok_and(|st| {
                is_char_device(&st) && nums.contains(&DevNum::of(st.st_rdev as libc::dev_t))
            })
        });
        if holds {
            let comm = attr(proc_dir.as_bytes(), "comm").unwrap_or_else(|| "?".to_owned());
            found.push(Holder { pid, comm });
        }
        false
    });
    found
}

/// "pid 1 (systemd), pid 812 (watchdog)", or "" when there is none.
pub fn show_holders(holders: &[Holder]) -> String {
    let mut out = String::new();
    for (i, h) in holders.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "pid {} ({})", h.pid, h.comm);
    }
    out
}

/// What to do about a watchdog held by someone else, from who holds it.
pub fn watchdog_holder_advice(holders: &[Holder]) -> String {
    // A substring test without str::contains's two-way searcher.
    let has = |comm: &str, word: &str| {
        comm.as_bytes()
            .windows(word.len())
            .any(|w| w == word.as_bytes())
    };
    let advice = if holders
        .iter()
        .any(|h| h.pid == 1 && has(&h.comm, "systemd"))
    {
        "systemd holds it: set RuntimeWatchdogSec=0 (RuntimeWatchdogSec=off) in /etc/systemd/system.conf, or let stability use another watchdog"
    } else if holders.iter().any(|h| h.comm == "stability") {
        "stability's own daemon holds it (wdt_mode = keepalive): another stability process cannot use it; create the indicator to have the daemon reset the board"
    } else if holders.iter().any(|h| has(&h.comm, "watchdogd")) {
        "watchdogd holds it: stop and disable watchdogd, or choose one of the two"
    } else if holders
        .iter()
        .any(|h| h.comm == "watchdog" || h.comm == "busybox")
    {
        "a watchdog daemon (BusyBox or the classic watchdog) holds it: stop it and remove it from the init scripts"
    } else if holders.is_empty() {
        "no holder found in /proc (another PID namespace, or the kernel itself?): often systemd's RuntimeWatchdogSec, watchdogd or BusyBox watchdog"
    } else {
        "stop that process, or let stability use another watchdog"
    };
    if holders.is_empty() {
        advice.to_owned()
    } else {
        format!("held by {}; {advice}", show_holders(holders))
    }
}

/// The sleep states the kernel offers now (`/sys/power/state`).
pub fn sleep_states() -> Result<String, String> {
    let mut buf = [0u8; 4096];
    let bytes = fsutil::read_small("/sys/power/state", &mut buf)
        .map_err(|e| format!("cannot read /sys/power/state: {}", strerror(e)))?;
    Ok(String::from_utf8_lossy(bytes).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_null_is_a_character_device_and_a_directory_is_not() {
        let null = char_device(CStr::from_bytes_with_nul(b"/dev/null\0").unwrap()).unwrap();
        assert_eq!(null, DevNum { major: 1, minor: 3 });
        let err = char_device(CStr::from_bytes_with_nul(b"/\0").unwrap()).unwrap_err();
        assert!(err.contains("directory, not a character device"), "{err}");
    }

    #[test]
    fn holders_of_a_device_this_test_opens_are_found_in_proc() {
        // A child holds /dev/null open; we are excluded from the scan, it is not.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .stdin(std::fs::File::open("/dev/null").unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let found = holders(&[DevNum { major: 1, minor: 3 }]);
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.iter().any(|h| h.pid == child.id()), "{found:?}");
    }

    #[test]
    fn advice_names_the_holder() {
        let systemd = [Holder {
            pid: 1,
            comm: "systemd".into(),
        }];
        assert!(watchdog_holder_advice(&systemd).contains("RuntimeWatchdogSec"));
        assert!(watchdog_holder_advice(&systemd).starts_with("held by pid 1 (systemd)"));
    }
}
