//! Staying able to act when the board is at its worst: memory exhausted,
//! storage hanging, the CPU taken by others. Set up once at start-up:
//!
//! - **never the OOM killer's victim**: `oom_score_adj = -1000`, written by
//!   the daemon itself so that SysV and BusyBox init get it too (it needs
//!   CAP_SYS_RESOURCE, or a supervisor that set it already, as the systemd
//!   unit's OOMScoreAdjust=-1000 does);
//! - **nothing to read back from storage**: every page of the program's code
//!   and data is locked in RAM (each loaded ELF segment with mlock(2)), and
//!   every page it touches from then on (mlockall with MCL_FUTURE and
//!   MCL_ONFAULT: pages of the stacks and heap are locked as they are first
//!   used, not populated ahead). Under memory pressure the kernel drops clean
//!   file pages first, and a program's code is exactly that: without the
//!   lock, the first fault in weeks would have to page the reset path back
//!   in from the root file system — possibly the very device that hangs. The
//!   main thread's stack is touched to the depth the fault path needs, so it
//!   cannot need a new page either;
//! - **scheduled when it must act**: nice -20, so that busy loops of other
//!   processes, even at nice -20, cannot starve its polls and its fault path
//!   (measured: at nice 0 behind one nice -20 loop and a throttled SCHED_FIFO
//!   hog, indicator -> reset took 9 s instead of 2); optionally a real-time
//!   priority (`realtime_priority`, SCHED_RR), which is off by default: under
//!   the kernel's RT throttling a higher-priority real-time hog starves every
//!   lower real-time task completely, while normal tasks still get the 5 %
//!   the throttling leaves them (see the w07 scenario).
//!
//! Each step that fails is logged once, with what to do, and the daemon runs
//! on without it.

use nix::errno::Errno;

use crate::log::strerror;

/// How deep the fault path may go on the main thread's stack, touched ahead.
/// Measured on x86_64 (the stack's resident size when the process ends after
/// a fault whose every device failed): 20 KiB, start-up included; 32 KiB
/// leaves room for the larger frames of 32-bit MIPS and ARM.
pub const FAULT_PATH_STACK: usize = 32 * 1024;

/// What `apply` achieved, for the start-up line and the tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct Applied {
    pub oom_protected: bool,
    pub locked: bool,
    pub niced: bool,
    pub realtime: bool,
}

/// Applies everything above; `rt_priority` 0 keeps normal scheduling.
pub fn apply(rt_priority: u32) -> Applied {
    let mut done = Applied {
        oom_protected: protect_from_oom(),
        locked: lock_memory(),
        ..Applied::default()
    };
    if done.locked {
        touch_stack();
    }
    done.niced = set_nice();
    if rt_priority > 0 {
        done.realtime = set_realtime(rt_priority);
    }
    done
}

fn protect_from_oom() -> bool {
    use nix::fcntl::OFlag;
    let written = crate::fsutil::open("/proc/self/oom_score_adj", OFlag::O_WRONLY)
        .and_then(|fd| crate::fsutil::write_all(&fd, b"-1000\n"));
    match written {
        Ok(()) => true,
        Err(e) => {
            warning!(
                "cannot set oom_score_adj to -1000 ({}): the OOM killer may choose stability; \
                 run it as root with CAP_SYS_RESOURCE (or OOMScoreAdjust=-1000 in its unit)",
                strerror(e)
            );
            false
        }
    }
}

/// Locks the loaded image and everything touched from now on.
fn lock_memory() -> bool {
    let mlockall = |flags: libc::c_int| {
        // SAFETY: mlockall only changes how this process's pages are kept.
        Errno::result(unsafe { libc::mlockall(flags) })
    };
    let future = libc::MCL_CURRENT | libc::MCL_FUTURE;
    // MCL_ONFAULT (Linux 4.4): lock pages as they are used, so the stacks'
    // and heap's reserve is not made resident ahead.
    let all = match mlockall(future | libc::MCL_ONFAULT) {
        Err(Errno::EINVAL) => mlockall(future),
        other => other,
    };
    if let Err(e) = all {
        warning!(
            "cannot lock stability in memory ({}): under memory pressure its code may have to be read \
             back from storage before it can reset the board; run it as root (CAP_IPC_LOCK) or raise \
             its RLIMIT_MEMLOCK (LimitMEMLOCK=infinity in its unit)",
            strerror(e)
        );
        return false;
    }
    // The image itself, populated now: every page the fault path could run.
    lock_segments();
    true
}

