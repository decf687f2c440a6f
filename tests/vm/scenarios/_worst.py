"""Shared pieces of the worst-state scenarios (issue 12, scenarios/w*.py): the
board in the state that needs a reset — storage that hangs, memory exhausted,
the process table full, the CPU taken — and the reset still within the
deadline. reset_deadline is 5 s here (10 s is the default) to keep them short.

Host evidence as everywhere: QMP WATCHDOG / SHUTDOWN with host timestamps
after the guest's indicator marker; the guest's words only explain.

Ways to hang storage (see ../../shared notes, vm-testing.md):
- FUSE with no server laid over a directory after the daemon started: every
  lookup there waits for ever (HANG_FUSE);
- a device-mapper linear target over a virtio disk, with dirty data written
  and then `dmsetup suspend --noflush --nolockfs`: every later I/O to it
  queues for ever, so fsync and sync(2) block too (DM_SETUP, DM_HANG).
"""
from scenario import Fail
from _common import ini, BOARD

DEADLINE = 5.0
INTERVAL, WDT_TIMEOUT = 1.0, 1.0
# The bound for a reset when the board is at its worst.
BOUND = DEADLINE + WDT_TIMEOUT + 2.0


def config(general=None, watchdog=None, rtc=None):
    g = {"reset_deadline": str(int(DEADLINE))}
    g.update(general or {})
    return ini(general=g, watchdog=watchdog, rtc=rtc)


START = BOARD + r"""
start_daemon --config /etc/stability/config.ini
sleep 2
kill -0 "$DAEMON_PID" || say "the daemon is not running"
"""

# A FUSE mount with no server over $1 (the descriptor stays open in this shell).
HANG_FUSE = r"""
hang_fuse() {
    exec 5<>/dev/fuse
    mount -t fuse -o fd=5,rootmode=40000,user_id=0,group_id=0 hung "$1" || say "fuse mount failed"
}
"""

# A device-mapper linear target "slow" over the virtio disk (/dev/vda, the
# scenario's `disk`), mounted on /slow.
DM_SETUP = r"""
export DM_DISABLE_UDEV=1
dm_setup() {
    dmsetup create slow --table "0 $(blockdev --getsz /dev/vda) linear /dev/vda 0" || say "dmsetup create failed"
    mkdir -p /slow
    mount -t ext4 /dev/mapper/slow /slow || say "cannot mount /slow"
}
# Dirty data on /slow (not synced: dirty_expire is 30 s), then every I/O to it
# hangs: writeback, fsync and sync(2) with it.
dm_hang() {
    dd if=/dev/zero of=/slow/dirty bs=1M count=4 2>/dev/null
    dmsetup suspend --noflush --nolockfs slow || say "dmsetup suspend failed"
    say "dirty: $(grep -E '^Dirty:' /proc/meminfo)"
}
"""

# Memory exhausted (w05, and the peers of bench/run --peers): most of RAM
# pinned in a tmpfs, then three anonymous hogs that the OOM killer keeps
# killing; after 8 s of the storm the device-mapper target "slow" (DM_SETUP)
# stops answering, so nothing on it can be read back any more.
MEMORY_STORM = r"""
mkdir -p /fill
mount -t tmpfs -o size=100% fill /fill
avail=$(awk '/^MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
dd if=/dev/zero of=/fill/pinned bs=1M count=$((avail - 40)) 2>/dev/null
say "pinned $((avail - 40)) MiB in tmpfs; $(grep -E '^MemAvailable' /proc/meminfo)"
hog() { while :; do dd if=/dev/zero of=/dev/null bs=32M count=100000 2>/dev/null; done; }
hog & hog & hog &
sleep 8
dmsetup suspend --noflush --nolockfs slow || say "dmsetup suspend failed"
say "the binary's disk is hung"
sleep 3
say "OOM kills so far: $(dmesg | grep -c 'Killed process')"
"""

# The CPU taken (w07, and the peers): a busy loop at nice -20 on every CPU
# and a SCHED_FIFO hog at priority 50 (a runaway real-time application)
# under the kernel's default RT throttling. The scenario's shell first goes
# to SCHED_FIFO 99, so that its markers are not starved as well (they would
# be seconds apart). Needs chrt (CPU_PROGRAMS).
CPU_HOGS = r"""
say "rt throttling: $(cat /proc/sys/kernel/sched_rt_runtime_us) / $(cat /proc/sys/kernel/sched_rt_period_us)"
# This shell's own pid ($$ is init's in a subshell), to SCHED_FIFO 99 first;
# the loops it starts get their policies explicitly (a child inherits it).
read -r me _ < /proc/self/stat
chrt -f -p 99 "$me"
i=0
while [ "$i" -lt "$(nproc)" ]; do
    chrt -o 0 sh -c 'while :; do :; done' &
    renice -n -20 -p $! >/dev/null
    i=$((i + 1))
done
chrt -f 50 sh -c 'while :; do :; done' &
"""
CPU_PROGRAMS = ("/usr/bin/chrt",)

DM_MODULES = ("i6300esb", "virtio_pci", "virtio_blk", "ext4", "crc32c_generic", "dm_mod")
DM_PROGRAMS = ("/usr/sbin/dmsetup",)


def reset_within(run, bound=BOUND, name="fault", early=None, rebooting=False):
    """indicator -> WATCHDOG -> guest reset within `bound` (and, if `early`,
    not before: the storage was given its time). `rebooting`: QEMU resets
    the machine (ACTIONS_REBOOT) instead of ending. Returns the latency."""
    before = run.mark(f"{name}-before", 120)
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "SHUTDOWN", "RESET") and e.t < before]
    if bad:
        raise Fail(f"reset before the indicator: {bad}")
    wd = run.vm.wait_event("WATCHDOG", bound + 25, after=before)
    if wd is None:
        raise Fail(f"no WATCHDOG within {bound + 25:.0f} s after the indicator"
                   f" (events: {[e for e in run.vm.events if e.name != 'GUEST_CRASHLOADED']})")
    if rebooting:
        run.event("RESET", 5, after=wd.t)
    else:
        reason = run.shutdown_reason(5, after=wd.t)
        run.expect(reason == "guest-reset", f"after WATCHDOG, SHUTDOWN reason {reason}")
    latency = wd.t - before
    run.metric("indicator_to_watchdog_s", latency)
    run.expect(latency <= bound, f"indicator -> WATCHDOG took {latency:.2f} s, bound {bound:.1f} s")
    if early is not None:
        run.expect(latency >= early, f"indicator -> WATCHDOG {latency:.2f} s: sooner than the"
                                     f" {early:.1f} s storage is given")
    return latency
