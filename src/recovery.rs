//! What happens on a fault, in this order:
//!
//! 1. the boot-loop guard decides (a reached limit means: log, no reset);
//! 2. the guard counts the reset and the reset record is written, both
//!    atomically, and a line goes to /dev/kmsg so the reason survives;
//! 3. the indicator is consumed (unlink + fsync of its directory), so a
//!    persistent volume cannot bring it back after the reset; then sync(2);
//! 4. the devices of `recovery_device` are tried in order, each verified and
//!    its failure explained (and written to the record) before the next.
//!
//! With `--dry-run` every step is decided and printed, and nothing is
//! written, consumed or opened.

use nix::sys::reboot::RebootMode;
use std::ffi::CStr;

use crate::clock;
use crate::config::{show, Config, Device};
use crate::guard::Guard;
use crate::indicator::Indicator;
use crate::keepalive::Keeper;
use crate::log::Level::{Critical, Error};
use crate::record::{self, Record, Trigger};
use crate::signals::Signals;
use crate::{rtc, watchdog};

/// A fault to act on.
pub struct Fault<'a> {
    pub trigger: Trigger,
    /// The indicator, when it is the trigger: consumed before the reset.
    pub indicator: Option<&'a Indicator>,
    /// The watched path, for the record; empty for a manual trigger.
    pub source: String,
    pub reason: String,
}

/// How handling a fault ended, when it returns at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The boot-loop guard refused: no reset was attempted.
    Refused,
    /// The board slept and woke up, or only an RTC alarm was asked for:
    /// monitoring goes on.
    Continue,
    /// Every device of the chain failed; the summary says why.
    Failed(String),
    /// --dry-run: the plan was printed.
    Planned,
}

fn reason_or_none(reason: &str) -> &str {
    if reason.is_empty() {
        "(no reason given)"
    } else {
        reason
    }
}

/// Acts on `fault` as the module comment describes.
pub fn handle(
    cfg: &Config,
    fault: &Fault,
    signals: &Signals,
    keeper: Option<&Keeper>,
    dry_run: bool,
) -> Outcome {
    if dry_run {
        plan(cfg, fault);
        return Outcome::Planned;
    }
    let dir = cfg.state_dir.as_c_str();
    if let Err(e) = crate::statefile::ensure_dir(dir) {
        crate::error!("{e}");
    }
    let boot_id = clock::boot_id();
    let now = clock::boottime_ms();
    let reason = reason_or_none(&fault.reason);

    // 1 + 2a: the guard decides, then counts.
    let guard = match Guard::load(dir) {
        Ok(g) => Some(g),
        Err(e) => {
            durable!(
                Critical,
                "boot-loop guard unavailable: {e}; resetting without it"
            );
            None
        }
    };
    let guard_text = match guard {
        Some(mut g) => {
            if g.due_to_clear(cfg.reset_window_ms, &boot_id, now) {
                g.count = Some(0);
            }
            g.note_fault(&boot_id, now);
            if g.reached(cfg.max_resets) {
                if let Err(e) = g.save(dir) {
                    crate::error!("{e}");
                }
                durable!(
                    Critical,
                    "boot-loop guard: {} resets already; NOT resetting for this fault ({}: {reason}). \
                     It re-arms after {} s without a fault, or at once if {}/{} is removed",
                    g.show(cfg.max_resets),
                    fault.trigger.name(),
                    cfg.reset_window_ms / 1000,
                    show(dir),
                    crate::guard::FILE
                );
                return Outcome::Refused;
            }
            g.count = g.count.map(|c| c + 1);
            match g.save(dir) {
                Ok(()) => g.show(cfg.max_resets).to_string(),
                Err(e) => {
                    durable!(
                        Critical,
                        "{e}: the boot-loop guard cannot count this reset; resetting anyway"
                    );
                    format!("{} (not saved)", g.show(cfg.max_resets))
                }
            }
        }
        None => "unavailable".to_owned(),
    };

    // 2b: the record, and the kernel log.
    let previous = record::load(dir).ok().flatten();
    let mut rec = Record {
        seq: record::next_seq(previous.as_deref()),
        epoch: clock::realtime_s(),
        boot_id,
        uptime_ms: now,
        trigger: fault.trigger,
        source: fault.source.clone(),
        reason: fault.reason.clone(),
        chain: crate::config::chain_names(&cfg.chain, ","),
        method: cfg.chain.first().map_or("none", |d| d.name()),
        failed: String::new(),
        guard: guard_text,
    };
    if let Err(e) = rec.save(dir) {
        durable!(Error, "cannot keep the reset record: {e}");
    }
    durable!(
        Critical,
        "resetting the board: trigger={} source={} reason={reason} recovery={} guard={}",
        fault.trigger.name(),
        if fault.source.is_empty() {
            "-"
        } else {
            &fault.source
        },
        rec.chain,
        rec.guard
    );

    // 3: consume, then flush everything.
    if let Some(indicator) = fault.indicator {
        if let Err(e) = indicator.consume() {
            durable!(Error, "{e}: the indicator may come back after the reset; the boot-loop guard limits the loop");
        }
    }
    nix::unistd::sync();

    // 4: the chain.
    for (i, device) in cfg.chain.iter().enumerate() {
        if i > 0 {
            rec.method = device.name();
            if let Err(e) = rec.save(dir) {
                crate::error!("cannot update the reset record: {e}");
            }
            nix::unistd::sync();
        }
        let failure = match try_device(cfg, *device, signals, keeper) {
            Ok(outcome) => return outcome,
            Err(why) => format!("{}: {why}", device.name()),
        };
        durable!(Error, "{failure}");
        // What failed so far, "device: why; ...", for the record and the summary.
        if !rec.failed.is_empty() {
            rec.failed.push_str("; ");
        }
        rec.failed.push_str(&failure);
    }
    rec.method = "none";
    let summary = rec.failed.clone();
    if let Err(e) = rec.save(dir) {
        crate::error!("cannot update the reset record: {e}");
    }
    durable!(
        Critical,
        "every recovery device failed, the board was NOT reset: {summary}"
    );
    Outcome::Failed(summary)
}

