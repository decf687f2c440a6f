//! The container engine as these tests drive it: rootful podman with runc and
//! the cgroupfs manager (the recipe of shared/notes/containers.md), set up
//! through `CONTAINERS_CONF` and `CONTAINERS_STORAGE_CONF` so that everything
//! it keeps — images, containers, named volumes, locks, events, network
//! configs — lives in one directory of this run under the cargo target dir,
//! and is removed at exit. Nothing is pulled: the image is made here, by
//! `podman import` of a tarball holding the static BusyBox of Debian's
//! busybox-static and a link per applet.
//!
//! Every podman command runs inside a network namespace of its own
//! (`nsenter --net`): podman-compose always puts a service on a bridge
//! network (its 1.0.3 adds `--net project_default` even to `network_mode:
//! none`), and the bridge, veth pairs and iptables rules that CNI makes for
//! it then stay out of the machine's own network. The other containers run
//! with `--network none`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{self, Output};

/// How long one podman command may take before it counts as hung.
pub const PODMAN_LIMIT: Duration = Duration::from_secs(120);

/// Set by `.ci/run`: an engine that cannot start fails the suite instead of
/// skipping it.
pub const REQUIRE: &str = "STABILITY_REQUIRE_ENGINE";

pub struct Engine {
    /// This run's directory: configs, storage, the network namespace.
    pub dir: PathBuf,
    /// The image made from busybox-static, `localhost/stability-test:<run>`.
    pub image: String,
    /// Where podman keeps named volumes (`podman info`'s Store.VolumePath).
    pub volume_root: PathBuf,
    /// Unique per run, part of every volume, container and compose project name.
    pub run_id: String,
}

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();

/// The engine, started once per test process; None (the test returns) when
/// it cannot start here, said on stderr — a failure if `STABILITY_REQUIRE_ENGINE=1`.
pub fn engine() -> Option<&'static Engine> {
    match ENGINE.get_or_init(Engine::start) {
        Ok(engine) => Some(engine),
        Err(why) => {
            if std::env::var(REQUIRE).as_deref() == Ok("1") {
                panic!("the container engine cannot start here, and {REQUIRE}=1 forbids skipping: {why}");
            }
            let why = format!("the container engine cannot start here: {why}");
            // Once, past libtest's capture of passing tests' output, so that
            // a plain run does not look like a pass.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "\ncontainers: SKIPPED, every test: {why}"
                );
            });
            support::skip(&why);
            None
        }
    }
}

