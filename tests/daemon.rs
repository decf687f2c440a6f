//! The daemon's life: single run versus polling, the interval, stop and
//! reload signals. Every device in these configs fails harmlessly, so a
//! fault ends in exit 69 (EX_UNAVAILABLE) instead of touching this machine.

mod support;

use std::time::{Duration, Instant};
use support::{run, stability, Daemon, Sandbox, SAFE_DEVICES};

const T: Duration = Duration::from_secs(20);

fn config(sb: &Sandbox, general: &str) -> String {
    sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\n{general}\n{SAFE_DEVICES}"
    ))
}

#[test]
fn single_run_without_a_fault_checks_once_and_exits_0() {
    let sb = Sandbox::new("single");
    let path = config(&sb, "single_run = true\nchecking_interval = 60\n");
    let out = run(stability().args(["--config", &path]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.elapsed < Duration::from_secs(5), "{out:?}");
}

#[test]
fn interval_zero_is_a_single_run_too() {
    let sb = Sandbox::new("zero");
    let path = config(&sb, "checking_interval = 0\nsingle_run = false\n");
    let out = run(stability().args(["--config", &path]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stderr.contains("watching indicator"), "{out:?}");
    assert!(out.stderr.contains(" once;"), "{out:?}");
}

#[test]
fn single_run_with_a_fault_acts_and_reports_the_failed_devices() {
    let sb = Sandbox::new("single-fault");
    let path = config(&sb, "single_run = true\n");
    sb.write("fault", "database corrupted\n");
    let out = run(stability().args(["--config", &path]), T);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(out.stderr.contains("reason=database corrupted"), "{out:?}");
    assert!(
        out.stderr.contains("every recovery device failed"),
        "{out:?}"
    );
    assert!(!sb.path("fault").exists(), "the indicator is consumed");
}

/// py-stability-iot read `single_run = false` as true; here the daemon must
/// keep polling and catch an indicator that appears later.
#[test]
fn single_run_false_really_loops() {
    let sb = Sandbox::new("loops");
    let path = config(&sb, "single_run = false\nchecking_interval = 100ms\n");
    let mut d = Daemon::start(stability().args(["--config", &path]));
    assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "exited early: {}",
        d.stderr()
    );
    sb.write("fault", "late fault");
    let status = d.wait(T).expect("acts on the indicator");
    assert_eq!(status.code(), Some(69), "{}", d.stderr());
    assert!(d.stderr().contains("reason=late fault"), "{}", d.stderr());
}

/// The time from the indicator appearing to the daemon acting is at most one
/// interval (plus scheduling), and the daemon does not poll much faster than
/// asked: across a few trials some reaction takes a good part of the interval.
#[test]
fn the_checking_interval_is_respected() {
    let interval = Duration::from_millis(600);
    let mut slowest = Duration::ZERO;
    for trial in 0..4 {
        let sb = Sandbox::new("interval");
        let path = config(&sb, "checking_interval = 600ms\n");
        let mut d = Daemon::start(stability().args(["--config", &path]));
        assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
        // Spread the creation over the interval.
        std::thread::sleep(Duration::from_millis(200 + 150 * trial));
        let created = Instant::now();
        sb.write("fault", "x");
        let reacted = support::wait_for(T, || d.stderr().contains("resetting the board"));
        let latency = created.elapsed();
        assert!(reacted, "{}", d.stderr());
        let slack = if support::emulated() {
            Duration::from_millis(600)
        } else {
            Duration::from_millis(150)
        };
        assert!(
            latency <= interval + slack,
            "trial {trial}: reacted after {latency:?}"
        );
        slowest = slowest.max(latency);
        let _ = d.wait(T);
    }
    assert!(
        slowest >= Duration::from_millis(150),
        "reacted at once every time ({slowest:?}): not polling at the interval"
    );
}

#[test]
fn sigterm_and_sigint_stop_it_within_100ms_even_mid_sleep() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let sb = Sandbox::new("stop");
        let path = config(&sb, "checking_interval = 1h\n");
        let mut d = Daemon::start(stability().args(["--config", &path]));
        assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
        std::thread::sleep(Duration::from_millis(300)); // well into the sleep
        let sent = Instant::now();
        d.signal(sig);
        let status = d.wait(Duration::from_secs(5)).expect("stops");
        let took = sent.elapsed();
        assert_eq!(status.code(), Some(0), "signal {sig}: {}", d.stderr());
        let limit = if support::emulated() {
            Duration::from_millis(500)
        } else {
            Duration::from_millis(100)
        };
        assert!(took <= limit, "signal {sig}: took {took:?}");
        assert!(d.stderr().contains("stopping on request"), "{}", d.stderr());
    }
}