/// mlock(2) of every loaded segment of the program (and, in a dynamically
/// linked build, of its libraries), which also reads them in.
fn lock_segments() {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        _data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the C library hands a valid dl_phdr_info whose dlpi_phdr
        // points at dlpi_phnum program headers of a loaded object.
        let info = unsafe { &*info };
        let page = 4096usize;
        for i in 0..usize::from(info.dlpi_phnum) {
            // SAFETY: i < dlpi_phnum, within the array described above.
            let ph = unsafe { &*info.dlpi_phdr.add(i) };
            if ph.p_type != libc::PT_LOAD || ph.p_memsz == 0 {
                continue;
            }
            let start = (info.dlpi_addr as usize).wrapping_add(ph.p_vaddr as usize);
            let end = start.wrapping_add(ph.p_memsz as usize);
            let start = start & !(page - 1);
            // SAFETY: the range is a loaded segment of this process; mlock
            // only changes how its pages are kept. A failure (a segment the
            // kernel will not lock) is not fatal: it stays as it was.
            unsafe { libc::mlock(start as *const libc::c_void, end - start) };
        }
        0
    }
    // SAFETY: `each` matches the callback's C signature and keeps no pointer.
    unsafe { libc::dl_iterate_phdr(Some(each), core::ptr::null_mut()) };
}

/// Touches `FAULT_PATH_STACK` bytes of the main thread's stack below this
/// frame, so those pages are resident (and locked) before a fault needs them.
#[inline(never)]
fn touch_stack() {
    let mut area = [0u8; FAULT_PATH_STACK];
    for i in (0..area.len()).step_by(1024) {
        // SAFETY: `i` is within `area`; a volatile write cannot be removed.
        unsafe { core::ptr::write_volatile(area.as_mut_ptr().add(i), 1) };
    }
    core::hint::black_box(&area);
}

/// The nice value stability runs at.
pub const NICE: i32 = -20;

fn set_nice() -> bool {
    // SAFETY: setpriority only changes this thread's nice value (threads
    // started afterwards inherit it); `who` 0 is the caller.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) } != 0 {
        warning!(
            "cannot run at nice {NICE} ({}): busy processes may delay the reset; needs CAP_SYS_NICE",
            strerror(Errno::last())
        );
        return false;
    }
    true
}

fn set_realtime(priority: u32) -> bool {
    // SAFETY: sched_param is plain integers (musl adds reserved fields);
    // all-zero is a valid value.
    let mut param: libc::sched_param = unsafe { core::mem::zeroed() };
    param.sched_priority = priority as libc::c_int;
    // The system call itself: musl's sched_setscheduler() is a stub that
    // fails with ENOSYS (Linux applies it per thread, not per process).
    // SAFETY: `param` is a valid sched_param; pid 0 is this thread. Threads
    // started afterwards inherit the policy.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            0,
            libc::SCHED_RR,
            &param as *const libc::sched_param,
        )
    };
    if rc != 0 {
        warning!(
            "cannot run at real-time priority SCHED_RR {priority} ({}): needs CAP_SYS_NICE \
             (and, under systemd, no RestrictRealtime=yes)",
            strerror(Errno::last())
        );
        return false;
    }
    true
}

/// VmLck of this process in KiB, from /proc/self/status.
pub fn locked_kib() -> Option<u64> {
    let mut buf = [0u8; 2048];
    let text = crate::fsutil::read_small("/proc/self/status", &mut buf).ok()?;
    let text = core::str::from_utf8(text).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmLck:"))?;
    line["VmLck:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
