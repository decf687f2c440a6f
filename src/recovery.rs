//! Executing a decided fault plan (see `plan` for what is decided and why).
//!
//! In order, all on the main thread except where said:
//!
//! 1. a line to the kernel log (a descriptor opened at start-up: it never
//!    waits on storage), and log writes switch to the fault path's rules;
//! 2. the hardware backstop: keepalive mode stops its pings and sets the
//!    watchdog's timeout to the deadline; on-fault mode with the watchdog
//!    first arms it now, with that timeout (read back);
//! 3. the storage worker reads the reason, counts the reset in the guard,
//!    writes the record, removes the indicator (fsync of its directory) and
//!    syncs; the main thread waits for it only until the deadline less the
//!    first device's own time, then goes on without it (the kernel log line
//!    is then the record);
//! 4. the devices of `recovery_device`, in order, each verified and its
//!    failure explained before the next; the watchdog's short timeout is set
//!    only where it ends sooner than the deadline.
//!
//! Nothing here allocates, forks or waits on storage on the watchdog and
//! reboot paths: messages are fixed buffers (`msg`), threads were started
//! at start-up, and storage waits are bounded.

use core::fmt::Write as _;
use nix::sys::reboot::RebootMode;

use crate::clock::{self, secs};
use crate::config::{Config, Device};
use crate::fsutil::show;
use crate::keepalive::Keeper;
use crate::log::Level::{Critical, Error, Notice};
use crate::msg::{Msg, Text};
use crate::plan::{Backstop, Plan, Source, Step, Verdict};
use crate::rtc;
use crate::signals::Signals;
use crate::storage::{step, FaultJob, Job, Storage};
use crate::watchdog::{self, Armed, Search};

/// How handling a fault ended, when it returns at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The boot-loop guard refused: no reset was attempted.
    Refused,
    /// The board slept and woke up, or only an RTC alarm was asked for:
    /// monitoring goes on.
    Continue,
    /// Every device of the chain failed; the summary says why.
    Failed(Text<768>),
    /// --dry-run: the plan was printed.
    Planned,
}

/// What executing a plan needs besides the plan.
pub struct Context<'a> {
    pub storage: &'a Storage,
    pub signals: &'a Signals,
    pub keeper: Option<&'a Keeper>,
    pub boot_id: &'a str,
}

/// Prints the plan (`dry_run`) or executes it.
pub fn handle(cfg: &Config, plan: &Plan, ctx: &Context, dry_run: bool) -> Outcome {
    if dry_run {
        plan.print(cfg);
        return Outcome::Planned;
    }
    let outcome = execute(cfg, plan, ctx);
    crate::log::fault_path(false);
    outcome
}

/// Logs step `step` of the plan as it starts.
fn announce(cfg: &Config, plan: &Plan, step: Step) {
    if let Some(i) = plan.steps.iter().position(|s| *s == step) {
        info!("{}", plan.describe(cfg, i));
    }
}

/// The hardware backstop as it was armed.
enum Held {
    /// The on-fault watchdog, armed with the deadline.
    Armed(Armed),
    /// The keepalive watchdog: its timeout, when it was set, its options.
    Kept {
        timeout_s: u32,
        at_ms: u64,
        options: u32,
    },
    /// Nothing armed; why, when arming was tried and failed.
    Nothing(Option<Msg>),
}

/// Bench builds: how many allocations the main thread made since the fault
/// was seen, printed just before the reset is handed to the hardware or the
/// kernel (there must be none).
#[cfg(feature = "bench")]
fn allocations_since_decision() {
    let since = crate::bench::main_allocations()
        .wrapping_sub(DECIDED.load(core::sync::atomic::Ordering::Relaxed));
    crate::log::log(
        crate::log::Level::Info,
        format_args!("bench: fault_path_allocs={since}"),
    );
}

