//! Measurement hooks, compiled only with `--features bench` and never into
//! the shipped binary: bench/ and the soak test use them.
//!
//! With `STABILITY_BENCH_POLLS=N` in the environment the daemon polls N times
//! and exits 0, and `checking_interval = 0` means back-to-back polls (a busy
//! loop for the measurement) instead of a single run. A counting global
//! allocator counts every allocation; at the 1000th poll (or the first, when
//! N is smaller) and at the end the daemon prints one line to stderr:
//!
//! `bench: poll=N allocs=A poll_allocs=P vmrss_kb=R rssanon_kb=A fds=F`
//!
//! where `allocs` counts allocations since the process started and
//! `poll_allocs` those made by the polls since the previous line (the
//! report's own allocations excluded).

use core::fmt::Write as _;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// Allocations made by the main thread only (the storage worker may
/// allocate, the fault path on the main thread must not).
static MAIN_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// The main thread's pthread_t, set by `watch_main_thread`.
static MAIN_THREAD: AtomicUsize = AtomicUsize::new(0);

fn count() {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: pthread_self cannot fail and allocates nothing.
    let me = unsafe { libc::pthread_self() } as usize;
    if me == MAIN_THREAD.load(Ordering::Relaxed) {
        MAIN_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// From now on, allocations by the calling thread are also counted apart.
pub fn watch_main_thread() {
    // SAFETY: as in `count`.
    MAIN_THREAD.store(unsafe { libc::pthread_self() } as usize, Ordering::Relaxed);
}

/// Allocations by the main thread so far.
pub fn main_allocations() -> usize {
    MAIN_ALLOCATIONS.load(Ordering::Relaxed)
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations so far.
pub fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// The poll budget of a measurement run.
pub struct Polls {
    limit: u64,
    done: u64,
    checkpoint: u64,
    /// Allocations when the previous report finished.
    base: usize,
}

impl Polls {
    /// From `STABILITY_BENCH_POLLS`; None outside a measurement run.
    pub fn from_env() -> Option<Polls> {
        let limit = std::env::var("STABILITY_BENCH_POLLS").ok()?.parse().ok()?;
        Some(Polls {
            limit,
            done: 0,
            checkpoint: 1000.min(limit),
            base: allocations(),
        })
    }

    /// Counts a poll; true when the budget is spent.
    pub fn after_poll(&mut self) -> bool {
        self.done += 1;
        if self.done == self.checkpoint || self.done == self.limit {
            report(self.done, self.base);
            self.base = allocations();
        }
        self.done >= self.limit
    }
}

fn report(poll: u64, base: usize) {
    // Counted before this report runs; the report itself allocates nothing.
    let allocs = allocations();
    // Run the whole measurement once and throw it away: the second pass then
    // finds every page of this code already resident, at every checkpoint.
    let _ = measure();
    let (vmrss, rssanon, fds) = measure();
    let mut line = crate::log::Line::new();
    let _ = write!(
        line,
        "bench: poll={poll} allocs={allocs} poll_allocs={} vmrss_kb={vmrss} rssanon_kb={rssanon} fds={fds}",
        allocs - base
    );
    let _ = crate::fsutil::write_all(std::io::stderr(), line.finish());
}

/// VmRSS and RssAnon (kB) from /proc/self/status, and the open descriptors,
/// read into stack buffers.
fn measure() -> (u64, u64, u32) {
    let mut buf = [0u8; 4096];
    let status = crate::fsutil::read_small("/proc/self/status", &mut buf).unwrap_or(&[]);
    let status = core::str::from_utf8(status).unwrap_or("");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or(0)
    };
    // F_GETFD succeeds for every open descriptor, with no allocation.
    let fds = (0..1024)
        // SAFETY: fcntl(F_GETFD) on any number only reads the descriptor
        // table (EBADF when closed); no descriptor is used or changed.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        .count() as u32;
    (field("VmRSS:"), field("RssAnon:"), fds)
}
