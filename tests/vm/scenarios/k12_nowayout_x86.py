from scenario import Scenario
import keepalive as k

# i6300esb loaded with nowayout=1: once open the watchdog cannot be stopped.
# The daemon must say so at start; SIGTERM with disarm_on_exit = true then
# cannot stop it (no 0 write) and the board resets keepalive_timeout later;
# the daemon's exit log must say so rather than claim a disarm.
GUEST = k.GONE + k.START + k.ARMED + r"""
sleep 1
""" + k.PHASE + r"""
mark term-before
kill -TERM "$DAEMON_PID"
gone "$DAEMON_PID" 3
sleep 20
say "no reset 20 s after SIGTERM with nowayout"
"""

BOUND = k.KT + 2.0


def check(run):
    start = run.mark("daemon-start", 60)
    before = run.mark("term-before", 20)
    wd = k.watchdog_after(run, before, k.KT + 15, "SIGTERM")
    k.finish(run, 10)
    armed = k.armed(run, start)
    locked = [v for t, v in run.watchdog_enables() if t == armed]
    run.expect(locked and locked[0] & 0x1, f"the i6300esb was not locked (nowayout): {locked}")
    k.no_reset_before(run, before, "before SIGTERM", ("the watchdog was armed", armed))
    latency = wd.t - before
    run.metric("term_to_watchdog_s", latency)
    run.expect(latency <= BOUND, f"SIGTERM -> WATCHDOG took {latency:.2f} s, bound {BOUND:.1f} s")
    said = run.guest_said(r"stability: warning: .*has nowayout set")
    run.expect(said, "no nowayout warning at start in the daemon's log")
    # The exit must not claim a disarm the driver refused.
    said = run.guest_said(r"stability: warning: .*nowayout keeps the watchdog running")
    run.expect(said, "no warning at exit that nowayout keeps the watchdog running")
    run.expect(not run.guest_said(r"disarmed \(magic close\)"),
               "the daemon said 'disarmed (magic close)' on a nowayout watchdog")
    k.guest_status(run, 0)


SCENARIO = Scenario(
    name="k12_nowayout_x86", group="keepalive", check=check, guest=GUEST, config=k.config(),
    module_args={"i6300esb": "nowayout=1"}, daemon=True, trace=k.TRACE, timeout=60,
    doc="keepalive, i6300esb nowayout=1: warned at start; SIGTERM cannot disarm: reset after timeout")
