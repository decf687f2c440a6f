//! Power transitions the kernel performs for us: reboot(2) with RB_AUTOBOOT
//! or RB_POWER_OFF (immediate, no init involved), and sleep states written
//! to /sys/power/state (the write returns after the resume).
//!
//! Neither calls sync(2) itself: on the fault path the storage worker has
//! already flushed, within the deadline (see `recovery`); a sync here could
//! wait for ever on the storage that made the board need a reset. The
//! kernel syncs by itself before a suspend.

use crate::log::strerror;
use crate::msg::Msg;
use nix::errno::Errno;
use nix::sys::reboot::{reboot, RebootMode};

/// reboot(2). Returns only if the kernel refused.
pub fn restart(mode: RebootMode) -> Msg {
    let e = match reboot(mode) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let what = if mode == RebootMode::RB_POWER_OFF {
        "RB_POWER_OFF"
    } else {
        "RB_AUTOBOOT"
    };
    match e {
        Errno::EPERM => crate::msg!(
            "reboot(2) {what} refused (EPERM): stability needs CAP_SYS_BOOT; run it as root"
        ),
        e => crate::msg!("reboot(2) {what} failed: {}", strerror(e)),
    }
}

/// Checks that the kernel offers `state` now (it changes with drivers and
/// with hibernation's swap space), naming what it offers otherwise.
pub fn check_sleep_state(state: &str) -> Result<(), String> {
    let offered = crate::sysfs::sleep_states()?;
    if offered.split_whitespace().any(|s| s == state) {
        Ok(())
    } else {
        Err(format!(
            "the kernel does not offer `{state}` now (/sys/power/state lists: {}); choose one of those for rtc_mode",
            if offered.is_empty() { "nothing" } else { &offered }
        ))
    }
}

/// Enters `state`; returns after the resume.
pub fn suspend(state: &str) -> Result<(), String> {
    check_sleep_state(state)?;
    let fd = crate::fsutil::open("/sys/power/state", nix::fcntl::OFlag::O_WRONLY)
        .map_err(|e| format!("cannot open /sys/power/state: {}", strerror(e)))?;
    // One write: the kernel reads the state word from a single write.
    match nix::unistd::write(&fd, state.as_bytes()) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "writing `{state}` to /sys/power/state failed: {}{}",
            strerror(e),
            match e {
                Errno::EBUSY =>
                    " (another suspend is under way, or a device refused to suspend: see dmesg)",
                Errno::EINVAL => " (the state is not supported)",
                Errno::EIO | Errno::EAGAIN =>
                    " (a device or a wakeup event aborted the suspend: see dmesg)",
                _ => "",
            }
        )),
    }
}
