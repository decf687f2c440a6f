"""stability beside its peers on the same kernel (issue 17): bench/run --peers.

Drives the tests/vm `peers` scenarios (tests/vm/scenarios/p*.py, how each peer
is configured: _peers.py), then makes the tables from the outcome.json each
run leaves in its results directory:

  phase A, two VMs at once: p02_latency_x86 RUNS times (kill -9, SIGSTOP and
          indicator -> watchdog expiry, nine cases per boot; the only tight
          latencies, so nothing else CPU-hungry runs beside them) and
          p01_footprint_x86 once (an idle guest: five runs of each peer);
  phase B, two VMs at a time, longest first: the worst states (p03..p06), one
          boot each, n = 1.

Bytes on disk are measured on the host: the shipped binary stripped, the
classic daemon's binary with the loader and libc it maps, BusyBox's binary.
"""
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VM = os.path.join(REPO, "tests", "vm")
sys.path.insert(0, os.path.join(VM, "harness"))
sys.path.insert(0, os.path.join(VM, "scenarios"))
import _peers as P  # noqa: E402
from scenario import shared_libraries  # noqa: E402

TRIPLE = "x86_64-unknown-linux-musl"
LATENCY, FOOTPRINT = "p02_latency_x86", "p01_footprint_x86"
STATE_PREFIX = {"fuse": "p03", "dm": "p04", "memory": "p05", "cpu": "p06"}
WORST = [f"{STATE_PREFIX[s]}_{s}_{p}_x86" for s in P.WORST_STATES for p in P.WORST_PEERS]
# Phase B's queue, longest first (a storm fills RAM first; the classic keeps
# pinging through a hung log-dir, so its FUSE case waits out the window).
ORDER = ["memory", "fuse", "dm", "cpu"]
JOBS = 2

# What stability is held to in tests/vm, for the marks in the resets table.
DEADLINE, WDT_TIMEOUT, INTERVAL = 10.0, 1.0, 1.0
BOUNDS = {
    "kill9": (P.T + 2.0, "keepalive_timeout + 2 s (k03)"),
    "sigstop": (P.T + 1.0, "keepalive_timeout + 1 s (w08)"),
    "indicator": (INTERVAL + WDT_TIMEOUT + 1.5, "checking_interval + wdt_timeout + 1.5 s (d01, k06)"),
    "worst": (DEADLINE + WDT_TIMEOUT + 2.0, "reset_deadline + wdt_timeout + 2 s (w01-w07)"),
}

# The short form in each table row; CONFIG in full under the tables.
SHORT = {
    "keepalive": "`keepalive_timeout = 5`, `checking_interval = 1`",
    "onfault": "`checking_interval = 1`, `wdt_timeout = 1`",
    "classic": "`watchdog-timeout = 5`, `realtime = yes`, `priority = 1`, `test-binary` exiting 254",
    "busybox": "`watchdog -T 5`",
}

CONFIG = {
    "keepalive": "`wdt_mode = keepalive`, `keepalive_timeout = 5` (pings every 1.67 s), "
                 "`checking_interval = 1`, `wdt_timeout = 1`, `reset_deadline` 10 s (default); "
                 "the musl release binary, run as `stability --config FILE`",
    "onfault": "`wdt_mode = on-fault` (default): the same keys, nothing held while healthy",
    "classic": "Debian's `watchdog` 5.16 (glibc): `watchdog-device = /dev/watchdog`, "
               "`watchdog-timeout = 5`, `realtime = yes`, `priority = 1` (as Debian ships them), "
               "`test-binary` = a `/bin/sh` script that exits 254 (watchdog(8): reset the system) "
               "while the indicator exists; every other key at its default (interval 1 s, "
               "test-timeout 60 s, retry-timeout 60 s, log-dir /var/log/watchdog); started as "
               "Debian's service does (daemonized)",
    "busybox": "`busybox watchdog -F -T 5 /dev/watchdog` (BusyBox 1.35, Debian's busybox-static; "
               "pings every T/2 = 2.5 s); a pinger with no fault input",
}


