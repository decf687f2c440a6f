from scenario import Scenario
import keepalive as k

# Storage hangs at boot, before the daemon starts: the indicator's directory
# is on a FUSE mount with no server, so resolving it blocks for ever. In
# keepalive mode the watchdog is opened and armed before that (and before
# state_dir is read), and with stall_timeout set the stuck start-up stops the
# pings: the board is reset. (Before: the watchdog was opened only after
# start-up, which never ended: no reset, ever.)
STALL = 3.0
GUEST = k.FUSE_SETUP + r"""
exec 5<>/dev/fuse
mount -t fuse -o fd=5,rootmode=40000,user_id=0,group_id=0 stuck /mnt/fuse || say "fuse mount failed"
""" + k.START + r"""
sleep 30
say "no reset 30 s after the daemon started"
"""

BOUND = STALL + k.KT + 2.0


def check(run):
    start = run.mark("daemon-start", 60)
    wd = k.watchdog_after(run, start, BOUND + 15, "the daemon's start")
    k.finish(run, 10)
    armed = k.armed(run, start)
    run.metric("start_to_watchdog_s", wd.t - start)
    run.expect(wd.t - armed <= BOUND, f"armed -> WATCHDOG {wd.t - armed:.2f} s, bound {BOUND:.1f} s")
    run.expect(wd.t - armed >= STALL + k.KT - k.KI - 0.5,
               f"WATCHDOG {wd.t - armed:.2f} s after arming: before stall_timeout ran out")


SCENARIO = Scenario(
    name="k14_hung_at_boot_x86", group="keepalive", check=check, guest=GUEST,
    config=k.config(general={"indicator_file_path": "/mnt/fuse/volume/ind"}, stall_timeout=str(int(STALL))),
    modules=("i6300esb", "fuse"), daemon=True, trace=k.TRACE, timeout=60,
    doc="keepalive: storage hung at boot (indicator dir on FUSE): armed first, stall -> WATCHDOG")
