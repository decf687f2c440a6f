//! The host side: the real daemon as the init of a PID namespace, host files
//! a hostile container aims at (content and timestamps), inotify to see any
//! open of a planted node or of a link's target, and CLOCK_BOOTTIME, the
//! clock of the reset record's `uptime`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::{Daemon, Sandbox};

/// The real daemon, `exec`ed as PID 1 of a fresh PID namespace (as in
/// tests/devices.rs): with `recovery_device = reboot`, reboot(2) ends that
/// namespace (its init dies of SIGHUP) instead of restarting this machine.
/// `--kill-child` takes it down if the test ends first.
pub fn daemon_in_pid_namespace(config: &str) -> Daemon {
    daemon_limited(config, None, None)
}

/// The same with only the capabilities in `bounding` (setpriv
/// --bounding-set, e.g. "+sys_boot,+fowner"), and at most `address_space_mib`
/// of virtual memory (ulimit -v).
pub fn daemon_limited(
    config: &str,
    bounding: Option<&str>,
    address_space_mib: Option<u32>,
) -> Daemon {
    let limit = address_space_mib.map_or(String::new(), |m| format!("ulimit -v {}; ", m * 1024));
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--kill-child", "--mount-proc"])
        .args([
            "sh",
            "-c",
            &format!("test $$ = 1 || exit 99; {limit}exec \"$@\""),
            "sh",
        ]);
    if let Some(caps) = bounding {
        cmd.args(["setpriv", &format!("--bounding-set=-all,{caps}"), "--"]);
    }
    cmd.arg(env!("CARGO_BIN_EXE_stability"))
        .args(["--config", config]);
    Daemon::start(&mut cmd)
}

/// Waits for the daemon to end; the exit that reboot(2) in its PID
/// namespace gives (SIGHUP), or a failure naming what happened instead.
pub fn wait_for_reboot(d: &mut Daemon, limit: Duration) {
    use std::os::unix::process::ExitStatusExt;
    let Some(status) = d.wait(limit) else {
        panic!("the daemon hung: no reset within {limit:?}\n{}", d.stderr());
    };
    assert_ne!(status.code(), Some(99), "no PID namespace here");
    assert_eq!(
        status.signal(),
        Some(libc::SIGHUP),
        "reboot(2) RB_AUTOBOOT ends the namespace's init with SIGHUP; got {status:?}\n{}",
        d.stderr()
    );
}

/// CLOCK_BOOTTIME in seconds: the clock of the record's `uptime` (the PID
/// namespace shares it with this process).
pub fn boottime() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime(2) into a local.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Wall-clock seconds of a `SystemTime`.
pub fn wall(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// A host file a container must never get the daemon to read or change.
pub struct HostFile {
    pub path: PathBuf,
    pub before: Snapshot,
}

/// Content and the three timestamps (ns), read without touching the atime.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Snapshot {
    pub content: Vec<u8>,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

pub fn snapshot(path: &Path) -> Snapshot {
    use std::io::Read;
    let mut content = Vec::new();
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path)
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    let m = std::fs::symlink_metadata(path).unwrap();
    Snapshot {
        content,
        atime: (m.atime(), m.atime_nsec()),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    }
}

pub const SECRET: &str = "HOST SECRET: the daemon must never read this";

impl HostFile {
    /// `$D/host/secret`, its atime set before its mtime so that any read
    /// (relatime) moves the atime.
    pub fn plant(sb: &Sandbox) -> HostFile {
        std::fs::create_dir_all(sb.path("host")).unwrap();
        let path = sb.path("host/secret");
        std::fs::write(&path, format!("{SECRET}\n")).unwrap();
        let t = |s| nix::sys::time::TimeSpec::from_duration(Duration::from_secs(s));
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &path,
            &t(1_000_000_000),
            &t(1_000_000_100),
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
        let before = snapshot(&path);
        HostFile { path, before }
    }

    /// Content, atime, mtime and ctime all as they were.
    pub fn assert_untouched(&self) {
        assert_eq!(
            snapshot(&self.path),
            self.before,
            "the host file {} was read or changed",
            self.path.display()
        );
    }
}

/// inotify on some paths: every open, read, write or attribute change of
/// them (or, for a directory, of the entries in it), as "open NAME" lines.
/// An O_PATH open (how the daemon looks at an indicator) makes no event; any
/// real open of a device node, a FIFO or a link's target does.
pub struct Accesses {
    fd: OwnedFd,
    watches: Vec<(i32, PathBuf)>,
}

impl Accesses {
    pub fn watch(paths: &[&Path]) -> Accesses {
        // SAFETY: inotify_init1(2); the fd is owned from here on.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            raw >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mask = libc::IN_OPEN | libc::IN_ACCESS | libc::IN_MODIFY | libc::IN_ATTRIB;
        let watches = paths
            .iter()
            .map(|p| {
                let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
                // SAFETY: a NUL-terminated path.
                let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), mask) };
                assert!(
                    wd >= 0,
                    "inotify_add_watch {}: {}",
                    p.display(),
                    std::io::Error::last_os_error()
                );
                (wd, p.to_path_buf())
            })
            .collect();
        Accesses { fd, watches }
    }

    /// The events so far: "open PATH", "access PATH", "modify PATH", "attrib PATH".
    pub fn events(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: read(2) into a local buffer.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return out;
            }
            let mut at = 0usize;
            while at + 16 <= n as usize {
                let int =
                    |o: usize| u32::from_ne_bytes(buf[at + o..at + o + 4].try_into().unwrap());
                let (wd, mask, len) = (int(0) as i32, int(4), int(12) as usize);
                let name = &buf[at + 16..at + 16 + len];
                let name = String::from_utf8_lossy(name)
                    .trim_end_matches('\0')
                    .to_owned();
                at += 16 + len;
                let base = self
                    .watches
                    .iter()
                    .find(|(w, _)| *w == wd)
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default();
                let what = if mask & libc::IN_OPEN != 0 {
                    "open"
                } else if mask & libc::IN_ACCESS != 0 {
                    "access"
                } else if mask & libc::IN_MODIFY != 0 {
                    "modify"
                } else if mask & libc::IN_ATTRIB != 0 {
                    "attrib"
                } else {
                    continue; // IN_IGNORED and the like
                };
                let path = if name.is_empty() {
                    base
                } else {
                    base.join(name)
                };
                out.push(format!("{what} {}", path.display()));
            }
        }
    }
}
