//! Log lines: where they go, and that writing one never blocks.
//!
//! Each line is assembled in a stack buffer and written with one system
//! call: no allocation, no interleaving with other writers, nothing held in
//! a buffer when the board resets. `init()`, called first thing in `main`,
//! decides once where lines go, from what stderr is:
//!
//! - the journal (systemd sets `JOURNAL_STREAM` to stderr's device:inode):
//!   `<3>message`, so that journald files each line at its priority;
//! - /dev/null, as `start-stop-daemon --background` leaves it under BusyBox
//!   or SysV init (a closed stderr too: std opens /dev/null in its place):
//!   syslog, one datagram per line to /dev/log, facility daemon,
//!   `<27>stability[PID]: message`, without a timestamp (syslogd adds its
//!   own, and none is computed here, so no time zone file is read);
//! - anything else (a terminal, a pipe, a file): `stability: error: message`.
//!
//! Lines that must outlive a reset (`durable!`) also go to the kernel log,
//! /dev/kmsg (`<2>stability: message`), first: it survives in
//! pstore/ramoops and never waits on storage. It is opened here once and
//! kept, so the fault path opens nothing.
//!
//! No write may block the thread that logs (the fault path runs through
//! here while storage, journald or a terminal may be stuck): sockets are
//! written with MSG_DONTWAIT, and a pipe, FIFO or terminal through a file
//! description of its own opened with O_NONBLOCK (through /proc/self/fd/2,
//! so the one shared with other processes keeps its flags). A regular file
//! cannot be written without blocking: while a fault is handled
//! (`fault_path(true)`) its lines wait in a fixed 4 KiB buffer and are
//! written once the fault path is over (if the board is still up). A line that cannot be written at once is dropped and
//! counted, and the next line that gets through says how many were lost.
//!
//! Where lines go is process-wide state (atomics), so that any thread (the
//! keepalive pinger, a storage worker) can log without a handle: the one
//! global besides the signal flags.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU8, Ordering::Relaxed};
use std::os::fd::IntoRawFd;

use crate::fsutil::write_all;

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

/// The longest line written; longer text is cut and ends in "...". The
/// kernel refuses a /dev/kmsg record longer than 992 bytes before Linux 6.1.
const LINE_MAX: usize = 976;

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
    put_str(1, text);
}

/// Writes `text` to standard error as it is (usage errors, before logging).
pub fn err_str(text: &str) {
    put_str(2, text);
}

fn put_str(fd: i32, text: &str) {
    put_str_bytes(fd, text.as_bytes());
}

fn put_str_bytes(fd: i32, bytes: &[u8]) {
    // SAFETY: the descriptor is only borrowed for this call; if it is
    // closed, write(2) fails with EBADF, ignored like any failed print.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let _ = write_all(fd, bytes);
}

/// What stderr turned out to be, and so how lines are written.
mod kind {
    /// Not decided (`init` not called): plain writes to stderr.
    pub const UNSET: u8 = 0;
    /// A regular file, or anything that cannot be written without blocking:
    /// write(2), skipped on the fault path.
    pub const BLOCKING: u8 = 1;
    /// A pipe, FIFO or terminal, through a private O_NONBLOCK description.
    pub const NONBLOCK: u8 = 2;
    /// A socket that is not the journal: send(2) with MSG_DONTWAIT.
    pub const SOCKET: u8 = 3;
    /// The journal's stream socket: as SOCKET, with the `<N>` prefix.
    pub const JOURNAL: u8 = 4;
    /// Syslog datagrams to /dev/log.
    pub const SYSLOG: u8 = 5;
}

/// Syslog's facility `daemon` (3 << 3).
const LOG_DAEMON: u8 = 24;

/// Where lines go; see the module comment.
struct Sinks {
    kind: AtomicU8,
    /// The descriptor lines are written to (stderr, its private reopening,
    /// or the /dev/log socket); -1: none.
    fd: AtomicI32,
    /// /dev/kmsg, or -1 with `kmsg_errno` saying why.
    kmsg: AtomicI32,
    kmsg_errno: AtomicI32,
    /// The missing /dev/kmsg has been reported.
    kmsg_said: AtomicBool,
    /// The fault path is under way: skip what may block.
    fault: AtomicBool,
    /// Lines lost since the last one that got through.
    dropped: AtomicU32,
    /// For the syslog tag.
    pid: AtomicU32,
}

static SINKS: Sinks = Sinks::new();

/// Decides where lines go (see the module comment) and opens /dev/kmsg.
/// Call it once, first thing in `main`, before any thread starts; later
/// calls do nothing. Until it is called, lines go to stderr with blocking
/// writes and the kernel log is not reached.
pub fn init() {
    SINKS.init();
}

