from scenario import Scenario
from _common import ini, BOARD

WINDOW = 35   # the i6300esb driver's default timeout is 30 s

GUEST = BOARD + r"""
mark probe-start
stability --config /etc/stability/config.ini probe
echo "@@PROBE-EXIT $?"
mark probe-done
sleep %d
mark window-end
""" % WINDOW


def check(run):
    start = run.mark("probe-start", 60)
    done = run.mark("probe-done", 30)
    end = run.mark("window-end", WINDOW + 20)
    run.expect(end - done >= WINDOW - 0.5, f"window only {end - done:.2f} s")
    wd = run.vm.find_events("WATCHDOG")
    run.expect(not wd, f"WATCHDOG after probe: it armed the watchdog: {wd}")
    armed = [(t, v) for t, v in run.watchdog_enables() if v & 0x2]
    run.expect(not armed, f"probe started the watchdog (i6300esb enable traced at {armed})")
    sd = run.event("SHUTDOWN", 20, after=end)
    run.expect(sd.data.get("reason") == "guest-shutdown", f"SHUTDOWN {sd.data}")
    # What probe printed is its product: check it names what the issue asks for.
    out = "\n".join(ln.text for ln in run.vm.lines if start <= ln.t <= done + 1)
    run.expect(run.guest_said(r"@@PROBE-EXIT 0"), "probe did not exit 0")
    for what, rx in (("the watchdog identity", r"i6300ESB"), ("a sleep state", r"\bmem\b"),
                     ("the RTC", r"rtc0")):
        import re
        run.expect(re.search(rx, out), f"probe output lacks {what} ({rx})")
    run.metric("probe_s", done - start)


SCENARIO = Scenario(
    name="d08_probe_x86", check=check, guest=GUEST, config=ini(), daemon=True, timeout=100,
    doc="probe prints devices and arms nothing: no WATCHDOG for 35 s, i6300esb never enabled")
