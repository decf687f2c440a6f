//! The checks the fuzz targets make on every input, shared with the plain
//! `cargo test` regression test (tests/fuzz_corpus.rs includes this file), so
//! a committed corpus file or crash reproducer is checked the same way in both.
//!
//! Each check panics with a message naming the broken invariant; it never
//! returns an error, so libFuzzer records the input as a crash.

#![allow(dead_code)] // each fuzz target uses one check

use std::ffi::CStr;

use stability::config::{self, Config, Diag};
use stability::msg::{self, REASON_BYTES};

/// The largest config file the daemon reads (config.rs, `MAX_FILE_BYTES`):
/// bigger inputs are refused before they reach the parser.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// The largest state file the daemon reads (statefile.rs, `MAX_BYTES`).
pub const MAX_STATE_BYTES: usize = 16 * 1024;

/// The name given to fuzzed config text in messages.
const SOURCE: &str = "fuzz.ini";

/// Config bytes: what `config::load` does after reading the file, then the
/// invariants of its result.
pub fn check_config(bytes: &[u8]) {
    if bytes.len() > MAX_CONFIG_BYTES {
        return;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return; // load() rejects it before parsing, naming the line
    };
    let lines = line_count(text);
    match config::parse(text, SOURCE) {
        Ok(loaded) => {
            check_diags("warning", &loaded.warnings, lines);
            check_valid(&loaded.config);
            check_round_trip(&loaded.config);
        }
        Err(rejected) => {
            assert!(!rejected.errors.is_empty(), "rejected without an error");
            assert_eq!(rejected.source, SOURCE, "rejection names another source");
            check_diags("error", &rejected.errors, lines);
            check_diags("warning", &rejected.warnings, lines);
        }
    }
}

