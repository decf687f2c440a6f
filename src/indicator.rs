//! The indicator file, which an untrusted container controls.
//!
//! - Presence: one lstat(2) per poll. Any file type counts, a symlink
//!   included, and a link is never followed.
//! - Reason: the first 256 bytes, only of a regular file. The file is opened
//!   with O_PATH|O_NOFOLLOW (which opens no device, FIFO or link target and
//!   cannot block), its type checked on that very inode, and only then reopened
//!   for reading through /proc/self/fd: a file swapped after the check is not
//!   the one read. Bytes are sanitized to printable ASCII.
//! - Consuming: unlink (a link goes, not its target; an empty directory is
//!   removed), then fsync of the directory, so a persistent volume cannot bring
//!   the indicator back after the reset.
//!
//! The directory holding the indicator is resolved once (symlinks in the
//! configured path, such as /var/run -> /run, are the administrator's) and is
//! then walked component by component without following links, so a
//! container that turns a directory into a link cannot redirect a read or an
//! unlink to the host's files. A directory that does not exist at start-up
//! (the daemon starts before tmpfiles and the container engine) is resolved
//! when it appears: until then each poll is one lstat of the directory
//! instead of the indicator. Links in it are followed then, as at start-up:
//! if an untrusted container could create that directory, create it before
//! stability starts.

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, lstat, FileStat, Mode, SFlag};
use nix::unistd::{fsync, unlinkat, UnlinkatFlags};
use std::cell::OnceCell;
use std::ffi::{CStr, CString};
use std::fmt::Write as _;
use std::os::fd::{AsFd, OwnedFd};

use crate::fsutil::show;
use crate::fsutil::{self, kind};
use crate::log::strerror;
use crate::msg::sanitize;

pub use crate::msg::{Reason, REASON_BYTES};

/// The indicator's path, split for safe access.
#[derive(Clone, Debug)]
pub struct Indicator {
    /// The path polled with lstat: the resolved directory plus the name (as
    /// configured while the directory has not appeared).
    pub path: CString,
    /// The directory, resolved at start-up when it existed.
    dir: CString,
    /// The last component.
    name: CString,
    /// The directory and path resolved when the directory appeared; unset
    /// while `late` and it has not.
    found: OnceCell<(CString, CString)>,
    /// The directory did not exist at start-up.
    late: bool,
}

/// What one poll saw.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Presence {
    Absent,
    Present(u32),
    /// lstat failed for another reason than "no such file".
    Unknown(Errno),
}

impl Indicator {
    /// Splits the configured path and resolves its directory if it exists.
    pub fn new(configured: &CStr) -> Indicator {
        let bytes = configured.to_bytes();
        let cut = bytes.iter().rposition(|&b| b == b'/').unwrap_or(0);
        let name = CString::new(&bytes[cut + 1..]).unwrap_or_default();
        let dir_bytes = if cut == 0 { &b"/"[..] } else { &bytes[..cut] };
        let dir_bytes = CString::new(dir_bytes).unwrap_or_default();
        let resolved = fsutil::realpath(&dir_bytes);
        let late = resolved.is_none();
        let dir = resolved.unwrap_or(dir_bytes);
        Indicator {
            path: join(&dir, &name),
            dir,
            name,
            found: OnceCell::new(),
            late,
        }
    }

    /// One poll: a single lstat(2), no allocation (but once, when a
    /// directory missing at start-up has appeared).
    pub fn presence(&self) -> Presence {
        if !self.late {
            return presence(&self.path);
        }
        if let Some((_, path)) = self.found.get() {
            return presence(path);
        }
        // stat, not lstat: the directory is there once what it names (a
        // link's target too) is.
        match nix::sys::stat::stat(self.dir.as_c_str()) {
            Ok(_) => {
                // Resolved as at start-up; without /proc it cannot be, and
                // the path stays as configured, as it would have then.
                let (_, path) = self.found.get_or_init(|| {
                    let dir = fsutil::realpath(&self.dir).unwrap_or_else(|| self.dir.clone());
                    let path = join(&dir, &self.name);
                    (dir, path)
                });
                presence(path)
            }
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Presence::Absent,
            Err(e) => Presence::Unknown(e),
        }
    }

    /// The directory as resolved so far.
    fn dir(&self) -> &CStr {
        self.found.get().map_or(&self.dir, |(dir, _)| dir)
    }

    /// Opens the directory without following any link on the way.
    fn open_dir(&self) -> Result<OwnedFd, String> {
        open_dir_nofollow(self.dir())
    }

    /// The reason the indicator gives: its first bytes if it is a regular
    /// file, else a description of what it is.
    pub fn reason(&self) -> Reason {
        let mut out = Reason::new();
        let said = self
            .open_dir()
            .and_then(|dir| read_reason(&dir, &self.name, &mut out));
        if let Err(why) = said {
            out.clear();
            let _ = write!(out, "({why})");
        }
        out
    }

    /// The reason for the record and the log: the first bytes, or for an
    /// empty file or one that is not read, what it is.
    pub fn reason_or_kind(&self) -> Reason {
        let mut said = self.reason();
        if said.is_empty() {
            let _ = said.push_str("(regular file, empty)");
        }
        said
    }

