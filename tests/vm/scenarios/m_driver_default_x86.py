from scenario import Scenario

# What a daemon that never sets the timeout gets (the seed's behaviour): open
# /dev/watchdog, close it without the magic 'V' (the kernel pings once at close
# and keeps the timer running), and wait for the i6300esb driver's default.
GUEST = r"""
mark open
exec 3>/dev/watchdog
exec 3>&-
sleep 60
"""


def check(run):
    t = run.mark("open", 60)
    wd = run.event("WATCHDOG", 45, after=t)
    run.metric("open_to_watchdog_s", wd.t - t)
    run.expect(25 <= wd.t - t <= 35, f"default timeout {wd.t - t:.2f} s")


SCENARIO = Scenario(
    name="m_driver_default_x86", group="measure", check=check, guest=GUEST, timeout=90,
    doc="measurement: reset time with the driver's default timeout (never set): ~30 s")
