//! Keepalive mode (`wdt_mode = keepalive`): stability owns the watchdog from
//! start-up and pings it while the system is healthy, so a hung kernel, an
//! OOM storm or the daemon's own death resets the board too, not only a
//! fault it sees.
//!
//! The pings come from a small thread. The main loop can block in the kernel
//! (an lstat on a dead network mount or a hung FUSE filesystem, a config
//! re-read); if it pinged, such a block would stop the pings silently and
//! the board would reset with nothing said. The thread keeps pinging while
//! the main loop is stuck and says so once; with `stall_timeout` set, it
//! stops pinging once the loop has been stuck that long, after saying so in
//! the kernel log, and the watchdog resets the board `keepalive_timeout`
//! later.
//!
//! A fault stops the pings at once and sets the watchdog's timeout to what
//! is left of `reset_deadline`, before any storage is touched (see `plan`);
//! the chain's watchdog step then sets the short `wdt_timeout` on the
//! descriptor held here. A deliberate stop (SIGTERM) writes the magic 'V'
//! when `disarm_on_exit` is set; any other end of the process leaves the
//! watchdog armed.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::ffi::CString;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::{self, secs};
use crate::config::WatchdogConfig;
use crate::fsutil::show;
use crate::log::{strerror, Level};
use crate::msg::Msg;
use crate::thread::Thread;
use crate::uapi;
use crate::watchdog::{self, Opened, Search};

/// `busy_since` when the main loop is sleeping.
const IDLE: u32 = 0;

struct Shared {
    dog: Mutex<Option<Opened>>,
    /// Only for waking the pinger early (a stop); the flags are atomics, so
    /// nobody holds a lock while pinging or logging.
    sleep: Mutex<()>,
    wake: Condvar,
    pinging: AtomicBool,
    stop: AtomicBool,
    /// When the main loop's current pass began: 1 + milliseconds since
    /// `base_ms`, wrapping (32-bit MIPS has no 64-bit atomics; a pass is far
    /// shorter than the 49 days a wrap takes), or IDLE while it sleeps.
    busy_since: AtomicU32,
    /// CLOCK_BOOTTIME when the keeper started.
    base_ms: u64,
    interval_ms: u64,
    stall_ms: u64,
    timeout_s: u32,
    /// sysfs said nowayout at start: the magic close cannot stop it.
    nowayout: bool,
    path: CString,
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
    thread: Option<Thread>,
}

/// Closes a watchdog that keepalive mode could not finish setting up: with
/// the magic 'V' so that it stops, and says what really happened.
fn give_up(dog: Opened, path: &str, nowayout: bool, timeout: Option<u32>) -> &'static str {
    let magicclose = dog.options & uapi::WDIOF_MAGICCLOSE != 0;
    match dog.magic_close() {
        Ok(()) if nowayout => {
            crate::durable!(
                Level::Critical,
                "keepalive: {path} cannot be stopped (nowayout): it resets the board in {} s",
                timeout.map_or_else(|| "its current".to_owned(), |t| t.to_string())
            );
            "it keeps running (nowayout)"
        }
        Ok(()) if magicclose => "it was disarmed (magic close)",
        Ok(()) => "it was closed (this driver stops it on close)",
        Err(e) => {
            crate::durable!(
                Level::Critical,
                "keepalive: the magic close of {path} failed ({}): it keeps running and resets the board",
                strerror(e)
            );
            "it keeps running (the magic close failed)"
        }
    }
}