    /// Removes the indicator and makes the removal durable.
    pub fn consume(&self) -> Result<(), String> {
        let dir = self.open_dir()?;
        let removed = match unlinkat(&dir, self.name.as_c_str(), UnlinkatFlags::NoRemoveDir) {
            Err(Errno::EISDIR) | Err(Errno::EPERM) if is_dir_at(&dir, &self.name) => {
                unlinkat(&dir, self.name.as_c_str(), UnlinkatFlags::RemoveDir)
            }
            other => other,
        };
        match removed {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(Errno::ENOTEMPTY) | Err(Errno::EEXIST) => {
                return Err(format!(
                    "{} is a directory with files in it: not removed (remove it by hand)",
                    show(&self.path)
                ))
            }
            Err(e) => {
                return Err(format!(
                    "cannot remove {}: {}",
                    show(&self.path),
                    strerror(e)
                ))
            }
        }
        fsync(&dir).map_err(|e| format!("cannot fsync {}: {}", show(self.dir()), strerror(e)))
    }
}

/// `dir/name`.
fn join(dir: &CStr, name: &CStr) -> CString {
    let mut path = dir.to_bytes().to_vec();
    if path.last() != Some(&b'/') {
        path.push(b'/');
    }
    path.extend_from_slice(name.to_bytes());
    CString::new(path).unwrap_or_default()
}

/// lstat(2) of `path`, classified.
// libc's time_t, c_long and mode_t differ in width between targets.
#[allow(clippy::useless_conversion)]
pub fn presence(path: &CStr) -> Presence {
    match lstat(path) {
        Ok(st) => Presence::Present(u32::from(st.st_mode)),
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Presence::Absent,
        Err(e) => Presence::Unknown(e),
    }
}

fn is_dir_at(dir: &OwnedFd, name: &CStr) -> bool {
    nix::sys::stat::fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map(|st| file_type(&st) == SFlag::S_IFDIR)
        .unwrap_or(false)
}

fn file_type(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
}

/// Opens `dir` as a directory, refusing to follow a symlink in any component.
pub fn open_dir_nofollow(dir: &CStr) -> Result<OwnedFd, String> {
    let fail = |e: Errno| {
        let why = match e {
            Errno::ELOOP | Errno::ENOTDIR => {
                "a component is a symlink or not a directory (not followed)".to_owned()
            }
            e => strerror(e).to_string(),
        };
        format!("cannot open directory {}: {why}", show(dir))
    };
    let mut fd = fsutil::open("/", OFlag::O_PATH | OFlag::O_DIRECTORY).map_err(fail)?;
    let components: Vec<&[u8]> = dir
        .to_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    for (i, component) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        let flags = OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        // The last one is opened for real, so it can be fsync'ed.
        let flags = if last {
            flags | OFlag::O_RDONLY
        } else {
            flags | OFlag::O_PATH
        };
        let name = CString::new(*component).map_err(|_| fail(Errno::EINVAL))?;
        fd = openat(&fd, name.as_c_str(), flags, Mode::empty()).map_err(fail)?;
    }
    if components.is_empty() {
        fd = fsutil::open("/", OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(fail)?;
    }
    Ok(fd)
}

/// Reads the first bytes of `dir/name` into `out` if it is a regular file.
fn read_reason(dir: &OwnedFd, name: &CStr, out: &mut Reason) -> Result<(), String> {
    let pathfd = match openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Err("gone before it could be read".to_owned()),
        Err(e) => return Err(format!("cannot open: {}", strerror(e))),
    };
    let st = fstat(pathfd.as_fd()).map_err(|e| format!("cannot stat: {}", strerror(e)))?;
    if file_type(&st) != SFlag::S_IFREG {
        return Err(format!("{}, not read", kind(st.st_mode as u32)));
    }
    // Reopen the very inode checked above for reading.
    let fd = fsutil::open(
        fsutil::proc_fd_path(&pathfd).as_str(),
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
    )
    .map_err(|e| match e {
        Errno::ENOENT => "not read: /proc is not mounted".to_owned(),
        e => format!("cannot read: {}", strerror(e)),
    })?;
    let again = fstat(fd.as_fd()).map_err(|e| format!("cannot stat: {}", strerror(e)))?;
    if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) {
        return Err("changed while being read, not read".to_owned());
    }
    let mut buf = [0u8; REASON_BYTES];
    let mut len = 0;
    while len < buf.len() {
        match nix::unistd::read(&fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("cannot read: {}", strerror(e))),
        }
    }
    *out = sanitize(&buf[..len]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_split_and_resolved() {
        let i = Indicator::new(c_str(b"/proc/self/../self/status\0"));
        assert_eq!(i.name.as_bytes(), b"status");
        assert!(i.path.to_bytes().ends_with(b"/status"));
        let root = Indicator::new(c_str(b"/x\0"));
        assert_eq!(root.dir.as_bytes(), b"/");
        assert_eq!(root.path.as_bytes(), b"/x");
    }

    fn c_str(b: &[u8]) -> &CStr {
        CStr::from_bytes_with_nul(b).unwrap()
    }
}
