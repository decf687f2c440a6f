//! Fault injection against the real binary: broken state directories
//! (read-only, full, missing, a file in its place), a volume that goes away
//! and comes back, an indicator swapped while it is being read, signals in
//! the middle of the fault path, heartbeat files with absurd times. Each ends
//! in a clear message and the documented behaviour, with nothing lost.
//!
//! Mounts (a read-only or full filesystem, a volume unmounted and mounted
//! again) are real: tmpfs mounts inside a private mount namespace made with
//! unshare(1), so the machine running the tests sees none of them. They need
//! root and are skipped, saying so, without it.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::{run, stability, value, Daemon, Output, Sandbox, SAFE_DEVICES};

const T: Duration = Duration::from_secs(30);

fn trigger(config: &str, reason: &str) -> Output {
    run(
        stability().args(["--config", config, "trigger", "--reason", reason]),
        T,
    )
}

/// Runs `script` with sh in a private mount namespace; `$STABILITY` is the
/// binary (through the qemu runner when there is one) and `$D` the sandbox.
fn in_mount_namespace(sb: &Sandbox, script: &str) -> Option<Output> {
    if !support::is_root() {
        support::skip("mounting a filesystem needs root");
        return None;
    }
    let mut binary = support::runner().join(" ");
    binary.push(' ');
    binary.push_str(env!("CARGO_BIN_EXE_stability"));
    let out = run(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-euc", script])
            .env("STABILITY", binary.trim())
            .env("D", &sb.dir),
        T,
    );
    if out.stderr.contains("unshare: ") {
        support::skip(&format!("no mount namespace here: {}", out.stderr.trim()));
        return None;
    }
    Some(out)
}

fn state_config(sb: &Sandbox, state: &str) -> String {
    sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = {state}\nsingle_run = true\n{SAFE_DEVICES}"
    ))
}

const OLD_RECORD: &str = "format=1\nseq=41\nreason=the previous reset\n";

