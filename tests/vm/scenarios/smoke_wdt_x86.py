from scenario import Scenario

GUEST = r"""
mark wd-start
watchdog -F -T 2 -t 60 /dev/watchdog &
sleep 1
kill -9 $!
mark wd-killed
sleep 30
say "no reset after 30 s"
"""


def check(run):
    start = run.mark("wd-start", 40)
    wd = run.event("WATCHDOG", 15, after=start)
    run.expect(wd.data.get("action") == "reset", f"watchdog action {wd.data}")
    killed = run.vm.mark("wd-killed")
    run.expect(killed is not None and killed < wd.t, "the watchdog fired before its holder was killed")
    reason = run.shutdown_reason(5, after=wd.t)
    run.expect(reason == "guest-reset", f"SHUTDOWN reason {reason}")
    run.metric("start_to_watchdog_s", wd.t - start)
    run.metric("kill_to_watchdog_s", wd.t - killed)
    en = run.watchdog_enables()
    if en:
        run.metric("enable_to_watchdog_s", wd.t - en[-1][0])
    run.expect(1.5 <= wd.t - start <= 3.5, f"WATCHDOG {wd.t - start:.2f} s after start, expected ~2 s")


SCENARIO = Scenario(
    name="smoke_wdt_x86", group="smoke", check=check, guest=GUEST, timeout=60,
    doc="busybox watchdog -T 2, kill -9: WATCHDOG ~2 s later, then reset")
