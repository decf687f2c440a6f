//! The board at its worst, on this machine: storage that stops answering
//! under state_dir (a FUSE mount whose server never replies, laid over it
//! after the daemon started: every lookup there waits for ever), while the
//! reset goes through reboot(2) inside a PID namespace (the kernel turns it
//! into the death of that namespace's init, not a restart of this machine).
//! The reset must come within reset_deadline whatever storage does, and the
//! plan `--dry-run` prints must be the steps the daemon takes.
//!
//! Real kernels with real watchdogs, hung block devices and memory
//! exhaustion are in tests/vm. These need root (mount and PID namespaces,
//! /dev/fuse) and are skipped, saying so, without it.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::{run, stability, Output, Sandbox};

const T: Duration = Duration::from_secs(60);

/// Runs `script` with sh as init of new PID and mount namespaces; `$STABILITY`
/// is the binary (through the qemu runner when there is one), `$D` the sandbox.
fn in_namespaces(sb: &Sandbox, script: &str) -> Option<Output> {
    if !support::is_root() || !std::path::Path::new("/dev/fuse").exists() {
        support::skip("needs root and /dev/fuse (FUSE with no server, in a mount namespace)");
        return None;
    }
    let mut binary = support::runner().join(" ");
    binary.push(' ');
    binary.push_str(env!("CARGO_BIN_EXE_stability"));
    let out = run(
        Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--mount-proc",
                "sh",
                "-euc",
                &format!("test $$ = 1 || exit 99\n{script}"),
            ])
            .env("STABILITY", binary.trim())
            .env("D", &sb.dir),
        T,
    );
    if out.code() == Some(99) || out.stderr.contains("unshare: ") {
        support::skip(&format!("no namespaces here: {}", out.stderr.trim()));
        return None;
    }
    Some(out)
}

/// The daemon's stderr through a FIFO that this process reads (outside the
/// namespaces, so it outlives the reset), copied to `$D/log` as it comes:
/// a pipe is written at once, while lines to a regular file wait for the
/// end of the fault path, which a reset never reaches. Returns the whole text.
fn relay(sb: &Sandbox) -> std::thread::JoinHandle<String> {
    let fifo = sb.path("logfifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let log = sb.path("log");
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut all = Vec::new();
        let Ok(mut input) = std::fs::File::open(&fifo) else {
            return String::new();
        };
        let mut out = std::fs::File::create(&log).unwrap();
        let mut buf = [0u8; 4096];
        while let Ok(n) = input.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            let _ = out.write_all(&buf[..n]);
        }
        String::from_utf8_lossy(&all).into_owned()
    })
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Lays a FUSE mount that never answers over `$D/$1` (the fd stays open in
/// the shell, so the connection lives until the namespace ends).
const HANG: &str = r#"hang() { exec 5<>/dev/fuse; mount -t fuse -o fd=5,rootmode=40000,user_id=0,group_id=0 hung "$D/$1"; }"#;

#[test]
fn a_state_dir_that_stops_answering_cannot_hold_the_reset() {
    let sb = Sandbox::new("hung-state");
    let relayed = relay(&sb);
    let cfg = sb.config(
        "[general]\nrecovery_device = reboot\nindicator_file_path = $D/fault\nstate_dir = $D/state\n\
         checking_interval = 0.2\nreset_deadline = 3\n",
    );
    let Some(out) = in_namespaces(
        &sb,
        &format!(
            r#"{HANG}
mkdir -p "$D/state"
$STABILITY --config {cfg} 2> "$D/logfifo" &
i=0; until grep -q 'watching' "$D/log" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 0.5
hang state
date +%s.%N > "$D/t0"
echo 'state dir hung' > "$D/fault"
sleep 30
echo 'no reset 30 s after the indicator'"#
        ),
    ) else {
        return;
    };
    let ended = now_s();
    let log = relayed.join().unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGHUP),
        "reboot(2) must end the namespace: {out:?}\n--- daemon\n{log}"
    );
    let t0: f64 = sb.read("t0").trim().parse().expect("t0");
    let latency = ended - t0;
    // reset_deadline 3 s, one poll (0.2 s), and room for a loaded machine;
    // a daemon that waits on storage never resets at all.
    assert!(
        latency < 3.0 + 0.2 + 3.0,
        "indicator -> reboot(2) took {latency:.2} s\n{log}"
    );
    assert!(
        latency >= 3.0 - 1.0 - 0.3,
        "the reset came before storage was given its time ({latency:.2} s)\n{log}"
    );
    for said in [
        "resetting the board within 3 s (reset_deadline)",
        "storage did not answer within 2 s (still saving the boot-loop guard)",
        "resetting the board: trigger=indicator",
        "reason=state dir hung",
        "reboot: reboot(2) RB_AUTOBOOT",
    ] {
        assert!(log.contains(said), "missing {said:?}:\n{log}");
    }
    eprintln!("indicator -> reboot(2) with state_dir hung: {latency:.2} s");
}

