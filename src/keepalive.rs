//! Keepalive mode (`wdt_mode = keepalive`): stability owns the watchdog from
//! start-up and pings it while the system is healthy, so a hung kernel, an
//! OOM storm or the daemon's own death resets the board too, not only a
//! fault it sees.
//!
//! The pings come from a small thread. A poll can block in the kernel (an
//! lstat on a dead network mount or a hung FUSE filesystem); if the main loop
//! pinged, such a poll would stop the pings silently and the board would
//! reset with nothing said. The thread keeps pinging while a poll is stuck
//! and says so once; with `stall_timeout` set, it stops pinging once a poll
//! has been stuck that long, after saying so in the kernel log, and the
//! watchdog resets the board `keepalive_timeout` later.
//!
//! A fault takes the on-fault path; the chain's watchdog step then stops the
//! pings and sets the short `wdt_timeout` on the descriptor held here. A
//! deliberate stop (SIGTERM) writes the magic 'V' when `disarm_on_exit` is
//! set; any other end of the process leaves the watchdog armed.

use core::sync::atomic::{AtomicU32, Ordering};
use std::ffi::CString;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::{self, secs};
use crate::config::{show, WatchdogConfig};
use crate::log::{strerror, Level};
use crate::uapi;
use crate::watchdog::{self, Opened, Search};

/// `polling_since` when no poll is under way.
const IDLE: u32 = 0;

struct Shared {
    dog: Mutex<Option<Opened>>,
    state: Mutex<State>,
    wake: Condvar,
    /// When the poll under way began: 1 + milliseconds since `base_ms`,
    /// wrapping (32-bit MIPS has no 64-bit atomics; a poll is far shorter
    /// than the 49 days a wrap takes), or IDLE.
    polling_since: AtomicU32,
    /// CLOCK_BOOTTIME when the keeper started.
    base_ms: u64,
    interval_ms: u64,
    stall_ms: u64,
    timeout_s: u32,
    /// sysfs said nowayout at start: the magic close cannot stop it.
    nowayout: bool,
    path: CString,
}

struct State {
    pinging: bool,
    stop: bool,
}

impl Shared {
    /// Milliseconds since the keeper started, wrapping at 32 bits.
    fn now(&self) -> u32 {
        clock::boottime_ms().wrapping_sub(self.base_ms) as u32
    }
}

/// The watchdog, owned and pinged.
pub struct Keeper {
    shared: Arc<Shared>,
    thread: Option<Pinger>,
}

impl Keeper {
    /// Opens the watchdog with every check of the on-fault path, sets the
    /// keepalive timeout, pings once and starts the pinger.
    pub fn start(cfg: &WatchdogConfig) -> Result<Keeper, String> {
        let node = cfg.path.as_c_str();
        let path = show(node);
        let dog = watchdog::open_checked(node)?;
        let magicclose = dog.options & uapi::WDIOF_MAGICCLOSE != 0;
        if !magicclose {
            durable!(
                Level::Critical,
                "keepalive: {path} has no magic close: if stability dies, closing its descriptor \
                 STOPS the watchdog, so the daemon's death does not reset the board with this driver"
            );
        }
        let nowayout = watchdog::nowayout(node) == Some(true);
        if nowayout {
            warning!(
                "keepalive: {path} has nowayout set: once open it cannot be stopped, so stopping \
                 stability resets the board within the timeout whatever disarm_on_exit says"
            );
        }
        let timeout_s = dog.set_timeout(node, cfg.keepalive_timeout_s, Search::Down)?;
        let mut interval_ms = cfg.keepalive_interval_ms;
        if interval_ms * 2 > u64::from(timeout_s) * 1000 {
            interval_ms = (u64::from(timeout_s) * 1000 / 3).max(100);
            warning!(
                "keepalive: with the driver's {timeout_s} s timeout, pinging every {} s instead",
                secs(interval_ms)
            );
        }
        dog.ping().map_err(|e| {
            format!(
                "keepalive: the first ping of {path} failed: {}",
                strerror(e)
            )
        })?;
        let shared = Arc::new(Shared {
            dog: Mutex::new(Some(dog)),
            state: Mutex::new(State {
                pinging: true,
                stop: false,
            }),
            wake: Condvar::new(),
            polling_since: AtomicU32::new(IDLE),
            base_ms: clock::boottime_ms(),
            interval_ms,
            stall_ms: cfg.stall_timeout_ms,
            timeout_s,
            nowayout,
            path: cfg.path.clone(),
        });
        let thread = Pinger::spawn(shared.clone())?;
        notice!(
            "keepalive: {path} armed: timeout {timeout_s} s, ping every {} s, {} on exit{}",
            secs(interval_ms),
            if cfg.disarm_on_exit {
                "disarmed"
            } else {
                "left armed"
            },
            match cfg.stall_timeout_ms {
                0 => String::new(),
                ms => format!(", pings stop after a poll stuck {} s", secs(ms)),
            }
        );
        Ok(Keeper {
            shared,
            thread: Some(thread),
        })
    }

