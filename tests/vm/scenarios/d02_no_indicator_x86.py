from scenario import Scenario
from _common import ini, START, watchdog_reset

IDLE = 20

GUEST = START + r"""
mark idle-start
sleep %d
mark idle-end
create_indicator fault
sleep 60
""" % IDLE


def check(run):
    start = run.mark("idle-start", 60)
    end = run.mark("idle-end", IDLE + 15)
    run.expect(end - start >= IDLE - 0.5, f"idle window only {end - start:.2f} s")
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "RESET", "SHUTDOWN", "SUSPEND")
           and e.t < end]
    run.expect(not bad, f"with no indicator: {bad}")
    armed = [(t, v) for t, v in run.watchdog_enables() if v & 0x2 and t < end]
    run.expect(not armed, f"the watchdog was started (i6300esb enabled) with no indicator: {armed}")
    run.metric("idle_window_s", end - start)
    # The daemon was alive all along: the indicator now resets the guest.
    watchdog_reset(run)


SCENARIO = Scenario(
    name="d02_no_indicator_x86", check=check, guest=GUEST, config=ini(), daemon=True, timeout=100,
    doc="no indicator for 20 s: no WATCHDOG, no reset, watchdog never started; then one resets")
