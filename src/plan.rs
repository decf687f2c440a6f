//! The fault path, decided once, the moment a fault is seen: whether the
//! board is reset at all (the boot-loop guard, held in memory, so deciding
//! waits on nothing), how the deadline is kept, which storage work is asked
//! for, and the recovery devices in order. `--dry-run` prints the plan;
//! the daemon and `stability trigger` execute it (`recovery`), logging each
//! step with the very words printed here, so what a dry run shows is what
//! a fault does.
//!
//! The deadline (`reset_deadline`) runs from the poll that saw the fault to
//! the reset. It is kept twice: by the hardware, where stability may arm the
//! watchdog before anything else (keepalive mode, or on-fault mode with the
//! watchdog first in the chain), with a timeout that ends at the deadline;
//! and by the main thread, which hands every storage step to the storage
//! worker and waits for it only until the deadline less the time the first
//! recovery device needs.

use core::fmt::{self, Write as _};
use std::ffi::CStr;

use crate::config::{Config, Device, RtcMode, WdtMode};
use crate::fsutil::show;
use crate::guard::{self, Guard};
use crate::indicator::Reason;
use crate::msg::{Msg, Text};
use crate::record::Trigger;

/// A fault to act on.
pub struct Fault<'a> {
    pub trigger: Trigger,
    /// The watched path; None for a manual trigger.
    pub source: Option<&'a CStr>,
    /// The reason when it is known at once (heartbeat, manual); None: the
    /// storage worker reads it from the indicator.
    pub reason: Option<Reason>,
}

/// The boot-loop guard as the daemon holds it.
#[derive(Clone)]
pub enum GuardState {
    Known(Guard),
    /// Unreadable, or state_dir did not answer: a fault resets without it.
    Unknown(Msg),
}

/// What the guard says about this fault.
pub enum Verdict {
    /// Reset; `guard` is the guard to save, this reset counted.
    Reset(Guard),
    /// The guard is unavailable: reset without counting.
    Unguarded(Msg),
    /// The limit is reached: no reset; `guard` notes the fault's time.
    Refused(Guard),
}

/// How the deadline is kept by the hardware.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backstop {
    /// Keepalive mode: the held watchdog's pings stop and its timeout is set
    /// to the deadline.
    Keepalive,
    /// On-fault mode, the watchdog first in the chain: armed at once with a
    /// timeout that ends at the deadline.
    Watchdog,
    /// Nothing to arm first: the main thread alone keeps the deadline.
    None,
}

/// One step of the plan, in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    KernelLog,
    Backstop(Backstop),
    ReadReason,
    SaveGuard,
    SaveRecord,
    Consume,
    Flush,
    Device(Device),
}

/// The decided fault path.
pub struct Plan<'a> {
    pub fault: Fault<'a>,
    pub verdict: Verdict,
    /// CLOCK_BOOTTIME when the fault was seen.
    pub seen_ms: u64,
    pub deadline_ms: u64,
    pub backstop: Backstop,
    pub steps: heapless::Vec<Step, 12>,
}

/// Decides the plan for `fault`, seen at `now_ms`; updates `guard` as the
/// fault leaves it (counted, or its time noted).
pub fn decide<'a>(
    cfg: &Config,
    fault: Fault<'a>,
    guard: &mut GuardState,
    boot_id: &str,
    now_ms: u64,
) -> Plan<'a> {
    let verdict = match guard {
        GuardState::Known(g) => {
            if g.due_to_clear(cfg.reset_window_ms, boot_id, now_ms) {
                g.count = Some(0);
            }
            g.note_fault(boot_id, now_ms);
            if g.reached(cfg.max_resets) {
                Verdict::Refused(g.clone())
            } else {
                g.count = g.count.map(|c| c + 1);
                Verdict::Reset(g.clone())
            }
        }
        GuardState::Unknown(why) => Verdict::Unguarded(why.clone()),
    };
    let backstop = match (cfg.watchdog.mode, cfg.chain.first()) {
        (WdtMode::Keepalive, _) => Backstop::Keepalive,
        (WdtMode::OnFault, Some(Device::Watchdog)) => Backstop::Watchdog,
        _ => Backstop::None,
    };
    let mut steps = heapless::Vec::new();
    let mut push = |s| {
        let _ = steps.push(s);
    };
    push(Step::KernelLog);
    if !matches!(verdict, Verdict::Refused(_)) {
        push(Step::Backstop(backstop));
        if fault.trigger == Trigger::Indicator {
            push(Step::ReadReason);
        }
        if let Verdict::Reset(_) = verdict {
            push(Step::SaveGuard);
        }
        push(Step::SaveRecord);
        if fault.trigger == Trigger::Indicator {
            push(Step::Consume);
        }
        push(Step::Flush);
        for d in &cfg.chain {
            push(Step::Device(*d));
        }
    } else {
        push(Step::SaveGuard);
    }
    Plan {
        fault,
        verdict,
        seen_ms: now_ms,
        deadline_ms: cfg.reset_deadline_ms,
        backstop,
        steps,
    }
}

