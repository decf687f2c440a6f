//! The seed's scenario end to end, with a real container engine (podman,
//! runc) and the real binary: a container writes the indicator or touches the
//! heartbeat on a shared volume, and the daemon on the host acts on it; a
//! hostile container plants what Docker's default capabilities allow. See
//! tests/containers/README.md for what each case shows and how it was shown
//! to fail. Run as root: `cargo test --release --test containers`.
//!
//! The reset is reboot(2) with the daemon as the init of a PID namespace, so
//! it ends that namespace, never this machine; no device of this machine is
//! opened (the hostile 10:130 node is only planted where no watchdog driver
//! is registered).

#[path = "../support/mod.rs"]
mod support;

mod compose;
mod engine;
mod host;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use engine::engine;
use host::{
    boottime, daemon_in_pid_namespace, daemon_limited, wait_for_reboot, wall, Accesses, HostFile,
    SECRET,
};
use support::{value, Sandbox};

/// The polling interval of most cases.
const INTERVAL: f64 = 0.2;
/// How late a daemon woken from ppoll(2) may run on this loaded 2-core
/// machine (other builds, QEMU) before a timing check calls it late.
const SCHEDULING: f64 = 0.3;
/// A reset expected "at once" that has not happened by then is a hang.
const HANG: Duration = Duration::from_secs(15);
const START: Duration = Duration::from_secs(20);

/// A config with the reset as reboot(2) (in the daemon's PID namespace) and
/// the state in the sandbox; `general` adds keys to [general].
fn config(sb: &Sandbox, general: &str) -> String {
    sb.config(&format!(
        "[general]\nrecovery_device = reboot\nchecking_interval = {}ms\nstate_dir = $D/state\n{general}\n",
        (INTERVAL * 1000.0) as u32
    ))
}

fn record(sb: &Sandbox) -> String {
    sb.read("state/reset-record")
}

/// The record's `uptime`: CLOCK_BOOTTIME when the daemon acted.
fn acted_at(record: &str) -> f64 {
    value(record, "uptime")
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("no uptime in the record:\n{record}"))
}

/// The container writes its reason the way the README tells it to: to a
/// temporary name, then `mv` (rename(2)), so the daemon never sees half of it.
fn write_indicator(reason: &str) -> String {
    format!("printf '%s\\n' '{reason}' > /shared/.fault.tmp\nmv /shared/.fault.tmp /shared/fault")
}

/// The seed's scenario. The daemon starts at boot with a config naming a
/// path in a named volume that does not exist yet; the engine creates the
/// volume later; a container writes the indicator with its reason; the
/// daemon resets within one interval, the record carries the reason, and
/// the indicator is consumed so the volume cannot bring it back.
#[test]
fn a_container_on_a_named_volume_made_after_the_daemon_started_gets_the_board_reset() {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new("ctr-seed");
    let volume = engine.name("seed");
    let data = engine.volume_path(&volume);
    assert!(
        !data.exists(),
        "the volume must not exist before the daemon starts"
    );
    let cfg = config(
        &sb,
        &format!("indicator_file_path = {}/fault", data.display()),
    );
    let mut d = daemon_in_pid_namespace(&cfg);
    assert!(
        d.wait_for_log("watching indicator", START),
        "{}",
        d.stderr()
    );

    // The engine starts later and creates the volume: not a fault.
    let mountpoint = engine.create_volume(&volume);
    assert_eq!(mountpoint, data, "podman volume inspect");
    std::thread::sleep(Duration::from_secs_f64(INTERVAL * 5.0));
    assert!(d.child.try_wait().unwrap().is_none(), "{}", d.stderr());

    let reason = "database corrupt: fsck needed";
    let out = engine.sh(
        &["-v", &format!("{volume}:/shared")],
        &write_indicator(reason),
    );
    assert!(out.status.success(), "{out:?}");
    let written = boottime();
    wait_for_reboot(&mut d, HANG);

    let record = record(&sb);
    assert_eq!(value(&record, "trigger"), Some("indicator"), "{record}");
    assert_eq!(value(&record, "reason"), Some(reason), "{record}");
    assert_eq!(value(&record, "method"), Some("reboot"), "{record}");
    let source = data.join("fault");
    assert_eq!(value(&record, "source"), source.to_str(), "{record}");
    let late = acted_at(&record) - written;
    eprintln!("seed: reset {late:.3} s after the container's mv");
    assert!(
        late <= INTERVAL + SCHEDULING,
        "acted {late:.3} s after the container's mv, more than one interval ({INTERVAL} s) + {SCHEDULING} s"
    );
    assert!(
        std::fs::symlink_metadata(&source).is_err(),
        "the indicator must be consumed"
    );
    // What the container sees after the reset: the volume, without the indicator.
    let after = engine.sh(
        &["-v", &format!("{volume}:/shared")],
        "test -d /shared; test ! -e /shared/fault; test ! -e /shared/.fault.tmp; ls -A /shared",
    );
    assert!(after.status.success(), "{after:?}");
    assert_eq!(after.stdout, "", "nothing left in the volume");
}

