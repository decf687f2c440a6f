//! The documented container examples (docs/examples/), run as a user would
//! run them: the compose files with podman-compose, the `docker run` line
//! with podman (which takes the same options), the host config with the real
//! daemon. A board's paths and the registry image are the only things
//! replaced — the shared directory by this test's, the image by the one made
//! here (nothing can be pulled), the watchdog by a missing path (the chain
//! then falls back to reboot(2) in the daemon's PID namespace) — and
//! heartbeat_timeout is shortened from the example's 120 s to 4 s so that a
//! stale heartbeat takes seconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::{engine, quiet, Container, Engine};
use crate::host::{daemon_in_pid_namespace, wait_for_reboot};
use crate::support::{value, Sandbox};
use crate::{record, START};

const SHARE: &str = "/var/lib/stability-share";
const IMAGE: &str = "docker.io/library/busybox:stable";
const TIMEOUT: u64 = 4;

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with `from` replaced by `to`; `from` must be there (a changed
/// example must not silently stop being tested).
fn replace(text: &str, from: &str, to: &str, file: &str) -> String {
    assert!(text.contains(from), "{file} no longer contains {from:?}");
    text.replace(from, to)
}

/// An example file with the board's directory and the image replaced.
fn localized(engine: &Engine, sb: &Sandbox, name: &str) -> PathBuf {
    let text = replace(&example(name), SHARE, &sb.p("share"), name);
    let text = replace(&text, IMAGE, &engine.image, name);
    let path = sb.path(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// docs/examples/stability.ini, the host's config, localized.
fn host_config(sb: &Sandbox) -> String {
    let f = "stability.ini";
    let text = replace(&example(f), SHARE, &sb.p("share"), f);
    let text = replace(
        &text,
        "state_dir = /var/lib/stability\n",
        "state_dir = $D/state\n",
        f,
    );
    let text = replace(
        &text,
        "heartbeat_timeout = 120\n",
        &format!("heartbeat_timeout = {TIMEOUT}\n"),
        f,
    );
    assert!(!text.contains("[watchdog-device]"), "{f} sets the watchdog");
    sb.config(&format!(
        "{text}[watchdog-device]\nwdt_path = $D/no-watchdog\n"
    ))
}

/// `podman-compose -f FILE -p PROJECT ARGS...`, which must succeed.
fn compose(engine: &Engine, file: &Path, project: &str, args: &[&str]) -> crate::support::Output {
    let out = quiet(
        engine
            .command("podman-compose")
            .arg("-f")
            .arg(file)
            .args(["-p", project])
            .args(args),
    );
    // podman-compose 1.0.3 exits 0 when a podman command it ran failed, and
    // prints "exit code: N" for each.
    let failed = (out.stdout.lines().chain(out.stderr.lines()))
        .any(|l| l.starts_with("exit code: ") && l != "exit code: 0");
    assert!(
        out.status.success() && !failed,
        "podman-compose {args:?}: {out:?}"
    );
    out
}

fn share(sb: &Sandbox) {
    std::fs::create_dir_all(sb.path("share")).unwrap(); // the README's mkdir -p
}

/// The heartbeat file's mtime changes: the container touches it.
fn touched(hb: &Path) -> bool {
    let mtime = || std::fs::metadata(hb).and_then(|m| m.modified()).ok();
    crate::support::wait_for(START, || mtime().is_some()) && {
        let first = mtime();
        crate::support::wait_for(Duration::from_secs(5), || mtime() != first)
    }
}

/// compose.yaml: the heartbeat loop keeps the daemon quiet; the documented
/// fault line, run with `podman-compose exec`, resets the board with its
/// reason; a frozen container (`podman pause`) resets it by the heartbeat.
#[test]
fn the_compose_example_runs_and_its_fault_line_and_its_heartbeat_reset_the_board() {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new("ctr-compose");
    share(&sb);
    let file = localized(engine, &sb, "compose.yaml");
    let project = engine.name("compose");
    compose(engine, &file, &project, &["up", "-d"]);
    let ctr = Container {
        engine,
        name: format!("{project}_app_1"),
    };
    assert!(
        touched(&sb.path("share/heartbeat")),
        "the example touches the heartbeat"
    );

    let cfg = host_config(&sb);
    let mut d = daemon_in_pid_namespace(&cfg);
    assert!(
        d.wait_for_log("watching indicator", START),
        "{}",
        d.stderr()
    );
    std::thread::sleep(Duration::from_secs(2 * TIMEOUT));
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "quiet while touched: {}",
        d.stderr()
    );
    let line = "printf '%s\\n' 'database corrupt' > /stability/.fault.tmp && mv /stability/.fault.tmp /stability/fault";
    assert!(
        example("compose.yaml").contains(line),
        "the line compose.yaml documents"
    );
    compose(
        engine,
        &file,
        &project,
        &["exec", "-T", "app", "sh", "-c", line],
    );
    wait_for_reboot(&mut d, Duration::from_secs(15));
    let rec = record(&sb);
    assert_eq!(value(&rec, "trigger"), Some("indicator"), "{rec}");
    assert_eq!(value(&rec, "reason"), Some("database corrupt"), "{rec}");
    assert_eq!(value(&rec, "method"), Some("reboot"), "{rec}");
    assert!(
        value(&rec, "failed").unwrap().starts_with("watchdog: "),
        "{rec}"
    );
    assert!(!sb.path("share/fault").exists(), "consumed");

    // After the "reset": the daemon starts again, the container freezes.
    let mut d = daemon_in_pid_namespace(&cfg);
    assert!(
        d.wait_for_log("watching indicator", START),
        "{}",
        d.stderr()
    );
    std::thread::sleep(Duration::from_secs(2));
    engine.podman(&["pause", &ctr.name]);
    wait_for_reboot(&mut d, Duration::from_secs(TIMEOUT + 15));
    let rec = record(&sb);
    assert_eq!(value(&rec, "trigger"), Some("heartbeat"), "{rec}");
    assert_eq!(value(&rec, "seq"), Some("2"), "{rec}");
    drop(ctr);
}

/// docker-run.sh, run by podman: the same container, the heartbeat touched.
#[test]
fn the_docker_run_example_runs_under_podman_and_touches_the_heartbeat() {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new("ctr-docker-run");
    let script = localized(engine, &sb, "docker-run.sh");
    let name = engine.name("docker-run");
    let text = replace(
        &std::fs::read_to_string(&script).unwrap(),
        "--name app ",
        &format!("--name {name} "),
        "docker-run.sh",
    );
    std::fs::write(&script, text).unwrap();
    let _ctr = Container {
        engine,
        name: name.clone(),
    };
    let out = quiet(engine.command("sh").arg("-c").arg(format!(
        "docker() {{ podman \"$@\"; }}; . {}",
        script.display()
    )));
    assert!(out.status.success(), "{out:?}");
    assert!(
        sb.path("share").is_dir(),
        "the script makes the shared directory"
    );
    assert!(
        touched(&sb.path("share/heartbeat")),
        "the container touches the heartbeat"
    );
}

/// compose-healthcheck.yaml: each passing health check touches the
/// heartbeat; a failing one (the app's /health gone) stops the touches and
/// the stale heartbeat resets the board. podman runs health checks from
/// systemd timers and this machine has no systemd: the test runs `podman
/// healthcheck run` every second itself, as the timer would (a stand-in,
/// said so; Docker runs them in its daemon).
#[test]
fn the_healthcheck_example_touches_the_heartbeat_only_while_healthy() {
    let Some(engine) = engine() else { return };
    let sb = Sandbox::new("ctr-healthcheck");
    share(&sb);
    let file = localized(engine, &sb, "compose-healthcheck.yaml");
    let project = engine.name("health");
    compose(engine, &file, &project, &["up", "-d"]);
    let ctr = Container {
        engine,
        name: format!("{project}_app_1"),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        let name = ctr.name.clone();
        let cmd = move || {
            engine
                .command("podman")
                .args(["healthcheck", "run", &name])
                .output()
        };
        std::thread::spawn(move || {
            let mut results = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                results.push(cmd().map(|o| o.status.success()).unwrap_or(false));
                std::thread::sleep(Duration::from_secs(1));
            }
            results
        })
    };
    assert!(
        touched(&sb.path("share/heartbeat")),
        "a passing check touches the heartbeat"
    );
    let cfg = host_config(&sb);
    let mut d = daemon_in_pid_namespace(&cfg);
    assert!(
        d.wait_for_log("watching indicator", START),
        "{}",
        d.stderr()
    );
    std::thread::sleep(Duration::from_secs(2 * TIMEOUT));
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "quiet while healthy: {}",
        d.stderr()
    );

    engine.podman(&["exec", &ctr.name, "rm", "/www/health"]);
    wait_for_reboot(&mut d, Duration::from_secs(TIMEOUT + 15));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let results = timer.join().unwrap();
    let rec = record(&sb);
    assert_eq!(value(&rec, "trigger"), Some("heartbeat"), "{rec}");
    assert!(
        results.iter().any(|ok| *ok),
        "some checks passed: {results:?}"
    );
    assert_eq!(
        results.last(),
        Some(&false),
        "the last checks failed: {results:?}"
    );
    let health = engine.podman(&["inspect", "--format", "{{.State.Health.Status}}", &ctr.name]);
    assert_eq!(health.stdout.trim(), "unhealthy");
}