/// One device of the chain: Ok when monitoring should go on (RTC sleep and
/// resume, or alarm only); Err with the reason it did not reset the board.
fn try_device(
    cfg: &Config,
    device: Device,
    signals: &Signals,
    keeper: Option<&Keeper>,
) -> Result<Outcome, String> {
    match device {
        Device::Watchdog => {
            // In keepalive mode the daemon already holds the watchdog: stop
            // the pings and shorten its timeout. Otherwise open and arm it
            // now; `armed` keeps it open through the wait.
            let armed;
            let (timeout_s, options) = match keeper {
                Some(keeper) => keeper.take_for_reset(cfg.watchdog.timeout_s)?,
                None => {
                    armed = watchdog::arm(&cfg.watchdog)?;
                    (armed.timeout_s, armed.options)
                }
            };
            let wait = cfg.watchdog.kill_delay_ms;
            durable!(
                Critical,
                "watchdog {} armed with a {} s timeout and no ping; waiting up to {} s for the reset{}",
                show(&cfg.watchdog.path),
                timeout_s,
                clock::fmt_ms(wait),
                if options & crate::uapi::WDIOF_MAGICCLOSE == 0 {
                    " (this driver stops the timer if stability dies first)"
                } else {
                    ""
                }
            );
            signals.wait_through(wait);
            Err(format!(
                "the board is still up {} s after arming a {} s timeout: the watchdog did not reset it",
                clock::fmt_ms(wait),
                timeout_s
            ))
        }
        Device::Rtc => match rtc::recover(&cfg.rtc, signals)? {
            rtc::Outcome::Resumed { slept_ms } => {
                durable!(
                    crate::log::Level::Notice,
                    "resumed after {} s in `{}`; the wake alarm is off; monitoring goes on",
                    clock::fmt_ms(slept_ms),
                    cfg.rtc.mode.name()
                );
                Ok(Outcome::Continue)
            }
            rtc::Outcome::AlarmSet => {
                crate::notice!("rtc_mode = no: the wake alarm is set and nothing else is done; monitoring goes on");
                Ok(Outcome::Continue)
            }
        },
        Device::Reboot => Err(crate::power::restart(RebootMode::RB_AUTOBOOT)),
    }
}