/// The same, with the engine's storage reached through a symlink (a board
/// whose /var/lib/containers or /var/lib/docker links to a data partition),
/// the volume again made after the daemon started (issue 14 item 5: the
/// directory is resolved once it appears). Before that fix the unresolved
/// path was kept, the daemon's no-follow walk refused the link, the reason
/// was not read and the indicator not consumed: it came back after every
/// reset.
#[test]
fn a_volume_behind_a_symlink_made_after_the_daemon_started_is_read_and_consumed() {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new("ctr-seed-link");
    let volume = engine.name("seed-link");
    std::os::unix::fs::symlink(&engine.volume_root, sb.path("volumes")).unwrap();
    let linked = sb.path("volumes").join(&volume).join("_data");
    let cfg = config(
        &sb,
        &format!("indicator_file_path = {}/fault", linked.display()),
    );
    let mut d = daemon_in_pid_namespace(&cfg);
    assert!(
        d.wait_for_log("watching indicator", START),
        "{}",
        d.stderr()
    );
    let data = engine.create_volume(&volume);
    let reason = "disk full";
    let out = engine.sh(
        &["-v", &format!("{volume}:/shared")],
        &write_indicator(reason),
    );
    assert!(out.status.success(), "{out:?}");
    wait_for_reboot(&mut d, HANG);
    let record = record(&sb);
    // These two wait for the fix:
    assert_eq!(
        value(&record, "reason"),
        Some(reason),
        "{record}\n{}",
        d.stderr()
    );
    assert!(
        std::fs::symlink_metadata(data.join("fault")).is_err(),
        "the indicator must be consumed\n{}",
        d.stderr()
    );
}

/// The heartbeat cases: heartbeat_timeout and the interval they use.
const HB_TIMEOUT: f64 = 3.0;
const HB_INTERVAL: f64 = 0.5;

enum Stop {
    Pause,
    Kill,
}

