from scenario import Scenario
import keepalive as k

# As k08 with stall_timeout = 3: once the check has been stuck that long the
# pings stop, and the watchdog resets keepalive_timeout after the last one.
STALL = 3.0

GUEST = k.FUSE_SETUP + k.START + k.ARMED + r"""
sleep 2
""" + k.FUSE_STICK + r"""
sleep 30
say "no reset 30 s after the check got stuck"
"""

BOUND = STALL + k.KT + 2.0


def check(run):
    start = run.mark("daemon-start", 60)
    before = run.mark("fuse-before", 20)
    mounted = run.mark("fuse-mounted", 10)
    wd = k.watchdog_after(run, before, BOUND + k.INTERVAL + 15, "the FUSE mount")
    k.finish(run, 10)
    armed = k.armed(run, start)
    k.no_reset_before(run, before, "before the check got stuck")
    k.pinged(run, armed, mounted, "before the check got stuck")
    # The check got stuck at the daemon's first poll after the mount: between
    # fuse-before and fuse-mounted + checking_interval (host clock).
    late = wd.t - (mounted + k.INTERVAL)
    run.metric("mount_to_watchdog_s", wd.t - mounted)
    run.expect(late <= BOUND, f"WATCHDOG {wd.t - mounted:.2f} s after the mount: more than"
                              f" checking_interval + stall_timeout + keepalive_timeout + 2 s")
    # ... and not before stall_timeout had run out (less one ping period).
    early = STALL + k.KT - k.KI - 0.5
    run.expect(wd.t - before >= early, f"WATCHDOG {wd.t - before:.2f} s after the mount began:"
                                       f" the pings stopped before stall_timeout = {STALL:.0f} s")
    last = k.last_ping(run, wd)
    run.expect(abs(wd.t - last - k.KT) <= 0.5,
               f"last ping -> WATCHDOG {wd.t - last:.2f} s, not keepalive_timeout")
    # The guest's view, to the poll: check-stuck is marked within ~0.1 s after
    # the daemon's lookup began to wait. Both bounds again from there (this
    # can only fail the scenario): a daemon that stops pinging as soon as a
    # poll is slow passes the looser host bounds when the mount fell early in
    # its poll period.
    stuck = run.vm.mark("check-stuck")
    run.expect(stuck is not None, "no check-stuck marker: the daemon's lookup never waited on FUSE")
    run.metric("stuck_to_last_ping_s", last - stuck)
    run.metric("stuck_to_watchdog_s", wd.t - stuck)
    run.expect(wd.t - stuck <= BOUND, f"WATCHDOG {wd.t - stuck:.2f} s after the check got"
                                      f" stuck, bound {BOUND:.1f} s")
    run.expect(wd.t - stuck >= early, f"WATCHDOG {wd.t - stuck:.2f} s after the check got stuck:"
                                      f" the pings stopped before stall_timeout = {STALL:.0f} s")


SCENARIO = Scenario(
    name="k09_stall_reset_x86", group="keepalive", check=check, guest=GUEST,
    config=k.config(general={"indicator_file_path": "/mnt/fuse/ind"}, stall_timeout=str(int(STALL))),
    modules=("i6300esb", "fuse"), daemon=True, trace=k.TRACE, timeout=75,
    doc="keepalive, stall_timeout = 3: lstat stuck on FUSE -> WATCHDOG within stall + timeout + 2 s")
