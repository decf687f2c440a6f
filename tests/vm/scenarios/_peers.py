"""Shared pieces of the peers scenarios (issue 17, scenarios/p*.py, run by
bench/run --peers): stability beside the resetters a firmware engineer's
distribution already ships, on the same kernel and the same emulated i6300esb,
each configured as its users would for stability's job.

The peers (one name each in the guest and in the results):
- `keepalive`: stability, wdt_mode = keepalive, keepalive_timeout = T;
- `onfault`: stability, wdt_mode = on-fault (the default);
  both with checking_interval = 1, wdt_timeout = 1, reset_deadline left at
  its default (10 s), the indicator /run/ind;
- `classic`: the classic Linux watchdog daemon, Debian's package `watchdog`
  5.16 (downloaded by tests/vm/setup, never installed; its binary with the
  host's glibc loader and libc, which it was built against), with
  watchdog-timeout = T, Debian's shipped `realtime = yes` and `priority = 1`,
  and a test-binary that exits 254 while the indicator exists: watchdog(8)'s
  "reset the system" code, which skips the retry timer and the orderly
  shutdown (sync, then the watchdog set to 1 s). Every other key has its
  default (interval 1, test-timeout 60, retry-timeout 60, log-dir
  /var/log/watchdog). Started as Debian's service does (it daemonizes; in
  the foreground it would not write its test binary's output to log-dir);
- `busybox`: BusyBox's watchdog applet, `watchdog -F -T T /dev/watchdog`
  (it pings every T/2 s): a pinger with no fault input.

The host's evidence, as in every scenario: QMP events with host timestamps
(WATCHDOG, SHUTDOWN, the guest's markers), the i6300esb's enable bit and its
register writes from QEMU's trace points. Footprint figures can only come from
the guest's /proc: they are measurements, never a pass.

Each check also writes `outcome.json` in the run's directory: what
bench/run --peers makes its table from.
"""
import json
import os

from scenario import Fail, shared_libraries
from _common import ini, BOARD

T = 5                    # the watchdog timeout every pinger sets
PEERS = ("keepalive", "onfault", "classic", "busybox")
PINGERS = ("keepalive", "classic", "busybox")     # hold the watchdog while healthy
LABEL = {"keepalive": "stability keepalive", "onfault": "stability on-fault",
         "classic": "classic watchdog 5.16", "busybox": "BusyBox watchdog"}
NO_RESET_WINDOW = 60.0   # how long a worst state is watched after its indicator
TRACE = ("pci_cfg_write", "memory_region_ops_write")
# The guest's markers are timed when the harness reads their QMP events, the
# trace by QEMU as it writes it: under load the reading lags by tens of ms
# (seen: stability keepalive's enable traced 26 ms before the QMP event of the
# marker the guest wrote before starting it). An enable this much earlier than
# a peer's start marker is still its own: the case before ended seconds before.
CLOCK_SLACK = 0.25

# Where tests/vm/setup unpacked Debian's package (relative to the work directory).
CLASSIC_BIN = os.path.join("peers", "watchdog", "usr", "sbin", "watchdog")


def classic_conf(log_dir=None, test_binary="/usr/local/sbin/indicator-check"):
    """watchdog.conf as a user would write it for this job (see the module's doc)."""
    lines = [
        "# The classic watchdog daemon, as configured for stability's job (bench/run --peers)",
        "watchdog-device = /dev/watchdog",
        f"watchdog-timeout = {T}",
        "# Debian's shipped watchdog.conf sets these two:",
        "realtime = yes",
        "priority = 1",
        "# watchdog(8): exit status 254 = reset the system (no retry, no orderly shutdown)",
        f"test-binary = {test_binary}",
    ]
    if log_dir:
        lines.append(f"log-dir = {log_dir}")
    return "\n".join(lines) + "\n"


INDICATOR_CHECK = """#!/bin/sh
# watchdog(8) test binary: while the indicator exists, exit 254 (reset the system).
[ -e /run/ind ] && exit 254
exit 0
"""


def classic_files(host):
    """{absolute guest path: host path}: the classic daemon and the shared
    libraries its loader will map (ldd of the unpacked binary)."""
    binary = os.path.join(host.work, CLASSIC_BIN)
    if not os.path.exists(binary):
        raise Fail(f"{binary} is missing: tests/vm/setup downloads and unpacks Debian's `watchdog`")
    out = {"/usr/sbin/watchdog": binary}
    for lib in shared_libraries(binary):
        out[lib] = os.path.realpath(lib)
    return out


