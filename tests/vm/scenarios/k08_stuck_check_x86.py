from scenario import Scenario
from _common import watchdog_reset
import keepalive as k

# The indicator is on a FUSE mount with no server: the daemon's lstat blocks.
# stall_timeout = 0 (the default): the pings go on while the check is stuck,
# for 2 x keepalive_timeout. Then the server dies (connection aborted, the
# lookup fails), the mount goes, and an indicator at the same path resets:
# the checks resumed.
GUEST = k.FUSE_SETUP + k.START + k.ARMED + r"""
sleep 2
""" + k.FUSE_STICK + r"""
sleep %d
mark stuck-end
""" % (2 * k.KT + 1) + k.FUSE_RELEASE + r"""
sleep 2
create_indicator fault /mnt/fuse/ind
sleep 30
say "no reset 30 s after the indicator"
"""


def check(run):
    start = run.mark("daemon-start", 60)
    mounted = run.mark("fuse-mounted", 20)
    stuck = run.mark("check-stuck", 10)
    end = k.until_mark(run, "stuck-end", 2 * k.KT + 10)
    if end == float("inf"):
        k.finish(run, 10)
        k.no_reset_before(run, end, "while the check was stuck", ("the check got stuck", stuck))
    watchdog_reset(run)   # after the stall: nothing before, then as d01
    k.finish(run, 10)
    armed = k.armed(run, start)
    run.metric("mount_to_stuck_s", stuck - mounted)
    run.expect(end - max(stuck, mounted + k.INTERVAL) >= 2 * k.KT,
               f"stuck window only {end - max(stuck, mounted + k.INTERVAL):.2f} s")
    run.metric("stuck_window_s", end - stuck)
    stopped = [round(t, 3) for t in k.stops(run) if armed < t < end]
    run.expect(not stopped, f"the watchdog was stopped: {stopped}")
    k.pinged(run, armed, end, "while the check was stuck")


SCENARIO = Scenario(
    name="k08_stuck_check_x86", group="keepalive", check=check, guest=GUEST,
    config=k.config(general={"indicator_file_path": "/mnt/fuse/ind"}),
    modules=("i6300esb", "fuse"), daemon=True, trace=k.TRACE, timeout=90,
    doc="keepalive, stall_timeout = 0: lstat stuck on FUSE, pings go on, no reset for 2 x timeout")
