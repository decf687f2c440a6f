//! Where the real binary's log lines go, and that no log write can stop it:
//! the journal's `<N>` priorities when `JOURNAL_STREAM` names stderr, syslog
//! (a real BusyBox syslogd) when stderr is /dev/null or closed, plain lines
//! otherwise; a full pipe, a stalled journal-like socket and a stopped reader
//! on stderr cost lines, never the daemon's progress, and the next line that
//! gets through says how many were lost.

mod support;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use support::{stability, Sandbox, SAFE_DEVICES};

/// Longer than any healthy run here; a blocked log write blocks for ever.
const T: Duration = Duration::from_secs(20);

/// A single run that finds its indicator and fails every device: status 69
/// after logging at several priorities (a warning for the unknown key, info,
/// critical, error).
fn single_run_with_a_fault(sb: &Sandbox) -> String {
    sb.write("fault", "the reason");
    sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nsingle_run = true\nstate_dir = $D/state\ncolour = blue\n{SAFE_DEVICES}"
    ))
}

/// A child killed when the test ends, passed or failed.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for `child` under the deadline; a hang fails the test.
fn wait(child: &mut Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > T {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {T:?}: a log write blocked it");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sets or clears O_NONBLOCK on a file description.
fn nonblocking(fd: impl AsFd, on: bool) {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL).unwrap());
    let flags = if on {
        flags | OFlag::O_NONBLOCK
    } else {
        flags - OFlag::O_NONBLOCK
    };
    fcntl(&fd, FcntlArg::F_SETFL(flags)).unwrap();
}

/// Writes into `fd` until the kernel takes no more; returns the bytes
/// written. The description is blocking again afterwards, as a daemon's
/// inherited stderr is.
fn fill(fd: &OwnedFd) -> usize {
    nonblocking(fd, true);
    let chunk = [b'.'; 4096];
    let mut total = 0;
    loop {
        match nix::unistd::write(fd, &chunk) {
            Ok(n) => total += n,
            Err(nix::errno::Errno::EAGAIN) => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    nonblocking(fd, false);
    total
}

/// `dev:ino` of a descriptor, as systemd writes it into JOURNAL_STREAM.
fn dev_ino(fd: impl AsFd) -> (u64, u64) {
    let st = nix::sys::stat::fstat(fd).unwrap();
    #[allow(clippy::useless_conversion)]
    (u64::from(st.st_dev), u64::from(st.st_ino))
}

/// Runs a single run with `stderr` set to one end of a stream socket pair,
/// JOURNAL_STREAM set to `journal`; returns what came out of the socket.
fn over_a_socket(journal: impl Fn((u64, u64)) -> String) -> (ExitStatus, String) {
    let sb = Sandbox::new("journal");
    let cfg = single_run_with_a_fault(&sb);
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let value = journal(dev_ino(&theirs));
    let mut child = stability()
        .args(["--config", &cfg])
        .env("JOURNAL_STREAM", value)
        .stdout(Stdio::null())
        .stderr(Stdio::from(OwnedFd::from(theirs)))
        .spawn()
        .unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = ours.read_to_string(&mut text);
        text
    });
    let status = wait(&mut child, "stability on a socket");
    drop(child);
    (status, reader.join().unwrap())
}

#[test]
fn journal_stream_naming_stderr_gives_every_line_its_priority() {
    let (status, text) = over_a_socket(|(dev, ino)| format!("{dev}:{ino}"));
    assert_eq!(status.code(), Some(69), "{text}");
    for line in text.lines() {
        let prio = line
            .strip_prefix('<')
            .and_then(|l| l.split_once('>'))
            .and_then(|(n, _)| n.parse::<u8>().ok());
        assert!(
            prio.is_some_and(|p| p <= 7),
            "no <N> prefix: {line:?}\n{text}"
        );
        assert!(!line.contains("stability: error:"), "{line:?}");
    }
    for (prio, text_part) in [
        (4, "unknown key `colour`"),
        (6, "watching indicator"),
        (2, "resetting the board"),
        (3, "watchdog: "),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("<{prio}>")) && l.contains(text_part)),
            "no <{prio}> line with {text_part:?}:\n{text}"
        );
    }
}

