//! Past 2038-01-19 on the 32-bit builds (armv7, arm, mips, mipsel musl;
//! `scripts/cross-test.sh` runs these under qemu-user). The libc crate gave
//! them a 32-bit time_t: file times read back wrapped and the wall clock
//! failed with EOVERFLOW. Here: file times in 2040 and 2100, set by the
//! host's touch(1), read back exactly and acted on by the daemon; a reset
//! record from 2040 read back by `status`. qemu-user runs on the host's wall
//! clock, which cannot be set here (a time namespace offsets only the
//! monotonic and boot clocks): the record written with the clock in 2040 and
//! the RTC alarm are proven on a real kernel by the VM scenario
//! d13_y2040_x86, and the calendar arithmetic they use by unit tests.

mod support;

use std::process::Command;
use std::time::Duration;
use support::{run, stability, Daemon, Sandbox, SAFE_DEVICES};

const T: Duration = Duration::from_secs(30);

/// 2040-01-01T00:00:00Z and 2100-01-01T00:00:00Z.
const Y2040: i64 = 2_208_988_800;
const Y2100: i64 = 4_102_444_800;

/// Sets a file's mtime with the host's touch(1), which is 64-bit whatever
/// this test binary is.
fn touch(path: &std::path::Path, secs: i64) {
    let out = Command::new("touch")
        .args(["-m", "-d", &format!("@{secs}")])
        .arg(path)
        .output()
        .expect("run touch");
    assert!(out.status.success(), "touch: {out:?}");
}

#[test]
fn time_t_is_64_bits_on_this_target() {
    assert_eq!(
        std::mem::size_of::<libc::time_t>(),
        8,
        "a 32-bit time_t wraps on 2038-01-19: build with --cfg libc_unstable_musl_v1_2 (.cargo/config.toml)"
    );
}

#[test]
fn file_times_after_2038_are_read_back_exactly() {
    let sb = Sandbox::new("y2038-stat");
    let file = sb.path("f");
    sb.write("f", "");
    for secs in [Y2040, Y2100, Y2040 + (1 << 32)] {
        touch(&file, secs);
        let st = nix::sys::stat::lstat(&file).unwrap();
        #[allow(clippy::useless_conversion)]
        let mtime = i64::from(st.st_mtime);
        assert_eq!(mtime, secs);
    }
}

/// A heartbeat touched with mtimes in 2040 and 2176, 2^32 s apart (a 32-bit
/// time_t reads both as the same time in 1904, and the heartbeat as never
/// touched), then in 2100, is alive; an indicator from 2040 is seen and
/// acted on.
#[test]
fn a_heartbeat_and_an_indicator_from_2040_are_seen_and_compared() {
    let sb = Sandbox::new("y2038-daemon");
    sb.write("hb", "");
    let hb = sb.path("hb");
    let cfg = sb.config(&format!(
        "[general]\nheartbeat_file_path = $D/hb\nheartbeat_timeout = 3s\nindicator_file_path = $D/fault\nstate_dir = $D/state\nchecking_interval = 50ms\n{SAFE_DEVICES}"
    ));
    let mut d = Daemon::start(stability().args(["--config", &cfg]));
    assert!(d.wait_for_log("watching", T), "{}", d.stderr());
    for i in 0..16 {
        let mtime = match i {
            0..=11 => Y2040 + ((i % 2) << 32),
            _ => Y2100 + i,
        };
        touch(&hb, mtime);
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "touched heartbeat taken for stale: {}",
        d.stderr()
    );
    sb.write("fault", "from 2040");
    touch(&sb.path("fault"), Y2040);
    let status = d.wait(T).expect("acts on the indicator");
    assert_eq!(status.code(), Some(69), "{}", d.stderr());
    assert!(d.stderr().contains("reason=from 2040"), "{}", d.stderr());
}

#[test]
fn status_reads_back_a_record_from_2040() {
    let sb = Sandbox::new("y2038-status");
    std::fs::create_dir(sb.path("state")).unwrap();
    sb.write(
        "state/reset-record",
        &format!("format=1\nseq=41\ntime=2040-01-01T00:00:00Z\nepoch={Y2040}\ntrigger=indicator\nreason=in 2040\n"),
    );
    let cfg = sb.config("[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\n");
    let out = run(stability().args(["--config", &cfg, "status"]), T);
    assert_eq!(out.code(), Some(0), "{out:?}");
    for line in [
        "record=present".to_owned(),
        "record.time=2040-01-01T00:00:00Z".to_owned(),
        format!("record.epoch={Y2040}"),
        "record.reason=in 2040".to_owned(),
    ] {
        assert!(out.stdout.lines().any(|l| l == line), "{line}: {out:?}");
    }
}

/// What the record's `time` is made of: the calendar from i64 seconds.
#[test]
fn the_record_time_of_2040_and_2100_is_the_right_date() {
    use stability::clock::Civil;
    assert_eq!(
        Civil::from_seconds(Y2040).to_string(),
        "2040-01-01T00:00:00"
    );
    assert_eq!(
        Civil::from_seconds(Y2100).to_string(),
        "2100-01-01T00:00:00"
    );
    assert_eq!(
        Civil::from_seconds(2_147_483_647 + 1).to_string(),
        "2038-01-19T03:14:08"
    );
}
