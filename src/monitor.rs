//! The daemon: start-up, then the poll loop.
//!
//! Start-up is ordered for a board whose storage may hang: memory locked and
//! OOM protection first (`duress`); in keepalive mode the watchdog opened and
//! armed next, before anything that can block; then the storage worker, and
//! state_dir read through it — waited for at most reset_deadline, after which
//! the daemon watches anyway with the guard unknown until state_dir answers.
//!
//! A poll is one lstat(2) of the indicator (plus one of the heartbeat file
//! when configured) and one ppoll(2) sleep: no allocation, no log line while
//! nothing changes. A condition that persists (a stat error, a stale
//! heartbeat) is logged when it starts and when it ends, never once per
//! poll. A fault refused by the boot-loop guard stands while it lasts: it is
//! a fault for the guard's window the whole time (the window cannot clear
//! under a fault that is still there), and it is not acted on again until it
//! has gone. SIGTERM/SIGINT end the loop at once with status 0; SIGHUP
//! re-reads the config and keeps the old one if the new one is bad.

use nix::errno::Errno;
use std::ffi::CStr;

use crate::cli::exit;
use crate::clock::{self, fmt_ms};
use crate::config::{self, Config, Loaded, WatchdogConfig, WdtMode};
use crate::fsutil::show;
use crate::indicator::{Indicator, Presence, Reason};
use crate::keepalive::Keeper;
use crate::log::strerror;
use crate::plan::{self, Fault, GuardState};
use crate::record::Trigger;
use crate::recovery::{self, Context, Outcome};
use crate::signals::Signals;
use crate::storage::{Job, Paths, Storage};

/// The exit status for how a fault ended in a single run or `trigger`.
pub fn exit_status(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Refused => exit::TEMPFAIL,
        Outcome::Failed(_) => exit::UNAVAILABLE,
        Outcome::Continue | Outcome::Planned => exit::OK,
    }
}

/// What one trigger remembers between polls, whatever the trigger.
#[derive(Default)]
struct Watched {
    /// A fault that was acted on without a reset (guard refusal, dry run)
    /// and still stands: it is not acted on again until it clears.
    standing: bool,
    /// The last stat error logged, so that it is logged once.
    error: Option<Errno>,
}

impl Watched {
    /// The check worked: a later error is new again.
    fn ok(&mut self) {
        self.error = None;
    }

    /// The check failed with `e`: logged once until it changes.
    fn failed(&mut self, e: Errno, what: &str, path: &CStr) {
        if self.error != Some(e) {
            self.error = Some(e);
            error!(
                "cannot check {what}{}: {} (not a fault; logged once until it changes)",
                show(path),
                strerror(e)
            );
        }
    }

    /// The fault stood and has gone.
    fn cleared(&mut self, says: core::fmt::Arguments) {
        if self.standing {
            self.standing = false;
            notice!("{says}: that fault is over");
        }
    }
}

/// The heartbeat trigger's memory: when its mtime last changed, on CLOCK_BOOTTIME.
struct Heartbeat {
    mtime: Option<(i64, i64)>,
    changed_at_ms: u64,
    watched: Watched,
}

/// What a poll found.
enum Seen {
    Indicator,
    /// A stale heartbeat, and how stale.
    Heartbeat(Reason),
}

/// Everything the loop remembers between polls: one `Watched` per trigger.
struct Watch {
    indicator: Option<(Indicator, Watched)>,
    heartbeat: Option<Heartbeat>,
}

impl Watch {
    fn new(cfg: &Config) -> Watch {
        Watch {
            indicator: cfg
                .indicator
                .as_deref()
                .map(|p| (Indicator::new(p), Watched::default())),
            heartbeat: cfg.heartbeat.as_ref().map(|_| Heartbeat {
                mtime: None,
                changed_at_ms: clock::boottime_ms(),
                watched: Watched::default(),
            }),
        }
    }