/// The fault path begins (`true`) or is over (`false`): while it runs, a
/// stderr that may block (a regular file, which waits on storage) is not
/// written; its lines wait in a fixed buffer (`DEFERRED`, what does not fit
/// is counted) and are written when the fault path is over. The kernel log
/// has the durable ones at once.
pub fn fault_path(on: bool) {
    SINKS.fault.store(on, Relaxed);
    if !on {
        DEFERRED.flush(SINKS.fd.load(Relaxed));
    }
}

/// Lines held back from a blocking stderr during the fault path.
struct Deferred {
    busy: AtomicBool,
    buf: core::cell::UnsafeCell<([u8; DEFERRED_BYTES], usize)>,
}

const DEFERRED_BYTES: usize = 4096;

// SAFETY: `buf` is touched only by the thread that set `busy` from false to
// true, and `busy` is cleared (Release) after the last touch.
unsafe impl Sync for Deferred {}

static DEFERRED: Deferred = Deferred {
    busy: AtomicBool::new(false),
    buf: core::cell::UnsafeCell::new(([0; DEFERRED_BYTES], 0)),
};

impl Deferred {
    fn take(&self) -> bool {
        self.busy
            .compare_exchange(false, true, core::sync::atomic::Ordering::Acquire, Relaxed)
            .is_ok()
    }

    fn give(&self) {
        self.busy
            .store(false, core::sync::atomic::Ordering::Release);
    }

    /// Keeps `line`; false if it does not fit (or the buffer is being
    /// flushed this very moment): it is then counted as lost.
    fn keep(&self, line: &[u8]) -> bool {
        if !self.take() {
            return false;
        }
        // SAFETY: `busy` is ours (see `Sync` above).
        let (buf, len) = unsafe { &mut *self.buf.get() };
        let fits = *len + line.len() <= buf.len();
        if fits {
            buf[*len..*len + line.len()].copy_from_slice(line);
            *len += line.len();
        }
        self.give();
        fits
    }

    /// Writes what was kept to `fd` (it may block: never on the fault path).
    fn flush(&self, fd: i32) {
        let mut copy = [0u8; DEFERRED_BYTES];
        if !self.take() {
            return;
        }
        // SAFETY: `busy` is ours.
        let (buf, len) = unsafe { &mut *self.buf.get() };
        let n = *len;
        copy[..n].copy_from_slice(&buf[..n]);
        *len = 0;
        self.give();
        if n > 0 {
            put_str_bytes(fd, &copy[..n]);
        }
    }
}

/// Writes one line where lines go.
pub fn log(level: Level, args: fmt::Arguments) {
    SINKS.line(level, args);
}

/// Writes one line to the kernel log, where it outlives a reset.
pub fn kmsg(level: Level, args: fmt::Arguments) -> nix::Result<()> {
    SINKS.kmsg(level, args)
}

/// The kernel log first, then where lines go: for what must survive a reset.
pub fn durable(level: Level, args: fmt::Arguments) {
    SINKS.durable(level, args);
}

impl Sinks {
    const fn new() -> Sinks {
        Sinks {
            kind: AtomicU8::new(kind::UNSET),
            fd: AtomicI32::new(2),
            kmsg: AtomicI32::new(-1),
            kmsg_errno: AtomicI32::new(libc::EBADF),
            kmsg_said: AtomicBool::new(false),
            fault: AtomicBool::new(false),
            dropped: AtomicU32::new(0),
            pid: AtomicU32::new(0),
        }
    }