/// A container touches the heartbeat every second; the daemon stays quiet
/// for two timeouts; then the container is paused (frozen: a hung app) or
/// killed, and the stale heartbeat must be a fault after heartbeat_timeout
/// and within heartbeat_timeout + checking_interval of the last touch (the
/// record's CLOCK_BOOTTIME `uptime` against the file's last mtime).
fn heartbeat_stops(stop: Stop, what: &str) {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new(&format!("ctr-hb-{what}"));
    let volume = engine.name(&format!("hb-{what}"));
    let data = engine.create_volume(&volume);
    let ctr = engine.detached(
        &engine.name(&format!("hb-{what}")),
        &["-v", &format!("{volume}:/shared")],
        "trap 'exit 0' TERM; while :; do touch /shared/heartbeat; sleep 1; done",
    );
    let hb = data.join("heartbeat");
    assert!(support::wait_for(START, || hb.exists()), "no heartbeat");
    let cfg = sb.config(&format!(
        "[general]\nrecovery_device = reboot\nstate_dir = $D/state\nheartbeat_file_path = {}\n\
         heartbeat_timeout = {}ms\nchecking_interval = {}ms\n",
        hb.display(),
        (HB_TIMEOUT * 1000.0) as u32,
        (HB_INTERVAL * 1000.0) as u32
    ));
    let mut d = daemon_in_pid_namespace(&cfg);
    assert!(
        d.wait_for_log("watching heartbeat", START),
        "{}",
        d.stderr()
    );
    let mtime = || std::fs::metadata(&hb).unwrap().modified().unwrap();
    let first = mtime();
    std::thread::sleep(Duration::from_secs_f64(2.0 * HB_TIMEOUT));
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "a heartbeat touched every second is not stale: {}",
        d.stderr()
    );
    assert!(mtime() > first, "the container kept touching");

    match stop {
        Stop::Pause => engine.podman(&["pause", &ctr.name]),
        Stop::Kill => engine.podman(&["kill", &ctr.name]),
    };
    let (stopped_wall, stopped_boot) = (wall(SystemTime::now()), boottime());
    wait_for_reboot(
        &mut d,
        Duration::from_secs_f64(HB_TIMEOUT + HB_INTERVAL) + HANG,
    );
    match stop {
        Stop::Pause => {
            assert_eq!(ctr.status(), "paused", "still frozen at the reset");
            engine.podman(&["kill", &ctr.name]); // then killed, as an operator would
        }
        Stop::Kill => {
            let status = ctr.status(); // "exited", or "stopped" before podman's clean-up
            assert!(status == "exited" || status == "stopped", "{status}");
        }
    }

    let record = record(&sb);
    assert_eq!(value(&record, "trigger"), Some("heartbeat"), "{record}");
    let reason = value(&record, "reason").unwrap();
    assert!(reason.starts_with("heartbeat not touched for "), "{reason}");
    // The last touch on the boot clock: its mtime is wall-clock time.
    let last_touch = stopped_boot - (stopped_wall - wall(mtime()));
    let after = acted_at(&record) - last_touch;
    assert!(
        after > HB_TIMEOUT,
        "reset {after:.3} s after the last touch: before heartbeat_timeout ({HB_TIMEOUT} s)"
    );
    assert!(
        after <= HB_TIMEOUT + HB_INTERVAL + SCHEDULING,
        "reset {after:.3} s after the last touch: later than heartbeat_timeout + checking_interval ({} s) + {SCHEDULING} s",
        HB_TIMEOUT + HB_INTERVAL
    );
    eprintln!("{what}: reset {after:.3} s after the last touch ({reason})");
}

#[test]
fn a_paused_container_s_heartbeat_goes_stale_and_resets_in_time() {
    heartbeat_stops(Stop::Pause, "pause");
}

#[test]
fn a_killed_container_s_heartbeat_goes_stale_and_resets_in_time() {
    heartbeat_stops(Stop::Kill, "kill");
}

/// The capabilities the systemd unit leaves the daemon (its
/// CapabilityBoundingSet=): setpriv's "+name,..." and the CapEff mask.
fn unit_capabilities() -> (String, u64) {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("service/stability.service"),
    )
    .unwrap();
    let set = unit
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet=");
    // linux/capability.h, the ones a unit for this daemon could name.
    let number = |cap: &str| match cap {
        "CAP_CHOWN" => 0,
        "CAP_DAC_OVERRIDE" => 1,
        "CAP_DAC_READ_SEARCH" => 2,
        "CAP_FOWNER" => 3,
        "CAP_IPC_LOCK" => 14,
        "CAP_SYS_PTRACE" => 19,
        "CAP_SYS_ADMIN" => 21,
        "CAP_SYS_BOOT" => 22,
        "CAP_SYS_NICE" => 23,
        "CAP_SYS_RESOURCE" => 24,
        "CAP_SYS_TIME" => 25,
        "CAP_WAKE_ALARM" => 35,
        other => panic!("add {other} to this table"),
    };
    let caps: Vec<&str> = set.split_whitespace().collect();
    let names = caps
        .iter()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase()))
        .collect::<Vec<_>>()
        .join(",");
    (
        names,
        caps.iter().map(|c| 1u64 << number(c)).fold(0, |a, b| a | b),
    )
}