#[cfg(feature = "bench")]
static DECIDED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn execute(cfg: &Config, plan: &Plan, ctx: &Context) -> Outcome {
    #[cfg(feature = "bench")]
    DECIDED.store(
        crate::bench::main_allocations(),
        core::sync::atomic::Ordering::Relaxed,
    );
    if let Verdict::Refused(g) = &plan.verdict {
        refuse(cfg, plan, ctx, g);
        return Outcome::Refused;
    }
    crate::log::fault_path(true);

    // 1: the kernel log first.
    announce(cfg, plan, Step::KernelLog);
    durable!(
        Critical,
        "{} fault at {}: resetting the board within {} s (reset_deadline); boot-loop guard {}",
        plan.fault.trigger.name(),
        Source(plan.fault.source),
        secs(plan.deadline_ms),
        plan.guard_text(cfg.max_resets)
    );
    // 2: the hardware backstop, before any storage is touched.
    let mut held = arm_backstop(cfg, plan, ctx);
    // 3: storage, on the worker, waited for until the deadline allows.
    let storage_ok = storage(cfg, plan, ctx, &held);
    // 4: the chain.
    chain(cfg, plan, ctx, &mut held, storage_ok)
}

/// The guard refused: say so, and note the fault's time (not waited for).
fn refuse(cfg: &Config, plan: &Plan, ctx: &Context, g: &crate::guard::Guard) {
    announce(cfg, plan, Step::KernelLog);
    durable!(
        Critical,
        "boot-loop guard: {} resets already; NOT resetting for this {} fault at {}. \
         The fault stands until it goes away; the guard re-arms after {} s without a fault, \
         or at once if {}/{} is removed",
        g.show(cfg.max_resets),
        plan.fault.trigger.name(),
        Source(plan.fault.source),
        secs(cfg.reset_window_ms),
        show(&cfg.state_dir),
        crate::guard::FILE
    );
    announce(cfg, plan, Step::SaveGuard);
    if !ctx.storage.post(Job::SaveGuard(g.clone())) {
        error!(
            "the storage worker is stuck ({}): the guard file is not updated",
            ctx.storage.doing()
        );
    }
}

/// Step 2: keepalive stops its pings and sets what is left of the deadline;
/// on-fault mode with the watchdog first arms it with that.
fn arm_backstop(cfg: &Config, plan: &Plan, ctx: &Context) -> Held {
    announce(cfg, plan, Step::Backstop(plan.backstop));
    // The watchdog counts whole seconds: round what is left up, so the
    // storage steps keep their share (the deadline moves by less than the
    // few milliseconds since the fault was seen).
    let ms = plan.deadline_at().saturating_sub(clock::boottime_ms());
    let left_s = u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX).max(1);
    match (plan.backstop, ctx.keeper) {
        (Backstop::Keepalive, Some(keeper)) => match keeper.take_for_reset(left_s, Search::Down) {
            Ok((timeout_s, options)) => Held::Kept {
                timeout_s,
                at_ms: clock::boottime_ms(),
                options,
            },
            Err(e) => {
                durable!(Error, "{e}");
                Held::Nothing(Some(e))
            }
        },
        (Backstop::Watchdog, _) => match watchdog::arm(&cfg.watchdog, left_s, Search::Down) {
            Ok(armed) => {
                durable!(
                    Notice,
                    "watchdog {} armed: it resets the board in {} s unless stability resets it sooner",
                    show(&cfg.watchdog.path),
                    armed.timeout_s
                );
                Held::Armed(armed)
            }
            Err(e) => {
                durable!(
                    Error,
                    "watchdog: {e}; the deadline is kept by stability alone"
                );
                Held::Nothing(Some(e))
            }
        },
        _ => Held::Nothing(None),
    }
}

