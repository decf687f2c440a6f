//! What the kernel says about a device without the device being opened:
//! sysfs attributes and which class device a /dev node is (who holds it:
//! `holders`). Opening /dev/watchdog starts the watchdog, so everything
//! `probe` and `status` report comes from here.

use nix::sys::stat::SFlag;
use std::ffi::{CStr, CString};
use std::fmt::Write as _;

use crate::fsutil;
use crate::fsutil::show;
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
            crate::fsutil::kind(st.st_mode as u32)
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
pub(crate) fn any_entry(dir: &CStr, found: &mut dyn FnMut(&[u8]) -> bool) -> bool {
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
}