impl Plan<'_> {
    /// When the board must be reset by, on CLOCK_BOOTTIME.
    pub fn deadline_at(&self) -> u64 {
        self.seen_ms.saturating_add(self.deadline_ms)
    }

    /// How long the first recovery device needs once storage is done (or
    /// given up): the short watchdog timeout, or a second for the others.
    pub fn reserve_ms(&self, cfg: &Config) -> u64 {
        match cfg.chain.first() {
            Some(Device::Watchdog) => u64::from(cfg.watchdog.timeout_s) * 1000,
            _ => 1000,
        }
    }

    /// Until when the storage worker is waited for.
    pub fn storage_until(&self, cfg: &Config) -> u64 {
        self.deadline_at().saturating_sub(self.reserve_ms(cfg))
    }

    /// The guard as the record and the log show it: "2/3", "unavailable".
    pub fn guard_text(&self, max: u32) -> Text<48> {
        match &self.verdict {
            Verdict::Reset(g) | Verdict::Refused(g) => {
                Text::from_fmt(format_args!("{}", g.show(max)))
            }
            Verdict::Unguarded(_) => Text::from_fmt(format_args!("unavailable")),
        }
    }

    /// The one-line description of step `i` (0-based), as both the dry run
    /// and the daemon write it.
    pub fn describe(&self, cfg: &Config, i: usize) -> Text<384> {
        let mut t = Text::new();
        let _ = write!(t, "{}. ", i + 1);
        let _ = self.describe_into(cfg, self.steps[i], &mut t);
        t
    }

    fn describe_into(&self, cfg: &Config, step: Step, t: &mut impl fmt::Write) -> fmt::Result {
        let dir = show(&cfg.state_dir);
        let wdt = show(&cfg.watchdog.path);
        let d = crate::clock::secs(self.deadline_ms);
        let source = Source(self.fault.source);
        match step {
            Step::KernelLog => match &self.verdict {
                Verdict::Refused(g) => write!(
                    t,
                    "log to the kernel log: the boot-loop guard is at {}: no reset for this fault",
                    g.show(cfg.max_resets)
                ),
                _ => write!(
                    t,
                    "log to the kernel log: {} fault at {source}, reset within {d} s",
                    self.fault.trigger.name()
                ),
            },
            Step::Backstop(Backstop::Keepalive) => write!(
                t,
                "stop pinging {wdt} and set its timeout to {d} s (reset_deadline)"
            ),
            Step::Backstop(Backstop::Watchdog) => write!(
                t,
                "arm {wdt} with a {d} s timeout (reset_deadline), never pinged"
            ),
            Step::Backstop(Backstop::None) => write!(
                t,
                "arm nothing first: stability alone keeps reset_deadline ({d} s)"
            ),
            Step::ReadReason => write!(t, "read the reason from {source} (storage worker)"),
            Step::SaveGuard => match &self.verdict {
                Verdict::Refused(_) => write!(
                    t,
                    "note the fault's time in {dir}/{} (storage worker, not waited for)",
                    guard::FILE
                ),
                _ => write!(
                    t,
                    "count this reset in {dir}/{} ({}) (storage worker)",
                    guard::FILE,
                    self.guard_text(cfg.max_resets)
                ),
            },
            Step::SaveRecord => write!(
                t,
                "write the reset record {dir}/{} (storage worker)",
                crate::record::FILE
            ),
            Step::Consume => write!(
                t,
                "remove {source} and fsync its directory (storage worker)"
            ),
            Step::Flush => write!(
                t,
                "sync every file system (storage worker); storage is waited for at most {} s",
                crate::clock::secs(self.storage_until(cfg).saturating_sub(self.seen_ms))
            ),
            Step::Device(Device::Watchdog) => {
                let wait = crate::clock::secs(cfg.watchdog.kill_delay_ms);
                match self.backstop {
                    Backstop::None => write!(
                        t,
                        "watchdog: arm {wdt} with a {} s timeout, never ping it, wait up to {wait} s",
                        cfg.watchdog.timeout_s
                    ),
                    _ => write!(
                        t,
                        "watchdog: set {wdt}'s timeout to {} s, never ping it, wait up to {wait} s",
                        cfg.watchdog.timeout_s
                    ),
                }
            }
            Step::Device(Device::Rtc) => {
                write!(
                    t,
                    "rtc: set a wake alarm {} s ahead on {}, then ",
                    cfg.rtc.wake_delay_s,
                    show(&cfg.rtc.path)
                )?;
                match cfg.rtc.mode {
                    RtcMode::Off => t.write_str("power off (reboot(2) RB_POWER_OFF)"),
                    RtcMode::No => t.write_str("nothing else (rtc_mode = no)"),
                    mode => write!(
                        t,
                        "write `{}` to /sys/power/state and disable the alarm after the wake-up",
                        mode.name()
                    ),
                }
            }
            Step::Device(Device::Reboot) => t.write_str("reboot: reboot(2) RB_AUTOBOOT"),
        }
    }

    /// `--dry-run`: the plan, with what each device would find now.
    pub fn print(&self, cfg: &Config) {
        let say = |text: fmt::Arguments| crate::out!("dry-run: {text}\n");
        say(format_args!(
            "fault: trigger={} source={} reason={}",
            self.fault.trigger.name(),
            Source(self.fault.source),
            self.fault
                .reason
                .as_ref()
                .map_or("(read from the indicator)", |r| r.as_str())
        ));
        match &self.verdict {
            Verdict::Reset(g) => say(format_args!(
                "boot-loop guard: would reset and count it ({})",
                g.show(cfg.max_resets)
            )),
            Verdict::Refused(g) => say(format_args!(
                "boot-loop guard at {}: would NOT reset; would log the refusal and keep monitoring",
                g.show(cfg.max_resets)
            )),
            Verdict::Unguarded(why) => say(format_args!(
                "boot-loop guard unavailable ({why}): would reset without it"
            )),
        }
        for i in 0..self.steps.len() {
            say(format_args!("{}", self.describe(cfg, i)));
            if let Step::Device(device) = self.steps[i] {
                let found = match device {
                    Device::Watchdog if cfg.watchdog.mode == WdtMode::Keepalive => {
                        Ok("held since start-up (keepalive mode)".to_owned())
                    }
                    Device::Watchdog => crate::watchdog::plan(&cfg.watchdog),
                    Device::Rtc => crate::rtc::plan(&cfg.rtc),
                    Device::Reboot => Ok("always available to root".to_owned()),
                };
                match found {
                    Ok(found) => say(format_args!("   ({} now: {found})", device.name())),
                    Err(e) => say(format_args!("   ({} would fail: {e})", device.name())),
                }
            }
        }
        if self.steps.contains(&Step::SaveRecord) {
            say(format_args!(
                "   (state_dir now: {})",
                writable(&cfg.state_dir)
            ));
        }
    }
}

/// A watched path, or "-" for a manual trigger.
pub struct Source<'a>(pub Option<&'a CStr>);

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, "{}", show(p)),
            None => f.write_str("-"),
        }
    }
}

fn writable(dir: &CStr) -> &'static str {
    match nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK) {
        Ok(()) => "writable",
        Err(nix::errno::Errno::ENOENT) => "does not exist yet (created at start-up)",
        Err(_) => "NOT writable: the guard could not count",
    }
}
