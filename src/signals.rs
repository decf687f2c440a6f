//! Stop and reload requests (SIGTERM, SIGINT, SIGHUP) and the sleeps they end.
//!
//! The signals stay blocked except inside `sleep`, whose ppoll(2) unblocks
//! them atomically for the duration of the wait: a signal can neither slip in
//! between "check the flags" and "go to sleep" (it stays pending and ends the
//! next sleep at once) nor arrive while a reset is being written. A sleep is a
//! single system call, and a stop request ends it immediately.
//!
//! `PENDING` is the one global of the program: a signal handler has no other
//! way to talk to the code it interrupted. The handler only sets a bit.

use core::sync::atomic::{AtomicU32, Ordering};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};

static PENDING: AtomicU32 = AtomicU32::new(0);
const STOP: u32 = 1;
const RELOAD: u32 = 2;

extern "C" fn on_signal(signal: libc::c_int) {
    let bit = if signal == libc::SIGHUP { RELOAD } else { STOP };
    PENDING.fetch_or(bit, Ordering::SeqCst);
}

/// What arrived since the last look.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Requests {
    /// SIGTERM or SIGINT.
    pub stop: bool,
    /// SIGHUP.
    pub reload: bool,
}

/// The installed handlers and the mask a sleep waits with.
pub struct Signals {
    wait_mask: SigSet,
}

const HANDLED: [Signal; 3] = [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

impl Signals {
    /// Blocks the handled signals and installs their handlers.
    pub fn install() -> nix::Result<Signals> {
        let mut handled = SigSet::empty();
        for s in HANDLED {
            handled.add(s);
        }
        let mut wait_mask = handled.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        for s in HANDLED {
            wait_mask.remove(s);
        }
        // No SA_RESTART: a request must end the sleep it interrupts.
        let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), handled);
        for s in HANDLED {
            // SAFETY: the handler only performs an atomic fetch_or, which is
            // async-signal-safe, and touches no other state.
            unsafe { sigaction(s, &action) }?;
        }
        Ok(Signals { wait_mask })
    }

    /// Takes the requests that arrived so far.
    pub fn take(&self) -> Requests {
        let bits = PENDING.swap(0, Ordering::SeqCst);
        Requests {
            stop: bits & STOP != 0,
            reload: bits & RELOAD != 0,
        }
    }

    /// Sleeps for `ms` milliseconds, or less if a request arrives. Requests
    /// stay pending for `take`.
    pub fn sleep(&self, ms: u64) {
        let ts = nix::sys::time::TimeSpec::from_duration(std::time::Duration::from_millis(ms));
        // EINTR is the expected way out when a signal arrives.
        let _ = nix::poll::ppoll(&mut [], Some(ts), Some(self.wait_mask));
    }

    /// Waits the whole of `ms` (a reset in progress): requests do not shorten
    /// it and stay pending, so a stop asked for meanwhile is honoured if the
    /// daemon is still alive afterwards.
    pub fn wait_through(&self, ms: u64) {
        let deadline = crate::clock::boottime_ms().saturating_add(ms);
        let mut told = false;
        loop {
            let now = crate::clock::boottime_ms();
            if now >= deadline {
                return;
            }
            self.sleep(deadline - now);
            if !told && PENDING.load(Ordering::SeqCst) & STOP != 0 {
                told = true;
                crate::warning!("stop requested while a reset is in progress: the reset goes on");
            }
        }
    }
}
