//! The config file, through the real binary: the seed's file unchanged,
//! every class of error with its line number and exit status 78, warnings.

mod support;

use std::time::Duration;
use support::{run, stability, Sandbox};

const T: Duration = Duration::from_secs(20);

/// py-stability-iot's config.ini, byte for byte (note the trailing space).
const SEED: &str = "[general]\n# Available options: rtc, watchdog\nrecovery_device = watchdog\n# Checking interval measured in seconds. \n# If 0, then the program will not run in background - you'll have to use cron or other scheduler.\nchecking_interval = 5\nindicator_file_path = /tmp/pywatchdog-fault-indicator\nsingle_run = false\n\n[watchdog-device]\nwdt_path = /dev/watchdog\nwdt_kill_delay = 300\n\n[rtc-device]\nrtc_path = /dev/rtc\n# Modes are usually off and mem, but vary across RTC hardware providers. Some might not support off.\nrtc_mode = off\n";

fn check(sb: &Sandbox, text: &str) -> support::Output {
    let path = sb.config(text);
    run(stability().args(["--config", &path, "check-config"]), T)
}

#[test]
fn seed_config_is_accepted_unchanged_with_its_documented_meaning() {
    let sb = Sandbox::new("seed");
    let out = check(&sb, SEED);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "no warnings expected: {out:?}");
    for line in [
        "recovery_device = watchdog",
        "checking_interval = 5",
        "indicator_file_path = /tmp/pywatchdog-fault-indicator",
        "single_run = false", // the seed's bool("false") bug is not kept
        "wdt_path = /dev/watchdog",
        "wdt_kill_delay = 300",
        "rtc_path = /dev/rtc",
        "rtc_mode = off",
        "wdt_timeout = 1",
        "rtc_wake_delay = 60",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "missing `{line}`:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("# poll every 5 s"), "{out:?}");
}

#[test]
fn shipped_config_is_valid_and_seed_compatible() {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.ini")).unwrap();
    let sb = Sandbox::new("shipped");
    let out = check(&sb, &shipped);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    // Same values as the seed's file for every key the seed had, but
    // rtc_path: the seed sets /dev/rtc, which devtmpfs alone does not make;
    // the shipped file leaves it unset, so the RTC is the first of hwclock's
    // paths that exists (/dev/rtc first, so the same where the seed worked).
    let seed = check(&sb, SEED);
    let unset = "# rtc_path is not set";
    assert_eq!(
        out.stdout.lines().skip(1).collect::<Vec<_>>(),
        seed.stdout
            .lines()
            .skip(1)
            .map(|l| if l == "rtc_path = /dev/rtc" { unset } else { l })
            .collect::<Vec<_>>()
    );
}