    /// Whether a fault the guard refused is still there.
    fn standing(&self) -> bool {
        self.indicator.as_ref().is_some_and(|(_, w)| w.standing)
            || self.heartbeat.as_ref().is_some_and(|h| h.watched.standing)
    }

    /// The fault `seen` stands for; a dry run reads the indicator's reason
    /// at once (a real fault leaves that to the storage worker).
    fn fault<'w>(&'w self, cfg: &'w Config, seen: Seen, dry_run: bool) -> Fault<'w> {
        match seen {
            Seen::Indicator => {
                let indicator = self.indicator.as_ref().map(|(i, _)| i);
                Fault {
                    trigger: Trigger::Indicator,
                    source: indicator.map(|i| i.path.as_c_str()),
                    reason: indicator.filter(|_| dry_run).map(Indicator::reason_or_kind),
                }
            }
            Seen::Heartbeat(reason) => Fault {
                trigger: Trigger::Heartbeat,
                source: cfg.heartbeat.as_ref().map(|h| h.path.as_c_str()),
                reason: Some(reason),
            },
        }
    }

    /// One poll: the fault found, if any. Allocates nothing. Err when a
    /// check failed (the single run's exit status).
    fn poll(&mut self, cfg: &Config) -> Result<Option<Seen>, ()> {
        let mut io_error = false;
        if let Some((indicator, watched)) = &mut self.indicator {
            match poll_indicator(indicator, watched) {
                Ok(true) => return Ok(Some(Seen::Indicator)),
                Ok(false) => {}
                Err(()) => io_error = true,
            }
        }
        if let (Some(hb), Some(hb_cfg)) = (&mut self.heartbeat, &cfg.heartbeat) {
            match poll_heartbeat(hb, hb_cfg) {
                Ok(Some(reason)) => return Ok(Some(Seen::Heartbeat(reason))),
                Ok(None) => {}
                Err(()) => io_error = true,
            }
        }
        if io_error {
            Err(())
        } else {
            Ok(None)
        }
    }

    /// After a fault was acted on: what to remember.
    fn after(&mut self, trigger: Trigger, outcome: &Outcome) {
        let standing = matches!(outcome, Outcome::Refused | Outcome::Planned);
        match trigger {
            Trigger::Indicator => {
                if let Some((_, w)) = &mut self.indicator {
                    w.standing = standing;
                }
            }
            Trigger::Heartbeat => {
                if let Some(hb) = &mut self.heartbeat {
                    hb.watched.standing = standing;
                    hb.changed_at_ms = clock::boottime_ms(); // a fresh grace period after a resume
                }
            }
            Trigger::Manual => {}
        }
    }
}

/// One lstat of the indicator: Ok(true) for a fault to act on.
fn poll_indicator(indicator: &Indicator, watched: &mut Watched) -> Result<bool, ()> {
    match indicator.presence() {
        Presence::Present(_) => {
            watched.ok();
            Ok(!watched.standing)
        }
        Presence::Absent => {
            watched.ok();
            watched.cleared(format_args!("{} is gone", show(&indicator.path)));
            Ok(false)
        }
        Presence::Unknown(e) => {
            watched.failed(e, "", &indicator.path);
            Err(())
        }
    }
}

