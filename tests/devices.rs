//! Reset devices that cannot work here: each failure is explained, and the
//! chain moves on to the next device. Real watchdogs and RTCs are exercised
//! on real kernels by the VM suite (tests/vm); here the devices are missing,
//! regular files or /dev/null, and the last resort, reboot(2), runs inside a
//! PID namespace, where the kernel turns it into the death of that
//! namespace's init instead of restarting this machine.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{run, stability, value, Sandbox};

const T: Duration = Duration::from_secs(20);

fn single(sb: &Sandbox, chain: &str, devices: &str) -> String {
    sb.config(&format!(
        "[general]\nrecovery_device = {chain}\nindicator_file_path = $D/fault\nstate_dir = $D/state\nsingle_run = true\n{devices}"
    ))
}

fn act(sb: &Sandbox, config: &str) -> support::Output {
    sb.write("fault", "test fault");
    run(stability().args(["--config", config]), T)
}

#[test]
fn a_missing_watchdog_is_explained_and_not_created() {
    let sb = Sandbox::new("wdt-missing");
    let cfg = single(
        &sb,
        "watchdog",
        "[watchdog-device]\nwdt_path = $D/watchdog\n",
    );
    let out = act(&sb, &cfg);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "watchdog: {} does not exist: is the watchdog driver loaded?",
            sb.p("watchdog")
        )),
        "{out:?}"
    );
    assert!(
        !sb.path("watchdog").exists(),
        "opening must not create the node (py-stability-iot did)"
    );
}

#[test]
fn a_regular_file_as_watchdog_is_refused_and_left_unchanged() {
    let sb = Sandbox::new("wdt-file");
    sb.write("watchdog", "");
    let cfg = single(
        &sb,
        "watchdog",
        "[watchdog-device]\nwdt_path = $D/watchdog\n",
    );
    let out = act(&sb, &cfg);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(
        out.stderr
            .contains("is a regular file, not a watchdog device"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("remove it and load the watchdog driver"),
        "says what to do: {out:?}"
    );
    assert_eq!(
        sb.read("watchdog"),
        "",
        "nothing written to it, no magic 'V'"
    );
}

#[test]
fn dev_null_is_not_a_watchdog_nor_an_rtc() {
    let sb = Sandbox::new("devnull");
    let cfg = single(&sb, "watchdog, rtc", "[watchdog-device]\nwdt_path = /dev/null\n[rtc-device]\nrtc_path = /dev/null\nrtc_mode = no\n");
    let out = act(&sb, &cfg);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(
        out.stderr
            .contains("watchdog: /dev/null is not a watchdog: WDIOC_GETSUPPORT failed (ENOTTY"),
        "{out:?}"
    );
    // Opening a node may start a real watchdog's timer: the message must not
    // let the reader believe nothing can reset the board now.
    assert!(
        out.stderr
            .contains("the open may have started its timer, so the board may still reset"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("every recovery device failed; stability did NOT reset the board"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("rtc: RTC_RD_TIME on /dev/null failed"),
        "{out:?}"
    );
}

#[test]
fn every_failure_is_explained_in_chain_order_and_summarized() {
    let sb = Sandbox::new("chain");
    sb.write("rtc", "");
    let cfg = single(
        &sb,
        "rtc, watchdog",
        "[watchdog-device]\nwdt_path = $D/missing\n[rtc-device]\nrtc_path = $D/rtc\n",
    );
    let out = act(&sb, &cfg);
    assert_eq!(out.code(), Some(69), "{out:?}");
    let rtc_at = out.stderr.find("error: rtc: ").expect("rtc failure");
    let wdt_at = out
        .stderr
        .find("error: watchdog: ")
        .expect("watchdog failure");
    assert!(rtc_at < wdt_at, "tried in the configured order: {out:?}");
    assert!(
        out.stderr
            .contains("is a regular file, not a character device"),
        "{out:?}"
    );
    let summary = out
        .stderr
        .lines()
        .find(|l| l.contains("every recovery device failed"))
        .unwrap();
    assert!(
        summary.contains("rtc: ") && summary.contains("; watchdog: "),
        "{summary}"
    );
    let record = sb.read("state/reset-record");
    assert_eq!(value(&record, "method"), Some("none"), "{record}");
}

#[test]
fn a_sleep_mode_the_kernel_does_not_offer_is_refused_at_the_moment_of_use() {
    let offered = std::fs::read_to_string("/sys/power/state").unwrap_or_default();
    let Some(mode) = ["standby", "disk", "mem", "freeze"]
        .into_iter()
        .find(|m| !offered.split_whitespace().any(|s| s == *m))
    else {
        return support::skip("this kernel offers every sleep state");
    };
    let sb = Sandbox::new("sleepstate");
    let cfg = single(
        &sb,
        "rtc",
        &format!("[rtc-device]\nrtc_path = /dev/null\nrtc_mode = {mode}\n"),
    );
    // Accepted at config time...
    let check = run(stability().args(["--config", &cfg, "check-config"]), T);
    assert_eq!(check.code(), Some(0), "{check:?}");
    // ...refused when used, naming what the kernel offers.
    let out = act(&sb, &cfg);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "the kernel does not offer `{mode}` now (/sys/power/state lists:"
        )),
        "{out:?}"
    );
}