impl Engine {
    fn start() -> Result<Engine, String> {
        if !support::is_root() {
            return Err(
                "needs root (rootful podman: device nodes, uid maps, PID namespaces)".into(),
            );
        }
        for tool in [
            "podman",
            "podman-compose",
            "nsenter",
            "unshare",
            "setpriv",
            "tar",
        ] {
            if !on_path(tool) {
                return Err(format!(
                    "{tool} is not installed (Debian: apt-get install --no-install-recommends podman runc podman-compose busybox-static containernetworking-plugins iptables)"
                ));
            }
        }
        if !Path::new("/bin/busybox").exists() {
            return Err("/bin/busybox is missing (Debian: busybox-static)".into());
        }
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        sweep_stale(base);
        let run_id = std::process::id().to_string();
        let dir = base.join(format!("containers-{run_id}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write_configs(&dir)?;
        let netns = dir.join("netns");
        std::fs::write(&netns, "").map_err(|e| e.to_string())?;
        let made = quiet(
            Command::new("unshare")
                .arg(format!("--net={}", netns.display()))
                .arg("true"),
        );
        if !made.status.success() {
            return Err(format!(
                "cannot make a network namespace: {}",
                made.stderr.trim()
            ));
        }
        let mut engine = Engine {
            dir,
            image: format!("localhost/stability-test:{run_id}"),
            volume_root: PathBuf::new(),
            run_id,
        };
        // From here on, whatever happens, the directory is cleaned at exit.
        extern "C" fn at_exit() {
            if let Some(Ok(engine)) = ENGINE.get() {
                cleanup(&engine.dir);
            }
        }
        // SAFETY: registers a plain function to run at exit(3).
        unsafe { libc::atexit(at_exit) };
        let info = engine.podman_quiet(&[
            "info",
            "--format",
            "{{.Store.VolumePath}} {{.Host.OCIRuntime.Name}}",
        ]);
        if !info.status.success() {
            cleanup(&engine.dir);
            return Err(format!("podman info failed: {}", info.stderr.trim()));
        }
        let mut words = info.stdout.split_whitespace();
        engine.volume_root = PathBuf::from(words.next().unwrap_or_default());
        let runtime = words.next().unwrap_or_default().to_owned();
        if runtime != "runc" {
            cleanup(&engine.dir);
            return Err(format!("podman chose the runtime {runtime:?}, not runc"));
        }
        let built = engine.import_image();
        let probe = built.and_then(|()| {
            let out =
                engine.podman_quiet(&["run", "--rm", "--network", "none", &engine.image, "true"]);
            if out.status.success() {
                Ok(())
            } else {
                Err(format!("a container cannot start: {}", out.stderr.trim()))
            }
        });
        match probe {
            Ok(()) => Ok(engine),
            Err(e) => {
                cleanup(&engine.dir);
                Err(e)
            }
        }
    }

    /// A rootfs holding only /bin/busybox and its applet links, imported.
    fn import_image(&self) -> Result<(), String> {
        let root = self.dir.join("rootfs");
        std::fs::create_dir_all(root.join("bin")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(root.join("tmp")).map_err(|e| e.to_string())?;
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).map_err(|e| e.to_string())?;
        let list = quiet(Command::new("/bin/busybox").arg("--list"));
        for applet in list
            .stdout
            .lines()
            .filter(|a| !a.is_empty() && *a != "busybox")
        {
            let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
        }
        let tar = self.dir.join("image.tar");
        let out = quiet(
            Command::new("tar")
                .arg("-C")
                .arg(&root)
                .arg("-cf")
                .arg(&tar)
                .arg("."),
        );
        if !out.status.success() {
            return Err(format!("tar: {}", out.stderr.trim()));
        }
        let out = self.podman_quiet(&["import", "--quiet", tar.to_str().unwrap(), &self.image]);
        if !out.status.success() {
            return Err(format!("podman import: {}", out.stderr.trim()));
        }
        Ok(())
    }

    /// `cmd` run inside the engine's network namespace with its configuration.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.dir.join("netns").display()))
            .arg("--")
            .arg(program)
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        cmd
    }

    fn podman_quiet(&self, args: &[&str]) -> Output {
        quiet(self.command("podman").args(args))
    }

    /// Runs podman and insists that it succeeds.
    pub fn podman(&self, args: &[&str]) -> Output {
        let out = self.podman_quiet(args);
        assert!(out.status.success(), "podman {args:?} failed: {out:?}");
        out
    }

    /// A name unique to this run: `stability-<what>-<run>`.
    pub fn name(&self, what: &str) -> String {
        format!("stability-{what}-{}", self.run_id)
    }

    /// Where the named volume `name` will be on the host once it exists.
    pub fn volume_path(&self, name: &str) -> PathBuf {
        self.volume_root.join(name).join("_data")
    }

    /// `podman volume create`; returns the mountpoint `podman volume inspect` gives.
    pub fn create_volume(&self, name: &str) -> PathBuf {
        self.podman(&["volume", "create", name]);
        let out = self.podman(&["volume", "inspect", "--format", "{{.Mountpoint}}", name]);
        PathBuf::from(out.stdout.trim())
    }

    /// `podman run --rm --network none IMAGE sh -euc SCRIPT` with `opts`
    /// before the image; its output (success is up to the caller).
    pub fn sh(&self, opts: &[&str], script: &str) -> Output {
        let mut args = vec!["run", "--rm", "--network", "none"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[&self.image, "sh", "-euc", script]);
        self.podman_quiet(&args)
    }

    /// A detached container running `script`, removed (`rm -f -t 0`) on drop.
    pub fn detached(&self, name: &str, opts: &[&str], script: &str) -> Container<'_> {
        let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[&self.image, "sh", "-euc", script]);
        self.podman(&args);
        Container {
            engine: self,
            name: name.to_owned(),
        }
    }
}

/// A container that is removed when the test is done with it.
pub struct Container<'e> {
    pub engine: &'e Engine,
    pub name: String,
}

impl Container<'_> {
    /// `podman inspect`'s State.Status: running, paused, exited...
    pub fn status(&self) -> String {
        let out = self
            .engine
            .podman(&["inspect", "--format", "{{.State.Status}}", &self.name]);
        out.stdout.trim().to_owned()
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self
            .engine
            .podman_quiet(&["rm", "-f", "-t", "0", &self.name]);
    }
}