/// One lstat of the heartbeat file: the reason, for a fault to act on.
// libc's time_t and c_long differ in width between targets.
#[allow(clippy::useless_conversion)]
fn poll_heartbeat(
    hb: &mut Heartbeat,
    cfg: &crate::config::Heartbeat,
) -> Result<Option<Reason>, ()> {
    let now = clock::boottime_ms();
    let mut failed = false;
    match nix::sys::stat::lstat(cfg.path.as_c_str()) {
        Ok(st) => {
            hb.watched.ok();
            let mtime = Some((i64::from(st.st_mtime), i64::from(st.st_mtime_nsec)));
            if mtime != hb.mtime {
                hb.mtime = mtime;
                hb.changed_at_ms = now;
                hb.watched.cleared(format_args!(
                    "heartbeat {} is being touched again",
                    show(&cfg.path)
                ));
            }
        }
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => hb.watched.ok(),
        Err(e) => {
            hb.watched.failed(e, "heartbeat ", &cfg.path);
            failed = true;
        }
    }
    let age = now.saturating_sub(hb.changed_at_ms);
    if !hb.watched.standing && age > cfg.timeout_ms {
        let what = if hb.mtime.is_some() {
            "not touched"
        } else {
            "missing"
        };
        let mut reason = Reason::new();
        use core::fmt::Write as _;
        let _ = write!(
            reason,
            "heartbeat {what} for {} s (heartbeat_timeout {} s)",
            fmt_ms(age),
            clock::secs(cfg.timeout_ms)
        );
        return Ok(Some(reason));
    }
    if failed {
        Err(())
    } else {
        Ok(None)
    }
}

/// What `run` was asked to do.
pub struct RunOptions<'a> {
    pub config_path: &'a str,
    pub dry_run: bool,
}

/// What the daemon and `trigger` share: the storage worker, the guard as
/// held in memory, and this boot's id.
pub struct Session {
    pub storage: Storage,
    pub guard: GuardState,
    /// The start-up read of state_dir has not answered yet.
    pub loading: bool,
    /// A read of the guard file alone is under way (after a refused fault).
    pub refreshing: bool,
    pub boot_id: heapless::String<36>,
}

impl Session {
    /// Starts the storage worker on `cfg` and reads state_dir through it,
    /// waiting at most reset_deadline.
    pub fn start(
        cfg: &Config,
        indicator: Option<Indicator>,
        dry_run: bool,
        daemon: bool,
    ) -> Result<Session, u8> {
        let storage = match Storage::start(paths(cfg, indicator, dry_run, daemon)) {
            Ok(s) => s,
            Err(e) => {
                error!("{e}");
                return Err(exit::OSERR);
            }
        };
        let mut session = Session {
            storage,
            guard: GuardState::Unknown(crate::msg!("state_dir has not been read yet")),
            loading: true,
            refreshing: false,
            boot_id: clock::boot_id(),
        };
        session.load(cfg);
        Ok(session)
    }

    /// Asks for state_dir again (start-up, reload) and waits for it.
    fn load(&mut self, cfg: &Config) {
        self.loading = self.storage.post(Job::Load);
        let until = clock::boottime_ms() + cfg.reset_deadline_ms;
        if let Some(loaded) = self.storage.wait_loaded(until) {
            self.loaded(cfg, loaded);
        } else if self.loading {
            let why = crate::msg!(
                "state_dir {} did not answer within {} s (reset_deadline)",
                show(&cfg.state_dir),
                clock::secs(cfg.reset_deadline_ms)
            );
            warning!("{why}: watching anyway; until it answers, a fault resets the board without the boot-loop guard");
            self.guard = GuardState::Unknown(why);
        }
    }

    /// Takes the start-up read of state_dir if it has come meanwhile.
    fn check_loaded(&mut self, cfg: &Config) {
        if self.loading {
            if let Some(loaded) = self.storage.wait_loaded(0) {
                notice!("state_dir {} answers again", show(&cfg.state_dir));
                self.loaded(cfg, loaded);
            }
        } else if self.refreshing {
            if let Some(read) = self.storage.wait_loaded(0) {
                self.refreshed(cfg, read);
            }
        }
    }

    /// The guard file as read again after a refused fault: it is what an
    /// operator edits, so it wins over memory (a removed file is a cleared
    /// guard). An error keeps what memory has.
    fn refreshed(&mut self, cfg: &Config, read: crate::storage::Loaded) {
        self.refreshing = false;
        let Ok(g) = read else {
            return;
        };
        if let GuardState::Known(old) = &self.guard {
            if old.reached(cfg.max_resets) && !g.reached(cfg.max_resets) {
                notice!(
                    "boot-loop guard cleared on disk ({} now): faults reset the board again",
                    g.show(cfg.max_resets)
                );
            }
        }
        self.guard = GuardState::Known(g);
    }