/// A PID namespace whose init is this binary: reboot(2) there kills that
/// init with SIGHUP (RB_AUTOBOOT) or SIGINT (power-off) instead of
/// restarting the machine. `test $$ = 1` makes sure we really are in one.
fn in_pid_namespace(args: &[&str]) -> Option<support::Output> {
    let mut cmd = Command::new("unshare");
    if !support::is_root() {
        cmd.args(["--user", "--map-root-user"]);
    }
    let mut script = String::from("test $$ = 1 || exit 99; exec");
    for word in support::runner()
        .iter()
        .map(String::as_str)
        .chain([env!("CARGO_BIN_EXE_stability")])
        .chain(args.iter().copied())
    {
        script.push_str(&format!(" '{word}'"));
    }
    cmd.args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script]);
    let out = run(&mut cmd, T);
    if out.code() == Some(99) || out.stderr.contains("unshare:") {
        support::skip(&format!("no PID namespace here: {}", out.stderr.trim()));
        return None;
    }
    Some(out)
}

#[test]
fn reboot_is_the_last_resort_and_really_calls_reboot_2() {
    let sb = Sandbox::new("reboot");
    let cfg = single(
        &sb,
        "watchdog, reboot",
        "[watchdog-device]\nwdt_path = $D/missing\n",
    );
    sb.write("fault", "needs a reboot");
    let Some(out) = in_pid_namespace(&["--config", &cfg]) else {
        return;
    };
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGHUP),
        "reboot(2) RB_AUTOBOOT ends the namespace's init with SIGHUP: {out:?}"
    );
    let record = sb.read("state/reset-record");
    assert_eq!(value(&record, "method"), Some("reboot"), "{record}");
    assert!(
        value(&record, "failed").unwrap().starts_with("watchdog: "),
        "{record}"
    );
    assert!(!sb.path("fault").exists());
}

/// rtcwake is not on this machine's path with an RTC behind it, so a stand-in
/// script records the argument vector it was given (a mock, said so): the
/// arguments arrive as separate words, untouched by any shell.
fn fake_rtcwake(sb: &Sandbox, status: i32) -> String {
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("rtcwake");
    let log = sb.p("rtcwake.args");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{log}'\nexit {status}\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:/usr/bin:/bin", bin.display())
}