#[test]
fn crlf_bom_comments_and_spacing_all_work() {
    let sb = Sandbox::new("form");
    let text = "\u{feff}; a comment\r\n[general]\r\n  # indented comment\r\nrecovery_device=rtc ,  reboot   # chain\r\nChecking_Interval :   2.5\r\nindicator_file_path=/run/x\r\nsingle_run = YES\r\n";
    let out = check(&sb, text);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout.contains("recovery_device = rtc, reboot\n"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("checking_interval = 2500ms\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("single_run = true\n"), "{out:?}");
}

/// One bad line per case: the error names file, line and key, the status is
/// 78, and nothing else runs.
#[test]
fn every_error_class_names_its_line_and_exits_78() {
    let cases: &[(&str, u32, &str)] = &[
        (
            "[general]\nindicator_file_path = /x\nchecking_interval = soon\n",
            3,
            "checking_interval",
        ),
        (
            "[general]\nindicator_file_path = /x\nsingle_run = maybe\n",
            3,
            "true/false",
        ),
        (
            "[general]\nindicator_file_path = /x\nrecovery_device = fire\n",
            3,
            "unknown device `fire`",
        ),
        (
            "[general]\nindicator_file_path = /x\nrecovery_device = rtc, rtc\n",
            3,
            "listed twice",
        ),
        (
            "[general]\nindicator_file_path = relative/x\n",
            2,
            "absolute path",
        ),
        (
            "[general]\nindicator_file_path = /x\nmax_resets = 0\n",
            3,
            "allowed: 1 to 1000",
        ),
        (
            "[general]\nindicator_file_path = /x\n[rtc-device]\nrtc_mode = hibernate\n",
            4,
            "allowed: off, mem, standby, freeze, disk, no",
        ),
        (
            "[general]\nindicator_file_path = /x\n[rtc-device]\nrtc_backend = shell\n",
            4,
            "allowed: ioctl, rtcwake",
        ),
        (
            "[general]\nindicator_file_path = /x\n[watchdog-device]\nwdt_timeout = 0\n",
            4,
            "wdt_timeout",
        ),
        (
            "[general]\nindicator_file_path = /x\n[rtc-device]\nrtc_wake_delay = 1\n",
            4,
            "2 s to 365 d",
        ),
        (
            "[general]\nindicator_file_path = /x\nindicator_file_path = /y\n",
            3,
            "set twice (first on line 2)",
        ),
        (
            "[general]\nindicator_file_path = /x\n[general]\n",
            3,
            "appears twice",
        ),
        (
            "indicator_file_path = /x\n[general]\n",
            1,
            "before any [section]",
        ),
        (
            "[general\nindicator_file_path = /x\n",
            1,
            "malformed section header",
        ),
        (
            "[general]\nindicator_file_path = /x\nthis is not a setting\n",
            3,
            "not `key = value`",
        ),
        (
            "[general]\nindicator_file_path = /x\nheartbeat_file_path = /hb\n",
            3,
            "needs heartbeat_timeout",
        ),
        (
            "[general]\nindicator_file_path = /x\ncheckinginterval = 5\nchecking_interval =\n",
            4,
            "empty",
        ),
        ("[general]\nindicator_file_path = \"/x\"\n", 2, "quotes"),
    ];
    for (text, line, what) in cases {
        let sb = Sandbox::new("errors");
        let out = check(&sb, text);
        assert_eq!(out.code(), Some(78), "{text:?}: {out:?}");
        let want = format!("{}:{line}: ", sb.p("config.ini"));
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(&want) && l.contains(what)),
            "{text:?}: expected `{want}...{what}` in\n{}",
            out.stderr
        );
        assert!(out.stderr.contains("nothing was started"), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
}

#[test]
fn all_errors_are_reported_at_once() {
    let sb = Sandbox::new("many");
    let out = check(&sb, "[general]\nindicator_file_path = /x\nchecking_interval = -1\nsingle_run = perhaps\n[rtc-device]\nrtc_mode = nap\n");
    assert_eq!(out.code(), Some(78));
    for line in [3, 4, 6] {
        assert!(
            out.stderr.contains(&format!("config.ini:{line}: ")),
            "line {line}: {out:?}"
        );
    }
    assert!(
        out.stderr.contains("configuration rejected (3 errors)"),
        "{out:?}"
    );
}

#[test]
fn unknown_keys_and_sections_are_warnings_with_line_numbers() {
    let sb = Sandbox::new("warn");
    let out = check(
        &sb,
        "[general]\nindicator_file_path = /x\ncolour = blue\n[network]\nhost = a\n",
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains("config.ini:3: unknown key `colour` in [general]"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("config.ini:4: unknown section [network]"),
        "{out:?}"
    );
}

#[test]
fn a_missing_or_unreadable_config_is_a_clear_error() {
    let sb = Sandbox::new("missing");
    let missing = sb.p("nope.ini");
    let out = run(stability().args(["--config", &missing, "check-config"]), T);
    assert_eq!(out.code(), Some(78), "{out:?}");
    assert!(
        out.stderr.contains(&format!("{missing}: cannot open")),
        "{out:?}"
    );
    assert!(out.stderr.contains("--config"), "says what to do: {out:?}");

    // A FIFO as config must not hang the daemon, nor a directory confuse it.
    let fifo = sb.path("fifo.ini");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let out = run(
        stability().args(["--config", fifo.to_str().unwrap(), "check-config"]),
        T,
    );
    assert_eq!(out.code(), Some(78), "{out:?}");
    assert!(out.stderr.contains("not a regular file"), "{out:?}");
    let out = run(
        stability().args(["--config", sb.dir.to_str().unwrap(), "check-config"]),
        T,
    );
    assert_eq!(out.code(), Some(78), "{out:?}");

    let binary = sb.path("binary.ini");
    std::fs::write(&binary, b"[general]\nindicator_file_path = /x\xff\n").unwrap();
    let out = run(
        stability().args(["--config", binary.to_str().unwrap(), "check-config"]),
        T,
    );
    assert_eq!(out.code(), Some(78), "{out:?}");
    assert!(out.stderr.contains("line 2: not valid UTF-8"), "{out:?}");
}

#[test]
fn the_config_option_works_before_and_after_the_command() {
    let sb = Sandbox::new("cfgpos");
    let path = sb.config("[general]\nindicator_file_path = /after\n");
    let other = sb.write("other.ini", "[general]\nindicator_file_path = /before\n");
    let out = run(
        stability().args(["--config", &other, "check-config", "--config", &path]),
        T,
    );
    assert!(
        out.stdout.contains("indicator_file_path = /after"),
        "{out:?}"
    );
    let out = run(stability().args(["-c", &other, "check-config"]), T);
    assert!(
        out.stdout.contains("indicator_file_path = /before"),
        "{out:?}"
    );
}

#[test]
fn bad_command_lines_exit_64_and_help_and_version_exit_0() {
    let out = run(stability().arg("--frobnicate"), T);
    assert_eq!(out.code(), Some(64), "{out:?}");
    assert!(out.stderr.contains("--help"), "{out:?}");
    let out = run(stability().arg("--help"), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    for word in [
        "check-config",
        "probe",
        "trigger",
        "status",
        "--dry-run",
        "78 configuration error",
        "SIGHUP",
    ] {
        assert!(out.stdout.contains(word), "help lacks {word}: {out:?}");
    }
    let out = run(stability().arg("--version"), T);
    assert_eq!(
        out.stdout.trim(),
        concat!("stability ", env!("CARGO_PKG_VERSION"))
    );
}

/// A path key that names a directory where a file is meant (the indicator
/// `/run/flags/` made the daemon report a fault at its first poll: a reset
/// loop on a board) is refused with its line and what the key takes; the
/// directory key takes a trailing slash and drops it, but not `.`, `..` or `/`.
#[test]
fn path_keys_that_name_a_directory_are_rejected_with_the_line_and_what_is_allowed() {
    let file_keys = [
        ("general", "indicator_file_path"),
        ("general", "heartbeat_file_path"),
        ("watchdog-device", "wdt_path"),
        ("rtc-device", "rtc_path"),
    ];
    for (section, key) in file_keys {
        for bad in ["$D/flags/", "$D/flags//", "$D/flags/.", "$D/flags/..", "/"] {
            let sb = Sandbox::new("dirpath");
            std::fs::create_dir(sb.path("flags")).unwrap();
            let extra = if key == "heartbeat_file_path" {
                "\nheartbeat_timeout = 60"
            } else {
                ""
            };
            let text = format!(
                "[general]\nindicator_file_path = $D/flags/fault\n[{section}]\n{key} = {bad}{extra}\n"
            )
            .replace("[general]\nindicator_file_path = $D/flags/fault\n[general]\n", "[general]\n")
            .replace("$D", sb.dir.to_str().unwrap());
            let line = text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
            let out = check(&sb, &text);
            assert_eq!(out.code(), Some(78), "{key} = {bad}: {out:?}");
            let want = format!("{}:{line}: [{section}] {key} = ", sb.p("config.ini"));
            assert!(
                out.stderr.lines().any(|l| l.contains(&want)
                    && l.contains("names a directory")
                    && l.contains("give the path of a file")),
                "{key} = {bad}: expected `{want}... names a directory ...` in\n{}",
                out.stderr
            );
        }
    }
    // state_dir names a directory: a trailing slash is fine (and dropped) ...
    let sb = Sandbox::new("dirpath-state");
    let out = check(
        &sb,
        "[general]\nindicator_file_path = /run/fault\nstate_dir = /var/lib/stability//\n",
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l == "state_dir = /var/lib/stability"),
        "{out:?}"
    );
    // ... but `.` and `..` components and the root directory are not.
    for bad in [
        "/",
        "//",
        "/var/lib/..",
        "/var/./lib/stability",
        "/var/lib/x/../stability",
    ] {
        let out = check(
            &sb,
            &format!("[general]\nindicator_file_path = /run/fault\nstate_dir = {bad}\n"),
        );
        assert_eq!(out.code(), Some(78), "state_dir = {bad}: {out:?}");
        assert!(
            out.stderr.contains(":3: [general] state_dir = ")
                && out.stderr.contains("a directory of its own"),
            "state_dir = {bad}: {out:?}"
        );
    }
}

/// The daemon itself refuses such a path at start (status 78) instead of
/// reporting a fault at its first poll.
#[test]
fn the_daemon_refuses_an_indicator_path_ending_in_a_slash() {
    let sb = Sandbox::new("dirpath-daemon");
    std::fs::create_dir(sb.path("flags")).unwrap();
    let cfg = sb.config(&format!(
        "[general]\nindicator_file_path = $D/flags/\nsingle_run = true\nstate_dir = $D/state\n{}",
        support::SAFE_DEVICES
    ));
    let out = run(stability().args(["--config", &cfg]), T);
    assert_eq!(out.code(), Some(78), "{out:?}");
    assert!(!out.stderr.contains("resetting"), "{out:?}");
}

/// `stall_timeout` and `heartbeat_timeout` below what one check of a file on
/// slow flash can take: refused under 1 s, warned about under 10 s.
#[test]
fn timeouts_a_slow_flash_lstat_can_exceed_are_refused_or_warned_about() {
    let sb = Sandbox::new("slow-flash");
    let keepalive = |stall: &str| {
        format!(
            "[general]\nindicator_file_path = /run/fault\n[watchdog-device]\nwdt_mode = keepalive\nstall_timeout = {stall}\n"
        )
    };
    let heartbeat = |timeout: &str| {
        format!(
            "[general]\nheartbeat_file_path = /run/hb\nchecking_interval = 200ms\nheartbeat_timeout = {timeout}\n"
        )
    };
    for (text, line, key) in [
        (keepalive("500ms"), 5, "stall_timeout"),
        (keepalive("0.999"), 5, "stall_timeout"),
        (heartbeat("500ms"), 4, "heartbeat_timeout"),
    ] {
        let out = check(&sb, &text);
        assert_eq!(out.code(), Some(78), "{text}: {out:?}");
        let want = format!("config.ini:{line}: ");
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(&want) && l.contains(key) && l.contains("at least 1 s")),
            "{text}: {out:?}"
        );
    }
    for (text, line, key) in [
        (keepalive("3"), 5, "stall_timeout"),
        (heartbeat("5"), 4, "heartbeat_timeout"),
    ] {
        let out = check(&sb, &text);
        assert_eq!(out.code(), Some(0), "{text}: {out:?}");
        let want = format!("config.ini:{line}: ");
        assert!(
            out.stderr.lines().any(|l| l.contains("warning:")
                && l.contains(&want)
                && l.contains(key)
                && l.contains("under 10 s")),
            "{text}: {out:?}"
        );
    }
    for text in [keepalive("0"), keepalive("10"), heartbeat("10")] {
        let out = check(&sb, &text);
        assert_eq!(out.code(), Some(0), "{text}: {out:?}");
        assert!(out.stderr.is_empty(), "{text}: {out:?}");
    }
}
