//! The daemon: start-up checks, then the poll loop.
//!
//! A poll is one lstat(2) of the indicator (plus one of the heartbeat file
//! when configured) and one ppoll(2) sleep: no allocation, no log line while
//! nothing changes. A condition that persists (an indicator the guard refused,
//! a stat error, a stale heartbeat) is logged when it starts and when it ends,
//! never once per poll. SIGTERM/SIGINT end the loop at once with status 0;
//! SIGHUP re-reads the config and keeps the old one if the new one is bad.

use nix::errno::Errno;
use std::ffi::CStr;

use crate::clock::{self, fmt_ms};
use crate::config::{self, show, Config, Loaded, WatchdogConfig, WdtMode};
use crate::guard::Guard;
use crate::indicator::{self, Indicator, Presence};
use crate::keepalive::Keeper;
use crate::log::strerror;
use crate::record::{self, Trigger};
use crate::recovery::{self, Fault, Outcome};
use crate::signals::Signals;

/// Exit statuses (sysexits.h).
pub mod exit {
    pub const OK: u8 = 0;
    pub const USAGE: u8 = 64;
    pub const UNAVAILABLE: u8 = 69;
    pub const OSERR: u8 = 71;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const CONFIG: u8 = 78;
}

/// The exit status for how a fault ended in a single run or `trigger`.
pub fn exit_status(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Refused => exit::TEMPFAIL,
        Outcome::Failed(_) => exit::UNAVAILABLE,
        Outcome::Continue | Outcome::Planned => exit::OK,
    }
}

/// The heartbeat trigger's memory: when its mtime last changed, on CLOCK_BOOTTIME.
struct Heartbeat {
    mtime: Option<(i64, i64)>,
    changed_at_ms: u64,
}

/// Everything the loop remembers between polls.
struct Watch {
    indicator: Option<Indicator>,
    heartbeat: Option<Heartbeat>,
    /// A fault that was acted on without a reset (guard refusal, dry run) and
    /// still stands: it is not acted on again until it clears.
    indicator_standing: bool,
    heartbeat_standing: bool,
    /// The last stat error logged, per watched file, so it is logged once.
    indicator_error: Option<Errno>,
    heartbeat_error: Option<Errno>,
    /// The guard, while its count is not zero (it may clear during the run).
    guard: Option<Guard>,
    boot_id: heapless::String<36>,
}

impl Watch {
    fn new(cfg: &Config, boot_id: heapless::String<36>) -> Watch {
        Watch {
            indicator: cfg.indicator.as_deref().map(Indicator::new),
            heartbeat: cfg.heartbeat.as_ref().map(|_| Heartbeat {
                mtime: None,
                changed_at_ms: clock::boottime_ms(),
            }),
            indicator_standing: false,
            heartbeat_standing: false,
            indicator_error: None,
            heartbeat_error: None,
            guard: None,
            boot_id,
        }
    }

    /// Remembers the guard while its count is not zero (it may clear).
    fn keep_guard(&mut self, guard: Option<Guard>) {
        self.guard = guard.filter(|g| g.count != Some(0));
    }

