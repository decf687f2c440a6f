"""Shared pieces of the keepalive scenarios (issue 8, scenarios/k*.py).

keepalive_timeout is 5 s to keep them short; keepalive_interval is left at its
default (a third of it). The host's evidence, all from QEMU:
- the i6300esb's enable bit (PCI config 0x68, trace pci_cfg_write): the
  daemon's start of the watchdog, and the stop of a magic close (a 0 write);
- its timer preload and reload registers (trace memory_region_ops_write): the
  timeout the guest's driver programmed, and every ping, with host times;
- QMP WATCHDOG / SHUTDOWN events, and the guest's markers (GUEST_CRASHLOADED, or
  GUEST_MARK from the marker UART).
The checks read the trace once QEMU has ended (`finish`), when it is complete.
"""
from scenario import Fail
from _common import ini, BOARD

KT = 5.0                 # keepalive_timeout
KI = KT / 3              # keepalive_interval (the default: a third)
INTERVAL = 1.0           # checking_interval
WDT_TIMEOUT = 1.0        # wdt_timeout (a fault's short timeout)
TRACE = ("pci_cfg_write", "memory_region_ops_write")
PING_SLACK = 1.0         # how late a ping may be (TCG, 2 shared cores)
ARM_BOUND = 5.0          # daemon-start marker -> watchdog armed (the shell fake on a loaded host: 2.8 s)

# A random 0..0.999 s pause: events at a random phase of the ping period.
PHASE = r"""sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
"""

# Guest: the daemon started right after a marker.
START = BOARD + r"""
mark daemon-start
start_daemon --config /etc/stability/config.ini
"""

# Guest: until the watchdog runs (sysfs state; at most 5 s). Only paces the
# guest's script, so windows are not longer than they need be; what counts is
# the enable the host sees.
ARMED = r"""
n=0
while [ "$(cat /sys/class/watchdog/watchdog0/state)" != active ] && [ "$n" -lt 50 ]; do
    sleep 0.1; n=$((n + 1))
done
"""

# Guest: gone PID SECONDS: wait until the process exits (and say its status),
# or say it still runs.
GONE = r"""
gone() {
    n=0
    while kill -0 "$1" 2>/dev/null && [ "$n" -lt $(($2 * 10)) ]; do sleep 0.1; n=$((n + 1)); done
    if kill -0 "$1" 2>/dev/null; then
        say "daemon still running $2 s later"
    else
        wait "$1"
        say "daemon exit status $?"
    fi
}
"""

# Guest: a FUSE file system with no server (/dev/fuse opened, never read) on
# /mnt/fuse, between the markers fuse-before and fuse-mounted: every lookup
# under it blocks. Then, as soon as a lookup waits besides the mount's own
# FUSE_INIT (fusectl's count of waiting requests reaches 2), the marker
# check-stuck: the daemon's lstat of the indicator is stuck.
FUSE_SETUP = r"""
mount -t fusectl none /sys/fs/fuse/connections || say "no fusectl"
mkdir -p /mnt/fuse
"""
FUSE_STICK = r"""
exec 5<>/dev/fuse
mark fuse-before
mount -t fuse -o fd=5,rootmode=40000,user_id=0,group_id=0 stuck /mnt/fuse || say "fuse mount failed"
mark fuse-mounted
conn=$(ls /sys/fs/fuse/connections | head -n 1)
n=0
while [ "$(cat "/sys/fs/fuse/connections/$conn/waiting")" -lt 2 ] && [ "$n" -lt 100 ]; do
    sleep 0.05; n=$((n + 1))
done
if [ "$n" -lt 100 ]; then mark check-stuck; else say "no lookup waits on the FUSE mount after 5 s"; fi
"""
# ... and the server's death: the stuck lookup fails (ENOTCONN), the mount goes.
FUSE_RELEASE = r"""
echo 1 > "/sys/fs/fuse/connections/$conn/abort"
umount -l /mnt/fuse
exec 5>&-
"""


def config(general=None, **watchdog):
    w = {"wdt_mode": "keepalive", "keepalive_timeout": str(int(KT))}
    w.update(watchdog)
    return ini(general=general, watchdog=w)


def finish(run, timeout):
    """Wait for QEMU to end (guest power-off or reset): the trace is then complete."""
    if not run.vm.wait_exit(timeout):
        raise Fail(f"QEMU still running {timeout:.0f} s after the scenario's last step")


def starts(run):
    return run.watchdog_starts()


def stops(run):
    return run.watchdog_stops()


