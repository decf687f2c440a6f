//! Small `key=value` files in state_dir, replaced atomically: written to a
//! temporary name, fsync'ed, renamed over the old file, and the directory
//! fsync'ed. A reader (or a board that loses power at any instant) sees the
//! old file or the new one, never a torn mix; a failed write (full or
//! read-only filesystem) leaves the old file as it was.

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use nix::unistd::{fsync, unlinkat, UnlinkatFlags};
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};

use crate::fsutil::show;
use crate::log::strerror;

/// The largest state file read; they are a few hundred bytes.
const MAX_BYTES: usize = 16 * 1024;

fn open_dir(dir: &CStr) -> Result<OwnedFd, String> {
    crate::fsutil::open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(|e| dir_error(dir, e))
}

fn dir_error(dir: &CStr, e: Errno) -> String {
    let fix = match e {
        Errno::ENOENT => {
            "; it is created at start-up: check that its parent exists and is writable"
        }
        Errno::ENOTDIR => {
            "; something else (a file?) has its name: move it away or set another state_dir"
        }
        _ => "",
    };
    format!("cannot open state_dir {}: {}{fix}", show(dir), strerror(e))
}

/// Creates state_dir (and missing parents) if it does not exist, and checks
/// that it is a directory stability can write to.
pub fn ensure_dir(dir: &CStr) -> Result<(), String> {
    // With a trailing slash, access(2) also fails unless it is a directory.
    let mut slashed = dir.to_bytes().to_vec();
    slashed.push(b'/');
    let slashed = std::ffi::CString::new(slashed).map_err(|_| "a NUL byte in a path".to_owned())?;
    let writable = || nix::unistd::access(slashed.as_c_str(), nix::unistd::AccessFlags::W_OK);
    match writable() {
        Ok(()) => return Ok(()),
        Err(Errno::ENOENT) => create_dir_all(dir.to_bytes())
            .map_err(|e| format!("cannot create state_dir {}: {}", show(dir), strerror(e)))?,
        Err(e @ (Errno::ENOTDIR | Errno::ELOOP)) => return Err(dir_error(dir, e)),
        Err(_) => {}
    }
    writable().map_err(|e| {
        format!(
            "state_dir {} is not writable: {}; the guard counter and reset record cannot be kept",
            show(dir),
            strerror(e)
        )
    })
}

/// mkdir -p, mode 0755: `path` and its missing parents, as
/// std::fs::DirBuilder::recursive does it (a directory that appears meanwhile
/// is fine).
fn create_dir_all(path: &[u8]) -> nix::Result<()> {
    let mode = Mode::from_bits_truncate(0o755);
    let is_dir = || {
        nix::sys::stat::stat(path)
            .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR)
    };
    match nix::unistd::mkdir(path, mode) {
        Ok(()) => return Ok(()),
        Err(Errno::ENOENT) => {}
        Err(_) if is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    let trimmed = &path[..path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1)];
    let parent = &trimmed[..trimmed.iter().rposition(|&b| b == b'/').unwrap_or(0)];
    if !parent.is_empty() {
        create_dir_all(parent)?;
    }
    match nix::unistd::mkdir(path, mode) {
        Err(_) if is_dir() => Ok(()),
        other => other,
    }
}

fn tmp_name(name: &str) -> heapless::String<64> {
    let mut tmp = heapless::String::new();
    let _ = tmp.push_str(".");
    let _ = tmp.push_str(name);
    let _ = tmp.push_str(".tmp");
    tmp
}

