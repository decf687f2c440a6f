from scenario import Scenario
import _worst as w

# The process table full: pid_max lowered to its minimum, then fork bombs
# until every fork fails. The guest's markers need a fork (devmem), so here
# the host times the indicator from its console line (a shell builtin echo),
# which arrives ~20 ms before a marker's event would.
#
# Once the table is full this shell cannot fork either (ash gives up on a
# failed fork), so from then on it uses builtins only: echo, read, and a
# FIFO to wait on (read -t).
GUEST = w.START + r"""
mkfifo /run/wait
exec 7<>/run/wait
echo 301 > /proc/sys/kernel/pid_max
bomb() { while :; do sleep 1000 & done 2>> /run/bomb.err; }
bomb & bomb & bomb &
read -t 6 _ <&7
read -r err < /run/bomb.err
echo "@@ a bomb says: $err"
echo "@@MARK-NOFORK fault-before"
echo fault > /run/ind
echo "@@MARK-NOFORK fault-created"
read -t 40 _ <&7
echo "@@ no reset 40 s after the indicator"
"""


def check(run):
    line = run.vm.wait_line(r"@@MARK-NOFORK fault-before", 90)
    run.expect(line is not None, "the guest never created the indicator")
    before = line.t
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "SHUTDOWN", "RESET") and e.t < before]
    run.expect(not bad, f"reset before the indicator: {bad}")
    wd = run.event("WATCHDOG", w.BOUND + 25, after=before)
    run.expect(run.shutdown_reason(5, after=wd.t) == "guest-reset", "no guest reset after WATCHDOG")
    latency = wd.t - before
    run.metric("indicator_to_watchdog_s", latency)
    run.expect(latency <= w.BOUND, f"indicator -> WATCHDOG took {latency:.2f} s, bound {w.BOUND:.1f} s")
    forks_failed = run.guest_said(r"a bomb says: .*(can't fork|Resource temporarily unavailable)")
    run.expect(forks_failed, "no fork failed in the guest: the process table was not full")


SCENARIO = Scenario(
    name="w06_pids_x86", group="worst", check=check, guest=GUEST, config=w.config(),
    daemon=True, timeout=90,
    doc="process table full (fork bombs, pid_max 301): indicator -> WATCHDOG within deadline + 3 s")
