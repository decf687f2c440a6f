//! The boot-loop guard and the reset record, across runs of the real binary:
//! counting, refusing, clearing on CLOCK_BOOTTIME, surviving kill -9.

mod support;

use std::process::Command;
use std::time::Duration;
use support::{run, stability, value, Sandbox, SAFE_DEVICES};

const T: Duration = Duration::from_secs(20);

fn config(sb: &Sandbox, extra: &str) -> String {
    sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nsingle_run = true\n{extra}\n{SAFE_DEVICES}"
    ))
}

fn trigger(path: &str, reason: &str) -> support::Output {
    run(
        stability().args(["--config", path, "trigger", "--reason", reason]),
        T,
    )
}

fn guard_count(sb: &Sandbox) -> Option<u32> {
    value(&sb.read("state/guard"), "count").and_then(|c| c.parse().ok())
}

#[test]
fn the_guard_counts_resets_across_runs_and_refuses_at_the_limit() {
    let sb = Sandbox::new("guard");
    let path = config(&sb, "max_resets = 2\nreset_window = 1h\n");
    for n in 1..=2 {
        let out = trigger(&path, &format!("fault {n}"));
        assert_eq!(out.code(), Some(69), "{out:?}");
        assert_eq!(guard_count(&sb), Some(n));
        assert_eq!(
            value(&sb.read("state/reset-record"), "guard"),
            Some(format!("{n}/2").as_str())
        );
    }
    // The third fault is refused: status 75, no reset attempted, no new record.
    let out = trigger(&path, "fault 3");
    assert_eq!(out.code(), Some(75), "{out:?}");
    assert!(
        out.stderr
            .contains("boot-loop guard: 2/2 resets already; NOT resetting"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("resetting the board"), "{out:?}");
    assert_eq!(guard_count(&sb), Some(2));
    assert_eq!(
        value(&sb.read("state/reset-record"), "reason"),
        Some("fault 2")
    );

    // An indicator refused by the guard is left in place (nothing consumed).
    sb.write("fault", "refused");
    let out = run(stability().args(["--config", &path]), T);
    assert_eq!(out.code(), Some(75), "{out:?}");
    assert!(sb.path("fault").exists());

    let status = run(stability().args(["--config", &path, "status"]), T);
    assert!(status.stdout.contains("guard.count=2\n"), "{status:?}");
    assert!(status.stdout.contains("guard.engaged=yes\n"), "{status:?}");
}

#[test]
fn the_guard_clears_after_a_quiet_window_on_boottime() {
    let sb = Sandbox::new("clear");
    // 3 s: two runs fit in it even under an emulator on a loaded machine.
    let path = config(&sb, "max_resets = 1\nreset_window = 3s\n");
    assert_eq!(trigger(&path, "first").code(), Some(69));
    assert_eq!(
        trigger(&path, "too soon").code(),
        Some(75),
        "within the window: refused"
    );
    std::thread::sleep(Duration::from_millis(3100));
    // The window's quiet time since the last (refused) fault: the count clears.
    let out = trigger(&path, "after the window");
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(guard_count(&sb), Some(1));
}

#[test]
fn the_running_daemon_clears_the_guard_and_says_so() {
    let sb = Sandbox::new("clear-daemon");
    let single = config(&sb, "max_resets = 3\nreset_window = 700ms\n");
    assert_eq!(trigger(&single, "one").code(), Some(69));
    assert_eq!(guard_count(&sb), Some(1));
    let path = sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nchecking_interval = 50ms\nmax_resets = 3\nreset_window = 700ms\n{SAFE_DEVICES}"
    ));
    let mut d = support::Daemon::start(stability().args(["--config", &path]));
    assert!(
        d.wait_for_log("boot-loop guard cleared (1/3 before)", T),
        "{}",
        d.stderr()
    );
    // The storage worker writes it just after the line.
    assert!(
        support::wait_for(T, || guard_count(&sb) == Some(0)),
        "{:?}",
        guard_count(&sb)
    );
    d.signal(libc::SIGTERM);
    let _ = d.wait(T);
}

/// The guard measures quiet time on CLOCK_BOOTTIME, not the wall clock: in
/// a time namespace whose boot clock is a day ahead, the window has passed
/// although no wall-clock time has.
#[test]
fn the_guard_window_runs_on_clock_boottime() {
    let sb = Sandbox::new("timens");
    let path = config(&sb, "max_resets = 1\nreset_window = 1h\n");
    assert_eq!(trigger(&path, "first").code(), Some(69));
    assert_eq!(trigger(&path, "refused").code(), Some(75));
    let mut ahead = Command::new("unshare");
    ahead.args(["--time", "--boottime", "86400", "--fork"]);
    if !support::is_root() {
        ahead.args(["--user", "--map-root-user"]);
    }
    // The emulator (if any) goes inside the namespace, before the binary.
    ahead
        .arg("--")
        .args(support::runner())
        .arg(env!("CARGO_BIN_EXE_stability"));
    ahead.args(["--config", &path, "trigger", "--reason", "a day later"]);
    let out = run(&mut ahead, T);
    if out.stderr.contains("unshare:") {
        return support::skip(&format!("no time namespace here: {}", out.stderr.trim()));
    }
    assert_eq!(
        out.code(),
        Some(69),
        "a day of boot time later the guard has cleared: {out:?}"
    );
    assert_eq!(
        value(&sb.read("state/reset-record"), "reason"),
        Some("a day later")
    );
}

