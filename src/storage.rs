//! The storage worker: every read and write stability makes on storage
//! while it runs — state_dir (the boot-loop guard, the reset record, the
//! boot file) and the indicator's reason and removal — happens on one thread
//! of its own. The thread that decides and resets (the main thread) hands a
//! job over and waits for it only until a deadline: a disk whose I/O hangs,
//! a dead network mount or a FUSE server that never answers can stop the
//! worker for ever, never the reset.
//!
//! The worker keeps its own copy of the paths it works on (given at start-up
//! and after a reload), so a job carries only small fixed-size values:
//! posting one after a fault has been seen allocates nothing. Jobs run one at
//! a time, in the order posted; a worker that is stuck keeps the later jobs
//! queued (up to `QUEUE`), and `post` refuses more rather than wait.

use std::ffi::CString;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock;
use crate::guard::Guard;
use crate::indicator::{Indicator, Reason};
use crate::log::Level;
use crate::msg::{Msg, Text};
use crate::record::{self, Record, Trigger};
use crate::thread::Thread;

/// Jobs waiting at most; a stuck worker makes `post` refuse the next ones.
const QUEUE: usize = 8;

/// What the worker works on.
pub struct Paths {
    pub state_dir: CString,
    pub indicator: Option<Indicator>,
    /// The heartbeat path, for the record's `source`.
    pub heartbeat: Option<CString>,
    /// "watchdog,rtc": the record's `chain`.
    pub chain: String,
    /// `--dry-run`: read, never write.
    pub dry_run: bool,
    /// The daemon (not a single run or `trigger`): note this boot in the
    /// boot file at start-up, and its deliberate stop.
    pub note_boot: bool,
}

/// The storage side of one fault: what to read, count, record and remove.
#[derive(Clone)]
pub struct FaultJob {
    pub trigger: Trigger,
    /// The reason, when it is not read from the indicator.
    pub reason: Option<Reason>,
    /// The guard to save, this reset already counted (None: unavailable).
    pub guard: Option<Guard>,
    /// The guard as the record shows it: "2/3", "unavailable".
    pub guard_text: Text<48>,
    pub boot_id: heapless::String<36>,
    pub epoch: i64,
    pub uptime_ms: u64,
    /// The first device of the chain.
    pub method: &'static str,
    /// Remove the indicator (and fsync its directory).
    pub consume: bool,
    /// sync(2) once the rest is done.
    pub flush: bool,
}

/// A job for the worker.
pub enum Job {
    /// Start-up: make state_dir, read the guard, log the last record, note
    /// this boot in the boot file.
    Load,
    Fault(FaultJob),
    /// The chain moved on: the record's `method` and `failed` again.
    Method {
        method: &'static str,
        failed: Text<768>,
    },
    /// Save this guard (a clear, or the time of a refused fault).
    SaveGuard(Guard),
    /// The end of a refused fault: save this guard only if its file is
    /// still there (someone who removed it cleared the guard on purpose),
    /// then read the file back for the main thread, as `Load` does.
    FaultEnded(Guard),
    /// Read the guard file back for the main thread (nothing else).
    ReadGuard,
    /// A deliberate stop: the boot file says so.
    Stop,
    /// A reloaded configuration.
    Paths(Box<Paths>),
}

/// Steps of a fault job, as bits of `Progress::done`.
pub mod step {
    pub const REASON: u8 = 1;
    pub const GUARD: u8 = 2;
    pub const RECORD: u8 = 4;
    pub const CONSUMED: u8 = 8;
    pub const FLUSHED: u8 = 16;
    /// The whole job has ended.
    pub const ALL: u8 = 32;
}

/// How far the current fault job has got.
#[derive(Clone)]
pub struct Progress {
    pub done: u8,
    pub reason: Reason,
    /// The step under way: "writing the reset record".
    pub doing: &'static str,
}

/// What start-up found: the guard, or why it could not be read.
pub type Loaded = Result<Guard, Msg>;