    /// A poll begins.
    pub fn poll_begins(&self) {
        let now = self.shared.now();
        self.shared
            .polling_since
            .store(now.wrapping_add(1).max(1), Ordering::Relaxed);
    }

    /// The poll completed.
    pub fn poll_done(&self) {
        self.shared.polling_since.store(IDLE, Ordering::Relaxed);
    }

    fn set_pinging(&self, on: bool) {
        lock(&self.shared.state).pinging = on;
        self.shared.wake.notify_all();
    }

    /// For the reset: stops the pings and sets `timeout_s` on the held
    /// watchdog; returns the timeout the driver took.
    pub fn take_for_reset(&self, timeout_s: u32) -> Result<(u32, u32), String> {
        self.set_pinging(false);
        let dog = lock(&self.shared.dog);
        let dog = dog.as_ref().ok_or("keepalive: the watchdog is closed")?;
        let taken = dog.set_timeout(&self.shared.path, timeout_s, Search::Up)?;
        Ok((taken, dog.options))
    }

    /// After a recovery that let the board live on (an RTC sleep and resume):
    /// the keepalive timeout again, and the pings.
    pub fn resume(&self) {
        if let Some(dog) = lock(&self.shared.dog).as_ref() {
            if let Err(e) = dog.set_timeout(&self.shared.path, self.shared.timeout_s, Search::Down)
            {
                error!("{e}");
            }
            let _ = dog.ping();
        }
        self.set_pinging(true);
    }

    /// A deliberate stop: ends the pinger, then writes the magic 'V' (when
    /// `disarm`) or leaves the watchdog armed for a successor.
    pub fn finish(mut self, disarm: bool) {
        self.stop_thread();
        let path = show(&self.shared.path);
        let Some(dog) = lock(&self.shared.dog).take() else {
            return;
        };
        if !disarm {
            notice!(
                "keepalive: leaving {path} armed (disarm_on_exit = false): the board resets in {} s \
                 unless a successor opens it and pings it",
                self.shared.timeout_s
            );
            drop(dog);
            return;
        }
        let magicclose = dog.options & uapi::WDIOF_MAGICCLOSE != 0;
        match dog.magic_close() {
            Ok(()) if self.shared.nowayout => warning!(
                "keepalive: wrote the magic 'V' to {path}, but nowayout keeps the watchdog \
                 running: the board resets in {} s unless a successor opens it and pings it",
                self.shared.timeout_s
            ),
            Ok(()) if magicclose => notice!("keepalive: {path} disarmed (magic close)"),
            Ok(()) => notice!("keepalive: {path} closed (the driver stops it on close)"),
            Err(e) => error!(
                "keepalive: the magic close of {path} failed ({}): the board resets in {} s",
                strerror(e),
                self.shared.timeout_s
            ),
        }
    }

    fn stop_thread(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            thread.join();
        }
    }
}