    fn loaded(&mut self, cfg: &Config, loaded: crate::storage::Loaded) {
        self.loading = false;
        self.guard = match loaded {
            Ok(g) => {
                if g.reached(cfg.max_resets) {
                    warning!(
                        "the boot-loop guard is at {}: faults will NOT reset the board until {} s pass without one",
                        g.show(cfg.max_resets),
                        clock::secs(cfg.reset_window_ms)
                    );
                }
                GuardState::Known(g)
            }
            Err(e) => {
                warning!("cannot read the boot-loop guard: {e}");
                GuardState::Unknown(e)
            }
        };
    }

    /// Decides and acts on `fault`.
    pub fn act(
        &mut self,
        cfg: &Config,
        fault: Fault,
        signals: &Signals,
        keeper: Option<&Keeper>,
        dry_run: bool,
    ) -> Outcome {
        let now = clock::boottime_ms();
        self.recheck_refusal(cfg, now);
        let plan = plan::decide(cfg, fault, &mut self.guard, &self.boot_id, now);
        let ctx = Context {
            storage: &self.storage,
            signals,
            keeper,
            boot_id: &self.boot_id,
        };
        recovery::handle(cfg, &plan, &ctx, dry_run)
    }

    /// Before a fault is refused on the guard held in memory, the guard
    /// file is read again, in case someone cleared it (removed or edited):
    /// for at most a quarter of reset_deadline, and never when memory lets
    /// the fault reset the board, so a reset never waits on storage. If
    /// storage does not answer in time, memory decides.
    fn recheck_refusal(&mut self, cfg: &Config, now: u64) {
        let GuardState::Known(g) = &self.guard else {
            return;
        };
        if !g.reached(cfg.max_resets) || self.loading {
            return;
        }
        if !self.refreshing {
            self.refreshing = self.storage.post(Job::ReadGuard);
        }
        if self.refreshing {
            if let Some(read) = self.storage.wait_loaded(now + cfg.reset_deadline_ms / 4) {
                self.refreshed(cfg, read);
            }
        }
    }

    /// Clears the guard once the system has been quiet for the window (in
    /// memory; the file is written by the worker).
    fn tend_guard(&mut self, cfg: &Config) {
        let GuardState::Known(g) = &mut self.guard else {
            return;
        };
        // Most polls: nothing counted, nothing to clear (and no clock read).
        if g.count == Some(0) {
            return;
        }
        if !g.due_to_clear(cfg.reset_window_ms, &self.boot_id, clock::boottime_ms()) {
            return;
        }
        let was = g.show(cfg.max_resets).to_string();
        g.count = Some(0);
        let quiet = g.quiet_ms(&self.boot_id, clock::boottime_ms());
        if self.storage.post(Job::SaveGuard(g.clone())) {
            notice!(
                "boot-loop guard cleared ({was} before): {} s without a fault",
                fmt_ms(quiet)
            );
        } else {
            error!(
                "cannot clear the boot-loop guard on disk: the storage worker is stuck ({})",
                self.storage.doing()
            );
        }
    }

    /// A refused fault still stands: the guard's window counts from now.
    fn fault_stands(&mut self) {
        if let GuardState::Known(g) = &mut self.guard {
            g.note_fault(&self.boot_id, clock::boottime_ms());
        }
    }

    /// A refused fault has gone: its end is what the window counts from,
    /// kept on disk so that a restart counts from it too.
    fn fault_ended(&mut self) {
        self.fault_stands();
        if let GuardState::Known(g) = &self.guard {
            // Not over a guard file someone removed meanwhile; the file as
            // it then is comes back to memory at a later poll.
            if self.storage.post(Job::FaultEnded(g.clone())) && !self.loading {
                self.refreshing = true;
            }
        }
    }

