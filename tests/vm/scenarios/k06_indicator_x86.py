from scenario import Scenario
from _common import watchdog_reset
import keepalive as k

# An indicator while the daemon keeps the watchdog: pings stop, wdt_timeout
# is set, the reset comes as fast as in on-fault mode.
GUEST = k.START + k.ARMED + r"""
sleep 2
""" + k.PHASE + r"""
create_indicator fault
sleep 30
say "no reset 30 s after the indicator"
"""


def check(run):
    start = run.mark("daemon-start", 60)
    latency = watchdog_reset(run)      # nothing before; WATCHDOG <= interval + wdt_timeout + 1.5 s
    before = run.mark("fault-before", 1)
    k.finish(run, 10)
    armed = k.armed(run, start)
    k.pinged(run, armed, before, "before the indicator")
    wd = run.vm.find_events("WATCHDOG")[0]
    short = [t for t, s in run.watchdog_timeouts() if t >= before]
    run.expect(short and run.watchdog_timeouts()[-1][1] == k.WDT_TIMEOUT,
               f"wdt_timeout = {k.WDT_TIMEOUT:.0f} s not programmed after the indicator:"
               f" {k.fmt(run.watchdog_timeouts())}")
    run.metric("indicator_to_wdt_timeout_s", short[0] - before)
    k.last_ping(run, wd)
    return latency


SCENARIO = Scenario(
    name="k06_indicator_x86", group="keepalive", check=check, guest=GUEST, config=k.config(),
    daemon=True, trace=k.TRACE, timeout=75,
    doc="keepalive: indicator -> WATCHDOG within interval + wdt_timeout + 1.5 s")