impl Drop for Keeper {
    /// Any end but `finish` (all devices failed, a panic) leaves the
    /// watchdog armed: the board resets unless a successor takes over.
    fn drop(&mut self) {
        self.stop_thread();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The pinger runs on a plain POSIX thread. std::thread would do, but it
/// links musl's thread naming, which formats a /proc path with snprintf and
/// so brings all of printf, plus std's per-thread bookkeeping: 19 KB of the
/// smallest armv7 build, whose budget is 120 KiB.
struct Pinger {
    tid: libc::pthread_t,
}

impl Pinger {
    fn spawn(shared: Arc<Shared>) -> Result<Pinger, String> {
        extern "C" fn entry(arg: *mut libc::c_void) -> *mut libc::c_void {
            // SAFETY: `arg` is the Arc<Shared> that `spawn` turned into a raw
            // pointer for this thread alone; it is taken back exactly once.
            let shared = unsafe { Arc::from_raw(arg as *const Shared) };
            ping_until_stopped(&shared);
            core::ptr::null_mut()
        }
        let arg = Arc::into_raw(shared) as *mut libc::c_void;
        let mut attr = core::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        let mut tid = core::mem::MaybeUninit::<libc::pthread_t>::uninit();
        // SAFETY: `attr` is initialized before use and destroyed once; `tid`
        // is written by pthread_create before it is read; `entry` matches the
        // start routine's C signature and owns `arg` if the thread starts.
        // The new thread inherits this one's signal mask (the handled
        // signals blocked), so they keep going to the main thread.
        let rc = unsafe {
            libc::pthread_attr_init(attr.as_mut_ptr());
            libc::pthread_attr_setstacksize(attr.as_mut_ptr(), 64 * 1024);
            let rc = libc::pthread_create(tid.as_mut_ptr(), attr.as_ptr(), entry, arg);
            libc::pthread_attr_destroy(attr.as_mut_ptr());
            rc
        };
        if rc != 0 {
            // SAFETY: the thread did not start, so `arg` is still ours to free.
            drop(unsafe { Arc::from_raw(arg as *const Shared) });
            return Err(format!(
                "keepalive: cannot start the pinger thread: {}",
                strerror(nix::errno::Errno::from_raw(rc))
            ));
        }
        // SAFETY: pthread_create succeeded and wrote the thread id.
        Ok(Pinger {
            tid: unsafe { tid.assume_init() },
        })
    }

    fn join(self) {
        // SAFETY: `tid` is a started, not yet joined or detached thread, and
        // `join` consumes the only handle to it.
        unsafe { libc::pthread_join(self.tid, core::ptr::null_mut()) };
    }
}

/// The pinger thread: a ping every interval while pinging is on, and the
/// stuck-poll watch.
fn ping_until_stopped(shared: &Shared) {
    let path = show(&shared.path);
    let mut stuck_said = false;
    let mut ping_failed = false;
    let mut state = lock(&shared.state);
    loop {
        state = match shared
            .wake
            .wait_timeout(state, Duration::from_millis(shared.interval_ms))
        {
            Ok((s, _)) => s,
            Err(poisoned) => poisoned.into_inner().0,
        };
        if state.stop {
            return;
        }
        if !state.pinging {
            continue;
        }
        let since = shared.polling_since.load(Ordering::Relaxed);
        if since != IDLE {
            let stuck_ms = u64::from(shared.now().wrapping_sub(since.wrapping_sub(1)));
            if shared.stall_ms > 0 && stuck_ms >= shared.stall_ms {
                durable!(
                    Level::Critical,
                    "keepalive: a poll has been stuck for {} s (stall_timeout {} s; a dead mount?): \
                     stopping the pings, the watchdog resets the board within {} s",
                    secs(stuck_ms),
                    secs(shared.stall_ms),
                    shared.timeout_s
                );
                state.pinging = false;
                continue;
            }
            if !stuck_said && stuck_ms >= u64::from(shared.timeout_s) * 1000 {
                stuck_said = true;
                durable!(
                    Level::Warning,
                    "keepalive: a poll has been stuck for {} s (a dead mount?); the watchdog is \
                     still pinged (stall_timeout = 0)",
                    secs(stuck_ms)
                );
            }
        } else if stuck_said {
            stuck_said = false;
            notice!("keepalive: polls complete again");
        }
        let pinged = lock(&shared.dog).as_ref().map(Opened::ping);
        match pinged {
            Some(Ok(())) if ping_failed => {
                ping_failed = false;
                notice!("keepalive: pinging {path} works again");
            }
            Some(Err(e)) if !ping_failed => {
                ping_failed = true;
                durable!(
                    Level::Error,
                    "keepalive: pinging {path} failed ({}): the board resets within {} s unless it recovers",
                    strerror(e),
                    shared.timeout_s
                );
            }
            _ => {}
        }
    }
}