def install(conf=None, general=None):
    """The initramfs hook (Scenario.initramfs): the classic daemon and its
    libraries, its watchdog.conf and test binary, stability's two configs
    (`general`: keys to add to their [general] section)."""
    conf = conf if conf is not None else classic_conf()

    def add(c, host):
        for guest, src in classic_files(host).items():
            c.copy(guest.lstrip("/"), src, 0o755)
        c.file("etc/watchdog.conf", conf)
        c.file("usr/local/sbin/indicator-check", INDICATOR_CHECK, 0o755)
        c.file("etc/stability/keepalive.ini",
               ini(general=general, watchdog={"wdt_mode": "keepalive", "keepalive_timeout": str(T)}))
        c.file("etc/stability/onfault.ini", ini(general=general))
        c.dir("var/log")
        c.symlink("var/run", "/run")
    return add


def disk_file(which):
    """A disk's content made from the host (make_disk calls it): the classic
    daemon's binary, or the loader and libc it maps, read from where
    classic_files finds them."""
    def read(host):
        files = classic_files(host)
        if which == "watchdog":
            src = files["/usr/sbin/watchdog"]
        else:
            src = [s for g, s in files.items() if os.path.basename(g) == which][0]
        with open(src, "rb") as f:
            return f.read()
    return read


# Guest: starting and stopping a peer. PEER_PID is its process id; with
# PEER_DISK set, the peer's binary (and the classic's loader and libc) are
# taken from that directory.
FUNCS = BOARD + r"""
peer_start() {
    case $1 in
        classic)
            # As Debian's service starts it (Type=forking): it daemonizes, and
            # only then sends each test binary's output to its log-dir. Its
            # messages go to syslog: BusyBox's syslogd puts them on the console.
            [ -e /dev/log ] || syslogd -O /dev/console
            rm -f /run/watchdog.pid
            if [ -n "$PEER_DISK" ]; then
                # binary, loader and libc all read from the disk, as on a board
                "$PEER_DISK/ld-linux-x86-64.so.2" --library-path "$PEER_DISK" "$PEER_DISK/watchdog" \
                    -c /etc/watchdog.conf > /dev/console 2>&1
            else
                /usr/sbin/watchdog -c /etc/watchdog.conf > /dev/console 2>&1
            fi
            n=0
            while [ ! -s /run/watchdog.pid ] && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
            PEER_PID=
            [ -s /run/watchdog.pid ] && read -r PEER_PID < /run/watchdog.pid ;;
        busybox)
            busybox watchdog -F -T @T@ /dev/watchdog > /dev/console 2>&1 &
            PEER_PID=$! ;;
        keepalive|onfault)
            "${PEER_DISK:-/bin}/stability" --config "/etc/stability/$1.ini" > /dev/console 2>&1 &
            PEER_PID=$! ;;
        *) say "unknown peer $1"; return 1 ;;
    esac
    say "peer $1 pid $PEER_PID"
}
# peer_ready NAME: a pinger until the watchdog runs (sysfs state, at most
# 5 s: only paces the script; the host sees the enable itself); stability
# on-fault holds nothing while healthy: 1 s to start polling.
peer_ready() {
    if [ "$1" = onfault ]; then sleep 1; return; fi
    n=0
    while [ "$(cat /sys/class/watchdog/watchdog0/state 2>/dev/null)" != active ] && [ "$n" -lt 50 ]; do
        sleep 0.1; n=$((n + 1))
    done
}
# peer_alive: says so when the peer is gone (the host fails the run then).
# (BusyBox's `kill -0 ""` succeeds: an empty pid must not pass.)
peer_alive() {
    if [ -z "$PEER_PID" ] || ! kill -0 "$PEER_PID" 2>/dev/null; then say "peer not running"; fi
}
# peer_gone: until the peer has exited (a zombie counts: its files are
# closed), at most 5 s; the daemonized classic is not this shell's child.
peer_gone() {
    n=0
    while [ -e "/proc/$PEER_PID" ] && ! grep -q '^State:.*Z' "/proc/$PEER_PID/status" 2>/dev/null \
          && [ "$n" -lt 50 ]; do
        sleep 0.1; n=$((n + 1))
    done
    wait "$PEER_PID" 2>/dev/null
}
# peer_stop: SIGTERM (each peer then writes the magic 'V'), SIGKILL after 5 s.
peer_stop() {
    kill -TERM "$PEER_PID" 2>/dev/null
    peer_gone
    kill -KILL "$PEER_PID" 2>/dev/null
    peer_gone
}
# peer_kill: SIGKILL, whatever state it is in.
peer_kill() {
    kill -KILL "$PEER_PID" 2>/dev/null
    peer_gone
}
# phase MS: a random pause of 0..MS ms, so that events come at a random
# phase of the pings and polls.
phase() {
    r=$(( (RANDOM * 32768 + RANDOM) % $1 ))
    sleep "$((r / 1000)).$(printf '%03d' $((r % 1000)))"
}
""".replace("@T@", str(T))