#[test]
fn the_rtcwake_backend_passes_an_argument_vector_without_a_shell() {
    let sb = Sandbox::new("rtcwake");
    let path = fake_rtcwake(&sb, 0);
    let cfg = single(&sb, "rtc", "[rtc-device]\nrtc_path = /dev/null\nrtc_mode = no\nrtc_backend = rtcwake\nrtc_wake_delay = 90\n");
    sb.write("fault", "x");
    let out = run(stability().args(["--config", &cfg]).env("PATH", &path), T);
    assert_eq!(
        out.code(),
        Some(0),
        "alarm only, then monitoring goes on: {out:?}"
    );
    assert_eq!(sb.read("rtcwake.args"), "-d\n/dev/null\n-s\n90\n-m\nno\n");
}

#[test]
fn a_failing_rtcwake_is_reported_with_its_status() {
    let sb = Sandbox::new("rtcwake-fails");
    let path = fake_rtcwake(&sb, 3);
    let cfg = single(
        &sb,
        "rtc",
        "[rtc-device]\nrtc_path = /dev/null\nrtc_mode = no\nrtc_backend = rtcwake\n",
    );
    sb.write("fault", "x");
    let out = run(stability().args(["--config", &cfg]).env("PATH", &path), T);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(
        out.stderr.contains("rtcwake exited with status 3"),
        "{out:?}"
    );
}

/// A reset under way is not cancelled by SIGTERM: rtcwake -m off "succeeds"
/// here without powering off, so the daemon waits rtc_wake_delay for the
/// power-off, ignores the stop request, and only then gives up.
#[test]
fn sigterm_during_a_reset_does_not_cancel_it() {
    let sb = Sandbox::new("term-reset");
    let path = fake_rtcwake(&sb, 0);
    let cfg = single(&sb, "rtc", "[rtc-device]\nrtc_path = /dev/null\nrtc_mode = off\nrtc_backend = rtcwake\nrtc_wake_delay = 2\n");
    sb.write("fault", "x");
    let start = Instant::now();
    let mut d = support::Daemon::start(stability().args(["--config", &cfg]).env("PATH", &path));
    assert!(
        d.wait_for_log("powering off through rtcwake", T),
        "{}",
        d.stderr()
    );
    d.signal(libc::SIGTERM);
    let status = d.wait(T).expect("ends");
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "gave up before rtc_wake_delay"
    );
    assert_eq!(status.code(), Some(69), "{}", d.stderr());
    assert!(
        d.stderr()
            .contains("stop requested while a reset is in progress: the reset goes on"),
        "{}",
        d.stderr()
    );
    assert!(
        d.stderr()
            .contains("succeeded but the board is still up after 2 s"),
        "{}",
        d.stderr()
    );
}