/// Step 3: the storage worker's part, waited for until the deadline less
/// the first device's own time (or the armed watchdog's expiry, if sooner).
/// The line with the reason goes to the kernel log as soon as it is read.
/// Whether storage finished in time.
fn storage(cfg: &Config, plan: &Plan, ctx: &Context, held: &Held) -> bool {
    let fault = &plan.fault;
    let guard_text = plan.guard_text(cfg.max_resets);
    let job = FaultJob {
        trigger: fault.trigger,
        reason: fault.reason.clone(),
        guard: match &plan.verdict {
            Verdict::Reset(g) => Some(g.clone()),
            _ => None,
        },
        guard_text: guard_text.clone(),
        boot_id: {
            let mut id = heapless::String::new();
            let _ = id.push_str(ctx.boot_id);
            id
        },
        epoch: clock::realtime_s(),
        uptime_ms: plan.seen_ms,
        method: cfg.chain.first().map_or("none", |d| d.name()),
        consume: plan.steps.contains(&Step::Consume),
        flush: true,
    };
    for s in [
        Step::ReadReason,
        Step::SaveGuard,
        Step::SaveRecord,
        Step::Consume,
        Step::Flush,
    ] {
        announce(cfg, plan, s);
    }
    let posted = ctx.storage.post(Job::Fault(job));
    if !posted {
        durable!(
            Error,
            "the storage worker is still stuck ({}): nothing is read or written for this fault",
            ctx.storage.doing()
        );
    }
    let mut until = plan.storage_until(cfg);
    if let Held::Armed(a) = held {
        until = until.min(a.expires_at().saturating_sub(plan.reserve_ms(cfg)));
    }
    let say = |reason: &str| {
        durable!(
            Critical,
            "resetting the board: trigger={} source={} reason={reason} recovery={} guard={guard_text}",
            fault.trigger.name(),
            Source(fault.source),
            crate::config::ChainNames(&cfg.chain, ",")
        );
    };
    let (mut said_reason, mut seen) = (false, 0);
    let mut finished = false;
    let mut waiting = posted;
    while waiting {
        let p = ctx.storage.wait_fault(seen, until);
        if p.done & step::REASON != 0 && !said_reason {
            said_reason = true;
            say(if p.reason.is_empty() {
                "(no reason given)"
            } else {
                p.reason.as_str()
            });
        }
        finished = p.done & step::ALL != 0;
        waiting = !finished && clock::boottime_ms() < until;
        if !finished && !waiting {
            durable!(
                Critical,
                "storage did not answer within {} s (still {}): resetting without it; this line is the record",
                secs(until.saturating_sub(plan.seen_ms)),
                if p.doing.is_empty() { "busy" } else { p.doing }
            );
        }
        seen = p.done;
    }
    if !said_reason {
        say("(not read: storage did not answer)");
    }
    finished
}

/// Step 4: the devices in order. The record follows the chain where storage
/// answered in time: each update is waited for until the storage deadline,
/// or a second.
fn chain(cfg: &Config, plan: &Plan, ctx: &Context, held: &mut Held, storage_ok: bool) -> Outcome {
    let update_record = |method: &'static str, failed: &Text<768>| {
        if storage_ok
            && ctx.storage.post(Job::Method {
                method,
                failed: failed.clone(),
            })
        {
            let until = plan.storage_until(cfg).max(clock::boottime_ms() + 1000);
            ctx.storage.wait_idle(until);
        }
    };
    let mut failed = Text::<768>::new();
    for (k, device) in cfg.chain.iter().enumerate() {
        announce(cfg, plan, Step::Device(*device));
        if k > 0 {
            update_record(device.name(), &failed);
        }
        let why = match try_device(cfg, plan, *device, ctx, held) {
            Ok(outcome) => return outcome,
            Err(why) => why,
        };
        durable!(Error, "{}: {why}", device.name());
        let _ = write!(
            failed,
            "{}{}: {why}",
            if failed.is_empty() { "" } else { "; " },
            device.name()
        );
    }
    update_record("none", &failed);
    durable!(
        Critical,
        "every recovery device failed; stability did NOT reset the board: {failed}"
    );
    Outcome::Failed(failed)
}

