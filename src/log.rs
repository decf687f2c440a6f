//! Log lines. Each is assembled in a stack buffer and written with a single
//! write(2): no allocation, no interleaving with other writers, nothing held
//! in a buffer when the board resets. Lines go to stderr as
//! `stability: <level>: <message>`; the reset path also copies its lines to
//! /dev/kmsg (`<2>stability: ...`), because stderr is usually lost at a reset
//! while the kernel log survives in pstore/ramoops and reaches syslog.

use core::fmt::{self, Write};
use std::os::fd::AsFd;

/// Syslog priorities, as /dev/kmsg and journald understand them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Critical => "critical",
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
        }
    }
}

/// The longest line written; longer text is cut and ends in "...".
const LINE_MAX: usize = 1024;

/// A line assembled on the stack.
pub struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
    cut: bool,
}

impl Line {
    pub fn new() -> Line {
        Line {
            buf: [0; LINE_MAX],
            len: 0,
            cut: false,
        }
    }

    /// The text with a final newline; a cut line ends in "...".
    pub fn finish(&mut self) -> &[u8] {
        let room = LINE_MAX - 4;
        if self.cut || self.len > room {
            let mut end = self.len.min(room);
            while end > 0 && (self.buf[end] & 0xc0) == 0x80 {
                end -= 1; // do not split a UTF-8 sequence
            }
            self.buf[end..end + 3].copy_from_slice(b"...");
            self.len = end + 3;
        }
        self.buf[self.len] = b'\n';
        &self.buf[..self.len + 1]
    }
}

impl Default for Line {
    fn default() -> Self {
        Line::new()
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE_MAX - 1 - self.len; // one byte kept for the newline
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            self.cut = true;
        }
        Ok(())
    }
}

/// The C library's text for an errno value (strerror(3)): "No such file or
/// directory". The one errno table in the program, shared with std.
pub fn strerror(e: nix::errno::Errno) -> Strerror {
    Strerror(e as libc::c_int)
}

/// See `strerror`.
#[derive(Clone, Copy)]
pub struct Strerror(libc::c_int);

impl fmt::Display for Strerror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        // SAFETY: strerror_r (the XSI one; the libc crate links glibc's under
        // that name) writes at most `buf.len()` bytes, the NUL included. Its
        // status is not needed: an unknown number gets a text too.
        unsafe { libc::strerror_r(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        let text = core::ffi::CStr::from_bytes_until_nul(&buf)
            .ok()
            .and_then(|t| t.to_str().ok())
            .filter(|t| !t.is_empty());
        match text {
            Some(t) => f.write_str(t),
            None => write!(f, "error {}", self.0),
        }
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

/// Writes to standard output, unbuffered: one write(2) per call, of text
/// formatted first (the commands' output, not the poll loop's). std's Stdout
/// would bring its line buffer, lock and exit-time flush (about 1 KB on
/// armv7) to print what a few commands print once.
pub fn out(args: fmt::Arguments) {
    match args.as_str() {
        Some(s) => out_str(s),
        None => out_str(&std::fmt::format(args)),
    }
}

/// Writes `text` to standard output as it is.
pub fn out_str(text: &str) {
    // SAFETY: descriptor 1 is only borrowed for this call; if it is closed,
    // write(2) fails with EBADF, which is ignored like any failed print.
    let stdout = unsafe { std::os::fd::BorrowedFd::borrow_raw(1) };
    let _ = write_all(stdout, text.as_bytes());
}

/// Writes one line to stderr.
pub fn log(level: Level, args: fmt::Arguments) {
    let mut line = Line::new();
    let _ = write!(line, "stability: {}: {}", level.word(), args);
    let _ = write_all(std::io::stderr(), line.finish());
}

/// Writes one line to the kernel log, where it outlives a reset.
pub fn kmsg(level: Level, args: fmt::Arguments) -> nix::Result<()> {
    use nix::fcntl::OFlag;
    let fd = crate::fsutil::open(
        "/dev/kmsg",
        OFlag::O_WRONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK,
    )?;
    let mut line = Line::new();
    let _ = write!(line, "<{}>stability: {}", level as u8, args);
    // The kernel takes a write as one record: never split it.
    nix::unistd::write(&fd, line.finish()).map(drop)
}

/// The fault path begins (`true`) or ends: log writes must not be able to
/// stall it. (Placeholder until the non-blocking sinks land: see issue 14.)
pub fn fault_path(_on: bool) {}

/// Logs to stderr and to the kernel log: for what must survive a reset.
pub fn durable(level: Level, args: fmt::Arguments) {
    log(level, args);
    if let Err(e) = kmsg(level, args) {
        log(
            Level::Warning,
            format_args!(
                "cannot write to /dev/kmsg ({}): this line will not survive a reset",
                strerror(e)
            ),
        );
    }
}

#[macro_export]
macro_rules! critical {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Critical, format_args!($($t)*)) };
}
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Error, format_args!($($t)*)) };
}
#[macro_export]
macro_rules! warning {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, format_args!($($t)*)) };
}
#[macro_export]
macro_rules! notice {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Notice, format_args!($($t)*)) };
}
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::log($crate::log::Level::Info, format_args!($($t)*)) };
}
/// Prints to stdout: `out!("{x}\n")` (no newline is added).
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::log::out(format_args!($($t)*)) };
}
/// Logs to stderr and /dev/kmsg: `durable!(Level::Critical, "...")`.
#[macro_export]
macro_rules! durable {
    ($level:expr, $($t:tt)*) => { $crate::log::durable($level, format_args!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_on_a_character_boundary_and_marked() {
        let mut line = Line::new();
        let _ = write!(line, "{}", "é".repeat(600));
        let out = line.finish();
        assert!(out.len() <= LINE_MAX);
        assert!(out.ends_with(b"...\n"));
        assert!(std::str::from_utf8(out).is_ok());
    }

    #[test]
    fn short_lines_are_kept_whole() {
        let mut line = Line::new();
        let _ = write!(line, "stability: {}: x", Level::Info.word());
        assert_eq!(line.finish(), b"stability: info: x\n");
    }
}
