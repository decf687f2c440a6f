//! Keepalive mode on this machine, which has no watchdog to own: the config
//! rules, and a watchdog that cannot be owned ending the daemon with status
//! 69 before anything is armed. Pinging, a killed daemon, the magic close, a
//! busy device and a stuck poll are proven on real kernels by the VM suite
//! (tests/vm/scenarios/k*.py).

mod support;

use std::time::Duration;
use support::{run, stability, Sandbox};

const T: Duration = Duration::from_secs(20);

fn config(sb: &Sandbox, watchdog: &str) -> String {
    sb.config(&format!(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\nchecking_interval = 100ms\n\
         [watchdog-device]\nwdt_mode = keepalive\n{watchdog}\n[rtc-device]\nrtc_path = $D/no-rtc\n"
    ))
}

#[test]
fn the_keepalive_keys_have_documented_defaults() {
    let sb = Sandbox::new("ka-defaults");
    let cfg = config(&sb, "wdt_path = $D/watchdog");
    let out = run(stability().args(["--config", &cfg, "check-config"]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    for line in [
        "wdt_mode = keepalive",
        "keepalive_timeout = 30",
        "keepalive_interval = 10",
        "disarm_on_exit = true",
        "stall_timeout = 0",
    ] {
        assert!(out.stdout.lines().any(|l| l == line), "{line}: {out:?}");
    }
}

#[test]
fn a_ping_interval_over_half_the_timeout_is_refused() {
    let sb = Sandbox::new("ka-interval");
    let cfg = config(&sb, "keepalive_timeout = 10\nkeepalive_interval = 6");
    let out = run(stability().args(["--config", &cfg, "check-config"]), T);
    assert_eq!(out.code(), Some(78), "{out:?}");
    assert!(
        out.stderr
            .contains("keepalive_interval must be at most half of keepalive_timeout (10 s)"),
        "{out:?}"
    );
    let cfg = config(&sb, "keepalive_timeout = 10\nkeepalive_interval = 5");
    assert_eq!(
        run(stability().args(["--config", &cfg, "check-config"]), T).code(),
        Some(0)
    );
}

#[test]
fn keepalive_needs_a_running_daemon() {
    let sb = Sandbox::new("ka-single");
    let cfg = sb.config("[general]\nindicator_file_path = /x\nsingle_run = true\n[watchdog-device]\nwdt_mode = keepalive\n");
    let out = run(stability().args(["--config", &cfg, "check-config"]), T);
    assert_eq!(out.code(), Some(78), "{out:?}");
    assert!(
        out.stderr.contains("needs the daemon to keep running"),
        "{out:?}"
    );
}

#[test]
fn keepalive_keys_without_keepalive_mode_are_warnings() {
    let sb = Sandbox::new("ka-warn");
    let cfg =
        sb.config("[general]\nindicator_file_path = /x\n[watchdog-device]\nstall_timeout = 10\n");
    let out = run(stability().args(["--config", &cfg, "check-config"]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.contains(
            "config.ini:4: [watchdog-device] stall_timeout is only used with wdt_mode = keepalive"
        ),
        "{out:?}"
    );
}

#[test]
fn a_watchdog_that_cannot_be_owned_stops_the_daemon_with_69_before_watching() {
    for (what, path, says) in [
        (
            "missing",
            "$D/watchdog",
            "does not exist: is the watchdog driver loaded?",
        ),
        (
            "not a watchdog",
            "/dev/null",
            "is not a watchdog: WDIOC_GETSUPPORT failed (ENOTTY",
        ),
        (
            "a regular file",
            "$D/file",
            "is a regular file, not a watchdog device",
        ),
    ] {
        let sb = Sandbox::new("ka-start");
        sb.write("file", "");
        let cfg = config(&sb, &format!("wdt_path = {path}"));
        let out = run(stability().args(["--config", &cfg]), T);
        assert_eq!(out.code(), Some(69), "{what}: {out:?}");
        assert!(
            out.stderr.contains("keepalive mode cannot start: "),
            "{what}: {out:?}"
        );
        assert!(out.stderr.contains(says), "{what}: {out:?}");
        assert!(
            out.stderr
                .contains("nothing was armed; exiting with status 69"),
            "{what}: {out:?}"
        );
    }
}

#[test]
fn a_dry_run_in_keepalive_mode_opens_nothing_and_plans_the_held_watchdog() {
    let sb = Sandbox::new("ka-dry");
    // /dev/null would fail the open: a dry run must not even try.
    let cfg = config(&sb, "wdt_path = /dev/null");
    sb.write("fault", "dry");
    let mut d = support::Daemon::start(stability().args(["--config", &cfg, "--dry-run"]));
    assert!(
        d.wait_for_log("keepalive mode: /dev/null is not opened in a dry run", T),
        "{}",
        d.stderr()
    );
    std::thread::sleep(Duration::from_millis(300));
    d.signal(libc::SIGTERM);
    let status = d.wait(T).expect("stops");
    assert_eq!(status.code(), Some(0), "{}", d.stderr());
    let out = d.child.stdout.take().map(|mut o| {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut o, &mut s);
        s
    });
    let out = out.unwrap_or_default();
    assert!(
        out.contains("2. stop pinging /dev/null and set its timeout to 10 s (reset_deadline)"),
        "{out}"
    );
    assert!(
        out.contains("8. watchdog: set /dev/null's timeout to 1 s, never ping it"),
        "{out}"
    );
}