/// Replaces `dir/name` with `contents`, atomically and durably.
pub fn write_atomic(dir: &CStr, name: &str, contents: &[u8]) -> Result<(), String> {
    let dirfd = open_dir(dir)?;
    let tmp = tmp_name(name);
    let fail = |what: &str, e: Errno| {
        let hint = match e {
            Errno::ENOSPC | Errno::EDQUOT => "; free space there or set state_dir elsewhere",
            Errno::EROFS => "; state_dir must be on writable storage",
            Errno::EACCES | Errno::EPERM => {
                "; run stability as root or fix the directory's permissions"
            }
            _ => "",
        };
        format!(
            "cannot {what} {}/{name}: {}{hint} (the previous {name} is kept)",
            show(dir),
            strerror(e)
        )
    };
    let fd = openat(
        &dirfd,
        tmp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(|e| fail("create a temporary file for", e))?;
    let written = crate::fsutil::write_all(&fd, contents).and_then(|()| fsync(&fd));
    drop(fd);
    if let Err(e) = written {
        let _ = unlinkat(&dirfd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(fail("write", e));
    }
    renameat(&dirfd, tmp.as_str(), &dirfd, name).map_err(|e| {
        let _ = unlinkat(&dirfd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        fail("rename into place", e)
    })?;
    fsync(&dirfd).map_err(|e| fail("fsync the directory of", e))
}

/// `dir/name` as a C string.
fn join(dir: &CStr, name: &str) -> Result<std::ffi::CString, String> {
    let mut path = dir.to_bytes().to_vec();
    path.push(b'/');
    path.extend_from_slice(name.as_bytes());
    std::ffi::CString::new(path).map_err(|_| "a NUL byte in a path".to_owned())
}

/// Whether `dir/name` is there (anything but "no such file" counts as
/// there, so that a doubt keeps what the caller would write).
pub fn exists(dir: &CStr, name: &str) -> bool {
    let Ok(path) = join(dir, name) else {
        return true;
    };
    !matches!(
        nix::sys::stat::lstat(path.as_c_str()),
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR)
    )
}

/// Reads `dir/name`: Ok(None) when it (or the directory) does not exist.
pub fn read(dir: &CStr, name: &str) -> Result<Option<String>, String> {
    let path = join(dir, name)?;
    let fd = match crate::fsutil::open(
        path.as_c_str(),
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK,
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(Errno::ELOOP) => return Err(format!("{} is a symlink (not followed)", show(&path))),
        Err(e) => return Err(format!("cannot open {}: {}", show(&path), strerror(e))),
    };
    let st =
        fstat(fd.as_fd()).map_err(|e| format!("cannot stat {}: {}", show(&path), strerror(e)))?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(format!("{} is not a regular file", show(&path)));
    }
    let bytes = crate::fsutil::read_to_end(&fd, st.st_size, MAX_BYTES)
        .map_err(|e| format!("cannot read {}: {}", show(&path), strerror(e)))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The name of a memory-backed filesystem holding `dir`, if it is one.
pub fn volatile_fs(dir: &CStr) -> Option<&'static str> {
    let st = nix::sys::statfs::statfs(dir).ok()?;
    let t = st.filesystem_type();
    if t == nix::sys::statfs::TMPFS_MAGIC {
        Some("tmpfs")
    } else if t.0 as i64 == 0x8584_58f6 {
        // RAMFS_MAGIC, which nix does not name
        Some("ramfs")
    } else {
        None
    }
}

/// The value of `key` in `key=value` text (the first occurrence).
pub fn value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn tempdir(tag: &str) -> (std::path::PathBuf, CString) {
        let p =
            std::env::temp_dir().join(format!("stability-statefile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        let c = CString::new(p.to_str().unwrap()).unwrap();
        (p, c)
    }

    #[test]
    fn write_replaces_and_leaves_no_temporary_file() {
        let (p, c) = tempdir("replace");
        write_atomic(&c, "f", b"a=1\n").unwrap();
        write_atomic(&c, "f", b"a=2\n").unwrap();
        assert_eq!(read(&c, "f").unwrap().as_deref(), Some("a=2\n"));
        assert_eq!(std::fs::read_dir(&p).unwrap().count(), 1);
        std::fs::remove_dir_all(&p).unwrap();
    }

    #[test]
    fn missing_file_reads_as_none_and_values_are_found() {
        let (p, c) = tempdir("missing");
        assert_eq!(read(&c, "nope").unwrap(), None);
        assert_eq!(value("a=1\nb=x=y\n", "b"), Some("x=y"));
        assert_eq!(value("a=1\n", "c"), None);
        std::fs::remove_dir_all(&p).unwrap();
    }

    #[test]
    fn a_symlink_in_place_of_the_file_is_not_followed() {
        let (p, c) = tempdir("link");
        std::fs::write(p.join("target"), "secret=1\n").unwrap();
        std::os::unix::fs::symlink(p.join("target"), p.join("f")).unwrap();
        assert!(read(&c, "f").is_err());
        std::fs::remove_dir_all(&p).unwrap();
    }
}