#[test]
fn sighup_rereads_the_config() {
    let sb = Sandbox::new("hup");
    let path = config(&sb, "checking_interval = 100ms\n");
    let mut d = Daemon::start(stability().args(["--config", &path]));
    assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
    // Point the daemon at another indicator, then create that one.
    sb.config(&format!(
        "[general]\nindicator_file_path = $D/other\nstate_dir = $D/state\nchecking_interval = 100ms\n{SAFE_DEVICES}"
    ));
    d.signal(libc::SIGHUP);
    assert!(
        d.wait_for_log("configuration reloaded", T),
        "{}",
        d.stderr()
    );
    sb.write("fault", "the old indicator: ignored now");
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "acted on the old path: {}",
        d.stderr()
    );
    sb.write("other", "the new indicator");
    assert_eq!(d.wait(T).and_then(|s| s.code()), Some(69), "{}", d.stderr());
    assert!(
        d.stderr().contains("reason=the new indicator"),
        "{}",
        d.stderr()
    );
}

#[test]
fn sighup_with_an_invalid_or_deleted_config_keeps_the_old_one() {
    for breakage in ["invalid", "deleted"] {
        let sb = Sandbox::new("hup-bad");
        let path = config(&sb, "checking_interval = 100ms\n");
        let mut d = Daemon::start(stability().args(["--config", &path]));
        assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
        if breakage == "invalid" {
            sb.config("[general]\nchecking_interval = often\n");
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        d.signal(libc::SIGHUP);
        assert!(
            d.wait_for_log("keeping the previous one", T),
            "{breakage}: {}",
            d.stderr()
        );
        assert!(
            d.child.try_wait().unwrap().is_none(),
            "{breakage}: {}",
            d.stderr()
        );
        sb.write("fault", "still watched");
        assert_eq!(
            d.wait(T).and_then(|s| s.code()),
            Some(69),
            "{breakage}: {}",
            d.stderr()
        );
    }
}

#[test]
fn a_persisting_stat_error_is_logged_once_not_per_poll() {
    if support::is_root() {
        // Root ignores directory permissions: make lstat fail another way.
        let sb = Sandbox::new("eloop");
        // A path through a symlink loop: ELOOP on every poll.
        std::os::unix::fs::symlink(sb.path("loop"), sb.path("loop")).unwrap();
        let path = sb.config(&format!(
            "[general]\nindicator_file_path = $D/loop/fault\nstate_dir = $D/state\nchecking_interval = 20ms\n{SAFE_DEVICES}"
        ));
        let mut d = Daemon::start(stability().args(["--config", &path]));
        assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
        std::thread::sleep(Duration::from_millis(600));
        d.signal(libc::SIGTERM);
        assert_eq!(d.wait(T).and_then(|s| s.code()), Some(0));
        let errors = d.stderr().matches("cannot check").count();
        assert_eq!(errors, 1, "{}", d.stderr());
    } else {
        let sb = Sandbox::new("eacces");
        std::fs::create_dir(sb.path("locked")).unwrap();
        let path = sb.config(&format!(
            "[general]\nindicator_file_path = $D/locked/fault\nstate_dir = $D/state\nchecking_interval = 20ms\n{SAFE_DEVICES}"
        ));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(sb.path("locked"), std::fs::Permissions::from_mode(0o000))
            .unwrap();
        let mut d = Daemon::start(stability().args(["--config", &path]));
        assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
        std::thread::sleep(Duration::from_millis(600));
        d.signal(libc::SIGTERM);
        let _ = d.wait(T);
        std::fs::set_permissions(sb.path("locked"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        assert_eq!(
            d.stderr().matches("cannot check").count(),
            1,
            "{}",
            d.stderr()
        );
    }
}
