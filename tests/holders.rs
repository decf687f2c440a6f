//! Naming the process that holds a busy device must not hang on the files
//! other processes have open. A process holds the "device" (here /dev/null,
//! given as rtc_path to `probe`) and a file on a FUSE mount whose server has
//! stopped answering: any stat of that file waits for ever. `probe` must
//! still finish and name the holder.
//!
//! The FUSE server is a few lines of Python on /dev/fuse (the kernel's real
//! FUSE, a real mount), in a private mount namespace made by unshare(1), so
//! the machine running the tests never sees the mount. Needs root, unshare,
//! python3 and /dev/fuse; skipped, saying so, without them.

mod support;

use std::process::Command;
use std::time::Duration;
use support::Sandbox;

/// The FUSE server and the scenario, run as `python3 - D STABILITY...`.
const SCRIPT: &str = r#"
import ctypes, os, struct, subprocess, sys, threading, time
d, stability = sys.argv[1], sys.argv[2:]
mnt = os.path.join(d, "fuse")
os.mkdir(mnt)
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
opts = f"fd={fd},rootmode=40000,user_id=0,group_id=0".encode()
if libc.mount(b"stability-test", mnt.encode(), b"fuse", 0, opts) != 0:
    print("SKIP mount:", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(0)
hang = threading.Event()
ATTR = struct.pack("<QQQQQQIIIIIIIIII", 2, 0, 0, 0, 0, 0, 0, 0, 0, 0o100644, 1, 0, 0, 0, 4096, 0)
ROOT = struct.pack("<QQQQQQIIIIIIIIII", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0o40755, 2, 0, 0, 0, 4096, 0)

def reply(unique, error=0, body=b""):
    os.write(fd, struct.pack("<IiQ", 16 + len(body), error, unique) + body)

def serve():
    while True:
        try:
            req = os.read(fd, 1 << 20)
        except OSError:
            return
        _, op, unique, node = struct.unpack_from("<IIQQ", req)
        if hang.is_set() or op in (2, 42):  # FORGET, BATCH_FORGET: no reply
            continue
        if op == 26:  # INIT
            reply(unique, body=struct.pack("<IIIIHHIIHHII", 7, 31, 0, 0, 0, 0, 4096, 1, 0, 0, 0, 0) + bytes(24))
        elif op == 1:  # LOOKUP: the one file, attributes never cached
            reply(unique, body=struct.pack("<QQQQII", 2, 0, 0, 0, 0, 0) + ATTR)
        elif op == 3:  # GETATTR
            reply(unique, body=struct.pack("<QII", 0, 0, 0) + (ROOT if node == 1 else ATTR))
        elif op == 14:  # OPEN
            reply(unique, body=struct.pack("<QII", 1, 0, 0))
        elif op in (18, 25):  # RELEASE, FLUSH
            reply(unique)
        else:
            reply(unique, error=-38)  # ENOSYS

threading.Thread(target=serve, daemon=True).start()
f = os.open(os.path.join(mnt, "file"), os.O_RDONLY)
# The holder: /dev/null (the "device") on its stdout, the FUSE file on stdin.
holder = subprocess.Popen(["sleep", "60"], stdin=f, stdout=subprocess.DEVNULL)
os.close(f)
time.sleep(0.3)
hang.set()
probe = subprocess.Popen(stability + ["--config", os.path.join(d, "config.ini"), "probe"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
try:
    out, _ = probe.communicate(timeout=15)
    print(f"HOLDER {holder.pid}\nSTATUS {probe.returncode}\n{out}", flush=True)
except subprocess.TimeoutExpired:
    probe.kill()
    print(f"HUNG: probe still running after 15 s", flush=True)
holder.kill()
os.close(fd)  # aborts the connection: anything still waiting on it fails
"#;

#[test]
fn naming_a_holder_does_not_wait_on_a_hung_file_system() {
    if !support::is_root() {
        return support::skip("a FUSE mount needs root");
    }
    if !std::path::Path::new("/dev/fuse").exists() {
        return support::skip("no /dev/fuse");
    }
    let sb = Sandbox::new("holders-fuse");
    sb.config(
        "[general]\nindicator_file_path = $D/fault\nstate_dir = $D/state\n[watchdog-device]\nwdt_path = $D/no-watchdog\n[rtc-device]\nrtc_path = /dev/null\n",
    );
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "python3",
        "-c",
        SCRIPT,
    ])
    .arg(&sb.dir);
    cmd.args(support::runner())
        .arg(env!("CARGO_BIN_EXE_stability"));
    let out = support::run(&mut cmd, Duration::from_secs(60));
    if out.stderr.contains("unshare: ") || out.stdout.starts_with("SKIP") {
        return support::skip(&format!("no FUSE mount here: {out:?}"));
    }
    assert!(!out.stdout.contains("HUNG"), "{out:?}");
    let holder = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("HOLDER "))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(out.stdout.contains("STATUS 0\n"), "{out:?}");
    let held_by = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("rtc.held_by="))
        .unwrap_or_else(|| panic!("no rtc.held_by: {out:?}"));
    assert!(
        held_by.contains(&format!("pid {holder} (sleep)")),
        "{held_by}"
    );
}