def armed(run, start, kt=KT):
    """The daemon armed the watchdog at start: nothing enabled before the
    daemon-start marker, the i6300esb enabled within ARM_BOUND of it, and
    keepalive_timeout the timeout programmed by then. Returns the time it was
    armed (its last enable in that span)."""
    en = starts(run)
    early = [round(t, 3) for t in en if t < start]
    run.expect(not early, f"the watchdog was started before the daemon started: {early}")
    en = [t for t in en if t <= start + ARM_BOUND]
    run.expect(en, f"the watchdog ({run.scenario.watchdog_model}) was not started within"
                   f" {ARM_BOUND:.0f} s of the daemon's start"
                   f" (starts: {[round(x, 3) for x in starts(run)]})")
    t = en[-1]
    tos = [(x, s) for x, s in run.watchdog_timeouts() if start <= x <= t + 1.0]
    run.expect(tos and tos[-1][1] == kt,
               f"timeout in force when armed is not keepalive_timeout = {kt:.0f} s:"
               f" preloads since start {fmt(tos)}")
    run.metric("start_to_armed_s", t - start)
    return t


def pinged(run, a, b, what):
    """Pings all along [a, b], none more than keepalive_interval + PING_SLACK
    apart (nor from a or to b). Returns the ping times."""
    pings = [t for t in run.watchdog_pings() if a <= t <= b]
    pts = [a] + pings + [b]
    gaps = [y - x for x, y in zip(pts, pts[1:])]
    worst = max(gaps)
    run.expect(worst <= KI + PING_SLACK,
               f"{what}: no ping for {worst:.2f} s (keepalive_interval {KI:.2f} s);"
               f" pings in {a:.2f}..{b:.2f}: {[round(t, 2) for t in pings]}")
    # The period: gaps between pings, a burst (the pings of a start) taken as one.
    inner = [y - x for x, y in zip(pings, pings[1:]) if y - x > 0.1]
    if inner:
        inner.sort()
        run.metric(f"ping_period_median_s", inner[len(inner) // 2])
    run.metric(f"ping_gap_max_s", worst)
    return pings


def until_mark(run, name, timeout):
    """Host time of the guest's marker `name`, or infinity if QEMU ended (or
    the time ran out) without it: a reset before it is then what the check reports."""
    t = run.vm.wait_mark(name, timeout)
    return float("inf") if t is None else t


def no_reset_before(run, t, what, ref=None):
    """No WATCHDOG, RESET or SHUTDOWN before run time t. ref = (name, time)
    puts the first one's time in the message relative to that point."""
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "RESET", "SHUTDOWN") and e.t < t]
    if bad:
        when = f", {bad[0].t - ref[1]:.2f} s after {ref[0]}" if ref else ""
        raise Fail(f"{what}: {bad[0].name} {bad[0].data} at t={bad[0].t:.2f}{when} (events: {bad})")


def watchdog_after(run, t, timeout, what):
    """The WATCHDOG event after t, followed by SHUTDOWN guest-reset."""
    wd = run.vm.wait_event("WATCHDOG", timeout, after=t)
    if wd is None:
        raise Fail(f"no WATCHDOG within {timeout:.0f} s after {what}"
                   f" (events: {[e for e in run.vm.events if e.name not in ('GUEST_CRASHLOADED', 'GUEST_MARK')]})")
    run.expect(wd.data.get("action") == "reset", f"WATCHDOG action {wd.data}")
    reason = run.shutdown_reason(5, after=wd.t)
    run.expect(reason == "guest-reset", f"after WATCHDOG, SHUTDOWN reason {reason}")
    return wd


def last_ping(run, wd):
    """The time of the last ping before the WATCHDOG event `wd`; the gap
    between them is kept as the metric last_ping_to_watchdog_s."""
    last = [t for t in run.watchdog_pings() if t < wd.t][-1]
    run.metric("last_ping_to_watchdog_s", wd.t - last)
    return last


def guest_status(run, status):
    """The guest's report of the daemon's exit status (an explanation: it can
    fail a scenario, never pass one)."""
    said = run.guest_said(r"@@ daemon (exit status|still running)")
    run.expect(said, "the guest did not report the daemon's exit")
    run.expect(said[-1].text.endswith(f"exit status {status}"),
               f"the daemon's exit (guest's word): {said[-1].text!r}, expected status {status}")


def fmt(pairs):
    return [(round(a, 3), b if not isinstance(b, float) else round(b, 3)) for a, b in pairs]