impl Keeper {
    /// Opens the watchdog with every check of the on-fault path, sets the
    /// keepalive timeout, pings once and starts the pinger. If a step after
    /// the open fails, the watchdog is disarmed again where it can be, and
    /// the error says which.
    pub fn start(cfg: &WatchdogConfig) -> Result<Keeper, String> {
        let node = cfg.path.as_c_str();
        let path = show(node).to_string();
        let dog =
            watchdog::open_checked(node, false).map_err(|e| format!("{e}; nothing was armed"))?;
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
        let timeout_s = match dog.set_timeout(node, cfg.keepalive_timeout_s, Search::Down) {
            Ok(t) => t,
            Err(e) => {
                let what = give_up(dog, &path, nowayout, None);
                return Err(format!(
                    "{e}; {path} was opened (which started it) and {what}"
                ));
            }
        };
        let mut interval_ms = cfg.keepalive_interval_ms;
        if interval_ms * 2 > u64::from(timeout_s) * 1000 {
            interval_ms = (u64::from(timeout_s) * 1000 / 3).max(100);
            warning!(
                "keepalive: with the driver's {timeout_s} s timeout, pinging every {} s instead",
                secs(interval_ms)
            );
        }
        if let Err(e) = dog.ping() {
            let what = give_up(dog, &path, nowayout, Some(timeout_s));
            return Err(format!(
                "keepalive: the first ping of {path} failed ({}); {path} was armed and {what}",
                strerror(e)
            ));
        }
        let shared = Arc::new(Shared {
            dog: Mutex::new(Some(dog)),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            pinging: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            busy_since: AtomicU32::new(IDLE),
            base_ms: clock::boottime_ms(),
            interval_ms,
            stall_ms: cfg.stall_timeout_ms,
            timeout_s,
            nowayout,
            path: cfg.path.clone(),
        });
        let thread = match Thread::spawn(shared.clone(), ping_until_stopped) {
            Ok(t) => t,
            Err(e) => {
                let what = match lock(&shared.dog).take() {
                    Some(dog) => give_up(dog, &path, nowayout, Some(timeout_s)),
                    None => "it was closed",
                };
                return Err(format!(
                    "keepalive: cannot start the pinger thread ({e}); {path} was armed and {what}"
                ));
            }
        };
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
                ms => format!(", pings stop after the main loop is stuck {} s", secs(ms)),
            }
        );
        Ok(Keeper {
            shared,
            thread: Some(thread),
        })
    }

    /// The main loop's pass begins (it may block: the stall watch runs).
    pub fn busy(&self) {
        let now = self.shared.now();
        self.shared
            .busy_since
            .store(now.wrapping_add(1).max(1), Ordering::Relaxed);
    }

    /// The main loop goes to sleep.
    pub fn idle(&self) {
        self.shared.busy_since.store(IDLE, Ordering::Relaxed);
    }

    /// For a reset: stops the pings (none is sent after this returns) and
    /// sets the timeout to `timeout_s`, or the nearest the driver takes in
    /// direction `search`. Returns the timeout taken and the driver's options.
    pub fn take_for_reset(&self, timeout_s: u32, search: Search) -> Result<(u32, u32), Msg> {
        self.shared.pinging.store(false, Ordering::SeqCst);
        // The pinger pings only while holding `dog` and seeing `pinging`:
        // once this lock is held, no ping can follow.
        let dog = lock(&self.shared.dog);
        let dog = dog
            .as_ref()
            .ok_or_else(|| crate::msg!("keepalive: the watchdog is closed"))?;
        let taken = dog.set_timeout(&self.shared.path, timeout_s, search)?;
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
        self.shared.pinging.store(true, Ordering::SeqCst);
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
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _guard = lock(&self.shared.sleep);
            self.shared.wake.notify_all();
        }
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

/// The pinger thread: a ping every interval while pinging is on, and the
/// stuck-loop watch.
fn ping_until_stopped(shared: &Shared) {
    let path = show(&shared.path);
    let mut stuck_said = false;
    let mut ping_failed = false;
    loop {
        {
            let guard = lock(&shared.sleep);
            if !shared.stop.load(Ordering::SeqCst) {
                let _ = shared
                    .wake
                    .wait_timeout(guard, Duration::from_millis(shared.interval_ms));
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if !shared.pinging.load(Ordering::SeqCst) {
            continue;
        }
        let since = shared.busy_since.load(Ordering::Relaxed);
        if since != IDLE {
            let stuck_ms = u64::from(shared.now().wrapping_sub(since.wrapping_sub(1)));
            if shared.stall_ms > 0 && stuck_ms >= shared.stall_ms {
                durable!(
                    Level::Critical,
                    "keepalive: the main loop has been stuck for {} s (stall_timeout {} s; a dead mount?): \
                     stopping the pings, the watchdog resets the board within {} s",
                    secs(stuck_ms),
                    secs(shared.stall_ms),
                    shared.timeout_s
                );
                shared.pinging.store(false, Ordering::SeqCst);
                continue;
            }
            if !stuck_said && stuck_ms >= u64::from(shared.timeout_s) * 1000 {
                stuck_said = true;
                durable!(
                    Level::Warning,
                    "keepalive: the main loop has been stuck for {} s (a dead mount?); the watchdog is \
                     still pinged (stall_timeout = 0)",
                    secs(stuck_ms)
                );
            }
        } else if stuck_said {
            stuck_said = false;
            notice!("keepalive: the main loop runs again");
        }
        let pinged = {
            let dog = lock(&shared.dog);
            // Checked again under the lock: `take_for_reset` clears it first.
            if shared.pinging.load(Ordering::SeqCst) {
                dog.as_ref().map(Opened::ping)
            } else {
                None
            }
        };
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
