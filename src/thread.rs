//! The daemon's helper threads (the keepalive pinger, the storage worker)
//! run on plain POSIX threads with small stacks. std::thread would do, but it
//! links musl's thread naming, which formats a /proc path with snprintf and
//! so brings all of printf, plus std's per-thread bookkeeping: 19 KB of the
//! smallest armv7 build, whose budget is 120 KiB.
//!
//! Threads are started at start-up, never after a fault has been seen:
//! creating one allocates its stack, which could wait in memory reclaim
//! exactly when the board is at its worst.

use std::sync::Arc;

use crate::log::strerror;

/// A started thread, to be joined once (or left running when the process ends).
pub struct Thread {
    tid: libc::pthread_t,
}

/// The stack each helper thread gets. Only the pages a thread touches become
/// resident (and locked: see `duress`); the rest is address space.
pub const STACK_BYTES: usize = 64 * 1024;

impl Thread {
    /// Runs `body(arg)` on a new thread.
    pub fn spawn<T: Send + Sync + 'static>(arg: Arc<T>, body: fn(&T)) -> Result<Thread, String> {
        struct Start<T> {
            arg: Arc<T>,
            body: fn(&T),
        }
        extern "C" fn entry<T>(raw: *mut libc::c_void) -> *mut libc::c_void {
            // SAFETY: `raw` is the Box<Start<T>> that `spawn` leaked for this
            // thread alone; it is taken back exactly once, here.
            let start = unsafe { Box::from_raw(raw as *mut Start<T>) };
            (start.body)(&start.arg);
            core::ptr::null_mut()
        }
        let raw = Box::into_raw(Box::new(Start { arg, body })) as *mut libc::c_void;
        let mut attr = core::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
        let mut tid = core::mem::MaybeUninit::<libc::pthread_t>::uninit();
        // SAFETY: `attr` is initialized before use and destroyed once; `tid`
        // is written by pthread_create before it is read; `entry::<T>`
        // matches the start routine's C signature and owns `raw` if the
        // thread starts. The new thread inherits this one's signal mask (the
        // handled signals blocked), so they keep going to the main thread.
        let rc = unsafe {
            libc::pthread_attr_init(attr.as_mut_ptr());
            libc::pthread_attr_setstacksize(attr.as_mut_ptr(), STACK_BYTES);
            let rc = libc::pthread_create(tid.as_mut_ptr(), attr.as_ptr(), entry::<T>, raw);
            libc::pthread_attr_destroy(attr.as_mut_ptr());
            rc
        };
        if rc != 0 {
            // SAFETY: the thread did not start, so `raw` is still ours to free.
            drop(unsafe { Box::from_raw(raw as *mut Start<T>) });
            return Err(strerror(nix::errno::Errno::from_raw(rc)).to_string());
        }
        // SAFETY: pthread_create succeeded and wrote the thread id.
        Ok(Thread {
            tid: unsafe { tid.assume_init() },
        })
    }

    /// Waits for the thread to end.
    pub fn join(self) {
        // SAFETY: `tid` is a started, not yet joined or detached thread, and
        // `join` consumes the only handle to it.
        unsafe { libc::pthread_join(self.tid, core::ptr::null_mut()) };
    }
}
