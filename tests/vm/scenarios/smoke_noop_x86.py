from scenario import Scenario

GUEST = r"""
mark idle-start
sleep 20
mark idle-end
"""


def check(run):
    start = run.mark("idle-start", 40)
    end = run.mark("idle-end", 30)
    run.expect(end - start >= 19.5, f"the idle window lasted {end - start:.2f} s on the host clock")
    reason = run.shutdown_reason(15, after=end)
    run.expect(reason == "guest-shutdown", f"SHUTDOWN reason {reason}")
    wd = run.vm.find_events("WATCHDOG")
    run.expect(not wd, f"WATCHDOG events in an idle guest: {wd}")
    run.expect(not run.watchdog_enables()[1:] and
               all(v & 0x2 == 0 for _, v in run.watchdog_enables()),
               f"the watchdog was enabled: {run.watchdog_enables()}")
    run.metric("idle_window_s", end - start)


SCENARIO = Scenario(
    name="smoke_noop_x86", group="smoke", check=check, guest=GUEST, timeout=60,
    doc="idle guest for 20 s: no WATCHDOG, clean power-off")
