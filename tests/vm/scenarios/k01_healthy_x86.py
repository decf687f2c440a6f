from scenario import Scenario
import keepalive as k

# The daemon arms the watchdog at start and pings it; nothing resets for
# 3 x keepalive_timeout.
GUEST = k.START + k.ARMED + r"""
sleep %.1f
mark healthy-end
""" % (3 * k.KT + 1)


def check(run):
    start = run.mark("daemon-start", 60)
    end = k.until_mark(run, "healthy-end", 3 * k.KT + k.ARM_BOUND + 15)
    k.finish(run, 15)
    armed = k.armed(run, start)
    k.no_reset_before(run, end, "while healthy", ("the watchdog was armed", armed))
    run.expect(end - armed >= 3 * k.KT, f"healthy window only {end - armed:.2f} s")
    stopped = [round(t, 3) for t in k.stops(run) if armed < t < end]
    run.expect(not stopped, f"the watchdog was stopped while healthy: {stopped}")
    pings = k.pinged(run, armed, end, "while healthy")
    # keepalive_interval left at its default: a third of keepalive_timeout.
    period = run.metrics["ping_period_median_s"]
    run.expect(0.8 * k.KI <= period <= k.KI + 0.3,
               f"pings every {period:.2f} s (median), keepalive_interval default {k.KI:.2f} s")
    run.metric("healthy_window_s", end - armed)
    run.metric("pings", len(pings))


SCENARIO = Scenario(
    name="k01_healthy_x86", group="keepalive", check=check, guest=GUEST, config=k.config(),
    daemon=True, trace=k.TRACE, timeout=75,
    doc="keepalive: armed at start with keepalive_timeout, pinged, no reset for 3 x timeout")