class Failed(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- running

def vm_run(args, logf):
    with open(logf, "w") as f:
        return subprocess.run([os.path.join(VM, "run"), "--no-setup", "--no-build", *args],
                              cwd=REPO, stdout=f, stderr=subprocess.STDOUT).returncode


def run_all(runs, work, vm_work):
    """Runs every peers scenario; returns {phase: wall s} and the failed runs."""
    env_work = vm_work
    log(f"tests/vm/setup {env_work}")
    with open(os.path.join(work, "peers-setup.log"), "w") as f:
        r = subprocess.run([os.path.join(VM, "setup"), env_work], stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Failed(f"tests/vm/setup failed (see {f.name})")
    walls, failed = {}, []
    t = time.monotonic()
    log(f"peers phase A: {LATENCY} x {runs} beside {FOOTPRINT} (about 6 min)")
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        jobs = {ex.submit(vm_run, ["--repeat", str(runs), LATENCY],
                          os.path.join(work, f"peers-{LATENCY}.log")): LATENCY,
                ex.submit(vm_run, [FOOTPRINT], os.path.join(work, f"peers-{FOOTPRINT}.log")): FOOTPRINT}
        for fut in concurrent.futures.as_completed(jobs):
            if fut.result() != 0:
                failed.append(jobs[fut])
    walls["A"] = time.monotonic() - t
    t = time.monotonic()
    # the classic's cases first within each state: they wait out the window
    queue = sorted(WORST, key=lambda n: (ORDER.index(n.split("_")[1]), "classic" not in n))
    log(f"peers phase B: {len(queue)} worst-state boots, {JOBS} at a time (about 3 min)")
    with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
        jobs = {ex.submit(vm_run, [n], os.path.join(work, f"peers-{n}.log")): n for n in queue}
        for fut in concurrent.futures.as_completed(jobs):
            if fut.result() != 0:
                failed.append(jobs[fut])
    walls["B"] = time.monotonic() - t
    return walls, failed


def outcome(vm_work, name):
    return P.read_outcome(os.path.join(vm_work, "results", name))


def collect(vm_work, runs):
    res = {"latency": [], "footprint": None, "worst": {}}
    for i in range(1, runs + 1):
        o = outcome(vm_work, f"{LATENCY}.{i}" if runs > 1 else LATENCY)
        if o:
            res["latency"].append(o["cases"])
    o = outcome(vm_work, FOOTPRINT)
    res["footprint"] = o["footprint"] if o else None
    for n in WORST:
        o = outcome(vm_work, n)
        if o:
            res["worst"][(o["worst"]["state"], o["worst"]["peer"])] = o["worst"]
    return res


# ---------------------------------------------------------------- bytes on disk

def on_disk(vm_work, shipped):
    """{peer: (bytes, what)}: what each peer needs on the board's storage."""
    out = {}
    tmp = os.path.join(vm_work, "stability.stripped")
    subprocess.run(["strip", "--strip-all", "-o", tmp, shipped], check=True)
    n = os.path.getsize(tmp)
    os.unlink(tmp)
    out["keepalive"] = out["onfault"] = (n, "static binary, stripped")
    binary = os.path.join(vm_work, P.CLASSIC_BIN)
    parts = [(os.path.basename(binary), os.path.getsize(binary))]
    for lib in shared_libraries(binary):
        parts.append((os.path.basename(lib), os.path.getsize(os.path.realpath(lib))))
    out["classic"] = (sum(b for _, b in parts),
                      " + ".join(f"{name} {b:,}".replace(",", " ") for name, b in parts))
    bb = os.path.join(vm_work, "busybox", "amd64", "busybox")
    out["busybox"] = (os.path.getsize(bb), "static, every applet")
    return out


# ---------------------------------------------------------------- the tables

def med(xs):
    return statistics.median(xs)


def spread(xs, f):
    xs = sorted(xs)
    if not xs:
        return "—"
    if f(xs[0]) == f(xs[-1]):
        return f(med(xs))
    return f"{f(med(xs))} ({f(xs[0])}–{f(xs[-1])})"


def num(v):
    if v >= 100:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.3g}"


def secs(v):
    return f"{v:.2f} s"


FOOT_COLS = [
    ("Rss KiB", lambda r: r["Rss"]),
    ("anonymous KiB", lambda r: r["Anonymous"]),
    ("Pss KiB", lambda r: r["Pss"]),
    ("locked KiB", lambda r: r["Locked"]),
    ("threads", lambda r: r["Threads"]),
    ("wake-ups /min", lambda r: r["sched_runs"] * 60 / r["window_s"]),
    ("pings /min (host)", lambda r: r["pings"] * 60 / r["window_s"]),
    ("CPU ms/min (TCG)", lambda r: r["sched_ns"] / 1e6 * 60 / r["window_s"]),
    ("+ children's CPU ms/min", lambda r: r["child_ticks"] * 10 * 60 / r["window_s"]),
    ("processes spawned /min", lambda r: r["spawned"] * 60 / r["window_s"]),
]


def ratio(a, b):
    if b == 0:
        return "—" if a == 0 else "∞"
    r = a / b
    return f"×{r:.2g}" if r < 10 else f"×{r:.0f}"


def footprint_table(foot, disk):
    head = ["peer"] + [c for c, _ in FOOT_COLS] + ["bytes on disk"]
    rows = []
    meds = {}
    for peer in P.PEERS:
        runs = foot.get(peer, []) if foot else []
        cells = [f"**{P.LABEL[peer]}** ({SHORT[peer]})"]
        meds[peer] = []
        for _, f in FOOT_COLS:
            xs = [f(r) for r in runs]
            meds[peer].append(med(xs) if xs else None)
            cells.append(spread(xs, num))
        b, what = disk[peer]
        meds[peer].append(b)
        cells.append(f"{b:,}".replace(",", " ") + f" ({what})")
        rows.append(cells)
    for peer in ("classic", "busybox"):
        cells = [f"{P.LABEL[peer]} ÷ stability keepalive"]
        for a, b in zip(meds[peer], meds["keepalive"]):
            cells.append("—" if a is None or b is None else ratio(a, b))
        rows.append(cells)
    return head, rows


RESET_COLS = [("kill9", "kill -9 → reset"), ("sigstop", "SIGSTOP → reset"),
              ("indicator", "indicator → reset")] + [
    (s, {"fuse": "storage hung: FUSE over its state/log dir",
         "dm": "storage hung: dm with dirty data under its state/log dir",
         "memory": "memory exhausted (w05 storm)",
         "cpu": "CPU starved (w07 hogs)"}[s]) for s in P.WORST_STATES]


def latency_cell(peer, case, latency):
    if peer == "onfault" and case != "indicator":
        return "— (holds no watchdog while healthy)", None
    if peer == "busybox" and case == "indicator":
        return "— (no fault input)", None
    vals = [c.get(f"{peer}/{case}", {}) for c in latency]
    xs = [v["latency_s"] for v in vals if "latency_s" in v]
    missing = len(latency) - len(xs)
    if not latency:
        return "**not measured**", None
    text = spread(xs, secs) if xs else ""
    if missing:
        w = min(v.get("window_s", 0) for v in vals if "latency_s" not in v)
        text += f"{'; ' if xs else ''}no reset within {w:.0f} s in {missing} of {len(latency)}"
    if xs:
        text += f", n={len(xs)}"
    return text, (med(xs) if xs and not missing else None)


def worst_cell(peer, state, worst):
    if peer == "busybox":
        return "— (no fault input)", None
    o = worst.get((state, peer))
    if o is None:
        return "**not measured**", None
    by = " (reboot(2))" if o.get("by") == "reboot(2)" else ""
    oom = "; **the OOM killer chose it**" if o.get("oom_killed") else ""
    if "latency_s" in o:
        return f"{secs(o['latency_s'])}{by}{oom}", o["latency_s"]
    if o.get("before_indicator"):
        return (f"reset {secs(o['state_to_reset_s'])} after the state began, before the "
                f"indicator{by}{oom}"), None
    went_on = " (pings went on)" if "last_ping_after_indicator_s" in o else ""
    return f"no reset within {o['no_reset_window_s']:.0f} s{went_on}{oom}", None


def resets_table(res):
    head = ["peer"] + [c for _, c in RESET_COLS]
    rows, vals, over = [], {}, []
    for peer in P.PEERS:
        cells = [f"**{P.LABEL[peer]}** ({SHORT[peer]})"]
        vals[peer] = []
        for key, _ in RESET_COLS:
            if key in ("kill9", "sigstop", "indicator"):
                text, v = latency_cell(peer, key, res["latency"])
                bound = BOUNDS[key]
            else:
                text, v = worst_cell(peer, key, res["worst"])
                bound = BOUNDS["worst"]
            if peer in ("keepalive", "onfault") and not text.startswith("—"):
                if v is None or v > bound[0]:
                    over.append(f"{P.LABEL[peer]}, {dict(RESET_COLS)[key]}: {text} (bound {bound[1]}"
                                f" = {bound[0]:g} s)")
                    text = f"**{text}**"
            cells.append(text)
            vals[peer].append(v)
        rows.append(cells)
    cells = ["classic ÷ stability keepalive"]
    for a, b in zip(vals["classic"], vals["keepalive"]):
        cells.append("—" if a is None or b is None else ratio(a, b))
    rows.append(cells)
    return head, rows, over


def md_table(head, rows):
    out = "| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n"
    return out + "".join("| " + " | ".join(r) + " |\n" for r in rows)


def plain(head, rows):
    strip = [[re.sub(r"\*\*|`", "", c) for c in r] for r in [head] + rows]
    widths = [max(len(r[i]) for r in strip) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in strip)


def report(res, disk, runs, walls, failed, commit):
    fh, fr = footprint_table(res["footprint"], disk)
    rh, rr, over = resets_table(res)
    total = sum(walls.values())
    kernel = "Debian's linux-image-6.1 (amd64), QEMU q35 under TCG, one vCPU, 256 MiB, i6300esb"
    lines = [
        "### Footprint while healthy",
        "",
        md_table(fh, fr),
        f"Medians of {P.FOOT_RUNS} runs of each (min–max), one boot, the peers one after the other "
        f"(p01_footprint_x86): each run {P.FOOT_SETTLE} s after it was ready, then a "
        f"{P.FOOT_WINDOW} s window. Memory from /proc/PID/smaps_rollup at the window's end (Rss, "
        "Anonymous, Pss, Locked: resident pages that are locked); threads from status; wake-ups = "
        "times scheduled in, summed over the threads (/proc/PID/task/*/schedstat); CPU from "
        "schedstat too (emulated: only the ratios mean something); children's CPU from cutime + "
        "cstime of the reaped test binaries; processes spawned from the most recent pid; pings = "
        "the i6300esb's reloads QEMU saw (host trace). The guest's binaries sit in its initramfs, "
        "whose pages count as shared memory, not file pages (so Rss, not RssFile). Bytes on disk: "
        "the files the peer needs on the board, measured on the host.",
        "",
        "### Resets",
        "",
        md_table(rh, rr),
        f"Host-timed: the guest's marker just before the event (QMP GUEST_CRASHLOADED) to QEMU's "
        f"WATCHDOG event (or a guest reset alone: reboot(2)). kill -9, SIGSTOP, indicator: "
        f"medians of {runs} boots (min–max), nine cases per boot (p02_latency_x86) under QEMU's "
        "`-action watchdog=none`, which emits WATCHDOG at the moment it would reset and lets the "
        "next case run (the driver is reloaded between cases); the kill and the indicator come at "
        "a random phase of the pings and polls. Worst states: one boot each (n = 1), "
        "`-action watchdog=reset`, watched "
        f"{P.NO_RESET_WINDOW:.0f} s after the indicator; each made where that peer keeps its "
        "files: the classic's log-dir (every run of its test binary opens its output files there), "
        "stability's state_dir. Memory: the w05 storm with the peer's binary (the classic's with "
        "its loader, libc and test script) on an ext4 disk whose device-mapper target is then "
        "suspended. CPU: the w07 hogs, and the indicator "
        f"{P.CPU_PAUSE} s after them.",
        "",
        "Bounds stability is held to in tests/vm: " + "; ".join(
            f"{k}: {v[1]} = {v[0]:g} s" for k, v in BOUNDS.items()) + ". "
        + ("In this run every stability figure is within them."
           if not over else "**Over its bound in this run:** " + "; ".join(over) + "."),
        "",
        "### How each peer was configured",
        "",
    ] + [f"- **{P.LABEL[p]}**: {CONFIG[p]}." for p in P.PEERS] + [
        "",
        f"Same VM and kernel for all: {kernel}. Watchdog timeout T = {P.T} s for every pinger; "
        f"at a fault the classic and stability set 1 s. Scenarios: tests/vm/scenarios/p*.py "
        f"(`tests/vm/run peers`); commit {commit}; bench/run --peers took {total:.0f} s "
        f"(phase A {walls.get('A', 0):.0f} s, phase B {walls.get('B', 0):.0f} s)."
        + (f" **Failed runs (their cells are missing or partial):** {', '.join(failed)}."
           if failed else ""),
        "",
    ]
    md = "\n".join(lines)
    text = "Footprint while healthy\n" + plain(fh, fr) + "\n\nResets\n" + plain(rh, rr)
    if over:
        text += "\n\nover stability's bounds:\n  " + "\n  ".join(over)
    return md, text


def measure(work, runs, shipped):
    vm_work = os.environ.get("VM_WORK") or os.path.join(REPO, "target", "vm")
    os.makedirs(vm_work, exist_ok=True)
    if shutil.which("strip") is None:
        raise Failed("no strip (binutils) for the bytes on disk")
    walls, failed = run_all(runs, work, vm_work)
    res = collect(vm_work, runs)
    disk = on_disk(vm_work, shipped)
    return res, disk, walls, failed


def write_json(path, res, disk, walls, failed, runs, commit):
    """The raw figures of a run (target/bench/peers.json), from which
    `bench/run --peers-report` makes the tables again."""
    dump = dict(res)
    dump["worst"] = {f"{s}/{p}": v for (s, p), v in res["worst"].items()}
    dump.update(disk={k: list(v) for k, v in disk.items()}, walls=walls, failed=failed,
                runs=runs, commit=commit)
    with open(path, "w") as f:
        json.dump(dump, f, indent=1, sort_keys=True)


def read_json(path):
    """(res, disk, walls, failed, runs, commit) as write_json left them."""
    with open(path) as f:
        d = json.load(f)
    res = {"latency": d["latency"], "footprint": d["footprint"],
           "worst": {tuple(k.split("/")): v for k, v in d["worst"].items()}}
    disk = {k: tuple(v) for k, v in d["disk"].items()}
    return res, disk, d["walls"], d["failed"], d["runs"], d["commit"]
