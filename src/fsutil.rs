//! Opening and reading files with few system calls. musl's open() follows
//! every O_CLOEXEC open with an fcntl(F_SETFD) (for kernels older than
//! 2.6.23); openat(AT_FDCWD, ...) does not, so every open in the crate goes
//! through here. Files are read into a buffer sized from fstat: one read(2)
//! for the data, one to see the end.

use core::fmt;
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sys::stat::Mode;
use nix::sys::stat::SFlag;
use nix::NixPath;
use std::ffi::{CStr, CString};
use std::os::fd::AsFd;
use std::os::fd::OwnedFd;

/// openat(AT_FDCWD, path, flags | O_CLOEXEC).
pub fn open<P: ?Sized + NixPath>(path: &P, flags: OFlag) -> nix::Result<OwnedFd> {
    openat(AT_FDCWD, path, flags | OFlag::O_CLOEXEC, Mode::empty())
}

/// Reads an open file to its end, refusing more than `limit` bytes; `size`
/// is what fstat said (a hint: the file may change).
pub fn read_to_end(fd: &OwnedFd, size: libc::off_t, limit: usize) -> nix::Result<Vec<u8>> {
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

/// `path` with every symbolic link, `.` and `..` resolved, as the kernel
/// sees it: opened with O_PATH (which opens no device and reads nothing) and
/// read back from /proc/self/fd. None if it does not exist or /proc is not
/// mounted. (musl's realpath(3) walks the path itself with two PATH_MAX
/// buffers on the stack; nix's readlink allocates, which musl serves with an
/// mmap and a munmap: this is two system calls and no heap.)
pub fn realpath(path: &CStr) -> Option<CString> {
    let fd = open(path, OFlag::O_PATH).ok()?;
    let mut buf = [0u8; libc::PATH_MAX as usize];
    let n = proc_fd_path(&fd)
        .as_str()
        .with_nix_path(|link| {
            // SAFETY: `link` is a NUL-terminated path; readlink(2) writes at
            // most `buf.len()` bytes into `buf`.
            unsafe { libc::readlink(link.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) }
        })
        .ok()?;
    // Failed, or filled the buffer (the name may be cut): not trusted.
    let resolved = buf.get(..usize::try_from(n).ok().filter(|&n| n < buf.len())?)?;
    // A deleted or unreachable target reads back with a suffix or no leading '/'.
    if !resolved.starts_with(b"/") || resolved.ends_with(b" (deleted)") {
        return None;
    }
    CString::new(resolved).ok()
}

/// `/proc/self/fd/N`: the name through which the kernel reopens, or reads
/// the target of, an open descriptor.
pub fn proc_fd_path<Fd: std::os::fd::AsRawFd>(fd: &Fd) -> heapless::String<32> {
    use std::fmt::Write as _;
    let mut path = heapless::String::new();
    // 14 bytes and at most 10 digits: it always fits.
    let _ = write!(path, "/proc/self/fd/{}", fd.as_raw_fd());
    path
}

/// The value of environment variable `name` (given with its final NUL:
/// `b"PATH\0"`), if set. (std::env::var_os
/// copies it under std's environment lock: 0.5 KB on armv7 for the two
/// variables read here.)
pub fn getenv(name: &[u8]) -> Option<&'static [u8]> {
    let name = CStr::from_bytes_with_nul(name).ok()?;
    // SAFETY: getenv(3) only reads the environment and returns a pointer
    // into it or NULL. Nothing in this program changes the environment (no
    // setenv, putenv or std::env::set_var), so the string stays valid and
    // unchanged for the life of the process.
    let value = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: a non-NULL result is a NUL-terminated string (see above).
    (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) }.to_bytes())
}

/// Shows a C-string path for messages, as Path::display does: its bytes as
/// UTF-8, each invalid sequence as U+FFFD (without std's padding support,
/// which the messages do not use: 0.2 KB on armv7).
pub fn show(path: &CStr) -> Show<'_> {
    Show(path.to_bytes())
}

/// See `show`.
pub struct Show<'a>(&'a [u8]);

impl fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        loop {
            match core::str::from_utf8(rest) {
                Ok(text) => return f.write_str(text),
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    f.write_str(core::str::from_utf8(good).unwrap_or_default())?;
                    f.write_str("\u{fffd}")?;
                    rest = &bad[e.error_len().unwrap_or(bad.len())..];
                }
            }
        }
    }
}

/// A file type in words, from an `st_mode`.
pub fn kind(mode: u32) -> &'static str {
    match SFlag::from_bits_truncate(mode as libc::mode_t) & SFlag::S_IFMT {
        SFlag::S_IFREG => "regular file",
        SFlag::S_IFLNK => "symlink",
        SFlag::S_IFDIR => "directory",
        SFlag::S_IFIFO => "FIFO",
        SFlag::S_IFSOCK => "socket",
        SFlag::S_IFCHR => "character device",
        SFlag::S_IFBLK => "block device",
        _ => "unknown file type",
    }
}

/// Writes all of `bytes` to `fd`, retrying after EINTR and partial writes.
pub fn write_all<Fd: AsFd>(fd: Fd, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match nix::unistd::write(&fd, bytes) {
            Ok(0) => return Err(nix::errno::Errno::EIO),
            Ok(n) => bytes = &bytes[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
