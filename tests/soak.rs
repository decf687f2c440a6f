//! Soak: a million polls of the real binary at interval 0, built with the
//! `bench` feature (`cargo test --release --features bench --test soak`).
//! After the first 1000 polls nothing may grow: VmRSS, RssAnon, open file
//! descriptors, allocations. A condition that persists for the whole run is
//! logged once, not per poll.

#![cfg(feature = "bench")]

mod support;

use std::time::Duration;
use support::{run, stability, Sandbox, SAFE_DEVICES};

const POLLS: u64 = 1_000_000;

/// The two `bench:` lines: after poll 1000 and after the last poll.
fn checkpoints(stderr: &str) -> Vec<std::collections::BTreeMap<String, u64>> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("bench: "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.parse().unwrap_or(u64::MAX)))
                .collect()
        })
        .collect()
}

fn soak(
    sb: &Sandbox,
    general: &str,
) -> (
    support::Output,
    Vec<std::collections::BTreeMap<String, u64>>,
) {
    let cfg = sb.config(&format!(
        "[general]\nstate_dir = $D/state\nchecking_interval = 0\n{general}\n{SAFE_DEVICES}"
    ));
    let limit = if support::emulated() {
        Duration::from_secs(900)
    } else {
        Duration::from_secs(300)
    };
    let out = run(
        stability()
            .args(["--config", &cfg])
            .env("STABILITY_BENCH_POLLS", POLLS.to_string()),
        limit,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let points = checkpoints(&out.stderr);
    assert_eq!(points.len(), 2, "{out:?}");
    assert_eq!(points[0]["poll"], 1000);
    assert_eq!(points[1]["poll"], POLLS);
    (out, points)
}

fn assert_flat(points: &[std::collections::BTreeMap<String, u64>]) {
    let (first, last) = (&points[0], &points[1]);
    for key in ["vmrss_kb", "rssanon_kb", "fds"] {
        assert_eq!(
            first[key], last[key],
            "{key} changed between poll 1000 and poll {POLLS}: {points:?}"
        );
    }
    assert_eq!(
        last["poll_allocs"], 0,
        "allocations in steady state: {points:?}"
    );
    eprintln!("soak: {points:?}");
}

#[test]
fn a_million_polls_leave_memory_fds_and_the_heap_unchanged() {
    let sb = Sandbox::new("soak");
    let (_, points) = soak(
        &sb,
        "indicator_file_path = $D/fault\nheartbeat_file_path = $D/hb\nheartbeat_timeout = 1h\n",
    );
    assert_flat(&points);
}

#[test]
fn a_persisting_stat_error_is_logged_once_in_a_million_polls() {
    let sb = Sandbox::new("soak-eloop");
    // A symlink loop in the indicator's path: lstat fails with ELOOP each poll.
    std::os::unix::fs::symlink(sb.path("loop"), sb.path("loop")).unwrap();
    let (out, points) = soak(&sb, "indicator_file_path = $D/loop/fault\n");
    assert_flat(&points);
    assert_eq!(out.stderr.matches("cannot check").count(), 1, "{out:?}");
}