/// One device of the chain: Ok when monitoring should go on (RTC sleep and
/// resume, or alarm only); Err with the reason it did not reset the board.
fn try_device(
    cfg: &Config,
    plan: &Plan,
    device: Device,
    ctx: &Context,
    held: &mut Held,
) -> Result<Outcome, Msg> {
    match device {
        Device::Watchdog => {
            let wanted = cfg.watchdog.timeout_s;
            let path = &cfg.watchdog.path;
            // The short timeout, where it ends sooner than the one in force.
            let sooner = |at_ms: u64, timeout_s: u32| {
                clock::boottime_ms() + u64::from(wanted) * 1000
                    < at_ms + u64::from(timeout_s) * 1000
            };
            let mut armed_here = None;
            let (timeout_s, options) = match held {
                Held::Armed(a) => {
                    if sooner(a.at_ms, a.timeout_s) {
                        a.set_timeout(path, wanted, Search::Up)?;
                    }
                    (a.timeout_s, a.options)
                }
                Held::Kept {
                    timeout_s,
                    at_ms,
                    options,
                } => {
                    if sooner(*at_ms, *timeout_s) {
                        let keeper = ctx
                            .keeper
                            .ok_or_else(|| crate::msg!("keepalive: the watchdog is closed"))?;
                        *timeout_s = keeper.take_for_reset(wanted, Search::Up)?.0;
                        *at_ms = clock::boottime_ms();
                    }
                    (*timeout_s, *options)
                }
                Held::Nothing(Some(e)) if plan.backstop == Backstop::Watchdog => {
                    return Err(e.clone())
                }
                Held::Nothing(_) => {
                    let a = watchdog::arm(&cfg.watchdog, wanted, Search::Up)?;
                    let t = (a.timeout_s, a.options);
                    armed_here = Some(a);
                    t
                }
            };
            let wait = cfg.watchdog.kill_delay_ms;
            durable!(
                Critical,
                "watchdog {} armed ({} s timeout in force) and no longer pinged; waiting up to {} s for the reset{}",
                show(path),
                timeout_s,
                clock::fmt_ms(wait),
                if options & crate::uapi::WDIOF_MAGICCLOSE == 0 {
                    " (this driver stops the timer if stability dies first)"
                } else {
                    ""
                }
            );
            #[cfg(feature = "bench")]
            allocations_since_decision();
            ctx.signals.wait_through(wait);
            drop(armed_here);
            Err(crate::msg!(
                "the board is still up {} s after arming a {} s timeout: the watchdog did not reset it",
                clock::fmt_ms(wait),
                timeout_s
            ))
        }
        Device::Rtc => {
            if let (Some(keeper), Some(_)) = (ctx.keeper, cfg.rtc.mode.sleep_state()) {
                // A sleep lets the board live on: keep it pinged through it.
                keeper.resume();
            }
            match rtc::recover(&cfg.rtc, ctx.signals).map_err(|e| crate::msg!("{e}"))? {
                rtc::Outcome::Resumed { slept_ms } => {
                    durable!(
                        Notice,
                        "resumed after {} s in `{}`; the wake alarm is off; monitoring goes on",
                        clock::fmt_ms(slept_ms),
                        cfg.rtc.mode.name()
                    );
                    Ok(Outcome::Continue)
                }
                rtc::Outcome::AlarmSet => {
                    notice!("rtc_mode = no: the wake alarm is set and nothing else is done; monitoring goes on");
                    if let Some(keeper) = ctx.keeper {
                        keeper.resume();
                    }
                    Ok(Outcome::Continue)
                }
            }
        }
        Device::Reboot => {
            #[cfg(feature = "bench")]
            allocations_since_decision();
            Err(crate::power::restart(RebootMode::RB_AUTOBOOT))
        }
    }
}
