//! The indicator lives on a volume an untrusted container writes. Whatever it
//! puts there, the daemon must not hang, read through a link, open a device,
//! or lose the fault: it acts (here: exit 69, all devices fail harmlessly),
//! records a sanitized reason, and consumes the indicator itself.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::{run, stability, value, Output, Sandbox, SAFE_DEVICES};

const T: Duration = Duration::from_secs(20);

/// One single run against whatever is at `$D/vol/fault`.
fn act(sb: &Sandbox) -> (Output, String) {
    let path = sb.config(&format!(
        "[general]\nindicator_file_path = $D/vol/fault\nstate_dir = $D/state\nsingle_run = true\n{SAFE_DEVICES}"
    ));
    let out = run(stability().args(["--config", &path]), T);
    let record = sb.read("state/reset-record");
    (out, record)
}

fn sandbox(name: &str) -> Sandbox {
    let sb = Sandbox::new(name);
    std::fs::create_dir(sb.path("vol")).unwrap();
    sb
}

#[test]
fn a_fifo_is_a_fault_never_opened_and_consumed() {
    let sb = sandbox("fifo");
    nix::unistd::mkfifo(
        &sb.path("vol/fault"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(out.elapsed < Duration::from_secs(5), "{out:?}");
    assert_eq!(
        value(&record, "reason"),
        Some("(FIFO, not read)"),
        "{record}"
    );
    assert!(!sb.path("vol/fault").exists());
}

#[test]
fn a_symlink_is_not_followed_and_the_link_itself_is_consumed() {
    let sb = sandbox("symlink");
    sb.write("secret", "TOP SECRET host data\n");
    std::os::unix::fs::symlink(sb.path("secret"), sb.path("vol/fault")).unwrap();
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(
        value(&record, "reason"),
        Some("(symlink, not read)"),
        "{record}"
    );
    assert!(
        !out.stderr.contains("SECRET") && !record.contains("SECRET"),
        "read through the link: {out:?}"
    );
    assert!(
        std::fs::symlink_metadata(sb.path("vol/fault")).is_err(),
        "the link is gone"
    );
    assert_eq!(
        sb.read("secret"),
        "TOP SECRET host data\n",
        "the target is untouched"
    );
}

#[test]
fn a_dangling_symlink_counts_as_present() {
    let sb = sandbox("dangling");
    std::os::unix::fs::symlink("/nonexistent/target", sb.path("vol/fault")).unwrap();
    let (out, _) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(std::fs::symlink_metadata(sb.path("vol/fault")).is_err());
}

#[test]
fn a_symlink_to_a_device_is_never_opened() {
    let sb = sandbox("devlink");
    std::os::unix::fs::symlink("/dev/zero", sb.path("vol/fault")).unwrap();
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(value(&record, "reason"), Some("(symlink, not read)"));
}

#[test]
fn a_device_node_is_never_opened() {
    if !support::is_root() {
        return support::skip("mknod of a character device needs root");
    }
    let sb = sandbox("devnode");
    // The same device as /dev/zero (1:5): reading it would never end.
    nix::sys::stat::mknod(
        &sb.path("vol/fault"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o644),
        nix::sys::stat::makedev(1, 5),
    )
    .unwrap();
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(
        value(&record, "reason"),
        Some("(character device, not read)"),
        "{record}"
    );
    assert!(!sb.path("vol/fault").exists());
}

#[test]
fn a_directory_is_a_fault_removed_when_empty_and_kept_when_not() {
    let sb = sandbox("dir");
    std::fs::create_dir(sb.path("vol/fault")).unwrap();
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(value(&record, "reason"), Some("(directory, not read)"));
    assert!(
        !sb.path("vol/fault").exists(),
        "an empty directory is removed"
    );

    let sb = sandbox("dir-full");
    std::fs::create_dir(sb.path("vol/fault")).unwrap();
    sb.write("vol/fault/keep", "x");
    let (out, _) = act(&sb);
    assert_eq!(out.code(), Some(69), "the fault still resets: {out:?}");
    assert!(
        out.stderr
            .contains("is a directory with files in it: not removed"),
        "{out:?}"
    );
    assert!(
        sb.path("vol/fault/keep").exists(),
        "nothing is deleted recursively"
    );
}

#[test]
fn a_huge_sparse_file_gives_its_first_256_bytes_quickly() {
    let sb = sandbox("sparse");
    let file = std::fs::File::create(sb.path("vol/fault")).unwrap();
    std::io::Write::write_all(&mut &file, "kernel oops ".repeat(40).as_bytes()).unwrap();
    file.set_len(1 << 30).unwrap(); // 1 GiB, sparse
    drop(file);
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert!(out.elapsed < Duration::from_secs(5), "{out:?}");
    let reason = value(&record, "reason").unwrap();
    assert_eq!(reason.len(), 256, "the first 256 bytes: {reason:?}");
    assert!(reason.starts_with("kernel oops kernel oops"));
    assert!(!sb.path("vol/fault").exists());
}

#[test]
fn control_characters_and_binary_are_sanitized_everywhere() {
    let sb = sandbox("binary");
    std::fs::write(
        sb.path("vol/fault"),
        b"\x1b[2J\x1b]0;pwned\x07line1\nline2=\xff\x00end",
    )
    .unwrap();
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    let reason = value(&record, "reason").unwrap();
    assert_eq!(reason, "?[2J?]0;pwned?line1 line2=??end");
    assert!(!out.stderr.contains('\x1b'), "{out:?}");
    // Still one record line per key: the reason cannot inject keys.
    assert_eq!(
        record.lines().filter(|l| l.starts_with("reason=")).count(),
        1
    );
}

#[test]
fn an_unreadable_file_is_still_a_fault() {
    let sb = sandbox("unreadable");
    sb.write("vol/fault", "you cannot read me");
    std::fs::set_permissions(sb.path("vol/fault"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    let reason = value(&record, "reason").unwrap();
    if support::is_root() {
        // Root reads it regardless of the mode bits; the point is no failure.
        assert_eq!(reason, "you cannot read me");
    } else {
        assert!(reason.contains("Permission denied"), "{reason}");
    }
    assert!(!sb.path("vol/fault").exists());
}

#[test]
fn an_empty_file_is_a_fault_with_no_reason() {
    let sb = sandbox("empty");
    sb.write("vol/fault", "");
    let (out, record) = act(&sb);
    assert_eq!(out.code(), Some(69), "{out:?}");
    assert_eq!(value(&record, "reason"), Some("(regular file, empty)"));
}

/// A container that turns a directory of the indicator's path into a link
/// after the daemon started cannot make it read or delete a host file.
#[test]
fn a_directory_swapped_for_a_symlink_redirects_nothing() {
    let sb = Sandbox::new("swap");
    std::fs::create_dir_all(sb.path("vol/sub")).unwrap();
    std::fs::create_dir(sb.path("host")).unwrap();
    sb.write("host/fault", "HOST FILE");
    let path = sb.config(&format!(
        "[general]\nindicator_file_path = $D/vol/sub/fault\nstate_dir = $D/state\nchecking_interval = 50ms\n{SAFE_DEVICES}"
    ));
    let mut d = support::Daemon::start(stability().args(["--config", &path]));
    assert!(d.wait_for_log("watching indicator", T), "{}", d.stderr());
    std::fs::remove_dir(sb.path("vol/sub")).unwrap();
    std::os::unix::fs::symlink(sb.path("host"), sb.path("vol/sub")).unwrap();
    assert_eq!(d.wait(T).and_then(|s| s.code()), Some(69), "{}", d.stderr());
    let record = sb.read("state/reset-record");
    assert!(
        !record.contains("HOST FILE") && !d.stderr().contains("HOST FILE"),
        "{record}"
    );
    assert_eq!(sb.read("host/fault"), "HOST FILE", "the host file survives");
    assert!(d.stderr().contains("not followed"), "{}", d.stderr());
}