/// A guard file whose count cannot be parsed counts as the limit, never as
/// zero; like any count it clears after a quiet window, which, with no known
/// fault time, runs from boot.
#[test]
fn an_unreadable_guard_counts_as_the_limit_never_as_zero() {
    let sb = Sandbox::new("corrupt");
    // A window longer than any uptime: still inside it.
    let path = config(&sb, "max_resets = 5\nreset_window = 87600h\n");
    std::fs::create_dir(sb.path("state")).unwrap();
    sb.write("state/guard", "count=garbage\n");
    let out = trigger(&path, "x");
    assert_eq!(out.code(), Some(75), "{out:?}");
    assert!(out.stderr.contains("unreadable/5"), "{out:?}");
    // A one-second window has long passed since boot: the count clears.
    let path = config(&sb, "max_resets = 5\nreset_window = 1s\n");
    sb.write("state/guard", "count=garbage\n");
    let out = trigger(&path, "after a quiet window");
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(guard_count(&sb), Some(1));
}

#[test]
fn the_record_holds_the_documented_keys() {
    let sb = Sandbox::new("record");
    let path = config(&sb, "recovery_device = watchdog, rtc\n");
    let out = trigger(&path, "disk full");
    assert_eq!(out.code(), Some(69), "{out:?}");
    let record = sb.read("state/reset-record");
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    for (key, want) in [
        ("format", "1"),
        ("seq", "1"),
        ("trigger", "manual"),
        ("reason", "disk full"),
        ("chain", "watchdog,rtc"),
        ("method", "none"),
        ("guard", "1/3"),
        ("boot_id", boot_id.trim()),
    ] {
        assert_eq!(value(&record, key), Some(want), "{key} in\n{record}");
    }
    let failed = value(&record, "failed").unwrap();
    assert!(
        failed.starts_with("watchdog: ") && failed.contains("; rtc: "),
        "{failed}"
    );
    assert!(value(&record, "time").unwrap().ends_with('Z'));
    assert!(value(&record, "uptime").unwrap().contains('.'));
    assert_eq!(trigger(&path, "again").code(), Some(69));
    assert_eq!(value(&sb.read("state/reset-record"), "seq"), Some("2"));

    let status = run(stability().args(["--config", &path, "status"]), T);
    assert_eq!(status.code(), Some(0));
    for line in [
        "record=present",
        "record.reason=again",
        "record.this_boot=yes",
        "guard.count=2",
        "guard.engaged=no",
    ] {
        assert!(
            status.stdout.lines().any(|l| l == line),
            "{line}: {status:?}"
        );
    }
    assert!(status.stdout.lines().all(|l| l.contains('=')), "{status:?}");
}