#[test]
fn journal_stream_naming_another_file_leaves_plain_lines() {
    let (status, text) = over_a_socket(|(dev, ino)| format!("{dev}:{}", ino + 1));
    assert_eq!(status.code(), Some(69), "{text}");
    assert!(
        text.contains("stability: critical: resetting the board"),
        "{text}"
    );
    assert!(!text.lines().any(|l| l.starts_with('<')), "{text}");
}

/// A pipe nobody reads, full before the daemon starts: today's first log line
/// blocked for ever, before the poll that would have reset the board.
#[test]
fn a_full_pipe_on_stderr_costs_lines_not_the_reset() {
    let sb = Sandbox::new("full-pipe");
    let cfg = single_run_with_a_fault(&sb);
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let filled = fill(&write_end);
    let mut child = stability()
        .args(["--config", &cfg])
        .stdout(Stdio::null())
        .stderr(Stdio::from(write_end))
        .spawn()
        .unwrap();
    let status = wait(&mut child, "stability with a full pipe on stderr");
    assert_eq!(status.code(), Some(69));
    // It acted: the record says so. Nothing it wrote was torn into the pipe.
    assert!(sb.read("state/reset-record").contains("reason=the reason"));
    let mut rest = Vec::new();
    std::fs::File::from(read_end)
        .read_to_end(&mut rest)
        .unwrap();
    assert_eq!(
        rest.len(),
        filled,
        "only the filler: whole lines or nothing"
    );
}

/// A journal-like stream socket whose reader has stopped reading.
#[test]
fn a_stalled_journal_socket_costs_lines_not_the_reset() {
    let sb = Sandbox::new("stalled-journal");
    let cfg = single_run_with_a_fault(&sb);
    let (_ours, theirs) = UnixStream::pair().unwrap();
    let (dev, ino) = dev_ino(&theirs);
    let theirs = OwnedFd::from(theirs);
    fill(&theirs);
    let mut child = stability()
        .args(["--config", &cfg])
        .env("JOURNAL_STREAM", format!("{dev}:{ino}"))
        .stdout(Stdio::null())
        .stderr(Stdio::from(theirs))
        .spawn()
        .unwrap();
    let status = wait(&mut child, "stability with a stalled journal socket");
    assert_eq!(status.code(), Some(69));
    assert!(sb.read("state/reset-record").contains("reason=the reason"));
}

/// The daemon's stderr goes through a pipe to a reader (cat) that is
/// stopped (a pager suspended with ^Z, a supervisor stuck) with the pipe
/// full. The daemon polls on and resets on a fault; once the reader runs
/// again, the next line says how many were lost.
#[test]
fn a_stopped_reader_loses_lines_and_the_next_line_counts_them() {
    let sb = Sandbox::new("stopped-reader");
    let cfg = sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nchecking_interval = 50ms\nstate_dir = $D/state\n{SAFE_DEVICES}"
    ));
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let cat = Reaped(
        Command::new("cat")
            .stdin(Stdio::from(read_end))
            .stdout(std::fs::File::create(sb.path("seen")).unwrap())
            .spawn()
            .unwrap(),
    );
    let cat_pid = nix::unistd::Pid::from_raw(cat.0.id() as i32);
    nix::sys::signal::kill(cat_pid, nix::sys::signal::SIGSTOP).unwrap();
    // A signal is taken when the process next runs: wait until it has been.
    let stat = format!("/proc/{cat_pid}/stat");
    let stopped = support::wait_for(T, || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('T'))
        })
    });
    assert!(stopped, "cat did not stop");
    let filled = fill(&write_end);
    let mut daemon = Reaped(
        stability()
            .args(["--config", &cfg])
            .stdout(Stdio::null())
            .stderr(Stdio::from(write_end))
            .spawn()
            .unwrap(),
    );
    let pid = nix::unistd::Pid::from_raw(daemon.0.id() as i32);
    // It creates state_dir just after its first info line: that line was
    // lost, and the daemon went on.
    assert!(
        support::wait_for(T, || sb.path("state").exists()),
        "the daemon did not get through its start-up"
    );
    // A reload logs lines, which are lost too.
    nix::sys::signal::kill(pid, nix::sys::signal::SIGHUP).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(daemon.0.try_wait().unwrap().is_none(), "the daemon died");
    nix::sys::signal::kill(cat_pid, nix::sys::signal::SIGCONT).unwrap();
    let drained = support::wait_for(T, || {
        std::fs::metadata(sb.path("seen")).is_ok_and(|m| m.len() as usize >= filled)
    });
    assert!(drained, "cat did not drain the pipe");
    nix::sys::signal::kill(pid, nix::sys::signal::SIGHUP).unwrap();
    let counted = support::wait_for(T, || {
        sb.read("seen").contains("log lines lost before this one: ")
    });
    let seen = sb.read("seen");
    let lines: String = seen.trim_start_matches('.').to_owned();
    assert!(counted, "no count of the lost lines:\n{lines}");
    // The first line after the stall carries the count (the reload's
    // warnings about the config come before its notice).
    let line = lines
        .lines()
        .find(|l| l.starts_with("stability: "))
        .unwrap();
    assert!(line.contains("log lines lost before this one: "), "{lines}");
    assert!(
        lines.contains("stability: notice: configuration reloaded"),
        "{lines}"
    );
    let lost: u32 = line
        .rsplit_once("before this one: ")
        .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
        .unwrap_or(0);
    assert!(lost >= 1, "at least the start-up line was lost: {line}");
    // And it still acts on a fault.
    sb.write("fault", "after the stall");
    let status = wait(&mut daemon.0, "the daemon after its reader stalled");
    assert_eq!(status.code(), Some(69), "{lines}");
    drop(cat);
}

