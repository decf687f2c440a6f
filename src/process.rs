//! Running another program (rtcwake, for `rtc_backend = rtcwake`): with
//! posix_spawn(3) and an argument vector, never a shell, and waiting for it.
//! Only the RTC path does this; nothing on the watchdog or reboot path
//! starts a process.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use std::ffi::{CStr, CString};

/// Runs `program` with `args` (argv[0] is the program) and waits for it:
/// posix_spawn(3), never a shell. The child inherits the standard streams
/// and the environment, and starts as std::process::Command would start it:
/// with an empty signal mask and the default disposition of the signals this
/// daemon blocks, handles or ignores (SIGPIPE). Returns the wait status.
pub fn spawn_and_wait(program: &CStr, args: &[CString]) -> nix::Result<libc::c_int> {
    extern "C" {
        static environ: *const *mut libc::c_char;
    }
    let mut argv: Vec<*mut libc::c_char> = Vec::with_capacity(args.len() + 2);
    argv.push(program.as_ptr().cast_mut());
    argv.extend(args.iter().map(|a| a.as_ptr().cast_mut()));
    argv.push(core::ptr::null_mut());
    let mut defaults = SigSet::empty();
    for s in [
        Signal::SIGPIPE,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        defaults.add(s);
    }
    let no_mask = SigSet::empty();
    let mut attr = core::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    // SAFETY: `attr` is writable storage for the attribute object it initializes.
    Errno::result(unsafe { libc::posix_spawnattr_init(attr.as_mut_ptr()) })?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: `attr` was initialized above and is destroyed once, here; the
    // sets are valid sigset_t; `argv` is a null-terminated array of pointers
    // to C strings that outlive the call, and `environ` is the process's own
    // null-terminated environment, as execve(2) takes them.
    let spawned = unsafe {
        let attr = attr.as_mut_ptr();
        libc::posix_spawnattr_setsigmask(attr, no_mask.as_ref());
        libc::posix_spawnattr_setsigdefault(attr, defaults.as_ref());
        libc::posix_spawnattr_setflags(
            attr,
            (libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF) as libc::c_short,
        );
        let rc = libc::posix_spawn(
            &mut pid,
            program.as_ptr(),
            core::ptr::null(),
            attr,
            argv.as_ptr(),
            environ,
        );
        libc::posix_spawnattr_destroy(attr);
        rc
    };
    if spawned != 0 {
        return Err(Errno::from_raw(spawned));
    }
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waits for the child spawned above; `status` is a writable int.
        match Errno::result(unsafe { libc::waitpid(pid, &mut status, 0) }) {
            Ok(_) => return Ok(status),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

pub fn exit_words(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("was killed by signal {}", libc::WTERMSIG(status))
    } else {
        "failed".to_owned()
    }
}