    /// Lets the worker finish what was asked of it, at most until `until_ms`.
    pub fn finish(self, until_ms: u64) {
        self.storage.finish(until_ms);
    }
}

/// What the storage worker works on, for `cfg`.
fn paths(cfg: &Config, indicator: Option<Indicator>, dry_run: bool, daemon: bool) -> Paths {
    Paths {
        state_dir: cfg.state_dir.clone(),
        indicator,
        heartbeat: cfg.heartbeat.as_ref().map(|h| h.path.clone()),
        chain: config::chain_names(&cfg.chain, ","),
        dry_run,
        note_boot: daemon && !cfg.single_run,
    }
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
    crate::bench::watch_main_thread();
    #[cfg(feature = "bench")]
    let mut bench = crate::bench::Polls::from_env();
    #[cfg(feature = "bench")]
    if bench.is_some() {
        cfg.single_run = false; // interval 0: back-to-back polls
    }
    // A dry run touches nothing, the process's own standing included.
    let duress = if opts.dry_run {
        crate::duress::Applied::default()
    } else {
        crate::duress::apply(cfg.realtime_priority)
    };
    // Keepalive first: a board whose storage hangs at boot is still reset,
    // and a watchdog the bootloader started is taken over at once.
    let keeper = match start_keepalive(&cfg, opts.dry_run) {
        Ok(keeper) => keeper,
        Err(status) => return status,
    };
    busy(&keeper);
    let watch = Watch::new(&cfg);
    announce(&cfg, opts.dry_run, duress);
    let mut session = match Session::start(
        &cfg,
        watch.indicator.as_ref().map(|(i, _)| i.clone()),
        opts.dry_run,
        true,
    ) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let mut watch = watch;
    loop {
        busy(&keeper);
        let requests = signals.take();
        if requests.stop {
            info!("stopping on request");
            if let Some(keeper) = keeper {
                keeper.finish(cfg.watchdog.disarm_on_exit);
            }
            let _ = session.storage.post(Job::Stop);
            session.finish(clock::boottime_ms() + STOP_WAIT_MS);
            return exit::OK;
        }
        if requests.reload {
            if let Some(new) = reload(opts.config_path) {
                if keeper.is_some() && keepalive_changed(&cfg.watchdog, &new.watchdog) {
                    warning!("wdt_mode, wdt_path and the keepalive keys take effect when stability restarts; the watchdog stays as it is");
                }
                cfg = new;
                watch = Watch::new(&cfg);
                announce(&cfg, opts.dry_run, duress);
                let _ = session.storage.post(Job::Paths(Box::new(paths(
                    &cfg,
                    watch.indicator.as_ref().map(|(i, _)| i.clone()),
                    opts.dry_run,
                    true,
                ))));
                session.load(&cfg);
            }
        }
        session.check_loaded(&cfg);
        if watch.standing() {
            session.fault_stands();
        } else {
            session.tend_guard(&cfg);
        }
        let was_standing = watch.standing();
        let polled = watch.poll(&cfg);
        let io_error = polled.is_err();
        if let Ok(Some(seen)) = polled {
            let fault = watch.fault(&cfg, seen, opts.dry_run);
            let trigger = fault.trigger;
            let outcome = session.act(&cfg, fault, &signals, keeper.as_ref(), opts.dry_run);
            if let Outcome::Failed(_) = outcome {
                // In keepalive mode the watchdog stays armed (Keeper::drop).
                return exit::UNAVAILABLE;
            }
            if let (Outcome::Continue, Some(keeper)) = (&outcome, &keeper) {
                keeper.resume();
            }
            if cfg.single_run {
                session.finish(clock::boottime_ms() + cfg.reset_deadline_ms);
                return exit_status(&outcome);
            }
            watch.after(trigger, &outcome);
        } else if cfg.single_run {
            session.finish(clock::boottime_ms() + cfg.reset_deadline_ms);
            return if io_error { exit::IOERR } else { exit::OK };
        } else if was_standing && !watch.standing() && !opts.dry_run {
            session.fault_ended();
        }
        #[cfg(feature = "bench")]
        if bench.as_mut().is_some_and(crate::bench::Polls::after_poll) {
            return exit::OK;
        }
        if let Some(k) = &keeper {
            k.idle();
        }
        signals.sleep(cfg.interval_ms);
    }
}

