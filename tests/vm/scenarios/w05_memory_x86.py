from scenario import Scenario, DAEMON
import _worst as w

# Memory exhausted, with the daemon's binary on a disk as on a board (ext4 on
# a device-mapper target over a virtio disk, so its pages can be dropped and
# would have to be read back): most of RAM pinned in tmpfs, an OOM storm of
# anonymous hogs that the OOM killer keeps killing, and then the binary's disk
# stops answering (dm suspended), so nothing of the daemon can be read back
# any more. The indicator must still reset within the bound, and the OOM
# killer must not have chosen the daemon.
GUEST = w.DM_SETUP + r"""
dm_setup
/slow/stability --config /etc/stability/config.ini > /dev/console 2>&1 &
DAEMON_PID=$!
sleep 2
say "daemon: $(grep -E '^(VmRSS|VmLck)' /proc/$DAEMON_PID/status | tr -s ' \n' ' ')"
""" + w.MEMORY_STORM + r"""create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    w.reset_within(run)
    kills = run.guest_said(r"OOM kills so far: [1-9]")
    run.expect(kills, "the guest saw no OOM kill before the indicator: no storm")
    run.expect(not run.guest_said(r"Killed process \d+ \(stability\)"),
               "the OOM killer chose the daemon")


SCENARIO = Scenario(
    name="w05_memory_x86", group="worst", check=check, guest=GUEST, config=w.config(),
    disk={"/stability": DAEMON}, disk_mb=64, modules=w.DM_MODULES, host_programs=w.DM_PROGRAMS,
    daemon=True, timeout=120,
    doc="OOM storm, binary on a disk that then hangs: indicator -> WATCHDOG within deadline + 3 s")
