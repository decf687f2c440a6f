//! The kernel ABI this daemon speaks, mirrored from the Linux uapi headers
//! `linux/watchdog.h` and `linux/rtc.h`: structs, every ioctl request the crate
//! issues (each declared once, under its kernel name), and the flag tables that
//! `probe`, `status` and the logs decode bits with.
//!
//! Request numbers are computed by nix's `request_code_*!` macros, which pick
//! the per-architecture encoding (MIPS puts the direction in 3 bits at bit 29,
//! everyone else in 2 bits at bit 30, so `_IOR`/`_IOW` values swap between
//! them). `IOCTLS` lists them all so a test can compare each against the
//! kernel headers compiled for the target architecture.

use core::mem::size_of;
use nix::{
    ioctl_none_bad, ioctl_read_bad, ioctl_readwrite_bad, ioctl_write_ptr_bad, request_code_none,
    request_code_read, request_code_readwrite, request_code_write,
};

/// An ioctl request number as the C library declares it (`c_int` on musl,
/// `c_ulong` on glibc).
pub type Request = nix::sys::ioctl::ioctl_num_type;

// ---------------------------------------------------------------- watchdog.h

/// `struct watchdog_info`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct WatchdogInfo {
    pub options: u32,
    pub firmware_version: u32,
    pub identity: [u8; 32],
}

/// `_IOR('W', 0, struct watchdog_info)`
pub const WDIOC_GETSUPPORT: Request = request_code_read!(b'W', 0, size_of::<WatchdogInfo>());
/// `_IOR('W', 2, int)`
pub const WDIOC_GETBOOTSTATUS: Request = request_code_read!(b'W', 2, size_of::<libc::c_int>());
/// `_IOR('W', 4, int)`: declared `_IOR` in the uapi header although the kernel reads the int.
pub const WDIOC_SETOPTIONS: Request = request_code_read!(b'W', 4, size_of::<libc::c_int>());
/// `_IOR('W', 5, int)`
pub const WDIOC_KEEPALIVE: Request = request_code_read!(b'W', 5, size_of::<libc::c_int>());
/// `_IOWR('W', 6, int)`
pub const WDIOC_SETTIMEOUT: Request = request_code_readwrite!(b'W', 6, size_of::<libc::c_int>());
/// `_IOR('W', 7, int)`
pub const WDIOC_GETTIMEOUT: Request = request_code_read!(b'W', 7, size_of::<libc::c_int>());

ioctl_read_bad!(wdioc_getsupport, WDIOC_GETSUPPORT, WatchdogInfo);
ioctl_read_bad!(wdioc_getbootstatus, WDIOC_GETBOOTSTATUS, libc::c_int);
ioctl_write_ptr_bad!(wdioc_setoptions, WDIOC_SETOPTIONS, libc::c_int);
ioctl_read_bad!(wdioc_keepalive, WDIOC_KEEPALIVE, libc::c_int);
ioctl_readwrite_bad!(wdioc_settimeout, WDIOC_SETTIMEOUT, libc::c_int);
ioctl_read_bad!(wdioc_gettimeout, WDIOC_GETTIMEOUT, libc::c_int);

/// `WDIOS_ENABLECARD`, the argument of `WDIOC_SETOPTIONS` that turns the timer on.
pub const WDIOS_ENABLECARD: libc::c_int = 0x0002;

/// `WDIOF_*`: option and status bits of `watchdog_info.options`, `GETSTATUS`
/// and `GETBOOTSTATUS`, with the name used in output and what the bit means.
pub const WDIOF_FLAGS: &[(u32, &str, &str)] = &[
    (0x0001, "OVERHEAT", "reset due to CPU overheat"),
    (0x0002, "FANFAULT", "fan failed"),
    (0x0004, "EXTERN1", "external relay 1"),
    (0x0008, "EXTERN2", "external relay 2"),
    (0x0010, "POWERUNDER", "power bad/power fault"),
    (0x0020, "CARDRESET", "card previously reset the CPU"),
    (0x0040, "POWEROVER", "power over voltage"),
    (0x0080, "SETTIMEOUT", "set timeout (in seconds)"),
    (0x0100, "MAGICCLOSE", "supports magic close char"),
    (0x0200, "PRETIMEOUT", "pretimeout (in seconds), get/set"),
    (
        0x0400,
        "ALARMONLY",
        "watchdog triggers a management or other external alarm, not a reboot",
    ),
    (0x8000, "KEEPALIVEPING", "keep alive ping reply"),
];