    /// One poll: the fault found, if any. Allocates nothing unless something
    /// changed since the last poll.
    // libc's time_t, c_long and mode_t differ in width between targets.
    #[allow(clippy::useless_conversion)]
    fn poll<'w>(&'w mut self, cfg: &Config) -> Result<Option<Fault<'w>>, ()> {
        let mut io_error = false;
        if let Some(indicator) = &self.indicator {
            match indicator.presence() {
                Presence::Present(mode) => {
                    self.indicator_error = None;
                    if !self.indicator_standing {
                        return Ok(Some(Fault {
                            trigger: Trigger::Indicator,
                            indicator: Some(indicator),
                            source: show(&indicator.path).to_string(),
                            reason: indicator_reason(indicator, mode),
                        }));
                    }
                }
                Presence::Absent => {
                    self.indicator_error = None;
                    if self.indicator_standing {
                        self.indicator_standing = false;
                        notice!("{} is gone: that fault is over", show(&indicator.path));
                    }
                }
                Presence::Unknown(e) => {
                    io_error = true;
                    if self.indicator_error != Some(e) {
                        self.indicator_error = Some(e);
                        error!(
                            "cannot check {}: {} (not a fault; logged once until it changes)",
                            show(&indicator.path),
                            strerror(e)
                        );
                    }
                }
            }
        }
        if let (Some(hb), Some(hb_cfg)) = (&mut self.heartbeat, &cfg.heartbeat) {
            let now = clock::boottime_ms();
            match nix::sys::stat::lstat(hb_cfg.path.as_c_str()) {
                Ok(st) => {
                    self.heartbeat_error = None;
                    let mtime = Some((i64::from(st.st_mtime), i64::from(st.st_mtime_nsec)));
                    if mtime != hb.mtime {
                        hb.mtime = mtime;
                        hb.changed_at_ms = now;
                        if self.heartbeat_standing {
                            self.heartbeat_standing = false;
                            notice!(
                                "heartbeat {} is being touched again: that fault is over",
                                show(&hb_cfg.path)
                            );
                        }
                    }
                }
                Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => self.heartbeat_error = None,
                Err(e) => {
                    io_error = true;
                    if self.heartbeat_error != Some(e) {
                        self.heartbeat_error = Some(e);
                        error!(
                            "cannot check heartbeat {}: {} (logged once until it changes)",
                            show(&hb_cfg.path),
                            strerror(e)
                        );
                    }
                }
            }
            let age = now.saturating_sub(hb.changed_at_ms);
            if !self.heartbeat_standing && age > hb_cfg.timeout_ms {
                let what = if hb.mtime.is_some() {
                    "not touched"
                } else {
                    "missing"
                };
                return Ok(Some(Fault {
                    trigger: Trigger::Heartbeat,
                    indicator: None,
                    source: show(&hb_cfg.path).to_string(),
                    reason: format!(
                        "heartbeat {what} for {} s (heartbeat_timeout {} s)",
                        fmt_ms(age),
                        clock::secs(hb_cfg.timeout_ms)
                    ),
                }));
            }
        }
        if io_error {
            Err(())
        } else {
            Ok(None)
        }
    }

    /// Clears the guard once the system has been quiet for the window.
    fn tend_guard(&mut self, cfg: &Config) {
        let Some(g) = &self.guard else { return };
        let now = clock::boottime_ms();
        if !g.due_to_clear(cfg.reset_window_ms, &self.boot_id, now) {
            return;
        }
        // Re-read: `stability trigger` may have counted a reset meanwhile.
        match Guard::load(&cfg.state_dir) {
            Ok(mut fresh) if fresh.due_to_clear(cfg.reset_window_ms, &self.boot_id, now) => {
                let was = fresh.show(cfg.max_resets).to_string();
                fresh.count = Some(0);
                match fresh.save(&cfg.state_dir) {
                    Ok(()) => {
                        notice!(
                            "boot-loop guard cleared ({was} before): {} s without a fault",
                            fmt_ms(fresh.quiet_ms(&self.boot_id, now))
                        );
                        self.guard = None;
                    }
                    Err(e) => {
                        error!("cannot clear the boot-loop guard: {e}; will try again at the next fault");
                        self.guard = None;
                    }
                }
            }
            Ok(fresh) => self.guard = Some(fresh).filter(|g| g.count != Some(0)),
            Err(_) => self.guard = None,
        }
    }

    /// After a fault was acted on: what to remember.
    fn after(&mut self, cfg: &Config, trigger: Trigger, outcome: &Outcome) {
        let standing = matches!(outcome, Outcome::Refused | Outcome::Planned);
        match trigger {
            Trigger::Indicator => self.indicator_standing = standing,
            Trigger::Heartbeat => {
                self.heartbeat_standing = standing;
                if let Some(hb) = &mut self.heartbeat {
                    hb.changed_at_ms = clock::boottime_ms(); // a fresh grace period after a resume
                }
            }
            Trigger::Manual => {}
        }
        self.guard = Guard::load(&cfg.state_dir)
            .ok()
            .filter(|g| g.count != Some(0));
    }
}