    fn init(&self) {
        use nix::fcntl::OFlag;
        use nix::sys::stat::SFlag;
        if self.kind.load(Relaxed) != kind::UNSET {
            return;
        }
        let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
        match crate::fsutil::open("/dev/kmsg", flags) {
            Ok(fd) => self.kmsg.store(fd.into_raw_fd(), Relaxed),
            Err(e) => self.kmsg_errno.store(e as i32, Relaxed),
        }
        // SAFETY: descriptor 2 is only borrowed for this call.
        let st = nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(2) });
        let (kind, fd) = match st.as_ref().map(|st| {
            (
                SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT,
                st.st_rdev,
            )
        }) {
            Ok((SFlag::S_IFSOCK, _)) if st.as_ref().is_ok_and(is_journal) => (kind::JOURNAL, 2),
            Ok((SFlag::S_IFSOCK, _)) => (kind::SOCKET, 2),
            Ok((SFlag::S_IFCHR, rdev)) if rdev == libc::makedev(1, 3) => self.syslog(),
            Ok((SFlag::S_IFIFO | SFlag::S_IFCHR, _)) => {
                match crate::fsutil::open("/proc/self/fd/2", flags) {
                    Ok(fd) => (kind::NONBLOCK, fd.into_raw_fd()),
                    Err(_) => (kind::BLOCKING, 2),
                }
            }
            Ok(_) => (kind::BLOCKING, 2),
            Err(_) => self.syslog(),
        };
        self.fd.store(fd, Relaxed);
        self.kind.store(kind, Relaxed);
    }

    /// A datagram socket connected to /dev/log (connected again later if
    /// syslogd was not up yet or restarts).
    fn syslog(&self) -> (u8, i32) {
        self.pid.store(std::process::id(), Relaxed);
        // SAFETY: socket(2) takes no pointers; the descriptor it returns is
        // kept for the life of the process. (The raw system call: musl's
        // wrapper carries a fallback for kernels older than 2.6.27.)
        let fd = unsafe {
            libc::syscall(
                libc::SYS_socket,
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                0,
            )
        } as i32;
        connect_dev_log(fd);
        (kind::SYSLOG, fd)
    }

    fn line(&self, level: Level, args: fmt::Arguments) {
        let kind = self.kind.load(Relaxed);
        let defer = kind <= kind::BLOCKING && self.fault.load(Relaxed);
        let mut line = Line::new();
        let _ = match kind {
            kind::JOURNAL => write!(line, "<{}>", level as u8),
            kind::SYSLOG => write!(
                line,
                "<{}>stability[{}]: ",
                LOG_DAEMON + level as u8,
                self.pid.load(Relaxed)
            ),
            _ => write!(line, "stability: {}: ", level.word()),
        };
        let _ = line.write_fmt(args);
        let dropped = self.dropped.swap(0, Relaxed);
        if dropped > 0 {
            let _ = write!(line, " (log lines lost before this one: {dropped})");
        }
        let bytes = line.finish();
        let done = if defer {
            DEFERRED.keep(bytes)
        } else {
            self.put(kind, bytes)
        };
        if !done {
            self.dropped.fetch_add(dropped + 1, Relaxed);
        }
    }

    /// One write of `bytes` that does not block (but for BLOCKING and
    /// UNSET); whether all of it went out.
    fn put(&self, kind: u8, bytes: &[u8]) -> bool {
        let fd = self.fd.load(Relaxed);
        loop {
            let n = match kind {
                kind::SOCKET | kind::JOURNAL | kind::SYSLOG => {
                    // SAFETY: `bytes` is a valid buffer of that length; a bad
                    // descriptor only makes send(2) fail.
                    unsafe {
                        libc::send(
                            fd,
                            bytes.as_ptr().cast(),
                            bytes.len(),
                            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                        )
                    }
                }
                kind::NONBLOCK => {
                    // SAFETY: as above; the descriptor is O_NONBLOCK.
                    unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) }
                }
                _ => {
                    // SAFETY: descriptor 2 is only borrowed for this call.
                    let stderr = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                    return write_all(stderr, bytes).is_ok();
                }
            };
            if n >= 0 {
                return n as usize == bytes.len();
            }
            match nix::errno::Errno::last() {
                nix::errno::Errno::EINTR => {}
                // syslogd was not up yet, or restarted: its socket is new.
                // (Not on the fault path: connect looks the path up.)
                nix::errno::Errno::ECONNREFUSED
                | nix::errno::Errno::ENOTCONN
                | nix::errno::Errno::ENOENT
                    if kind == kind::SYSLOG && !self.fault.load(Relaxed) =>
                {
                    if !connect_dev_log(fd) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }

    fn kmsg(&self, level: Level, args: fmt::Arguments) -> nix::Result<()> {
        let fd = self.kmsg.load(Relaxed);
        if fd < 0 {
            return Err(nix::errno::Errno::from_raw(self.kmsg_errno.load(Relaxed)));
        }
        let mut line = Line::new();
        let _ = write!(line, "<{}>stability: {args}", level as u8);
        let bytes = line.finish();
        // The kernel takes a write as one record: never split it.
        // SAFETY: `bytes` is a valid buffer of that length.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if written < 0 {
            return Err(nix::errno::Errno::last());
        }
        // The kernel lets each open /dev/kmsg pass 10 lines per 5 s (unless
        // printk.devkmsg=on) and drops the rest silently. Away from the fault
        // path, a fresh description takes the place of the one just used, so
        // that a fault finds the whole allowance.
        if !self.fault.load(Relaxed) {
            let flags = nix::fcntl::OFlag::O_WRONLY
                | nix::fcntl::OFlag::O_NONBLOCK
                | nix::fcntl::OFlag::O_NOCTTY;
            if let Ok(fresh) = crate::fsutil::open("/dev/kmsg", flags) {
                // SAFETY: both are open descriptors; dup3(2) replaces `fd`
                // atomically, so a writer in another thread uses one or the
                // other. `fresh` is closed when dropped. (The raw system
                // call: musl's wrapper adds a retry loop and a fallback.)
                unsafe {
                    libc::syscall(
                        libc::SYS_dup3,
                        std::os::fd::AsRawFd::as_raw_fd(&fresh),
                        fd,
                        libc::O_CLOEXEC,
                    )
                };
            }
        }
        Ok(())
    }

    fn durable(&self, level: Level, args: fmt::Arguments) {
        if let Err(e) = self.kmsg(level, args) {
            if !self.kmsg_said.swap(true, Relaxed) {
                self.line(
                    Level::Warning,
                    format_args!(
                        "cannot write to /dev/kmsg ({}): no line will survive a reset",
                        strerror(e)
                    ),
                );
            }
        }
        self.line(level, args);
    }
}