#[test]
fn a_record_from_the_previous_boot_is_logged_once_at_start() {
    let sb = Sandbox::new("previous");
    let path = config(&sb, "");
    std::fs::create_dir(sb.path("state")).unwrap();
    sb.write(
        "state/reset-record",
        "format=1\nseq=4\ntime=2026-01-02T03:04:05Z\nboot_id=00000000-0000-0000-0000-000000000000\ntrigger=indicator\nreason=overheated\nmethod=watchdog\nguard=1/3\n",
    );
    let out = run(stability().args(["--config", &path]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr.matches("last reset:").count(), 1, "{out:?}");
    assert!(out.stderr.contains("last reset: time=2026-01-02T03:04:05Z trigger=indicator reason=overheated method=watchdog"), "{out:?}");
}

/// kill -9 at random points of the fault sequence: the record on disk is
/// always a whole record (the old or the new one), and the guard count
/// never goes down.
#[test]
fn records_survive_kill_9_at_any_point_and_the_count_never_drops() {
    let sb = Sandbox::new("kill9");
    let path = config(&sb, "max_resets = 1000\nreset_window = 1h\n");
    // Kills are spread over the length of a whole run, which is a few ms
    // natively and far longer under an emulator.
    // The spread then follows the runs themselves: it grows after a run
    // killed mid-way and shrinks after one that had finished, so about
    // half of the runs are killed whatever the machine's load (a spread
    // fixed from one timing run once left only 9 of 80 runs far enough
    // to count a reset on a loaded CI machine). The rounds go on until
    // both halves have been seen often enough, within a cap.
    let whole = trigger(&path, "timing run").elapsed;
    let mut spread_us = (whole.as_micros() as u64).max(1000) * 6 / 5;
    let mut last_count = 1;
    let mut seeds = 0x2545_f491_u32;
    let mut killed = 0;
    for round in 0..400 {
        if round >= 80 && killed >= 10 && last_count >= 10 {
            break;
        }
        seeds ^= seeds << 13;
        seeds ^= seeds >> 17;
        seeds ^= seeds << 5;
        let delay = Duration::from_micros(u64::from(seeds) % spread_us);
        let mut child = stability()
            .args([
                "--config",
                &path,
                "trigger",
                "--reason",
                &format!("round {round}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed += 1;
            spread_us += spread_us / 10;
        } else {
            spread_us = (spread_us - spread_us / 10).max(1000);
        }
        let _ = child.kill();
        let _ = child.wait();
        let record = sb.read("state/reset-record");
        if !record.is_empty() {
            assert!(
                record.starts_with("# stability reset record"),
                "torn record:\n{record}"
            );
            for key in [
                "format", "seq", "time", "boot_id", "trigger", "reason", "chain", "method",
                "failed", "guard",
            ] {
                assert!(
                    value(&record, key).is_some(),
                    "round {round}: no {key} in\n{record}"
                );
            }
            assert!(record.ends_with('\n'));
        }
        let guard = sb.read("state/guard");
        if !guard.is_empty() {
            let count: u32 = value(&guard, "count")
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("torn guard:\n{guard}"));
            assert!(
                count >= last_count,
                "round {round}: count went from {last_count} to {count}"
            );
            last_count = count;
        }
    }
    assert!(
        killed >= 10,
        "only {killed} runs were killed mid-way: the test proves little"
    );
    assert!(last_count >= 10, "only {last_count} resets counted");
}

/// A fault the guard refused stands until it goes away, and while it stands
/// it is a fault for the guard's window: the window cannot clear under it
/// (before, it cleared "N s without a fault" with the fault still there).
/// Once the fault is gone the window counts from its end, so the same
/// indicator created again at once is refused again; created again after a
/// whole window without it, it is acted on.
#[test]
fn a_standing_fault_holds_the_guard_until_a_window_passes_without_it() {
    let sb = Sandbox::new("standing");
    let single = config(&sb, "max_resets = 1\nreset_window = 2\n");
    assert_eq!(trigger(&single, "one").code(), Some(69));
    assert_eq!(guard_count(&sb), Some(1));
    let path = sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nchecking_interval = 50ms\nmax_resets = 1\nreset_window = 2\n{SAFE_DEVICES}"
    ));
    sb.write("fault", "standing");
    let mut d = support::Daemon::start(stability().args(["--config", &path]));
    let refused = "NOT resetting for this";
    assert!(d.wait_for_log(refused, T), "{}", d.stderr());
    // Longer than reset_window, with the fault still there.
    std::thread::sleep(Duration::from_millis(3000));
    assert!(
        !d.stderr().contains("boot-loop guard cleared"),
        "the window cleared under a standing fault:\n{}",
        d.stderr()
    );
    std::fs::remove_file(sb.path("fault")).unwrap();
    assert!(
        d.wait_for_log("is gone: that fault is over", T),
        "{}",
        d.stderr()
    );
    sb.write("fault", "again at once");
    assert!(
        support::wait_for(T, || d.stderr().matches(refused).count() == 2),
        "created again at once, the fault must be refused again:\n{}",
        d.stderr()
    );
    std::fs::remove_file(sb.path("fault")).unwrap();
    assert!(
        d.wait_for_log("boot-loop guard cleared (1/1 before)", T),
        "{}",
        d.stderr()
    );
    sb.write("fault", "after a quiet window");
    let status = d
        .wait(T)
        .expect("acts on the fault and ends: every device fails");
    assert_eq!(status.code(), Some(69), "{}", d.stderr());
    assert!(
        d.stderr().contains("reason=after a quiet window"),
        "{}",
        d.stderr()
    );
}