struct Mailbox {
    queue: heapless::Deque<Job, QUEUE>,
    /// Jobs posted and jobs finished, for `wait_idle`.
    posted: u64,
    finished: u64,
    progress: Progress,
    loaded: Option<Loaded>,
    /// What the worker is doing, for messages about a stuck worker.
    doing: &'static str,
    stop: bool,
}

struct Shared {
    mailbox: Mutex<Mailbox>,
    /// The worker waits here for jobs.
    jobs: Condvar,
    /// Waiters for progress wait here.
    news: Condvar,
    /// The paths the worker starts with (it owns them from then on).
    initial: Mutex<Option<Box<Paths>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The worker and its mailbox.
pub struct Storage {
    shared: Arc<Shared>,
    thread: Option<Thread>,
}

impl Storage {
    /// Starts the worker on `paths`.
    pub fn start(paths: Paths) -> Result<Storage, String> {
        let shared = Arc::new(Shared {
            mailbox: Mutex::new(Mailbox {
                queue: heapless::Deque::new(),
                posted: 0,
                finished: 0,
                progress: Progress {
                    done: 0,
                    reason: Reason::new(),
                    doing: "",
                },
                loaded: None,
                doing: "",
                stop: false,
            }),
            jobs: Condvar::new(),
            news: Condvar::new(),
            initial: Mutex::new(Some(Box::new(paths))),
        });
        let thread = Thread::spawn(shared.clone(), work)
            .map_err(|e| format!("cannot start the storage worker thread: {e}"))?;
        Ok(Storage {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `job`; false (and the job dropped) when the queue is full,
    /// which means the worker has been stuck for a while.
    pub fn post(&self, job: Job) -> bool {
        let mut m = lock(&self.shared.mailbox);
        if let Job::Fault(_) = job {
            m.progress.done = 0;
            m.progress.reason.clear();
            m.progress.doing = "waiting for earlier storage work";
        }
        if m.queue.push_back(job).is_err() {
            return false;
        }
        m.posted += 1;
        drop(m);
        self.shared.jobs.notify_one();
        true
    }

    /// What the worker is doing now ("" when idle).
    pub fn doing(&self) -> &'static str {
        lock(&self.shared.mailbox).doing
    }

    /// Waits until the fault job's progress differs from `seen`, it has
    /// ended, or CLOCK_BOOTTIME reaches `until_ms`.
    pub fn wait_fault(&self, seen: u8, until_ms: u64) -> Progress {
        let mut m = lock(&self.shared.mailbox);
        loop {
            if m.progress.done != seen || m.progress.done & step::ALL != 0 {
                return m.progress.clone();
            }
            let Some(left) = remaining(until_ms) else {
                return m.progress.clone();
            };
            m = wait(&self.shared.news, m, left);
        }
    }

    /// The start-up result, if it has come; waits for it until `until_ms`.
    pub fn wait_loaded(&self, until_ms: u64) -> Option<Loaded> {
        let mut m = lock(&self.shared.mailbox);
        loop {
            if let Some(loaded) = m.loaded.take() {
                return Some(loaded);
            }
            let left = remaining(until_ms)?;
            m = wait(&self.shared.news, m, left);
        }
    }

    /// Waits until every job posted so far has ended, or `until_ms`.
    pub fn wait_idle(&self, until_ms: u64) -> bool {
        let mut m = lock(&self.shared.mailbox);
        loop {
            if m.finished == m.posted {
                return true;
            }
            let Some(left) = remaining(until_ms) else {
                return false;
            };
            m = wait(&self.shared.news, m, left);
        }
    }

    /// Ends the worker once it is idle; a worker stuck in storage is left
    /// behind (the process exits without it).
    pub fn finish(mut self, until_ms: u64) {
        if self.wait_idle(until_ms) {
            lock(&self.shared.mailbox).stop = true;
            self.shared.jobs.notify_all();
            if let Some(t) = self.thread.take() {
                t.join();
            }
        }
    }
}

/// Milliseconds until `until_ms`, if any are left.
fn remaining(until_ms: u64) -> Option<Duration> {
    let now = clock::boottime_ms();
    (now < until_ms).then(|| Duration::from_millis(until_ms - now))
}

fn wait<'a>(cv: &Condvar, m: MutexGuard<'a, Mailbox>, left: Duration) -> MutexGuard<'a, Mailbox> {
    match cv.wait_timeout(m, left) {
        Ok((m, _)) => m,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

/// The worker's own memory between jobs.
struct Worker {
    /// The record of the fault under way, for `Job::Method`.
    record: Option<Record>,
    /// The seq the next record gets (from the boot file, or the last record).
    next_seq: Option<u64>,
}

fn work(shared: &Shared) {
    let Some(mut paths) = lock(&shared.initial).take() else {
        return;
    };
    let mut w = Worker {
        record: None,
        next_seq: None,
    };
    loop {
        let job = {
            let mut m = lock(&shared.mailbox);
            loop {
                if let Some(job) = m.queue.pop_front() {
                    break job;
                }
                if m.stop {
                    return;
                }
                m = match shared.jobs.wait(m) {
                    Ok(m) => m,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
        };
        match job {
            Job::Paths(new) => paths = new,
            job => w.run(shared, &paths, job),
        }
        let mut m = lock(&shared.mailbox);
        m.finished += 1;
        m.doing = "";
        drop(m);
        shared.news.notify_all();
    }
}

/// Saves a guard the main thread changed (a clear, the time of a refused
/// fault) only over a guard file that is still there: someone who removed
/// it meanwhile cleared the guard on purpose, and a reset's own count is
/// saved by the fault job, which always writes.
fn save_guard_if_there(paths: &Paths, g: &Guard) {
    let dir = paths.state_dir.as_c_str();
    if paths.dry_run || !crate::statefile::exists(dir, crate::guard::FILE) {
        return;
    }
    if let Err(e) = g.save(dir) {
        error!("{e}");
    }
}

fn set_doing(shared: &Shared, what: &'static str) {
    lock(&shared.mailbox).doing = what;
}

impl Worker {
    fn run(&mut self, shared: &Shared, paths: &Paths, job: Job) {
        let dir = paths.state_dir.as_c_str();
        let doing = |what| set_doing(shared, what);
        match job {
            Job::Paths(_) => {}
            Job::Load => {
                doing("reading state_dir");
                let loaded = self.load(paths);
                lock(&shared.mailbox).loaded = Some(loaded);
            }
            Job::SaveGuard(g) => {
                doing("saving the boot-loop guard");
                save_guard_if_there(paths, &g);
            }
            Job::FaultEnded(g) => {
                doing("saving the boot-loop guard");
                save_guard_if_there(paths, &g);
                let read = Guard::load(dir).map_err(|e| crate::msg!("{e}"));
                lock(&shared.mailbox).loaded = Some(read);
            }
            Job::ReadGuard => {
                doing("reading the boot-loop guard");
                let read = Guard::load(dir).map_err(|e| crate::msg!("{e}"));
                lock(&shared.mailbox).loaded = Some(read);
            }
            Job::Stop => {
                if paths.note_boot && !paths.dry_run {
                    doing("noting the stop in the boot file");
                    if let Err(e) = record::Boot::stopped(dir) {
                        warning!("{e}");
                    }
                }
            }
            Job::Method { method, failed } => {
                if let Some(rec) = &mut self.record {
                    rec.method = method;
                    rec.failed.clear();
                    rec.failed.push_str(failed.as_str());
                    doing("updating the reset record");
                    if let Err(e) = rec.save(dir) {
                        error!("cannot update the reset record: {e}");
                    }
                }
            }
            Job::Fault(job) => self.fault(shared, paths, job),
        }
    }

    /// Start-up: state_dir made and checked, the last record logged, this
    /// boot noted, and the guard read.
    fn load(&mut self, paths: &Paths) -> Loaded {
        let dir = paths.state_dir.as_c_str();
        let boot_id = clock::boot_id();
        if !paths.dry_run {
            if let Err(e) = crate::statefile::ensure_dir(dir) {
                error!("{e}; a fault will still reset the board, but without the boot-loop guard");
            }
        }
        if let Some(fs) = crate::statefile::volatile_fs(dir) {
            warning!(
                "state_dir {} is on {fs}: the boot-loop guard and the reset record are lost at every reset; put state_dir on persistent storage",
                crate::fsutil::show(dir)
            );
        }
        let last = match record::load(dir) {
            Ok(text) => text,
            Err(e) => {
                warning!("cannot read the last reset record: {e}");
                None
            }
        };
        if let Some(text) = &last {
            if crate::statefile::value(text, "boot_id") != Some(boot_id.as_str()) {
                notice!("last reset: {}", record::summary(text));
            }
        }
        match record::Boot::begin(
            dir,
            &boot_id,
            last.as_deref(),
            paths.note_boot && !paths.dry_run,
        ) {
            Ok(boot) => self.next_seq = Some(boot.next_seq),
            Err(e) => warning!("{e}"),
        }
        Guard::load(dir).map_err(|e| crate::msg!("{e}"))
    }

    fn fault(&mut self, shared: &Shared, paths: &Paths, job: FaultJob) {
        let dir = paths.state_dir.as_c_str();
        let report = |bit: u8, reason: Option<&Reason>, next: &'static str| {
            let mut m = lock(&shared.mailbox);
            m.progress.done |= bit;
            if let Some(r) = reason {
                m.progress.reason = r.clone();
            }
            m.progress.doing = next;
            m.doing = next;
            drop(m);
            shared.news.notify_all();
        };
        report(0, None, "reading the reason");
        if let Some(indicator) = &paths.indicator {
            // This copy resolves a directory that appeared after start-up
            // as the main thread's did (one stat, then its realpath).
            let _ = indicator.presence();
        }
        let reason = match (&job.reason, &paths.indicator) {
            (Some(r), _) => r.clone(),
            (None, Some(indicator)) => indicator.reason_or_kind(),
            (None, None) => Reason::new(),
        };
        report(step::REASON, Some(&reason), "saving the boot-loop guard");
        let mut guard_text = job.guard_text.clone();
        if let Err(e) = crate::statefile::ensure_dir(dir) {
            error!("{e}");
        }
        if let Some(g) = &job.guard {
            if let Err(e) = g.save(dir) {
                crate::durable!(
                    Level::Critical,
                    "{e}: the boot-loop guard cannot count this reset; resetting anyway"
                );
                use core::fmt::Write as _;
                let _ = write!(guard_text, " (not saved)");
            }
        }
        report(step::GUARD, None, "writing the reset record");
        let seq = match self.next_seq {
            Some(n) => n,
            None => record::next_seq(record::load(dir).ok().flatten().as_deref()),
        };
        self.next_seq = Some(seq + 1);
        let source = match job.trigger {
            Trigger::Indicator => paths.indicator.as_ref().map(|i| &i.path),
            Trigger::Heartbeat => paths.heartbeat.as_ref(),
            Trigger::Manual => None,
        };
        let rec = Record {
            seq,
            epoch: job.epoch,
            boot_id: job.boot_id,
            uptime_ms: job.uptime_ms,
            trigger: job.trigger,
            source: source.map_or_else(String::new, |p| crate::fsutil::show(p).to_string()),
            reason: reason.as_str().to_owned(),
            chain: paths.chain.clone(),
            method: job.method,
            failed: String::new(),
            guard: guard_text.as_str().to_owned(),
        };
        if let Err(e) = rec.save(dir) {
            crate::durable!(Level::Error, "cannot keep the reset record: {e}");
        }
        self.record = Some(rec);
        report(step::RECORD, None, "removing the indicator");
        if job.consume {
            if let Some(indicator) = &paths.indicator {
                if let Err(e) = indicator.consume() {
                    crate::durable!(Level::Error, "{e}: the indicator may come back after the reset; the boot-loop guard limits the loop");
                }
            }
        }
        report(step::CONSUMED, None, "flushing every file system (sync)");
        if job.flush {
            nix::unistd::sync();
        }
        report(step::FLUSHED | step::ALL, None, "");
    }
}