#[test]
fn a_state_dir_hung_from_the_start_delays_nothing_but_the_guard() {
    let sb = Sandbox::new("hung-start");
    let relayed = relay(&sb);
    let cfg = sb.config(
        "[general]\nrecovery_device = reboot\nindicator_file_path = $D/fault\nstate_dir = $D/state/x\n\
         checking_interval = 0.2\nreset_deadline = 2\n",
    );
    let Some(out) = in_namespaces(
        &sb,
        &format!(
            r#"{HANG}
mkdir -p "$D/state"
hang state
$STABILITY --config {cfg} 2> "$D/logfifo" &
i=0; until grep -q 'did not answer' "$D/log" 2>/dev/null || [ $i -gt 100 ]; do sleep 0.1; i=$((i+1)); done
date +%s.%N > "$D/t0"
echo 'hung at boot' > "$D/fault"
sleep 30
echo 'no reset 30 s after the indicator'"#
        ),
    ) else {
        return;
    };
    let ended = now_s();
    let log = relayed.join().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGHUP), "{out:?}\n{log}");
    let latency = ended - sb.read("t0").trim().parse::<f64>().expect("t0");
    assert!(latency < 2.0 + 0.2 + 3.0, "took {latency:.2} s\n{log}");
    assert!(
        log.contains("did not answer within 2 s (reset_deadline): watching anyway"),
        "{log}"
    );
    assert!(log.contains("boot-loop guard unavailable"), "{log}");
}

/// The step lines ("N. ...") a run printed or logged, without their prefixes.
fn steps(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l
                .strip_prefix("dry-run: ")
                .or_else(|| l.strip_prefix("stability: info: "))?;
            let (n, rest) = l.split_once(". ")?;
            n.parse::<u32>().ok()?;
            Some(format!("{n}. {rest}"))
        })
        .collect()
}

#[test]
fn the_plan_a_dry_run_prints_is_the_steps_a_fault_takes() {
    let sb = Sandbox::new("plan-steps");
    let cfg = sb.config(
        "[general]\nrecovery_device = watchdog, reboot\nindicator_file_path = $D/fault\n\
         state_dir = $D/state\nsingle_run = true\n[watchdog-device]\nwdt_path = $D/no-watchdog\n",
    );
    sb.write("fault", "plan check");
    let dry = run(stability().args(["--config", &cfg, "--dry-run"]), T);
    assert_eq!(dry.code(), Some(0), "{dry:?}");
    let planned = steps(&dry.stdout);
    assert_eq!(planned.len(), 9, "{dry:?}");
    let Some(out) = in_namespaces(&sb, &format!("exec $STABILITY --config {cfg}")) else {
        return;
    };
    assert_eq!(out.status.signal(), Some(libc::SIGHUP), "{out:?}");
    assert_eq!(steps(&out.stderr), planned, "{out:?}");
}

/// Bench builds count the main thread's allocations: from the moment the
/// fault is seen to reboot(2) there are none, even on the way through a
/// watchdog that fails (its error is explained without the heap too). An
/// allocation there could wait in memory reclaim behind the storage that
/// hangs, or fail and abort the process.
#[cfg(feature = "bench")]
#[test]
fn nothing_is_allocated_between_the_fault_and_the_reset() {
    let sb = Sandbox::new("no-alloc");
    let cfg = sb.config(
        "[general]\nrecovery_device = watchdog, reboot\nindicator_file_path = $D/fault\n\
         state_dir = $D/state\nchecking_interval = 0.1\n[watchdog-device]\nwdt_path = $D/no-watchdog\n",
    );
    let Some(out) = in_namespaces(
        &sb,
        &format!("(sleep 0.5; echo counted > \"$D/fault\") &\nexec $STABILITY --config {cfg}"),
    ) else {
        return;
    };
    assert_eq!(out.status.signal(), Some(libc::SIGHUP), "{out:?}");
    let counted: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("bench: fault_path_allocs="))
        .collect();
    assert_eq!(counted.len(), 1, "{out:?}");
    assert!(counted[0].ends_with("fault_path_allocs=0"), "{out:?}");
}