/// Removing the guard file while the daemon runs clears the guard, as the
/// refusal's own message says: the guard is held in memory, and before this
/// the daemon kept refusing on it (and wrote the file back when the refused
/// fault ended). Both orders an operator may use: the file removed while
/// the refused fault stands (then the fault removed), and the file removed
/// after the fault has gone.
#[test]
fn removing_the_guard_file_while_running_clears_the_guard() {
    for remove_guard_first in [true, false] {
        let sb = Sandbox::new("guard-removed");
        let limit = config(&sb, "max_resets = 1\nreset_window = 1h\n");
        assert_eq!(trigger(&limit, "one").code(), Some(69));
        assert_eq!(guard_count(&sb), Some(1));
        let path = sb.config(&format!(
            "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nchecking_interval = 50ms\nmax_resets = 1\nreset_window = 1h\n{SAFE_DEVICES}"
        ));
        sb.write("fault", "refused");
        let guard = sb.path("state/guard");
        let written = |before: &std::time::SystemTime| {
            support::wait_for(T, || {
                std::fs::metadata(&guard)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t != *before)
            })
        };
        let mtime = std::fs::metadata(&guard).unwrap().modified().unwrap();
        let mut d = support::Daemon::start(stability().args(["--config", &path]));
        assert!(
            d.wait_for_log("NOT resetting for this", T),
            "{}",
            d.stderr()
        );
        // The operator acts once the daemon has noted the refused fault in
        // the file (the same millisecond is a race no one can win).
        assert!(written(&mtime), "the refusal was not noted in the guard");
        if remove_guard_first {
            std::fs::remove_file(&guard).unwrap();
            std::fs::remove_file(sb.path("fault")).unwrap();
        } else {
            let mtime = std::fs::metadata(&guard).unwrap().modified().unwrap();
            std::fs::remove_file(sb.path("fault")).unwrap();
            assert!(
                d.wait_for_log("is gone: that fault is over", T),
                "{}",
                d.stderr()
            );
            assert!(written(&mtime), "the end of the fault was not noted");
            std::fs::remove_file(&guard).unwrap();
        }
        assert!(
            d.wait_for_log("is gone: that fault is over", T),
            "{}",
            d.stderr()
        );
        // Let the end of the refused fault be noted (it must not bring
        // the removed file back).
        std::thread::sleep(Duration::from_millis(300));
        sb.write("fault", "after the guard was removed");
        let Some(status) = d.wait(T) else {
            panic!(
                "the fault after the guard file was removed was not acted on:\n{}",
                d.stderr()
            );
        };
        assert_eq!(
            status.code(),
            Some(69),
            "guard file removed {}: the fault was not acted on:\n{}",
            if remove_guard_first {
                "first"
            } else {
                "after the fault ended"
            },
            d.stderr()
        );
        assert!(
            d.stderr().contains("reason=after the guard was removed"),
            "{}",
            d.stderr()
        );
    }
}

/// A boot that ended with neither a deliberate stop nor a reset record (the
/// record of a reset was lost because storage did not answer in time, or
/// the power went): the next start says so, `status` reports it, and the
/// next record's seq skips one, so the records show the gap.
#[test]
fn a_boot_that_ended_without_stop_or_record_leaves_a_gap_in_seq() {
    let sb = Sandbox::new("lost-record");
    std::fs::create_dir_all(sb.path("state")).unwrap();
    sb.write(
        "state/reset-record",
        "format=1\nseq=4\nboot_id=00000000-0000-0000-0000-00000000000a\nreason=old\n",
    );
    // The daemon ran in a boot that is over and never stopped deliberately.
    sb.write(
        "state/boot",
        "format=1\nboot_id=00000000-0000-0000-0000-00000000000b\nstate=running\nnext_seq=5\nprevious_end=reset\n",
    );
    let path = sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nchecking_interval = 50ms\n{SAFE_DEVICES}"
    ));
    let mut d = support::Daemon::start(stability().args(["--config", &path]));
    assert!(
        d.wait_for_log(
            "ended without a deliberate stop and without a reset record",
            T
        ),
        "{}",
        d.stderr()
    );
    let status = run(stability().args(["--config", &path, "status"]), T);
    assert!(
        status.stdout.contains("previous_boot.end=abrupt\n"),
        "{status:?}"
    );
    assert!(
        status.stdout.contains("previous_boot.record=missing"),
        "{status:?}"
    );
    sb.write("fault", "after the gap");
    let _ = d.wait(T);
    let record = sb.read("state/reset-record");
    assert_eq!(
        value(&record, "seq"),
        Some("6"),
        "seq 5 is skipped: {record}"
    );
    assert_eq!(value(&record, "reason"), Some("after the gap"), "{record}");
}

/// A deliberate stop is noted, so the next start does not take the boot
/// for one that lost its record.
#[test]
fn a_deliberate_stop_is_not_taken_for_a_lost_record() {
    let sb = Sandbox::new("clean-stop");
    let path = sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nchecking_interval = 50ms\n{SAFE_DEVICES}"
    ));
    let mut d = support::Daemon::start(stability().args(["--config", &path]));
    assert!(d.wait_for_log("watching", T), "{}", d.stderr());
    assert!(support::wait_for(T, || sb
        .read("state/boot")
        .contains("state=running")));
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait(T).and_then(|s| s.code()), Some(0), "{}", d.stderr());
    assert!(
        sb.read("state/boot").contains("state=stopped"),
        "{}",
        sb.read("state/boot")
    );
}