/// Lines as ini_core counts them: "\r\n", "\n" and a lone "\r" each end one.
fn line_count(text: &str) -> u32 {
    let b = text.as_bytes();
    let mut n = 1u32;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// Messages are non-empty, single-line, in line order, on a line that exists.
fn check_diags(what: &str, diags: &[Diag], lines: u32) {
    for d in diags {
        assert!(
            !d.message.trim().is_empty(),
            "{what} with an empty message: {d:?}"
        );
        assert!(
            !d.message.contains('\n'),
            "{what} message spans lines: {d:?}"
        );
        assert!(
            d.line <= lines,
            "{what} on line {} of a {lines}-line text: {d:?}",
            d.line
        );
    }
    assert!(
        diags.windows(2).all(|w| w[0].line <= w[1].line),
        "{what}s not in line order: {diags:?}"
    );
}

/// The promises an accepted config makes to the rest of the daemon.
fn check_valid(c: &Config) {
    assert!(!c.chain.is_empty(), "empty reset chain");
    for (i, d) in c.chain.iter().enumerate() {
        assert!(!c.chain[..i].contains(d), "{d:?} twice in the chain");
    }
    assert!(
        c.indicator.is_some() || c.heartbeat.is_some(),
        "accepted with nothing to watch"
    );
    let mut paths = vec![&c.state_dir, &c.watchdog.path, &c.rtc.path];
    paths.extend(c.indicator.as_ref());
    paths.extend(c.heartbeat.as_ref().map(|h| &h.path));
    for p in paths {
        check_path(p);
    }
    let ten_years_ms = 10 * 366 * 86_400_000;
    for ms in [
        c.interval_ms,
        c.reset_window_ms,
        c.watchdog.kill_delay_ms,
        c.heartbeat.as_ref().map_or(1, |h| h.timeout_ms),
    ] {
        assert!(ms <= ten_years_ms, "a duration over 10 years: {ms} ms");
    }
    assert!(c.reset_window_ms > 0, "reset_window of 0");
    if c.interval_ms == 0 {
        assert!(c.single_run, "checking_interval 0 but not a single run");
    }
    if let Some(hb) = &c.heartbeat {
        assert!(hb.timeout_ms > 0, "heartbeat_timeout of 0");
        assert!(
            c.single_run || hb.timeout_ms > c.interval_ms,
            "heartbeat_timeout {} not above checking_interval {}",
            hb.timeout_ms,
            c.interval_ms
        );
    }
    assert!(
        (1..=1000).contains(&c.max_resets),
        "max_resets out of range"
    );
    assert!(
        (1..=65_535).contains(&c.watchdog.timeout_s),
        "wdt_timeout out of range"
    );
    assert!(
        (2..=365 * 86_400).contains(&c.rtc.wake_delay_s),
        "rtc_wake_delay out of range"
    );
}

fn check_path(p: &CStr) {
    let b = p.to_bytes();
    assert!(b.first() == Some(&b'/'), "a relative path: {p:?}");
    assert!(b.len() < PATH_MAX, "a path over PATH_MAX: {p:?}");
    assert!(
        std::str::from_utf8(b).is_ok(),
        "a path that is not UTF-8: {p:?}"
    );
}

/// Linux's PATH_MAX, which config.rs takes from libc.
const PATH_MAX: usize = 4096;

/// `to_ini()` is what `check-config` prints and says parses back to the same
/// values: it must, with no error and no warning beyond the ones about
/// values (never about form), and print the same text again.
fn check_round_trip(c: &Config) {
    let ini = c.to_ini();
    let again = match config::parse(&ini, "round-trip.ini") {
        Ok(l) => l,
        Err(r) => panic!(
            "to_ini() output rejected: {:?}\n--- to_ini():\n{ini}",
            r.errors
        ),
    };
    for w in &again.warnings {
        assert!(
            !w.message.contains("unknown"),
            "to_ini() output has an unknown name: {w:?}\n--- to_ini():\n{ini}"
        );
    }
    let mut a = c.clone();
    let mut b = again.config.clone();
    a.source.clear();
    b.source.clear();
    assert_eq!(
        format!("{a:?}"),
        format!("{b:?}"),
        "to_ini() parses back to another config\n--- to_ini():\n{ini}"
    );
    let ini2 = again.config.to_ini();
    assert_eq!(
        ini.lines().skip(1).collect::<Vec<_>>(),
        ini2.lines().skip(1).collect::<Vec<_>>(),
        "to_ini() is not a fixed point"
    );
}

/// Indicator bytes: `sanitize` against a model of its documented behaviour.
pub fn check_reason(bytes: &[u8]) {
    let r = msg::sanitize(bytes);
    let s = r.as_str();
    assert!(s.len() <= REASON_BYTES, "reason of {} bytes", s.len());
    assert!(
        s.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "non-printable byte in reason {s:?}"
    );
    assert!(
        !s.starts_with(' ') && !s.ends_with(' '),
        "untrimmed reason {s:?}"
    );
    assert_eq!(
        msg::sanitize(bytes).as_str(),
        s,
        "sanitize is not deterministic"
    );
    // The model: the first 256 bytes, tab/CR/LF to space, other
    // non-printables to '?', then spaces trimmed at both ends.
    let model: String = bytes
        .iter()
        .take(REASON_BYTES)
        .map(|&b| match b {
            b'\t' | b'\n' | b'\r' => ' ',
            0x20..=0x7e => b as char,
            _ => '?',
        })
        .collect();
    assert_eq!(s, model.trim_matches(' '), "reason differs from the model");
    // Idempotent: a sanitized reason is its own sanitization.
    assert_eq!(msg::sanitize(s.as_bytes()).as_str(), s, "not idempotent");
}

/// State-file bytes (guard and reset record, written by the daemon but read
/// back after crashes, power loss and by hand edits): the `key=value` reader,
/// the sequence number, the log summary and the guard's number parser.
pub fn check_state(bytes: &[u8]) {
    if bytes.len() > MAX_STATE_BYTES {
        return; // statefile::read() refuses it
    }
    // statefile::read() decodes the same way.
    let text = String::from_utf8_lossy(bytes);
    let text = &*text;
    for key in [
        "count",
        "fault_boot_id",
        "fault_uptime",
        "seq",
        "reason",
        "",
    ] {
        if let Some(v) = stability::statefile::value(text, key) {
            assert!(
                text.lines().any(|l| l == format!("{key}={v}")),
                "value({key:?}) = {v:?} is not from a `{key}=` line"
            );
            let first = text
                .lines()
                .find_map(|l| l.split_once('=').filter(|(k, _)| *k == key));
            assert_eq!(first.map(|(_, v)| v), Some(v), "not the first occurrence");
        } else {
            assert!(
                !text
                    .lines()
                    .any(|l| l.split_once('=').is_some_and(|(k, _)| k == key)),
                "value({key:?}) missed a `{key}=` line"
            );
        }
        if let Some(v) = stability::statefile::value(text, key) {
            check_parse_ms(v);
        }
    }
    let seq = stability::record::next_seq(Some(text));
    assert!(seq >= 1, "next_seq {seq}");
    let summary = stability::record::summary(text);
    assert!(!summary.contains('\n'), "summary spans lines: {summary:?}");
    check_guard(bytes, text);
}

/// `1234.567` seconds to milliseconds: when it gives a number, the whole
/// seconds are the part before the dot.
fn check_parse_ms(v: &str) {
    if let Some(ms) = stability::guard::parse_ms(v) {
        let whole = v.split_once('.').map_or(v, |(s, _)| s);
        let whole: u64 = whole.parse().expect("parse_ms accepted a bad number");
        assert_eq!(ms / 1000, whole, "parse_ms({v:?}) = {ms}");
    }
}

/// The guard as `Guard::load` reads it (its parser is private, so through a
/// real file in a private directory), then saved and loaded again.
fn check_guard(bytes: &[u8], text: &str) {
    use stability::guard::{parse_ms, Guard, FILE};
    use stability::statefile::value;
    let dir = guard_dir();
    let c = std::ffi::CString::new(dir.to_str().expect("UTF-8 temp dir")).expect("no NUL");
    std::fs::write(dir.join(FILE), bytes).expect("write guard file");
    let g = Guard::load(&c).expect("a regular guard file reads");

    let count = value(text, "count").and_then(|v| v.parse::<u32>().ok());
    assert_eq!(g.count, count, "guard count differs from the file");
    assert!(
        count.is_some() || g.reached(1),
        "an unreadable count does not hold the guard"
    );
    let id = value(text, "fault_boot_id").unwrap_or("");
    assert!(g.fault_boot_id.len() <= 36, "boot id over 36 bytes");
    assert!(
        id.starts_with(g.fault_boot_id.as_str()),
        "boot id {:?} is not a prefix of {id:?}",
        g.fault_boot_id
    );
    // A real boot id (/proc/sys/kernel/random/boot_id: 36 characters of hex
    // digits and dashes) is kept whole, or the quiet window would be
    // measured from the wrong fault; what is done with anything else is
    // free, as long as it is a prefix of it (possibly empty).
    if id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        assert_eq!(g.fault_boot_id, id, "a boot id was not kept whole");
    }
    let uptime = value(text, "fault_uptime").and_then(parse_ms).unwrap_or(0);
    assert_eq!(
        g.fault_uptime_ms, uptime,
        "fault_uptime differs from the file"
    );

    // What the daemon writes back reads back as the same guard; an
    // unreadable count is written as the largest, which still holds it.
    g.save(&c).expect("save the guard");
    let again = Guard::load(&c).expect("load the saved guard");
    let _ = std::fs::remove_file(dir.join(FILE));
    let mut want = g.clone();
    want.count = Some(g.count.unwrap_or(u32::MAX));
    assert_eq!(again, want, "the saved guard reads back differently");
}

/// A directory of this thread's own (tests run in threads), made once, in
/// /dev/shm when there is one (the guard is saved with fsync, which costs
/// nothing on tmpfs); `remove_guard_dir` removes it.
fn guard_dir() -> std::path::PathBuf {
    thread_local! {
        static DIR: std::path::PathBuf = {
            let shm = std::path::Path::new("/dev/shm");
            let base = if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() };
            let name = format!("stability-fuzz-{}-{:?}", std::process::id(), std::thread::current().id());
            let d = base.join(name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', ""));
            std::fs::create_dir_all(&d).expect("create guard dir");
            d
        };
    }
    DIR.with(|d| d.clone())
}

/// Removes this thread's guard directory.
pub fn remove_guard_dir() {
    let _ = std::fs::remove_dir_all(guard_dir());
}