#[test]
fn dry_run_decides_and_prints_every_step_and_touches_nothing() {
    let sb = Sandbox::new("dry");
    let cfg = single(
        &sb,
        "watchdog, rtc, reboot",
        "[watchdog-device]\nwdt_path = /dev/null\n[rtc-device]\nrtc_path = $D/no-rtc\n",
    );
    sb.write("fault", "dry fault");
    let out = run(stability().args(["--config", &cfg, "--dry-run"]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let expected = [
        "dry-run: fault: trigger=indicator source=".to_owned()
            + &sb.p("fault")
            + " reason=dry fault",
        "dry-run: boot-loop guard: would reset and count it (1/3)".to_owned(),
        "dry-run: 1. log to the kernel log: indicator fault at ".to_owned()
            + &sb.p("fault")
            + ", reset within 10 s",
        "dry-run: 2. arm /dev/null with a 10 s timeout (reset_deadline), never pinged".to_owned(),
        "dry-run: 3. read the reason from ".to_owned() + &sb.p("fault") + " (storage worker)",
        "dry-run: 4. count this reset in ".to_owned() + &sb.p("state/guard") + " (1/3)",
        "dry-run: 5. write the reset record ".to_owned() + &sb.p("state/reset-record"),
        "dry-run: 6. remove ".to_owned() + &sb.p("fault") + " and fsync its directory",
        "dry-run: 7. sync every file system (storage worker); storage is waited for at most 9 s"
            .to_owned(),
        "dry-run: 8. watchdog: set /dev/null's timeout to 1 s, never ping it, wait up to 300 s"
            .to_owned(),
        "dry-run:    (watchdog would fail: /dev/null (1:3) is not a watchdog".to_owned(),
        "dry-run: 9. rtc: set a wake alarm 60 s ahead on ".to_owned() + &sb.p("no-rtc"),
        "dry-run:    (rtc would fail: ".to_owned() + &sb.p("no-rtc"),
        "dry-run: 10. reboot: reboot(2) RB_AUTOBOOT".to_owned(),
    ];
    let mut at = 0;
    for want in &expected {
        let found = out.stdout[at..]
            .find(want.as_str())
            .unwrap_or_else(|| panic!("missing or out of order: {want}\n{}", out.stdout));
        at += found + want.len();
    }
    assert!(sb.path("fault").exists(), "nothing consumed");
    assert!(!sb.path("state").exists(), "nothing written");
    let out = run(
        stability().args(["--config", &cfg, "trigger", "--dry-run", "--reason", "try"]),
        T,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("dry-run: fault: trigger=manual source=- reason=try"),
        "{out:?}"
    );
    assert!(!sb.path("state").exists(), "nothing written");
}

#[test]
fn probe_reports_key_value_lines_and_arms_nothing() {
    let sb = Sandbox::new("probe");
    let cfg = single(
        &sb,
        "watchdog",
        "[watchdog-device]\nwdt_path = /dev/null\n[rtc-device]\nrtc_path = $D/no-rtc\n",
    );
    let out = run(stability().args(["--config", &cfg, "probe"]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    for key in [
        "stability.version",
        "watchdog.path",
        "watchdog.device",
        "watchdog.error",
        "rtc.path",
        "rtc.error",
        "power.state",
        "state_dir.path",
        "state_dir.status",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{key}="))),
            "{key}: {out:?}"
        );
    }
    assert!(out.stdout.lines().all(|l| l.contains('=')), "{out:?}");
    assert!(
        out.stdout
            .contains("watchdog.error=/dev/null (1:3) is not a watchdog"),
        "{out:?}"
    );
    assert!(!sb.path("state").exists(), "probe writes nothing");
}

/// Runs `script` with sh in a private mount namespace whose /dev is an empty
/// tmpfs (plus /dev/null), so the test decides which RTC nodes exist; `$S`
/// runs the binary (through the qemu runner when there is one), `$D` is the
/// sandbox. None (skipped) without root or mount namespaces.
fn with_private_dev(sb: &Sandbox, script: &str) -> Option<support::Output> {
    if !support::is_root() {
        support::skip("a private /dev needs root");
        return None;
    }
    let mut binary = support::runner().join(" ");
    binary.push(' ');
    binary.push_str(env!("CARGO_BIN_EXE_stability"));
    let script = format!("mount -t tmpfs tmpfs /dev; mknod -m 666 /dev/null c 1 3\n{script}");
    let out = run(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-uc", &script])
            .env("S", binary.trim())
            .env("D", &sb.dir),
        T,
    );
    if out.stderr.contains("unshare: ") {
        support::skip(&format!("no mount namespace here: {}", out.stderr.trim()));
        return None;
    }
    Some(out)
}

/// rtc_path not set: the RTC is the first of hwclock's /dev/rtc, /dev/rtc0,
/// /dev/misc/rtc that exists (devtmpfs alone makes only /dev/rtc0; the
/// /dev/rtc link is udev's), and `probe` says what a fault will find. A
/// rtc_path that is set is used as given. /dev/full's numbers stand in for
/// an RTC node: the path chosen is what is checked (its ioctls fail).
#[test]
fn an_unset_rtc_path_takes_hwclocks_first_existing_node_and_probe_agrees() {
    let sb = Sandbox::new("rtc-default");
    sb.write("fault", "x");
    let unset = single(&sb, "rtc", "[rtc-device]\nrtc_mode = no\n");
    let set = sb.write(
        "set.ini",
        &std::fs::read_to_string(&unset)
            .unwrap()
            .replace("rtc_mode = no", "rtc_mode = no\nrtc_path = /dev/rtc"),
    );
    let other = sb.write(
        "other.ini",
        &std::fs::read_to_string(&unset)
            .unwrap()
            .replace("rtc_mode = no", "rtc_mode = no\nrtc_path = /dev/rtc1"),
    );
    let Some(out) = with_private_dev(
        &sb,
        &format!(
            "echo '## none'; $S --config {unset} probe; $S --config {unset} trigger; echo \"status=$?\"
             mknod -m 600 /dev/rtc0 c 1 7
             echo '## rtc0'; $S --config {unset} probe; $S --config {unset} trigger; echo \"status=$?\"
             echo '## set'; $S --config {set} probe; $S --config {set} trigger; echo \"status=$?\"
             rm -r {state}
             echo '## other'; $S --config {other} probe; $S --config {other} trigger; echo \"status=$?\"
             ln -s rtc0 /dev/rtc
             echo '## link'; $S --config {unset} probe 2>&1",
            state = sb.p("state")
        ),
    ) else {
        return;
    };
    let part = |name: &str| {
        let start = out.stdout.find(&format!("## {name}\n")).unwrap();
        let rest = &out.stdout[start + name.len() + 4..];
        rest[..rest.find("## ").unwrap_or(rest.len())].to_owned()
    };
    let unset = "rtc_path is not set: the first of /dev/rtc, /dev/rtc0, /dev/misc/rtc that exists";
    let none = part("none");
    assert!(
        none.contains(&format!("rtc.error={unset}: none does")),
        "{none}\n{out:?}"
    );
    assert!(
        none.contains(&format!(
            "power.rtc_mode=no (usable now: no: {unset}: none does"
        )),
        "{none}"
    );
    assert!(none.contains("status=69"), "{none}");
    assert!(
        out.stderr.contains(&format!("rtc: {unset}: none does")),
        "{out:?}"
    );
    let rtc0 = part("rtc0");
    assert!(
        rtc0.contains(&format!("rtc.path=/dev/rtc0 ({unset})\n")),
        "{rtc0}"
    );
    assert!(
        rtc0.contains("power.rtc_mode=no (usable now: yes)"),
        "{rtc0}"
    );
    assert!(
        out.stderr.contains(&format!("{unset}: /dev/rtc0"))
            && out.stderr.contains("RTC_RD_TIME on /dev/rtc0 failed"),
        "the fault path took /dev/rtc0: {out:?}"
    );
    // The seed's explicit /dev/rtc means the system's RTC, as for hwclock:
    // without the link, /dev/rtc0 (the seed's users' files all carry it).
    let set_part = part("set");
    assert!(
        set_part
            .contains("rtc.path=/dev/rtc0 (rtc_path = /dev/rtc does not exist: hwclock's next)\n"),
        "{set_part}"
    );
    assert!(
        set_part.contains("power.rtc_mode=no (usable now: yes)"),
        "{set_part}"
    );
    assert!(
        out.stderr.contains("rtc_path = /dev/rtc does not exist: the first of /dev/rtc0, /dev/misc/rtc that does: /dev/rtc0"),
        "{out:?}"
    );
    // Any other path that is set is used as given, and probe says it will fail.
    let other_part = part("other");
    assert!(other_part.contains("rtc.path=/dev/rtc1\n"), "{other_part}");
    assert!(
        other_part
            .contains("power.rtc_mode=no (usable now: no: /dev/rtc1: No such file or directory"),
        "{other_part}"
    );
    assert!(
        out.stderr
            .contains("rtc: /dev/rtc1: No such file or directory"),
        "{out:?}"
    );
    // With the link (udev's), /dev/rtc comes first.
    assert!(
        part("link").contains("rtc.path=/dev/rtc (rtc_path is not set"),
        "{out:?}"
    );
}