/// BusyBox init: `start-stop-daemon --background` points stderr at
/// /dev/null. The lines go to syslog; a real BusyBox syslogd shows them with
/// facility daemon, each at its priority, tagged stability[PID]. Run in a
/// private mount namespace with its own /dev, so the machine's /dev/log is
/// not touched. Needs root and busybox.
#[test]
fn stderr_on_dev_null_or_closed_goes_to_syslog() {
    if !support::is_root() {
        return support::skip("a private /dev needs root");
    }
    if Command::new("busybox").arg("true").status().is_err() {
        return support::skip("busybox is not installed");
    }
    let sb = Sandbox::new("syslog");
    let cfg = single_run_with_a_fault(&sb);
    let mut binary = support::runner().join(" ");
    binary.push(' ');
    binary.push_str(env!("CARGO_BIN_EXE_stability"));
    let script = format!(
        "mount -t tmpfs tmpfs /dev
         mknod -m 666 /dev/null c 1 3
         busybox syslogd -n -O \"$D/messages\" & syslogd=$!
         n=0; while [ ! -S /dev/log ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
         {binary} --config {cfg} 2>/dev/null & pid=$!; wait $pid; echo \"null $pid $?\"
         echo again > \"$D/fault\"
         {binary} --config {cfg} 2>&- & pid=$!; wait $pid; echo \"closed $pid $?\"
         sleep 0.5; kill $syslogd",
        binary = binary.trim()
    );
    let out = support::run(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-uc", &script])
            .env("D", &sb.dir),
        T,
    );
    if out.stderr.contains("unshare: ") {
        return support::skip(&format!("no mount namespace: {}", out.stderr.trim()));
    }
    let messages = sb.read("messages");
    for how in ["null", "closed"] {
        let run = out
            .stdout
            .lines()
            .find(|l| l.starts_with(how))
            .unwrap_or_else(|| panic!("{out:?}"));
        let (pid, status) = run[how.len() + 1..].split_once(' ').unwrap();
        assert_eq!(status, "69", "{how}: {out:?}");
        let tag = format!("stability[{pid}]: ");
        for (prio, what) in [
            ("daemon.warn", "unknown key `colour`"),
            ("daemon.info", "watching indicator"),
            ("daemon.crit", "resetting the board"),
            ("daemon.err", "watchdog: "),
        ] {
            assert!(
                messages
                    .lines()
                    .any(|l| l.contains(&format!(" {prio} {tag}")) && l.contains(what)),
                "{how}: no `{prio} {tag}...{what}` in\n{messages}"
            );
        }
    }
    // Nothing of it went anywhere else (the console of this test).
    assert!(!out.stdout.contains("stability:"), "{out:?}");
    let _ = std::io::stderr().flush();
}