/// --dry-run: every decision, printed, with nothing written or opened.
fn plan(cfg: &Config, fault: &Fault) {
    let dir = cfg.state_dir.as_c_str();
    let say = |text: std::fmt::Arguments| crate::out!("dry-run: {text}\n");
    say(format_args!(
        "fault: trigger={} source={} reason={}",
        fault.trigger.name(),
        if fault.source.is_empty() {
            "-"
        } else {
            &fault.source
        },
        reason_or_none(&fault.reason)
    ));
    match Guard::load(dir) {
        Ok(mut g) => {
            if g.due_to_clear(cfg.reset_window_ms, &clock::boot_id(), clock::boottime_ms()) {
                g.count = Some(0);
            }
            if g.reached(cfg.max_resets) {
                say(format_args!(
                    "boot-loop guard at {}: would NOT reset; would log the refusal and keep monitoring",
                    g.show(cfg.max_resets)
                ));
                return;
            }
            say(format_args!(
                "boot-loop guard at {}: would reset and count it ({}/{})",
                g.show(cfg.max_resets),
                g.count.unwrap_or(0) + 1,
                cfg.max_resets
            ));
        }
        Err(e) => say(format_args!(
            "boot-loop guard unavailable ({e}): would reset without it"
        )),
    }
    say(format_args!(
        "would write {}/{} and {}/{} ({}) and a line to /dev/kmsg",
        show(dir),
        crate::guard::FILE,
        show(dir),
        record::FILE,
        writable(dir)
    ));
    if let Some(indicator) = fault.indicator {
        say(format_args!(
            "would remove {} and fsync its directory",
            show(&indicator.path)
        ));
    }
    say(format_args!("would sync"));
    for (i, device) in cfg.chain.iter().enumerate() {
        let n = i + 1;
        match device {
            Device::Watchdog if cfg.watchdog.mode == crate::config::WdtMode::Keepalive => say(format_args!(
                "{n}. watchdog: would stop pinging {} (held since start-up, keepalive mode), set a {} s timeout, and wait up to {} s",
                show(&cfg.watchdog.path),
                cfg.watchdog.timeout_s,
                clock::fmt_ms(cfg.watchdog.kill_delay_ms)
            )),
            Device::Watchdog => match watchdog::plan(&cfg.watchdog) {
                Ok(found) => say(format_args!(
                    "{n}. watchdog: would arm {found} with a {} s timeout, never ping it, and wait up to {} s",
                    cfg.watchdog.timeout_s,
                    clock::fmt_ms(cfg.watchdog.kill_delay_ms)
                )),
                Err(e) => say(format_args!("{n}. watchdog: would fail: {e}")),
            },
            Device::Rtc => match rtc::plan(&cfg.rtc) {
                Ok(found) => say(format_args!(
                    "{n}. rtc: would set a wake alarm on {found} {} s ahead ({}), then {}",
                    cfg.rtc.wake_delay_s,
                    cfg.rtc.backend.name(),
                    match cfg.rtc.mode.sleep_state() {
                        Some(state) => format!("write `{state}` to /sys/power/state and, after the wake-up, disable the alarm"),
                        None if cfg.rtc.mode == crate::config::RtcMode::No => "do nothing else (rtc_mode = no)".to_owned(),
                        None => "sync and power off (reboot(2) RB_POWER_OFF)".to_owned(),
                    }
                )),
                Err(e) => say(format_args!("{n}. rtc: would fail: {e}")),
            },
            Device::Reboot => say(format_args!("{n}. reboot: would sync and call reboot(2) RB_AUTOBOOT")),
        }
    }
}

fn writable(dir: &CStr) -> &'static str {
    match nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK) {
        Ok(()) => "state_dir is writable",
        Err(nix::errno::Errno::ENOENT) => "state_dir does not exist yet",
        Err(_) => "state_dir is NOT writable: the guard could not count",
    }
}