/// Runs a command to completion under [`PODMAN_LIMIT`], capturing its output;
/// a command still running then fails the test as hung.
pub fn quiet(cmd: &mut Command) -> Output {
    use std::io::Read;
    let start = Instant::now();
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    };
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PODMAN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} hung: still running after {PODMAN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if std::env::var_os("STABILITY_TRACE").is_some() {
        eprintln!("trace: {:.3} s {cmd:?}", start.elapsed().as_secs_f64());
    }
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: start.elapsed(),
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// Where the run's sockets go: conmon's attach socket is
/// `tmp_dir/socket/<64 hex digits>/attach`, and a socket path has at most
/// 108 bytes, which a tmp_dir under the cargo target dir exceeds (`podman
/// run` then stalls for 20 s).
fn short_dir(dir: &Path) -> PathBuf {
    PathBuf::from(format!("/run/stability-ctr-{}", run_of(dir)))
}

/// The run id in a run directory's name, `containers-<run>`.
fn run_of(dir: &Path) -> String {
    let name = dir.file_name().unwrap().to_string_lossy();
    name.trim_start_matches("containers-").to_owned()
}

/// containers.conf and storage.conf for this run. The two `[containers]`
/// keys pass the sandbox's missing CAP_SYS_RESOURCE (the runtime could not
/// apply podman's default rlimits); crun refuses cgroups v1/hybrid, runc
/// with cgroupfs works; file locks and the private tmp_dir keep this run's
/// state off the machine-wide /dev/shm/libpod_lock and /run/libpod; network
/// configs stay in the run's directory, and the default network (which
/// docker-run.sh uses) gets a name of this run, so that CNI's leases under
/// /var/lib/cni/networks/<name> can be removed with it.
fn write_configs(dir: &Path) -> Result<(), String> {
    let d = dir.display();
    let short = short_dir(dir);
    let s = short.display();
    let run = run_of(dir);
    let containers = format!(
        "[containers]\ndefault_ulimits = []\npids_limit = 0\n\n\
         [engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
         lock_type = \"file\"\ntmp_dir = \"{s}/tmp\"\n\n\
         [network]\nnetwork_config_dir = \"{d}/cni\"\ndefault_network = \"stability-net-{run}\"\n"
    );
    let storage = format!(
        "[storage]\ndriver = \"overlay\"\ngraphroot = \"{d}/storage\"\nrunroot = \"{s}/run\"\n"
    );
    std::fs::write(dir.join("containers.conf"), containers).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("storage.conf"), storage).map_err(|e| e.to_string())
}

/// Removes every container, volume, network and image of the run in `dir`,
/// then the directory, unless something is still mounted under it.
fn cleanup(dir: &Path) {
    let podman = |args: &[&str]| {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", dir.join("netns").display()))
            .arg("--")
            .arg("podman")
            .args(args)
            .env("CONTAINERS_CONF", dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        cmd.output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let _ = podman(&["rm", "-a", "-f", "-t", "0"]);
    let _ = podman(&["volume", "rm", "-a", "-f"]);
    let networks = podman(&["network", "ls", "--format", "{{.Name}}"]);
    for net in networks.lines().filter(|n| n.starts_with("stability-")) {
        let _ = podman(&["network", "rm", "-f", net]);
        // CNI's host-local IPAM keeps its leases there, named after the network.
        let _ = std::fs::remove_dir_all(Path::new("/var/lib/cni/networks").join(net));
    }
    let _ = podman(&["rmi", "-a", "-f"]);
    // Deepest first: the namespace file, and anything podman left mounted.
    let mounted = |dir: &Path| -> Vec<String> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<String> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| Path::new(p).starts_with(dir))
            .map(str::to_owned)
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points
    };
    for point in mounted(dir).into_iter().chain(mounted(&short_dir(dir))) {
        let c = std::ffi::CString::new(point).unwrap();
        // SAFETY: umount2(2) of a path string.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    if mounted(dir).is_empty() && mounted(&short_dir(dir)).is_empty() {
        let _ = std::fs::remove_dir_all(short_dir(dir));
        let _ = std::fs::remove_dir_all(dir);
    } else {
        eprintln!("containers: {} left in place: still mounted", dir.display());
    }
}

/// Runs of the suite that did not get to clean up (killed): their directories.
fn sweep_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("containers-") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            cleanup(&entry.path());
        }
    }
}