/// Whether `st` is the stream systemd connected to the journal.
// libc's dev_t and ino_t differ in width between targets.
#[allow(clippy::useless_conversion)]
fn is_journal(st: &nix::sys::stat::FileStat) -> bool {
    let value = crate::fsutil::getenv(b"JOURNAL_STREAM\0")
        .and_then(|v| core::str::from_utf8(v).ok())
        .and_then(|v| v.split_once(':'));
    value.is_some_and(|(dev, ino)| {
        dev.parse::<u64>().ok() == Some(u64::from(st.st_dev))
            && ino.parse::<u64>().ok() == Some(u64::from(st.st_ino))
    })
}

/// connect(2) of a datagram socket to /dev/log; whether it worked.
fn connect_dev_log(fd: i32) -> bool {
    // SAFETY: an all-zero sockaddr_un is valid (AF_UNSPEC, empty path).
    let mut addr: libc::sockaddr_un = unsafe { core::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(b"/dev/log") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: `addr` is a sockaddr_un of the size passed; a bad descriptor
    // only makes connect(2) fail.
    let rc = unsafe {
        libc::connect(
            fd,
            (&addr as *const libc::sockaddr_un).cast(),
            core::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    rc == 0
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
/// Logs to the kernel log and where lines go: `durable!(Level::Critical, "...")`.
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

    /// A stderr that is a regular file can block on hung storage: on the
    /// fault path it is skipped, and the next line after it says so.
    #[test]
    fn the_fault_path_holds_a_regular_file_back_and_writes_it_after() {
        use std::os::fd::AsRawFd;
        let path = std::env::temp_dir().join(format!("stability-log-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let sinks = Sinks::new();
        sinks.kind.store(kind::BLOCKING, Relaxed);
        sinks.fd.store(file.as_raw_fd(), Relaxed);
        sinks.line(Level::Info, format_args!("before"));
        sinks.fault.store(true, Relaxed);
        sinks.line(Level::Critical, format_args!("during the fault"));
        sinks.durable(Level::Critical, format_args!("and durable"));
        let during = std::fs::read_to_string(&path).unwrap();
        sinks.fault.store(false, Relaxed);
        DEFERRED.flush(file.as_raw_fd());
        sinks.line(Level::Notice, format_args!("after"));
        let after = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(during, "stability: info: before\n");
        // The missing /dev/kmsg's own warning was held back too.
        assert_eq!(
            after,
            "stability: info: before\nstability: critical: during the fault\n\
             stability: warning: cannot write to /dev/kmsg (Bad file descriptor): no line will survive a reset\n\
             stability: critical: and durable\nstability: notice: after\n"
        );
    }

    /// A pipe nobody drains: the write returns at once, the line is counted.
    #[test]
    fn a_full_pipe_is_not_waited_for() {
        use std::os::fd::AsRawFd;
        let (read_end, write_end) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .unwrap();
        let mut filled = 0;
        while let Ok(n) = nix::unistd::write(&write_end, &[b'.'; 4096]) {
            filled += n;
        }
        let sinks = Sinks::new();
        sinks.kind.store(kind::NONBLOCK, Relaxed);
        sinks.fd.store(write_end.as_raw_fd(), Relaxed);
        sinks.line(Level::Error, format_args!("lost"));
        assert_eq!(sinks.dropped.load(Relaxed), 1);
        let mut buf = vec![0u8; filled + 4096];
        let mut drained = 0;
        while let Ok(n) = nix::unistd::read(&read_end, &mut buf[drained..]) {
            if n == 0 {
                break;
            }
            drained += n;
        }
        assert_eq!(drained, filled, "nothing of the lost line went in");
        sinks.line(Level::Error, format_args!("through"));
        let n = nix::unistd::read(&read_end, &mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            b"stability: error: through (log lines lost before this one: 1)\n"
        );
    }

    #[test]
    fn short_lines_are_kept_whole() {
        let mut line = Line::new();
        let _ = write!(line, "stability: {}: x", Level::Info.word());
        assert_eq!(line.finish(), b"stability: info: x\n");
    }
}
