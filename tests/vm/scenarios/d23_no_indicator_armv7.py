from scenario import Scenario
from _common import ini, START, board_watchdog_reset, no_reset_before, SUNXI_DEFAULT, SOFTDOG_DEFAULT

# d02 on the 32-bit boards: no indicator for IDLE s, nothing armed, nothing
# reset; then an indicator resets (the daemon was alive all along). On the H3
# the host sees any start of the watchdog (MODE enable); on the Malta softdog
# is invisible to the host, so the window outlasts its default timeout: a
# daemon that armed it would have reset the machine inside the window.
IDLE = 12

GUEST = START + r"""
mark idle-start
sleep %d
mark idle-end
create_indicator fault
sleep 40
""" % IDLE


def check(run):
    start = run.mark("idle-start", 60)
    end = run.mark("idle-end", IDLE + 15)
    run.expect(end - start >= IDLE - 0.5, f"idle window only {end - start:.2f} s")
    no_reset_before(run, end, "with no indicator")
    run.metric("idle_window_s", end - start)
    board_watchdog_reset(run)
    if run.scenario.watchdog_model == "allwinner":
        armed = [round(t, 3) for t in run.watchdog_starts() if t < end]
        run.expect(not armed, f"the watchdog was started with no indicator: {armed}")
    else:
        run.expect(end - start > SOFTDOG_DEFAULT + 1,
                   f"idle window {end - start:.2f} s, not past softdog's {SOFTDOG_DEFAULT:.0f} s")


SCENARIO = Scenario(
    name="d23_no_indicator_armv7", check=check, guest=GUEST, config=ini(), daemon=True,
    arch="armv7", timeout=100,
    doc="orangepi-pc: %d s without indicator: no reset, the watchdog never started; then one resets"
        % IDLE)
assert IDLE < SUNXI_DEFAULT  # the H3's evidence is the trace, not the window
