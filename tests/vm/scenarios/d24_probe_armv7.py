import re

from scenario import Scenario
from _common import ini, BOARD, no_reset_before, SUNXI_DEFAULT, SOFTDOG_DEFAULT

# d08 on the 32-bit boards: `probe` names the watchdog (identity, timeout
# range) and the RTC, and arms nothing: no reset for a window longer than the
# driver's default timeout (what an open would have armed), and on the H3 no
# start of the watchdog in the trace at all.
GUEST = BOARD + r"""
mark probe-start
stability --config /etc/stability/config.ini probe 9>&-
echo "@@PROBE-EXIT $?"
mark probe-done
sleep %d
mark window-end
"""

# What probe must name, per machine: identity, min and max timeout, RTC.
EXPECT = {
    "orangepi-pc": ("sunxi-wdt", 1, 16, "sun6i-rtc"),
    "malta": ("Software Watchdog", 1, 65535, "rtc_cmos"),
}


def check(run):
    window = WINDOW[run.scenario.machine]
    start = run.mark("probe-start", 60)
    done = run.mark("probe-done", 30)
    end = run.mark("window-end", window + 20)
    run.expect(end - done >= window - 0.5, f"window only {end - done:.2f} s")
    no_reset_before(run, end, "after probe")
    if run.scenario.watchdog_model == "allwinner":
        touched = [(round(t, 3), off, hex(v)) for t, off, v in run.aw_wdt_writes() if t >= start]
        run.expect(not touched, f"probe wrote to the H3 watchdog: {touched}")
    sd = run.event("SHUTDOWN", 20, after=end)
    run.expect(sd.data.get("reason") == "guest-shutdown", f"SHUTDOWN {sd.data}")
    out = "\n".join(ln.text for ln in run.vm.lines if start - 0.5 <= ln.t <= done + 1)
    run.expect(run.guest_said(r"@@PROBE-EXIT 0"), "probe did not exit 0")
    ident, lo, hi, rtc = EXPECT[run.scenario.machine]
    run.expect(ident in out, f"probe output lacks the watchdog identity {ident!r}")
    run.expect(re.search(rf"min_timeout={lo}\b[\s\S]*max_timeout={hi}\b|range {lo}\.\.{hi}\b", out),
               f"probe output lacks the timeout range {lo}..{hi}")
    run.expect(rtc in out, f"probe output lacks the RTC {rtc!r}")
    run.metric("probe_s", done - start)
    run.metric("window_s", end - done)


# Past the default an open of the device would have armed.
WINDOW = {"orangepi-pc": int(SUNXI_DEFAULT) + 2, "malta": int(SOFTDOG_DEFAULT) + 2}

SCENARIO = Scenario(
    name="d24_probe_armv7", check=check, guest=GUEST % WINDOW["orangepi-pc"], config=ini(),
    daemon=True, arch="armv7", timeout=100,
    doc="orangepi-pc: probe names sunxi-wdt 1..16 s and sun6i-rtc; no watchdog write, no reset for 18 s")
