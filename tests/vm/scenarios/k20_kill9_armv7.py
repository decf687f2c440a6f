from scenario import Scenario, AW_WDT_TRACE
from _common import reset_seen, no_reset_before
import keepalive as k

# k03 on the 32-bit boards: keepalive, kill -9 of the healthy daemon at a
# random phase of its pings: the watchdog, no longer pinged, resets
# keepalive_timeout after the last ping (the kernel pings once when the dead
# daemon's descriptor closes). On the H3 the host sees the start, the 5 s
# programmed and every ping (allwinner-wdt writes). On the Malta softdog is a
# kernel timer the host cannot see: the daemon ran healthy for 2 x
# keepalive_timeout before the kill (an armed watchdog not pinged, or armed
# with a shorter timeout, would have reset the machine then), and the reset
# must come keepalive_timeout after the kill, not sooner.
HEALTHY = 2 * k.KT

GUEST = k.START + k.ARMED + r"""
sleep %.1f
""" % HEALTHY + k.PHASE + r"""
mark kill-before
kill -9 "$DAEMON_PID"
mark killed
sleep 20
say "no reset 20 s after kill -9"
"""

BOUND = k.KT + 1.0
EARLY = k.KT - 0.5


def check(run):
    start = run.mark("daemon-start", 60)
    before = k.until_mark(run, "kill-before", HEALTHY + k.ARM_BOUND + 15)
    no_reset_before(run, before, "before the kill")
    run.expect(before - start >= HEALTHY, f"healthy window only {before - start:.2f} s")
    t = reset_seen(run, before, k.KT + 15, "the kill")
    latency = t - before
    run.metric("kill_to_reset_s", latency)
    said = run.guest_said(r"keepalive: \S+ armed: timeout \d+ s")
    run.expect(said and f"armed: timeout {k.KT:.0f} s" in said[0].text,
               f"the daemon's keepalive start (its word): {said[0].text if said else 'none'!r},"
               f" expected timeout {k.KT:.0f} s")
    if run.scenario.watchdog_model:
        k.finish(run, 10)
        armed = k.armed(run, start)
        k.pinged(run, armed, before, "before the kill")
        wd = run.vm.find_events("WATCHDOG")[0]
        k.last_ping(run, wd)
    run.expect(latency <= BOUND, f"kill -9 -> reset took {latency:.2f} s, bound {BOUND:.1f} s")
    run.expect(latency >= EARLY, f"kill -9 -> reset took only {latency:.2f} s: a timeout"
                                 f" shorter than keepalive_timeout = {k.KT:.0f} s")


SCENARIO = Scenario(
    name="k20_kill9_armv7", group="keepalive", check=check, guest=GUEST, config=k.config(),
    daemon=True, arch="armv7", trace=AW_WDT_TRACE, timeout=75,
    doc="orangepi-pc keepalive: armed 5 s, pinged; kill -9 -> WATCHDOG within keepalive_timeout + 1 s")
