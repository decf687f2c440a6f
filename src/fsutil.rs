//! Opening and reading files with few system calls. musl's open() follows
//! every O_CLOEXEC open with an fcntl(F_SETFD) (for kernels older than
//! 2.6.23); openat(AT_FDCWD, ...) does not, so every open in the crate goes
//! through here. Files are read into a buffer sized from fstat: one read(2)
//! for the data, one to see the end.

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sys::stat::Mode;
use nix::NixPath;
use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;

/// openat(AT_FDCWD, path, flags | O_CLOEXEC).
pub fn open<P: ?Sized + NixPath>(path: &P, flags: OFlag) -> nix::Result<OwnedFd> {
    openat(AT_FDCWD, path, flags | OFlag::O_CLOEXEC, Mode::empty())
}

/// Reads an open file to its end, refusing more than `limit` bytes; `size`
/// is what fstat said (a hint: the file may change).
pub fn read_to_end(fd: &OwnedFd, size: i64, limit: usize) -> nix::Result<Vec<u8>> {
    let hint = usize::try_from(size).unwrap_or(0);
    let mut buf = vec![0u8; hint.min(limit) + 1];
    let mut len = 0;
    loop {
        if len == buf.len() {
            if buf.len() > limit {
                return Err(Errno::EFBIG);
            }
            buf.resize((buf.len() * 2).min(limit + 1), 0);
        }
        match nix::unistd::read(fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Reads a small file (sysfs, procfs) into `buf` without allocating; a file
/// longer than `buf` is cut. A short read is taken as the end, as it is for
/// these files, which saves the read(2) that would return 0.
pub fn read_small<'b, P: ?Sized + NixPath>(path: &P, buf: &'b mut [u8]) -> nix::Result<&'b [u8]> {
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_NOCTTY)?;
    let mut len = 0;
    while len < buf.len() {
        match nix::unistd::read(&fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if len < buf.len() {
                    break;
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(&buf[..len])
}

/// realpath(3): `path` with every symbolic link, `.` and `..` resolved;
/// None if it cannot be resolved.
pub fn realpath(path: &CStr) -> Option<CString> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `path` is a C string and `buf` has the PATH_MAX bytes realpath
    // may write, the NUL included.
    let resolved = unsafe { libc::realpath(path.as_ptr(), buf.as_mut_ptr().cast()) };
    if resolved.is_null() {
        return None;
    }
    CStr::from_bytes_until_nul(&buf).ok().map(CStr::to_owned)
}
