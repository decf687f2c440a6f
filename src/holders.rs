//! Which processes hold a device open, found in /proc without anything that
//! can block (readlink, never stat), and what to do about a watchdog held by
//! another: for `probe`, the busy-device messages and the RTC's.

use std::ffi::CString;
use std::fmt::Write as _;

use crate::sysfs::{any_entry, attr, DevNum};

/// A process holding a device open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub comm: String,
}

/// The processes found holding a device, and whether the search stopped at
/// one of its bounds before the end of /proc (there may be others).
#[derive(Clone, Debug, Default)]
pub struct Holders {
    pub list: Vec<Holder>,
    pub cut: bool,
}

impl core::ops::Deref for Holders {
    type Target = [Holder];
    fn deref(&self) -> &[Holder] {
        &self.list
    }
}

/// The search's bounds (README "Exit codes, signals, logs"): a board runs a few
/// hundred processes with tens of descriptors each. Past them the search
/// stops (`Holders::cut`) and the message says there may be other holders.
const MAX_PROCESSES: u32 = 4096;
const MAX_FDS_PER_PROCESS: u32 = 1024;
const MAX_FDS: u32 = 32_768;

/// Processes with an open file descriptor on any of `nums`, found with
/// nothing that can block: readlink(2) of /proc/PID/fd/N returns the name
/// the kernel keeps for the open file, without a lookup or a call into the
/// file system behind it, and is compared with the device's name under /dev
/// (DEVNAME in sysfs). A stat(2) of each descriptor, as before, asked the
/// file system of every open file, and waited for ever on a dead NFS or FUSE
/// mount. A holder that opened the device through another name (a node made
/// with mknod elsewhere, or in another mount namespace) is not found.
pub fn holders(nums: &[DevNum]) -> Holders {
    let mut found = Holders::default();
    // "/dev/watchdog0"
    let names: Vec<String> = nums
        .iter()
        .filter_map(|n| {
            let dir = format!("/sys/dev/char/{}:{}", n.major, n.minor);
            let uevent = attr(dir.as_bytes(), "uevent")?;
            let name = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME="))?;
            Some(format!("/dev/{name}"))
        })
        .collect();
    let me = std::process::id();
    let (mut processes, mut fds) = (0u32, 0u32);
    let proc = CString::new("/proc").unwrap_or_default();
    any_entry(&proc, &mut |name| {
        let Some(pid) = core::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|&pid| pid != me && !names.is_empty())
        else {
            return false;
        };
        processes += 1;
        if processes > MAX_PROCESSES || fds >= MAX_FDS {
            found.cut = true;
            return true;
        }
        // "/proc/PID/fd/N", NUL-terminated, on the stack: no allocation per
        // descriptor.
        let mut link = [0u8; 40];
        let mut len = 0;
        for part in [&b"/proc/"[..], name, b"/fd/"] {
            link[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        let fd_dir = CString::new(&link[..len - 1]).unwrap_or_default();
        let (mut seen, mut hit) = (0u32, false);
        any_entry(&fd_dir, &mut |fd| {
            if seen == MAX_FDS_PER_PROCESS || fds == MAX_FDS || len + fd.len() >= link.len() {
                found.cut = true;
                return true;
            }
            seen += 1;
            fds += 1;
            link[len..len + fd.len()].copy_from_slice(fd);
            link[len + fd.len()] = 0;
            let mut target = [0u8; 64];
            // SAFETY: `link` is NUL-terminated; readlink(2) writes at most
            // `target.len()` bytes into `target`.
            let n = unsafe {
                libc::readlink(
                    link.as_ptr().cast(),
                    target.as_mut_ptr().cast(),
                    target.len(),
                )
            };
            let target = usize::try_from(n).ok().and_then(|n| target.get(..n));
            hit = target.is_some_and(|t| names.iter().any(|name| name.as_bytes() == t));
            hit
        });
        if hit {
            let comm = attr(&link[..len - 4], "comm");
            found.list.push(Holder {
                pid,
                comm: comm.unwrap_or_else(|| "?".to_owned()),
            });
        }
        false
    });
    found
}

/// "pid 1 (systemd), pid 812 (watchdog)", or "" when there is none; a
/// search cut short says so.
pub fn show_holders(holders: &Holders) -> String {
    let mut out = String::new();
    for (i, h) in holders.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "pid {} ({})", h.pid, h.comm);
    }
    if holders.cut {
        out.push_str(if out.is_empty() { "" } else { "; " });
        out.push_str("/proc searched in part: there may be others");
    }
    out
}

/// What to do about a watchdog held by someone else, from who holds it.
pub fn watchdog_holder_advice(holders: &Holders) -> String {
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
    if holders.is_empty() && !holders.cut {
        advice.to_owned()
    } else {
        format!("held by {}; {advice}", show_holders(holders))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A process with more descriptors than the bound, /dev/null past it:
    /// not found, and the result says the search was cut short.
    #[test]
    fn the_search_is_bounded_and_says_so() {
        use std::process::{Command, Stdio};
        let script = "ulimit -n 4096 || exit 3
            i=10; while [ $i -lt 1100 ]; do eval \"exec $i</dev/zero\"; i=$((i+1)); done
            exec 1200</dev/null; exec sleep 10";
        let mut child = Command::new("bash")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let comm = format!("/proc/{}/comm", child.id());
        let mut ready = false;
        for _ in 0..1000 {
            if std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep") {
                ready = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let found = holders(&[DevNum { major: 1, minor: 3 }]);
        let _ = child.kill();
        let _ = child.wait();
        assert!(ready, "the child never got its descriptors");
        assert!(found.cut, "{found:?}");
        assert!(!found.iter().any(|h| h.pid == child.id()), "{found:?}");
        assert!(show_holders(&found).contains("there may be others"));
    }

    #[test]
    fn advice_names_the_holder() {
        let systemd = Holders {
            list: vec![Holder {
                pid: 1,
                comm: "systemd".into(),
            }],
            cut: false,
        };
        assert!(watchdog_holder_advice(&systemd).contains("RuntimeWatchdogSec"));
        assert!(watchdog_holder_advice(&systemd).starts_with("held by pid 1 (systemd)"));
    }
}
