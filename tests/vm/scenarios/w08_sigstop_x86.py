from scenario import Scenario
import keepalive as k

# The daemon frozen (SIGSTOP: its pinger thread stops with it) in keepalive
# mode: the watchdog resets keepalive_timeout after the last ping.
GUEST = k.START + k.ARMED + r"""
sleep 2
""" + k.PHASE + r"""
mark stop-before
kill -STOP "$DAEMON_PID"
mark stopped
sleep 20
say "no reset 20 s after SIGSTOP"
"""

BOUND = k.KT + 1.0


def check(run):
    start = run.mark("daemon-start", 60)
    before = run.mark("stop-before", 20)
    wd = k.watchdog_after(run, before, k.KT + 15, "SIGSTOP")
    k.finish(run, 10)
    k.armed(run, start)
    k.no_reset_before(run, before, "before SIGSTOP")
    latency = wd.t - before
    run.metric("sigstop_to_watchdog_s", latency)
    k.last_ping(run, wd)
    run.expect(latency <= BOUND, f"SIGSTOP -> WATCHDOG took {latency:.2f} s, bound {BOUND:.1f} s")


SCENARIO = Scenario(
    name="w08_sigstop_x86", group="worst", check=check, guest=GUEST, config=k.config(),
    daemon=True, trace=k.TRACE, timeout=60,
    doc="keepalive: SIGSTOP of the daemon -> WATCHDOG within keepalive_timeout + 1 s")