/// The reason an indicator gives: its first bytes, or what kind of file it is.
fn indicator_reason(indicator: &Indicator, mode: u32) -> String {
    let said = indicator.reason();
    if said.is_empty() {
        format!("({}, empty)", indicator::kind(mode))
    } else {
        said.as_str().to_owned()
    }
}

/// What `run` was asked to do.
pub struct RunOptions<'a> {
    pub config_path: &'a str,
    pub dry_run: bool,
}

/// Runs the daemon (or the single check); returns the exit status.
pub fn run(loaded: Loaded, opts: &RunOptions) -> u8 {
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {}", strerror(e));
            return exit::OSERR;
        }
    };
    let mut cfg = loaded.config;
    for w in &loaded.warnings {
        warning!("{}", w.display(&cfg.source));
    }
    #[cfg(feature = "bench")]
    let mut bench = crate::bench::Polls::from_env();
    #[cfg(feature = "bench")]
    if bench.is_some() {
        cfg.single_run = false; // interval 0: back-to-back polls
    }
    let boot_id = clock::boot_id();
    // The indicator's directory is resolved before "watching" is announced.
    let mut watch = Watch::new(&cfg, boot_id.clone());
    watch.keep_guard(start_up(&cfg, opts.dry_run, &boot_id));
    let keeper = match start_keepalive(&cfg, opts.dry_run) {
        Ok(keeper) => keeper,
        Err(status) => return status,
    };
    loop {
        let requests = signals.take();
        if requests.stop {
            info!("stopping on request");
            if let Some(keeper) = keeper {
                keeper.finish(cfg.watchdog.disarm_on_exit);
            }
            return exit::OK;
        }
        if requests.reload {
            if let Some(new) = reload(opts.config_path) {
                if keeper.is_some() && keepalive_changed(&cfg.watchdog, &new.watchdog) {
                    warning!("wdt_mode, wdt_path and the keepalive keys take effect when stability restarts; the watchdog stays as it is");
                }
                cfg = new;
                watch = Watch::new(&cfg, boot_id.clone());
                watch.keep_guard(start_up(&cfg, opts.dry_run, &boot_id));
            }
        }
        watch.tend_guard(&cfg);
        if let Some(keeper) = &keeper {
            keeper.poll_begins();
        }
        let polled = watch.poll(&cfg);
        if let Some(keeper) = &keeper {
            keeper.poll_done();
        }
        let io_error = polled.is_err();
        if let Ok(Some(fault)) = polled {
            let trigger = fault.trigger;
            let outcome = recovery::handle(&cfg, &fault, &signals, keeper.as_ref(), opts.dry_run);
            if let Outcome::Failed(_) = outcome {
                // In keepalive mode the watchdog stays armed (Keeper::drop).
                return exit::UNAVAILABLE;
            }
            if let (Outcome::Continue, Some(keeper)) = (&outcome, &keeper) {
                keeper.resume();
            }
            if cfg.single_run {
                return exit_status(&outcome);
            }
            watch.after(&cfg, trigger, &outcome);
        } else if cfg.single_run {
            return if io_error { exit::IOERR } else { exit::OK };
        }
        #[cfg(feature = "bench")]
        if bench.as_mut().is_some_and(crate::bench::Polls::after_poll) {
            return exit::OK;
        }
        signals.sleep(cfg.interval_ms);
    }
}

