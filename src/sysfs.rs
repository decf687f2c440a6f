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
/// cannot be read. A read error ends the listing. getdents64(2) into a
/// buffer on the stack: musl's opendir/readdir would allocate and cost 0.3 KB.
fn any_entry(dir: &CStr, found: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    use nix::fcntl::OFlag;
    use std::os::fd::AsRawFd;
    let Ok(fd) = fsutil::open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY) else {
        return false;
    };
    let mut buf = [0u8; 2048];
    loop {
        // SAFETY: getdents64(2) writes at most `buf.len()` bytes into `buf`
        // from the open directory `fd`.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        let Some(filled) = usize::try_from(n).ok().filter(|&n| n > 0) else {
            return false;
        };
        // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16,
        // d_type u8, then the NUL-terminated name.
        let mut at = 0;
        while at + 19 < filled {
            let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
            let record = &buf[at + 19..(at + reclen).min(filled)];
            let name = &record[..record.iter().position(|&b| b == 0).unwrap_or(record.len())];
            if name != b"." && name != b".." && found(name) {
                return true;
            }
            if reclen == 0 {
                return false;
            }
            at += reclen;
        }
    }
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