def write_outcome(run, data):
    with open(os.path.join(run.outdir, "outcome.json"), "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)


def read_outcome(outdir):
    path = os.path.join(outdir, "outcome.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


# -- one boot, several latencies (p02) ------------------------------------------
# QEMU runs with `-action watchdog=none`: an expiry emits the WATCHDOG event at
# the moment it would reset the machine, and the guest goes on to the next case.
ACTIONS_GO_ON = "reboot=shutdown,shutdown=poweroff,watchdog=none"

LATENCY_FUNCS = r"""
ESB=
for d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x25ab ]; then ESB=$d; fi
done
[ -n "$ESB" ] || say "no i6300esb in sysfs"
esb_on() {
    v=$(dd if="$ESB/config" bs=1 skip=104 count=1 2>/dev/null | od -An -tu1)
    [ $(( ${v:-0} & 2 )) -ne 0 ]
}
# wait_fired S: until the i6300esb, once enabled, is disabled again (QEMU
# resets the device when it fires), at most S s. It only paces the script.
wait_fired() {
    n=0 seen=
    while [ "$n" -lt $(($1 * 5)) ]; do
        if esb_on; then seen=1; elif [ -n "$seen" ]; then return 0; fi
        sleep 0.2; n=$((n + 1))
    done
    say "no expiry seen within $1 s"
}
# A fresh driver for the next case: after an expiry nobody stopped the
# watchdog, so the kernel still counts it as running and would never enable
# the (reset) device again.
esb_reload() {
    rmmod i6300esb || say "rmmod i6300esb failed"
    insmod /lib/modules/i6300esb.ko || say "insmod i6300esb failed"
    n=0
    while [ ! -e /dev/watchdog ] && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
}
# signal_case PEER CASE SIGNAL: the peer armed and pinging for 1 + 0..2.5 s
# (a random phase of the slowest pinger's 2.5 s period), then the signal.
signal_case() {
    mark "$1-$2-start"
    peer_start "$1"; peer_ready "$1"
    sleep 1; phase 2500
    peer_alive
    mark "$1-$2-before"
    kill "-$3" "$PEER_PID"
    mark "$1-$2-sent"
    wait_fired 15
    peer_kill
    esb_reload
}
# indicator_case PEER: the indicator at a random phase of the 1 s polls.
indicator_case() {
    mark "$1-indicator-start"
    peer_start "$1"; peer_ready "$1"
    sleep 1; phase 1000
    peer_alive
    create_indicator "$1-indicator"
    wait_fired 15
    peer_kill
    rm -f /run/ind
    esb_reload
}
"""

SIGNAL_CASES = [(p, c) for p in ("classic", "busybox", "keepalive") for c in ("kill9", "sigstop")]
INDICATOR_CASES = [(p, "indicator") for p in ("onfault", "keepalive", "classic")]
LATENCY_CASES = SIGNAL_CASES + INDICATOR_CASES



# -- footprint while healthy (p01) -------------------------------------------------
FOOT_RUNS = 5            # runs of each peer, one after the other in one boot
FOOT_SETTLE = 2          # s from the peer being ready to the window
FOOT_WINDOW = 10         # s of each window (wake-ups, CPU, processes spawned)

FOOT_FUNCS = r"""
# Summed over the process's threads: time on a CPU (ns) and how many times it
# was scheduled in (schedstat: a wake-up each, but for preemptions).
fp_sched() { cat /proc/"$1"/task/*/schedstat | awk '{ns += $1; n += $3} END {printf "%d %d", ns, n}'; }
# utime + stime, and those of its reaped children (ticks).
fp_ticks() { awk '{printf "%d %d", $14 + $15, $16 + $17}' /proc/"$1"/stat; }
fp_mem() {
    awk '/^(VmRSS|VmLck|Threads):/ {sub(":", "", $1); printf "%s=%s ", $1, $2}' /proc/"$1"/status
    awk '/^(Rss|Pss|Anonymous|Locked):/ {sub(":", "", $1); printf "%s=%s ", $1, $2}' /proc/"$1"/smaps_rollup
}
# footprint PEER RUN: start, settle, a window of FOOT_WINDOW s, one line of
# figures (@@FOOT), stop. The most recent pid (/proc/loadavg, read by the
# shell's own `read`) counts the processes spawned in the window; the window's
# one fork is its `sleep`.
footprint() {
    mark "$1-$2-start"
    peer_start "$1"; peer_ready "$1"
    sleep @SETTLE@
    s0=$(fp_sched "$PEER_PID"); t0=$(fp_ticks "$PEER_PID")
    mark "$1-$2-window"
    read -r _ _ _ _ pid0 < /proc/loadavg
    sleep @WINDOW@
    read -r _ _ _ _ pid1 < /proc/loadavg
    mark "$1-$2-window-end"
    s1=$(fp_sched "$PEER_PID"); t1=$(fp_ticks "$PEER_PID")
    peer_alive
    set -- "$1" "$2" $s0 $s1 $t0 $t1
    echo "@@FOOT peer=$1 run=$2 sched_ns=$(($5 - $3)) sched_runs=$(($6 - $4)) ticks=$(($9 - $7)) child_ticks=$((${10} - $8)) spawned=$((pid1 - pid0 - 1)) $(fp_mem "$PEER_PID")"
    peer_stop
}
""".replace("@SETTLE@", str(FOOT_SETTLE)).replace("@WINDOW@", str(FOOT_WINDOW))
# Memory from smaps_rollup, which walks the page tables: on this 6.1 kernel
# status's VmRSS/RssAnon are per-thread caches synced every 64 page faults,
# and show 4 KiB for BusyBox's watchdog, whose Rss is 500 KiB.
FOOT_FIELDS = ("Rss", "Pss", "Anonymous", "Locked", "VmRSS", "VmLck", "Threads",
               "sched_ns", "sched_runs", "ticks", "child_ticks", "spawned")


# -- the worst states of issue 12 (p03..p06) ------------------------------------------
# One boot per state and peer (BusyBox has no fault input: it is not run). The
# state is the w-scenarios' own (_worst.py), made where the peer keeps its
# files; then the indicator, and the host watches NO_RESET_WINDOW s for a
# reset (WATCHDOG then SHUTDOWN guest-reset, or a guest reset alone:
# reboot(2)). A reset before the indicator (a pinger starved, say) is an
# outcome too, timed from the start of the state.
WORST_PEERS = ("keepalive", "onfault", "classic")
WORST_STATES = {
    "fuse": "storage hung under its state/log directory (FUSE, no server)",
    "dm": "its state/log directory on a block device hung with dirty data (dm suspend)",
    "memory": "memory exhausted (OOM storm), its binary on a disk that then hangs",
    "cpu": "CPU starved (nice -20 loops, a SCHED_FIFO 50 hog)",
}
# Where each keeps its files: the classic its log-dir (each run of the test
# binary opens its stdout and stderr files there), stability its state_dir.
FILES_DIR = {"classic": "/var/log/watchdog", "keepalive": "/var/lib/stability",
             "onfault": "/var/lib/stability"}
CPU_PAUSE = T + 3        # s from the hogs to the indicator: a starved pinger shows first
WORST_FAIL = {
    "fuse": r"@@ (fuse mount failed|unknown peer)",
    "dm": r"@@ (dmsetup \w+ failed|cannot mount|unknown peer)",
    "memory": r"@@ (dmsetup \w+ failed|cannot mount|unknown peer)",
    "cpu": r"@@ unknown peer",
}


def worst_guest(state, peer):
    import _worst as w
    start = f"mark peer-start\npeer_start {peer}\npeer_ready {peer}\nsleep 1\npeer_alive\n"
    if state == "fuse":
        body = (w.HANG_FUSE + FUNCS + start + "mark state-before\n"
                + f'hang_fuse {FILES_DIR[peer]}\nsay "{FILES_DIR[peer]} hung"\n')
    elif state == "dm":
        d = "/slow/log" if peer == "classic" else "/slow/state"
        body = (w.DM_SETUP + FUNCS + f"dm_setup\nmkdir -p {d}\n" + start
                + "mark state-before\ndm_hang\n")
    elif state == "memory":
        body = (w.DM_SETUP + FUNCS + "dm_setup\nPEER_DISK=/slow\n" + start
                + "say \"peer: $(grep -E '^(VmRSS|VmLck)' /proc/$PEER_PID/status | tr -s ' \\n' ' ')\"\n"
                + "mark state-before\n" + w.MEMORY_STORM)
    elif state == "cpu":
        body = FUNCS + start + "mark state-before\n" + w.CPU_HOGS + f"sleep {CPU_PAUSE}\n"
    else:
        raise ValueError(state)
    return body + f"""peer_alive
create_indicator fault
sleep {int(NO_RESET_WINDOW) + 10}
say "no reset {int(NO_RESET_WINDOW) + 10} s after the indicator"
"""


def worst_check(state, peer):
    def check(run):
        start = run.mark("peer-start", 120)
        state_t = run.mark("state-before", 60)
        ind = run.vm.wait_mark("fault-before", 120)      # None: QEMU ended first
        if ind is None and run.vm.alive():
            raise Fail("no indicator within 120 s of the state's start, and no reset")
        horizon = (ind if ind is not None else run.vm.now()) + NO_RESET_WINDOW
        sd = run.vm.wait_event("SHUTDOWN", max(0.0, horizon - run.vm.now()), after=start)
        run.vm.stop()                                    # the trace is complete from here
        said = run.guest_said(WORST_FAIL[state])
        run.expect(not said, f"the state was not made: {[ln.text for ln in said]}")
        gone = [ln for ln in run.guest_said(r"@@ peer not running") if ind is None or ln.t < ind]
        run.expect(not gone, f"{LABEL[peer]} was not running before the indicator")
        if peer in PINGERS:
            armed = [t for t, v in run.watchdog_enables()
                     if v & 0x2 and start - CLOCK_SLACK <= t <= state_t]
            run.expect(armed, f"{LABEL[peer]} did not enable the i6300esb before the state")
        wds = [e for e in run.vm.events if e.name == "WATCHDOG" and e.t >= start]
        res = {"state": state, "peer": peer}
        if sd is not None:
            reason = sd.data.get("reason")
            run.expect(reason == "guest-reset", f"SHUTDOWN {sd.data} at t={sd.t:.2f}: not a reset")
            wd = wds[0] if wds and wds[0].t <= sd.t else None
            t = wd.t if wd else sd.t
            res["by"] = "watchdog" if wd else "reboot(2)"
            if ind is None or t < ind:
                res["before_indicator"] = True
                res["state_to_reset_s"] = t - state_t
                run.metric("state_to_reset_s", t - state_t)
            else:
                res["latency_s"] = t - ind
                run.metric("indicator_to_reset_s", t - ind)
        else:
            res["no_reset_window_s"] = NO_RESET_WINDOW
            run.note(f"no reset within {NO_RESET_WINDOW:.0f} s of the indicator")
            pings = [x for x in run.watchdog_pings() if x >= ind]
            if pings:
                res["last_ping_after_indicator_s"] = pings[-1] - ind
                run.note(f"pings went on: the last {pings[-1] - ind:.1f} s after the indicator")
        if state == "memory" and ind is not None:
            kills = run.guest_said(r"OOM kills so far: [1-9]")
            run.expect(kills, "the guest saw no OOM kill before the indicator: no storm")
        victims = run.guest_said(r"Killed process \d+ \((stability|watchdog|ld-linux)")
        if victims:
            res["oom_killed"] = victims[0].text
            run.note(f"the OOM killer chose the peer: {victims[0].text}")
        write_outcome(run, {"worst": res})
    return check


def worst_scenario(name, state, peer):
    """The Scenario of one worst state for one peer."""
    import _worst as w
    from scenario import Scenario, DAEMON
    kw = {}
    general = None
    conf = classic_conf()
    if state == "fuse":
        kw["modules"] = ("i6300esb", "fuse")
    elif state in ("dm", "memory"):
        kw.update(modules=w.DM_MODULES, host_programs=w.DM_PROGRAMS, disk_mb=64)
        if state == "dm":
            kw["disk"] = {"/.keep": ""}
            general = {"state_dir": "/slow/state"}
            conf = classic_conf(log_dir="/slow/log")
        else:
            kw["disk"] = {"/stability": DAEMON, "/watchdog": disk_file("watchdog"),
                          "/ld-linux-x86-64.so.2": disk_file("ld-linux-x86-64.so.2"),
                          "/libc.so.6": disk_file("libc.so.6"),
                          "/indicator-check": lambda host: INDICATOR_CHECK.encode()}
            conf = classic_conf(test_binary="/slow/indicator-check")
    elif state == "cpu":
        kw["host_programs"] = w.CPU_PROGRAMS
    return Scenario(
        name=name, group="peers", check=worst_check(state, peer), guest=worst_guest(state, peer),
        initramfs=install(conf, general), daemon=True, trace=TRACE,
        timeout=NO_RESET_WINDOW + (120 if state == "memory" else 90),
        doc=f"peers: {LABEL[peer]}, {WORST_STATES[state]}: indicator -> reset, or none in"
            f" {NO_RESET_WINDOW:.0f} s", **kw)
