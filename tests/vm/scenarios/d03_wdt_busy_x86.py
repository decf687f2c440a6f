from scenario import Scenario
from _common import ini, START, indicator, nothing_before, INTERVAL

# Another process holds /dev/watchdog and keeps pinging it (10 s timeout, ping
# every second): the daemon gets EBUSY and the chain falls back to reboot(2).
GUEST = r"""
watchdog -F -T 10 -t 1 /dev/watchdog &
sleep 1
""" + START + r"""
create_indicator fault
sleep 60
"""

BOUND = INTERVAL + 3.0


def check(run):
    before, _ = indicator(run)
    nothing_before(run, before)
    sd = run.event("SHUTDOWN", BOUND + 30, after=before)
    run.expect(sd.data.get("reason") == "guest-reset", f"SHUTDOWN reason {sd.data}")
    wd = run.vm.find_events("WATCHDOG")
    run.expect(not wd, f"a WATCHDOG event: the reset was not the reboot fallback: {wd}")
    run.metric("indicator_to_reset_s", sd.t - before)
    run.expect(sd.t - before <= BOUND, f"reboot came {sd.t - before:.2f} s after the indicator")
    busy = run.guest_said(r"(?i)stability.*(busy|EBUSY)")
    run.expect(busy, "the daemon did not report the busy watchdog (no 'busy' in its log)")


SCENARIO = Scenario(
    name="d03_wdt_busy_x86", check=check, guest=GUEST, daemon=True, timeout=90,
    config=ini(general={"recovery_device": "watchdog, reboot"}),
    doc="/dev/watchdog held by busybox watchdog: EBUSY reported, reboot fallback, no WATCHDOG")