/// Keepalive mode: the main loop's pass begins (the stall watch runs).
fn busy(keeper: &Option<Keeper>) {
    if let Some(k) = keeper {
        k.busy();
    }
}

/// How long a deliberate stop waits for the worker to note it in the boot
/// file: a stop must stay quick, and a stuck state_dir must not hold it.
const STOP_WAIT_MS: u64 = 1000;

/// `stability trigger`: the fault path, as a fault would take it.
pub fn trigger(cfg: &Config, reason: &str, dry_run: bool) -> u8 {
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install signal handlers: {}", strerror(e));
            return exit::OSERR;
        }
    };
    if !dry_run {
        crate::duress::apply(cfg.realtime_priority);
    }
    let indicator = cfg.indicator.as_deref().map(Indicator::new);
    let mut session = match Session::start(cfg, indicator, dry_run, false) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let fault = Fault {
        trigger: Trigger::Manual,
        source: None,
        reason: Some(crate::msg::sanitize(reason.as_bytes())),
    };
    let outcome = session.act(cfg, fault, &signals, None, dry_run);
    session.finish(clock::boottime_ms() + cfg.reset_deadline_ms);
    exit_status(&outcome)
}

/// The start-up line: what is watched, how, and what protects the daemon.
fn announce(cfg: &Config, dry_run: bool, duress: crate::duress::Applied) {
    struct Watching<'a>(&'a Config);
    impl core::fmt::Display for Watching<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            let cfg = self.0;
            if let Some(p) = &cfg.indicator {
                write!(f, "indicator {}", show(p))?;
            }
            if let Some(hb) = &cfg.heartbeat {
                if cfg.indicator.is_some() {
                    f.write_str(" and ")?;
                }
                write!(
                    f,
                    "heartbeat {} (timeout {} s)",
                    show(&hb.path),
                    clock::secs(hb.timeout_ms)
                )?;
            }
            if cfg.single_run {
                f.write_str(" once")
            } else {
                write!(f, " every {} s", clock::secs(cfg.interval_ms))
            }
        }
    }
    info!(
        "stability {}{}: watching {}; recovery: {} within {} s of a fault; at most {} resets per {} s window",
        env!("CARGO_PKG_VERSION"),
        if dry_run {
            " (dry run: nothing will be touched)"
        } else {
            ""
        },
        Watching(cfg),
        config::ChainNames(&cfg.chain, " -> "),
        clock::secs(cfg.reset_deadline_ms),
        cfg.max_resets,
        clock::secs(cfg.reset_window_ms)
    );
    if dry_run {
        return;
    }
    let mut line = crate::msg::Text::<160>::new();
    use core::fmt::Write as _;
    let _ = match (duress.locked, crate::duress::locked_kib()) {
        (true, Some(kib)) => write!(line, "memory locked ({kib} KiB)"),
        (true, None) => write!(line, "memory locked"),
        (false, _) => write!(line, "memory NOT locked"),
    };
    let oom = if duress.oom_protected {
        "-1000"
    } else {
        "unchanged"
    };
    let _ = write!(line, ", oom_score_adj {oom}, scheduling ");
    let _ = match (duress.realtime, duress.niced) {
        (true, _) => write!(line, "SCHED_RR {}", cfg.realtime_priority),
        (false, true) => write!(line, "nice {}", crate::duress::NICE),
        (false, false) => write!(line, "normal"),
    };
    info!("under duress: {line}");
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
                "keepalive mode cannot start: {e}; exiting with status 69"
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
