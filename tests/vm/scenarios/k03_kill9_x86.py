from scenario import Scenario
import keepalive as k

# kill -9 of a healthy daemon at a random phase of its pings: the watchdog,
# no longer pinged, resets keepalive_timeout after the last ping.
GUEST = k.START + k.ARMED + r"""
sleep 2
""" + k.PHASE + r"""
mark kill-before
kill -9 "$DAEMON_PID"
mark killed
sleep 20
say "no reset 20 s after kill -9"
"""

BOUND = k.KT + 2.0


def check(run):
    start = run.mark("daemon-start", 60)
    before = run.mark("kill-before", 20)
    wd = k.watchdog_after(run, before, k.KT + 15, "the kill")
    k.finish(run, 10)
    armed = k.armed(run, start)
    k.no_reset_before(run, before, "before the kill")
    k.pinged(run, armed, before, "before the kill")
    latency = wd.t - before
    run.metric("kill_to_watchdog_s", latency)
    k.last_ping(run, wd)
    run.metric("pings_after_kill", len([t for t in run.watchdog_pings() if before <= t < wd.t]))
    run.expect(latency <= BOUND, f"kill -9 -> WATCHDOG took {latency:.2f} s, bound {BOUND:.1f} s")


SCENARIO = Scenario(
    name="k03_kill9_x86", group="keepalive", check=check, guest=GUEST, config=k.config(),
    daemon=True, trace=k.TRACE, timeout=60,
    doc="keepalive: kill -9 of the daemon -> WATCHDOG within keepalive_timeout + 2 s")