/// A user-namespaced container (root inside is uid 200000 outside) writes
/// the indicator with umask 077 into a volume chowned to it (`:U`): on the
/// host the file and the directory belong to uid 200000, the file is 0600.
/// The daemon, with only the capabilities the systemd unit leaves it, still
/// reads the reason and removes the indicator.
#[test]
fn a_user_namespaced_container_s_indicator_is_read_and_consumed_with_the_unit_s_capabilities() {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new("ctr-userns");
    let volume = engine.name("userns");
    let data = engine.create_volume(&volume);
    let reason = "out of memory in a user namespace";
    let out = engine.sh(
        &[
            "--uidmap",
            "0:200000:65536",
            "--gidmap",
            "0:200000:65536",
            "-v",
            &format!("{volume}:/shared:U"),
        ],
        &format!("umask 077\n{}", write_indicator(reason)),
    );
    assert!(out.status.success(), "{out:?}");
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::symlink_metadata(data.join("fault")).unwrap();
    let dir = std::fs::metadata(&data).unwrap();
    assert_eq!(
        (file.uid(), file.gid(), file.mode() & 0o7777),
        (200000, 200000, 0o600)
    );
    assert_eq!((dir.uid(), dir.mode() & 0o7777), (200000, 0o755));

    let (caps, mask) = unit_capabilities();
    // The bounding set really is what the daemon will run with.
    let probe = engine::quiet(
        std::process::Command::new("setpriv")
            .arg(format!("--bounding-set=-all,{caps}"))
            .args(["--", "grep", "^CapEff", "/proc/self/status"]),
    );
    let eff = u64::from_str_radix(probe.stdout.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(eff, mask, "{caps}: {probe:?}");

    let cfg = config(
        &sb,
        &format!("indicator_file_path = {}/fault", data.display()),
    );
    let mut d = daemon_limited(&cfg, Some(&caps), None);
    wait_for_reboot(&mut d, HANG);
    let record = record(&sb);
    assert_eq!(
        value(&record, "reason"),
        Some(reason),
        "{record}\n{}",
        d.stderr()
    );
    assert!(
        std::fs::symlink_metadata(data.join("fault")).is_err(),
        "the indicator must be consumed\n{}",
        d.stderr()
    );
}

/// What a hostile plant left behind.
struct Planted {
    record: String,
    stderr: String,
    /// inotify events on the volume's entries and on the host file.
    accesses: Vec<String>,
    /// Seconds from the container's exit to the reset (record `uptime`).
    late: f64,
    data: std::path::PathBuf,
    host: HostFile,
    _sb: Sandbox,
}

/// The daemon's address space in the hostile cases: a few MiB suffice, a
/// daemon that read a whole 1 GiB file into memory would abort.
const ADDRESS_SPACE_MIB: u32 = 64;

/// A hostile container runs `script` (root, Docker's default capabilities,
/// `$SECRET` the host path of a host file) on a volume the daemon watches;
/// the daemon must reset without hanging.
fn plant(what: &str, script: &str) -> Option<Planted> {
    let engine = engine()?;
    let sb = Sandbox::new(&format!("ctr-plant-{what}"));
    let host = HostFile::plant(&sb);
    let volume = engine.name(&format!("plant-{what}"));
    let data = engine.create_volume(&volume);
    let watch = Accesses::watch(&[&data, &host.path]);
    let cfg = config(
        &sb,
        &format!("indicator_file_path = {}/fault", data.display()),
    );
    let mut d = daemon_limited(&cfg, None, Some(ADDRESS_SPACE_MIB));
    assert!(
        d.wait_for_log("watching indicator", START),
        "{}",
        d.stderr()
    );
    let out = engine.sh(
        &[
            "-v",
            &format!("{volume}:/shared"),
            "-e",
            &format!("SECRET={}", host.path.display()),
        ],
        script,
    );
    assert!(out.status.success(), "the plant failed: {out:?}");
    let planted = boottime();
    wait_for_reboot(&mut d, HANG);
    let record = record(&sb);
    let late = acted_at(&record) - planted;
    eprintln!("plant {what}: reset {late:.3} s after the container exited");
    Some(Planted {
        stderr: d.stderr(),
        accesses: watch.events(),
        late,
        record,
        data,
        host,
        _sb: sb,
    })
}

impl Planted {
    fn reason(&self) -> &str {
        value(&self.record, "reason").unwrap_or_default()
    }

    /// No open, read, write or attribute change of the indicator's inode or
    /// of the host file; the host file as it was; no hang; nothing left.
    fn assert_never_opened_and_consumed(&self) {
        let fault = self.data.join("fault");
        let opened: Vec<&String> = self
            .accesses
            .iter()
            .filter(|e| e.ends_with("/fault") || e.ends_with("/secret"))
            .collect();
        assert!(opened.is_empty(), "opened: {opened:?}\n{}", self.stderr);
        self.host.assert_untouched();
        assert!(!self.stderr.contains(SECRET), "{}", self.stderr);
        assert!(!self.record.contains(SECRET), "{}", self.record);
        assert!(
            std::fs::symlink_metadata(&fault).is_err(),
            "the indicator must be consumed\n{}",
            self.stderr
        );
        assert!(
            self.late <= INTERVAL + SCHEDULING,
            "acted {:.3} s after the plant: more than one interval",
            self.late
        );
    }
}

#[test]
fn a_planted_device_node_1_5_is_never_opened() {
    let Some(p) = plant(
        "dev-1-5",
        "mknod /shared/.node c 1 5\nmv /shared/.node /shared/fault",
    ) else {
        return;
    };
    p.assert_never_opened_and_consumed();
    assert_eq!(p.reason(), "(character device, not read)", "{}", p.record);
}

/// Never opened: on a machine with a watchdog driver, an open would arm it.
/// Where one is registered (misc minor 130 in /proc/misc) the node is not
/// planted, so a regression cannot reset the machine running the tests.
#[test]
fn a_planted_node_with_the_watchdog_s_numbers_10_130_is_never_opened() {
    let misc = std::fs::read_to_string("/proc/misc").unwrap_or_default();
    if misc
        .lines()
        .any(|l| l.split_whitespace().next() == Some("130"))
    {
        return support::skip("this machine has a watchdog driver: 10:130 is not planted here");
    }
    let Some(p) = plant(
        "dev-10-130",
        "mknod /shared/.node c 10 130\nmv /shared/.node /shared/fault",
    ) else {
        return;
    };
    p.assert_never_opened_and_consumed();
    assert_eq!(p.reason(), "(character device, not read)", "{}", p.record);
}

#[test]
fn a_planted_symlink_to_a_host_file_is_not_followed() {
    let Some(p) = plant(
        "symlink",
        "ln -s \"$SECRET\" /shared/.link\nmv /shared/.link /shared/fault",
    ) else {
        return;
    };
    p.assert_never_opened_and_consumed();
    assert_eq!(p.reason(), "(symlink, not read)", "{}", p.record);
}

#[test]
fn a_planted_fifo_does_not_hang_the_daemon() {
    let Some(p) = plant(
        "fifo",
        "mkfifo /shared/.fifo\nmv /shared/.fifo /shared/fault",
    ) else {
        return;
    };
    p.assert_never_opened_and_consumed();
    assert_eq!(p.reason(), "(FIFO, not read)", "{}", p.record);
}

/// A tree, with a link to the host file inside it: a fault, nothing deleted
/// recursively, nothing followed, and the daemon says it left it.
#[test]
fn a_planted_directory_tree_is_a_fault_left_in_place() {
    let Some(p) = plant(
        "tree",
        "mkdir -p /shared/.tree/a/b/c\necho kept > /shared/.tree/a/b/c/file\n\
         ln -s \"$SECRET\" /shared/.tree/a/link\nmv /shared/.tree /shared/fault",
    ) else {
        return;
    };
    assert_eq!(
        std::fs::read_to_string(p.data.join("fault/a/b/c/file")).ok(),
        Some("kept\n".to_owned()),
        "nothing is deleted recursively\n{}",
        p.stderr
    );
    assert!(std::fs::symlink_metadata(p.data.join("fault/a/link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(p.reason(), "(directory, not read)", "{}", p.record);
    assert!(
        p.stderr
            .contains("is a directory with files in it: not removed (remove it by hand)"),
        "{}",
        p.stderr
    );
    assert!(
        p.accesses.iter().all(|e| !e.ends_with("/secret")),
        "{:?}",
        p.accesses
    );
    p.host.assert_untouched();
    assert!(
        p.late <= INTERVAL + SCHEDULING,
        "acted {:.3} s after the plant",
        p.late
    );
}

/// 1 GiB, sparse, its reason at the start: the first 256 bytes, at once,
/// with the daemon limited to 64 MiB of address space (reading the whole
/// file would need 1 GiB).
#[test]
fn a_planted_1_gib_sparse_file_gives_its_first_256_bytes_at_once() {
    let Some(p) = plant(
        "sparse",
        "i=0; while [ $i -lt 40 ]; do printf 'kernel oops '; i=$((i+1)); done > /shared/.big\n\
         truncate -s 1G /shared/.big\nmv /shared/.big /shared/fault",
    ) else {
        return;
    };
    let reason = p.reason();
    assert_eq!(reason.len(), 256, "the first 256 bytes: {reason:?}");
    assert!(reason.starts_with("kernel oops kernel oops"), "{reason}");
    assert!(
        std::fs::symlink_metadata(p.data.join("fault")).is_err(),
        "consumed"
    );
    assert!(
        p.late <= INTERVAL + SCHEDULING,
        "acted {:.3} s after the plant",
        p.late
    );
    p.host.assert_untouched();
}

/// A container swaps the indicator between a regular file and a symlink to
/// a host file as fast as it can while the daemon acts on it again and
/// again: never the host file's content, never a hang, every reason one of
/// the two things that were there (or that it changed under the daemon).
#[test]
fn a_symlink_swapped_for_a_file_in_a_loop_never_leaks_the_host_file() {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new("ctr-swap");
    let host = HostFile::plant(&sb);
    let volume = engine.name("swap");
    let data = engine.create_volume(&volume);
    let watch = Accesses::watch(&[&host.path]);
    let _swapper = engine.detached(
        &engine.name("swapper"),
        &[
            "-v",
            &format!("{volume}:/shared"),
            "-e",
            &format!("SECRET={}", host.path.display()),
        ],
        "trap 'exit 0' TERM\nwhile :; do\n\
         ln -s \"$SECRET\" /shared/.link; mv /shared/.link /shared/fault\n\
         echo SWAPPED-IN FILE > /shared/.file; mv /shared/.file /shared/fault\n\
         done",
    );
    let cfg = config(
        &sb,
        &format!(
            "indicator_file_path = {}/fault\nmax_resets = 1000",
            data.display()
        ),
    );
    let allowed = [
        "SWAPPED-IN FILE",
        "(symlink, not read)",
        "(gone before it could be read)",
        "(changed while being read, not read)",
        "(regular file, empty)",
    ];
    let mut reasons = std::collections::BTreeMap::<String, u32>::new();
    let covered = |r: &std::collections::BTreeMap<String, u32>| {
        r.contains_key("SWAPPED-IN FILE") && r.contains_key("(symlink, not read)")
    };
    let start = Instant::now();
    let mut runs = 0;
    // At least 5 s and 20 resets; then on, up to 300, until both a read and a
    // refusal were seen.
    while start.elapsed() < Duration::from_secs(5) || runs < 20 || !covered(&reasons) {
        let _ = std::fs::remove_file(sb.path("state/reset-record"));
        let mut d = daemon_in_pid_namespace(&cfg);
        wait_for_reboot(&mut d, HANG);
        runs += 1;
        let record = record(&sb);
        assert!(
            !record.contains(SECRET) && !d.stderr().contains(SECRET),
            "{record}\n{}",
            d.stderr()
        );
        let reason = value(&record, "reason").unwrap_or_default().to_owned();
        assert!(
            allowed.contains(&reason.as_str()),
            "unexpected reason {reason:?}"
        );
        *reasons.entry(reason).or_default() += 1;
        if runs >= 300 {
            break;
        }
    }
    assert!(
        covered(&reasons),
        "the race was not exercised in {runs} resets: {reasons:?}"
    );
    assert_eq!(
        watch.events(),
        Vec::<String>::new(),
        "the host file was opened"
    );
    host.assert_untouched();
    eprintln!("swap: {runs} resets in {:?}: {reasons:?}", start.elapsed());
}