/// Keepalive mode: opens and arms the watchdog now. A watchdog that cannot
/// be owned (busy, missing, not a watchdog) stops the daemon with status 69
/// before anything is armed.
fn start_keepalive(cfg: &Config, dry_run: bool) -> Result<Option<Keeper>, u8> {
    if cfg.watchdog.mode != WdtMode::Keepalive {
        return Ok(None);
    }
    if dry_run {
        info!(
            "keepalive mode: {} is not opened in a dry run",
            show(&cfg.watchdog.path)
        );
        return Ok(None);
    }
    match Keeper::start(&cfg.watchdog) {
        Ok(keeper) => Ok(Some(keeper)),
        Err(e) => {
            durable!(
                crate::log::Level::Critical,
                "keepalive mode cannot start: {e}; nothing is armed, exiting with status 69"
            );
            Err(exit::UNAVAILABLE)
        }
    }
}

/// Whether a reload asks for another watchdog set-up than the running one.
fn keepalive_changed(old: &WatchdogConfig, new: &WatchdogConfig) -> bool {
    old.mode != new.mode
        || old.path != new.path
        || old.keepalive_timeout_s != new.keepalive_timeout_s
        || old.keepalive_interval_ms != new.keepalive_interval_ms
        || old.stall_timeout_ms != new.stall_timeout_ms
}

/// Re-reads the config for SIGHUP; None keeps the old one.
fn reload(path: &str) -> Option<Config> {
    match config::load(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                warning!("{}", w.display(&loaded.config.source));
            }
            notice!("configuration reloaded from {path}");
            Some(loaded.config)
        }
        Err(rejected) => {
            for e in &rejected.errors {
                error!("{}", e.display(&rejected.source));
            }
            error!("the new configuration is invalid: keeping the previous one");
            None
        }
    }
}

/// What the daemon says and checks when it starts (and after a reload);
/// returns the guard as it stands.
fn start_up(cfg: &Config, dry_run: bool, boot_id: &str) -> Option<Guard> {
    let mut watching = String::new();
    if let Some(p) = &cfg.indicator {
        watching.push_str(&format!("indicator {}", show(p)));
    }
    if let Some(hb) = &cfg.heartbeat {
        if !watching.is_empty() {
            watching.push_str(" and ");
        }
        watching.push_str(&format!(
            "heartbeat {} (timeout {} s)",
            show(&hb.path),
            clock::secs(hb.timeout_ms)
        ));
    }
    info!(
        "stability {}{}: watching {watching} {}; recovery: {}; at most {} resets per {} s window",
        env!("CARGO_PKG_VERSION"),
        if dry_run {
            " (dry run: nothing will be touched)"
        } else {
            ""
        },
        if cfg.single_run {
            "once".to_owned()
        } else {
            format!("every {} s", clock::secs(cfg.interval_ms))
        },
        config::chain_names(&cfg.chain, " -> "),
        cfg.max_resets,
        clock::secs(cfg.reset_window_ms)
    );
    check_state_dir(&cfg.state_dir, dry_run);
    match record::load(&cfg.state_dir) {
        Ok(Some(text)) if crate::statefile::value(&text, "boot_id") != Some(boot_id) => {
            notice!("last reset: {}", record::summary(&text));
        }
        Ok(_) => {}
        Err(e) => warning!("cannot read the last reset record: {e}"),
    }
    match Guard::load(&cfg.state_dir) {
        Ok(g) => {
            if g.reached(cfg.max_resets) {
                warning!(
                    "the boot-loop guard is at {}: faults will NOT reset the board until {} s pass without one",
                    g.show(cfg.max_resets),
                    clock::secs(cfg.reset_window_ms)
                );
            }
            Some(g)
        }
        Err(e) => {
            warning!("cannot read the boot-loop guard: {e}");
            None
        }
    }
}

/// Makes sure state_dir exists and can keep the guard across resets.
fn check_state_dir(dir: &CStr, dry_run: bool) {
    if !dry_run {
        if let Err(e) = crate::statefile::ensure_dir(dir) {
            error!("{e}; a fault will still reset the board, but without the boot-loop guard");
            return;
        }
    }
    if let Some(fs) = volatile_fs(dir) {
        warning!(
            "state_dir {} is on {fs}: the boot-loop guard and the reset record are lost at every reset; put state_dir on persistent storage",
            show(dir)
        );
    }
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
