//! What the kernel says about a device without the device being opened:
//! sysfs attributes, which class device a /dev node is, and which processes
//! hold it open (from /proc). Opening /dev/watchdog starts the watchdog, so
//! everything `probe` and `status` report comes from here.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use crate::config::show;

/// A character device's numbers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

/// The legacy /dev/watchdog node (misc 10:130), an alias of watchdog0.
pub const LEGACY_WATCHDOG: DevNum = DevNum {
    major: 10,
    minor: 130,
};

/// stat(2) of a device path (following links: device paths are the
/// administrator's), which must be a character device.
pub fn char_device(path: &CStr) -> Result<DevNum, String> {
    let st = nix::sys::stat::stat(path).map_err(|e| format!("{}: {}", show(path), e.desc()))?;
    let kind =
        nix::sys::stat::SFlag::from_bits_truncate(st.st_mode) & nix::sys::stat::SFlag::S_IFMT;
    if kind != nix::sys::stat::SFlag::S_IFCHR {
        return Err(format!(
            "{} is a {}, not a character device",
            show(path),
            crate::indicator::kind(st.st_mode as u32)
        ));
    }
    let rdev = st.st_rdev as libc::dev_t;
    Ok(DevNum {
        major: libc::major(rdev) as u32,
        minor: libc::minor(rdev) as u32,
    })
}

/// Reads a sysfs attribute, trimmed; None if it is absent or unreadable.
pub fn attr(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The class device (`/sys/class/<class>/<name>`) whose `dev` is `num`.
pub fn class_device(class: &str, num: DevNum) -> Option<PathBuf> {
    let want = format!("{}:{}", num.major, num.minor);
    let dir = Path::new("/sys/class").join(class);
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| attr(p, "dev").as_deref() == Some(want.as_str()))
}

/// The watchdog class device of a /dev node (the legacy node is watchdog0).
pub fn watchdog_dir(num: DevNum) -> Option<PathBuf> {
    if num == LEGACY_WATCHDOG {
        let dir = PathBuf::from("/sys/class/watchdog/watchdog0");
        return dir.exists().then_some(dir);
    }
    class_device("watchdog", num)
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
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    let me = std::process::id();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            std::fs::metadata(fd.path()).is_ok_and(|m| {
                m.file_type().is_char_device() && {
                    let rdev = m.rdev() as libc::dev_t;
                    let num = DevNum {
                        major: libc::major(rdev) as u32,
                        minor: libc::minor(rdev) as u32,
                    };
                    nums.contains(&num)
                }
            })
        });
        if holds {
            let comm = attr(&entry.path(), "comm").unwrap_or_else(|| "?".to_owned());
            found.push(Holder { pid, comm });
        }
    }
    found
}

/// "pid 1 (systemd), pid 812 (watchdog)", or "" when there is none.
pub fn show_holders(holders: &[Holder]) -> String {
    let mut out = String::new();
    for (i, h) in holders.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("pid {} ({})", h.pid, h.comm));
    }
    out
}

/// What to do about a watchdog held by someone else, from who holds it.
pub fn watchdog_holder_advice(holders: &[Holder]) -> String {
    let who = show_holders(holders);
    let mut advice = String::new();
    if holders
        .iter()
        .any(|h| h.pid == 1 && h.comm.contains("systemd"))
    {
        advice.push_str("systemd holds it: set RuntimeWatchdogSec=0 (RuntimeWatchdogSec=off) in /etc/systemd/system.conf, or let stability use another watchdog");
    } else if holders.iter().any(|h| h.comm.contains("watchdogd")) {
        advice.push_str("watchdogd holds it: stop and disable watchdogd, or choose one of the two");
    } else if holders
        .iter()
        .any(|h| h.comm == "watchdog" || h.comm == "busybox")
    {
        advice.push_str("a watchdog daemon (BusyBox or the classic watchdog) holds it: stop it and remove it from the init scripts");
    } else if holders.is_empty() {
        advice.push_str("no holder found in /proc (another PID namespace, or the kernel itself?): often systemd's RuntimeWatchdogSec, watchdogd or BusyBox watchdog");
    } else {
        advice.push_str("stop that process, or let stability use another watchdog");
    }
    if who.is_empty() {
        advice
    } else {
        format!("held by {who}; {advice}")
    }
}

/// The sleep states the kernel offers now (`/sys/power/state`).
pub fn sleep_states() -> Result<String, String> {
    std::fs::read_to_string("/sys/power/state")
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("cannot read /sys/power/state: {e}"))
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