#[test]
fn a_read_only_state_dir_keeps_the_old_record_and_still_resets() {
    let sb = Sandbox::new("ro-state");
    let cfg = state_config(&sb, "$D/state");
    std::fs::create_dir(sb.path("state")).unwrap();
    let Some(out) = in_mount_namespace(
        &sb,
        &format!(
            "mount -t tmpfs -o size=64k tmpfs \"$D/state\"
             printf '{}' > \"$D/state/reset-record\"
             mount -o remount,ro \"$D/state\"
             $STABILITY --config {cfg} trigger --reason 'read-only test' && status=0 || status=$?
             echo \"status=$status\"
             echo '--- record'; cat \"$D/state/reset-record\"",
            OLD_RECORD.replace('\n', "\\n")
        ),
    ) else {
        return;
    };
    assert!(
        out.stdout.contains("status=69"),
        "the reset is attempted anyway: {out:?}"
    );
    assert!(out.stderr.contains("Read-only file system; state_dir must be on writable storage (the previous guard is kept)"), "{out:?}");
    assert!(
        out.stderr
            .contains("the boot-loop guard cannot count this reset; resetting anyway"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("(the previous reset-record is kept)"),
        "{out:?}"
    );
    assert!(
        out.stdout.ends_with(&format!("--- record\n{OLD_RECORD}")),
        "the old record is intact: {out:?}"
    );
}

#[test]
fn a_full_state_dir_keeps_the_old_record_and_still_resets() {
    let sb = Sandbox::new("full-state");
    let cfg = state_config(&sb, "$D/state");
    std::fs::create_dir(sb.path("state")).unwrap();
    let Some(out) = in_mount_namespace(
        &sb,
        &format!(
            "mount -t tmpfs -o size=16k tmpfs \"$D/state\"
             printf '{}' > \"$D/state/reset-record\"
             dd if=/dev/zero of=\"$D/state/filler\" bs=1k count=64 2>/dev/null || true
             $STABILITY --config {cfg} trigger --reason 'full test' && status=0 || status=$?
             echo \"status=$status\"
             echo \"left=$(ls -A \"$D/state\" | tr '\\n' ' ')\"
             echo '--- record'; cat \"$D/state/reset-record\"",
            OLD_RECORD.replace('\n', "\\n")
        ),
    ) else {
        return;
    };
    assert!(out.stdout.contains("status=69"), "{out:?}");
    assert!(
        out.stderr
            .contains("No space left on device; free space there or set state_dir elsewhere"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("left=filler reset-record \n"),
        "no temporary file left behind: {out:?}"
    );
    assert!(
        out.stdout.ends_with(&format!("--- record\n{OLD_RECORD}")),
        "the old record is intact: {out:?}"
    );
}

#[test]
fn a_missing_state_dir_is_created_with_its_parents() {
    let sb = Sandbox::new("missing-state");
    let cfg = state_config(&sb, "$D/a/b/state");
    let out = trigger(&cfg, "created");
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(
        value(&sb.read("a/b/state/reset-record"), "reason"),
        Some("created")
    );
}

#[test]
fn a_file_in_place_of_the_state_dir_is_reported_and_left_alone() {
    let sb = Sandbox::new("file-state");
    sb.write("state", "not a directory\n");
    let cfg = state_config(&sb, "$D/state");
    let out = trigger(&cfg, "file in the way");
    assert_eq!(out.code(), Some(69), "still resets: {out:?}");
    assert!(
        out.stderr.contains(
            "something else (a file?) has its name: move it away or set another state_dir"
        ),
        "{out:?}"
    );
    assert_eq!(sb.read("state"), "not a directory\n");
    // The daemon says so at start-up, before any fault.
    let out = run(stability().args(["--config", &cfg]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains("a fault will still reset the board, but without the boot-loop guard"),
        "{out:?}"
    );
}

#[test]
fn a_read_only_state_dir_without_root_is_reported_too() {
    if support::is_root() {
        return support::skip(
            "root ignores directory permissions; the mount test covers this as root",
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new("eacces-state");
    std::fs::create_dir(sb.path("state")).unwrap();
    std::fs::set_permissions(sb.path("state"), std::fs::Permissions::from_mode(0o555)).unwrap();
    let cfg = state_config(&sb, "$D/state");
    let out = trigger(&cfg, "x");
    std::fs::set_permissions(sb.path("state"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(out.stderr.contains("not writable"), "{out:?}");
}

/// The volume holding the indicator is unmounted (the directory is then an
/// empty mount point) and mounted again: no reset while it is gone, no error
/// per poll, and an indicator on the new mount is acted on.
#[test]
fn the_indicator_volume_can_go_away_and_come_back() {
    let sb = Sandbox::new("volume");
    std::fs::create_dir(sb.path("vol")).unwrap();
    let cfg = sb.config(&format!(
        "[general]\nindicator_file_path = $D/vol/fault\nstate_dir = $D/state\nchecking_interval = 50ms\n{SAFE_DEVICES}"
    ));
    let Some(out) = in_mount_namespace(
        &sb,
        &format!(
            "mount -t tmpfs tmpfs \"$D/vol\"
             $STABILITY --config {cfg} 2> \"$D/daemon.log\" & pid=$!
             sleep 0.5
             umount \"$D/vol\"
             sleep 0.5
             kill -0 $pid && echo 'alive while unmounted'
             mount -t tmpfs tmpfs \"$D/vol\"
             sleep 0.3
             kill -0 $pid && echo 'alive after the remount'
             echo 'on the new volume' > \"$D/vol/fault\"
             wait $pid && status=0 || status=$?
             echo \"status=$status\""
        ),
    ) else {
        return;
    };
    let log = sb.read("daemon.log");
    assert!(
        out.stdout
            .contains("alive while unmounted\nalive after the remount\n"),
        "{out:?}\n{log}"
    );
    assert!(
        out.stdout.contains("status=69"),
        "acted on the remounted volume: {out:?}\n{log}"
    );
    assert!(log.contains("reason=on the new volume"), "{log}");
    assert!(
        !log.contains("cannot check"),
        "a missing indicator is not an error: {log}"
    );
}

/// Another process keeps replacing the indicator with a regular file, a
/// symlink to a secret, a FIFO and a directory, as fast as it can, while the
/// daemon reads it: no hang, never the secret, never the link's target
/// removed, and the reason is always one of the things that were there.
#[test]
fn an_indicator_swapped_while_it_is_read_never_leaks_or_hangs() {
    let sb = Sandbox::new("swap-race");
    std::fs::create_dir(sb.path("vol")).unwrap();
    sb.write("secret", "SECRET");
    let cfg = sb.config(&format!(
        "[general]\nindicator_file_path = $D/vol/fault\nstate_dir = $D/state\nsingle_run = true\nmax_resets = 1000\n{SAFE_DEVICES}"
    ));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let stop = stop.clone();
        let vol = sb.path("vol");
        let secret = sb.path("secret");
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = vol.join(format!(".next{}", n % 4));
                let _ = std::fs::remove_dir(&tmp);
                let _ = std::fs::remove_file(&tmp);
                let _ = match n % 4 {
                    0 => std::fs::write(&tmp, "REGULAR"),
                    1 => std::os::unix::fs::symlink(&secret, &tmp),
                    2 => nix::unistd::mkfifo(&tmp, nix::sys::stat::Mode::from_bits_truncate(0o600))
                        .map_err(|e| e.into()),
                    _ => std::fs::create_dir(&tmp),
                };
                // rename(2) replaces the indicator atomically; a directory
                // cannot replace a file, so it may fail: fine.
                let _ = std::fs::rename(&tmp, vol.join("fault"));
                n += 1;
            }
            n
        })
    };
    let allowed = [
        "REGULAR",
        "(symlink, not read)",
        "(FIFO, not read)",
        "(directory, not read)",
        "(gone before it could be read)",
        "(changed while being read, not read)",
        "(regular file, empty)",
    ];
    // At least 6 s and 40 runs; then on, within 400 runs, until the race has
    // shown both a read and a refusal: the regular file is in place for only
    // ~1 run in 7, and on a loaded machine under qemu-user (~0.2 s a run) the
    // swapper can stall, so 40 runs saw none in 3 of 41 tries.
    let covered = |reasons: &std::collections::BTreeSet<String>| {
        reasons.contains("REGULAR") && reasons.len() >= 2
    };
    let start = Instant::now();
    let mut reasons = std::collections::BTreeSet::new();
    let mut runs = 0;
    while start.elapsed() < Duration::from_secs(6) || runs < 40 || !covered(&reasons) {
        let out = run(
            stability().args(["--config", &cfg]),
            Duration::from_secs(10),
        );
        runs += 1;
        assert!(
            !out.stderr.contains("SECRET"),
            "read through a link: {out:?}"
        );
        if out.code() == Some(69) {
            let record = sb.read("state/reset-record");
            let reason = value(&record, "reason").unwrap_or_default().to_owned();
            assert!(
                allowed
                    .iter()
                    .any(|a| reason == *a || reason.starts_with("(cannot")),
                "unexpected reason {reason:?}"
            );
            reasons.insert(reason);
        } else {
            assert_eq!(out.code(), Some(0), "{out:?}"); // caught between swaps: nothing there
        }
        assert_eq!(sb.read("secret"), "SECRET", "the link's target survives");
        if runs > 400 {
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 100, "the swapper barely ran ({swaps} swaps)");
    assert!(
        covered(&reasons),
        "the race was not exercised in {runs} runs: {reasons:?}"
    );
}

/// SIGTERM while the fault path writes the guard and the record: the signal
/// waits, the record is whole, and the reset goes on (here: every device
/// fails, status 69 — never the 0 of an ordinary stop).
#[test]
fn sigterm_during_the_fault_path_neither_tears_the_record_nor_stops_the_reset() {
    let sb = Sandbox::new("term-record");
    let cfg = sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nmax_resets = 1000\nchecking_interval = 10ms\n{SAFE_DEVICES}"
    ));
    let mut stopped_early = 0;
    for round in 0..30u64 {
        let mut d = Daemon::start(stability().args(["--config", &cfg]));
        assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
        sb.write("fault", &format!("round {round}"));
        std::thread::sleep(Duration::from_micros(round * 400));
        d.signal(libc::SIGTERM);
        let status = d.wait(T).expect("ends");
        match status.code() {
            Some(69) => {
                let record = sb.read("state/reset-record");
                assert_eq!(
                    value(&record, "reason"),
                    Some(format!("round {round}").as_str()),
                    "{record}"
                );
                assert_eq!(value(&record, "method"), Some("none"), "{record}");
            }
            Some(0) => {
                // Stopped before the fault was seen: nothing was started.
                stopped_early += 1;
                assert!(
                    !d.stderr().contains("resetting the board"),
                    "{}",
                    d.stderr()
                );
                let _ = std::fs::remove_file(sb.path("fault"));
            }
            other => panic!("round {round}: status {other:?}\n{}", d.stderr()),
        }
    }
    assert!(
        stopped_early < 30,
        "SIGTERM always came first: the fault path was never interrupted"
    );
}

/// A container with a broken clock may give the heartbeat file any mtime
/// (here 1970 and 2100): only changes count, measured on the daemon's boot clock.
#[test]
fn heartbeat_mtimes_far_in_the_past_or_future_count_only_as_changes() {
    let sb = Sandbox::new("hb-times");
    sb.write("hb", "");
    let cfg = sb.config(&format!(
        "[general]\nheartbeat_file_path = $D/hb\nheartbeat_timeout = 2s\nstate_dir = $D/state\nchecking_interval = 50ms\n{SAFE_DEVICES}"
    ));
    // 2100: time_t is 64 bits on every target (.cargo/config.toml).
    let set_mtime = |secs: u64| {
        let t = nix::sys::time::TimeSpec::from_duration(Duration::from_secs(secs));
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            &sb.path("hb"),
            &t,
            &t,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    };
    let mut d = Daemon::start(stability().args(["--config", &cfg]));
    assert!(d.wait_for_log("watching heartbeat", T), "{}", d.stderr());
    // Touched every 200 ms with mtimes from 1970 and 2100 for 3 s (longer
    // than the timeout): alive.
    for i in 0..15 {
        set_mtime(if i % 2 == 0 {
            86_400 + i
        } else {
            4_102_444_800 + i
        });
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "a touch with an odd mtime is still a touch: {}",
        d.stderr()
    );
    // A far-future mtime that stops changing is stale all the same.
    let stopped = Instant::now();
    let status = d.wait(T).expect("stale heartbeat resets");
    assert_eq!(status.code(), Some(69), "{}", d.stderr());
    assert!(
        stopped.elapsed() >= Duration::from_millis(1800),
        "{}",
        d.stderr()
    );
    assert!(d.stderr().contains("trigger=heartbeat"), "{}", d.stderr());
}

#[test]
fn a_heartbeat_missing_at_start_gets_one_timeout_of_grace() {
    let sb = Sandbox::new("hb-grace");
    let cfg = sb.config(&format!(
        "[general]\nheartbeat_file_path = $D/hb\nheartbeat_timeout = 1s\nstate_dir = $D/state\nchecking_interval = 50ms\n{SAFE_DEVICES}"
    ));
    let start = Instant::now();
    let mut d = Daemon::start(stability().args(["--config", &cfg]));
    let status = d.wait(T).expect("resets after the grace period");
    let took = start.elapsed();
    assert_eq!(status.code(), Some(69), "{}", d.stderr());
    assert!(took >= Duration::from_millis(1000), "no grace: {took:?}");
    assert!(
        d.stderr().contains("heartbeat missing for"),
        "{}",
        d.stderr()
    );
}

/// The unit starts before tmpfiles and the container engine: the indicator's
/// directory does not exist yet, behind a link that does (`/var/run` ->
/// `/run`). Created later, with an indicator in it: acted on, and consumed
/// (unlinked), not left to come back at every boot (the walk that refuses
/// links met the unresolved `link` and failed with ELOOP).
#[test]
fn an_indicator_directory_created_after_start_behind_a_link_is_resolved_and_consumed() {
    let sb = Sandbox::new("late-dir");
    std::fs::create_dir(sb.path("run")).unwrap();
    std::os::unix::fs::symlink("run", sb.path("var-run")).unwrap();
    let cfg = sb.config(&format!(
        "[general]\nindicator_file_path = $D/var-run/flags/fault\nchecking_interval = 50ms\nstate_dir = $D/state\n{SAFE_DEVICES}"
    ));
    let mut d = Daemon::start(stability().args(["--config", &cfg]));
    assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
    std::thread::sleep(Duration::from_millis(300));
    assert!(d.child.try_wait().unwrap().is_none(), "{}", d.stderr());
    std::fs::create_dir(sb.path("run/flags")).unwrap();
    std::fs::write(sb.path("run/flags/fault"), "late").unwrap();
    let status = d.wait(T).expect("acts on the indicator");
    let log = d.stderr();
    assert_eq!(status.code(), Some(69), "{log}");
    assert!(log.contains("reason=late"), "{log}");
    assert!(!log.contains("symlink or not a directory"), "{log}");
    assert!(
        !sb.path("run/flags/fault").exists(),
        "the indicator survived the reset: {log}"
    );
    assert!(
        value(&sb.read("state/reset-record"), "reason") == Some("late"),
        "{log}"
    );
}