/// `WDIOF_CARDRESET`: in the boot status, the last reset came from this watchdog.
pub const WDIOF_CARDRESET: u32 = 0x0020;
/// `WDIOF_SETTIMEOUT`: the driver implements `WDIOC_SETTIMEOUT`.
pub const WDIOF_SETTIMEOUT: u32 = 0x0080;
/// `WDIOF_MAGICCLOSE`: closing stops the timer only after a 'V' was written.
pub const WDIOF_MAGICCLOSE: u32 = 0x0100;
/// `WDIOF_ALARMONLY`: the watchdog raises an alarm instead of resetting.
pub const WDIOF_ALARMONLY: u32 = 0x0400;
/// `WDIOF_KEEPALIVEPING`: the driver implements `WDIOC_KEEPALIVE`.
pub const WDIOF_KEEPALIVEPING: u32 = 0x8000;

// --------------------------------------------------------------------- rtc.h

/// `struct rtc_time`, laid out like `struct tm`: year since 1900, month 0-11.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct RtcTime {
    pub tm_sec: libc::c_int,
    pub tm_min: libc::c_int,
    pub tm_hour: libc::c_int,
    pub tm_mday: libc::c_int,
    pub tm_mon: libc::c_int,
    pub tm_year: libc::c_int,
    pub tm_wday: libc::c_int,
    pub tm_yday: libc::c_int,
    pub tm_isdst: libc::c_int,
}

/// `struct rtc_wkalrm`
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct RtcWkalrm {
    pub enabled: u8,
    pub pending: u8,
    pub time: RtcTime,
}

/// `_IO('p', 0x01)`: alarm interrupt on.
pub const RTC_AIE_ON: Request = request_code_none!(b'p', 0x01);
/// `_IO('p', 0x02)`: alarm interrupt off.
pub const RTC_AIE_OFF: Request = request_code_none!(b'p', 0x02);
/// `_IOW('p', 0x07, struct rtc_time)`: set the 24-hour alarm (old drivers).
pub const RTC_ALM_SET: Request = request_code_write!(b'p', 0x07, size_of::<RtcTime>());
/// `_IOR('p', 0x09, struct rtc_time)`
pub const RTC_RD_TIME: Request = request_code_read!(b'p', 0x09, size_of::<RtcTime>());
/// `_IOW('p', 0x0f, struct rtc_wkalrm)`
pub const RTC_WKALM_SET: Request = request_code_write!(b'p', 0x0f, size_of::<RtcWkalrm>());
/// `_IOR('p', 0x10, struct rtc_wkalrm)`
pub const RTC_WKALM_RD: Request = request_code_read!(b'p', 0x10, size_of::<RtcWkalrm>());

ioctl_none_bad!(rtc_aie_on, RTC_AIE_ON);
ioctl_none_bad!(rtc_aie_off, RTC_AIE_OFF);
ioctl_write_ptr_bad!(rtc_alm_set, RTC_ALM_SET, RtcTime);
ioctl_read_bad!(rtc_rd_time, RTC_RD_TIME, RtcTime);
ioctl_write_ptr_bad!(rtc_wkalm_set, RTC_WKALM_SET, RtcWkalrm);
ioctl_read_bad!(rtc_wkalm_rd, RTC_WKALM_RD, RtcWkalrm);

/// Every ioctl request the crate issues, by its uapi name: the ground-truth
/// test compares each against the target's kernel headers.
pub const IOCTLS: &[(&str, Request)] = &[
    ("WDIOC_GETSUPPORT", WDIOC_GETSUPPORT),
    ("WDIOC_GETBOOTSTATUS", WDIOC_GETBOOTSTATUS),
    ("WDIOC_SETOPTIONS", WDIOC_SETOPTIONS),
    ("WDIOC_KEEPALIVE", WDIOC_KEEPALIVE),
    ("WDIOC_SETTIMEOUT", WDIOC_SETTIMEOUT),
    ("WDIOC_GETTIMEOUT", WDIOC_GETTIMEOUT),
    ("RTC_AIE_ON", RTC_AIE_ON),
    ("RTC_AIE_OFF", RTC_AIE_OFF),
    ("RTC_ALM_SET", RTC_ALM_SET),
    ("RTC_RD_TIME", RTC_RD_TIME),
    ("RTC_WKALM_SET", RTC_WKALM_SET),
    ("RTC_WKALM_RD", RTC_WKALM_RD),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_the_kernel() {
        assert_eq!(size_of::<WatchdogInfo>(), 40);
        assert_eq!(size_of::<RtcTime>(), 36);
        assert_eq!(size_of::<RtcWkalrm>(), 40);
    }

    #[test]
    fn every_ioctl_is_listed_once() {
        for (i, (name, code)) in IOCTLS.iter().enumerate() {
            for (other, other_code) in &IOCTLS[i + 1..] {
                assert_ne!(name, other);
                assert_ne!(code, other_code, "{name} and {other} share a number");
            }
        }
    }
}
