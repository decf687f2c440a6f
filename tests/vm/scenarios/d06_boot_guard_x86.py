from scenario import Scenario, ACTIONS_REBOOT
from _common import ini, LATENCY_BOUND
import evidence

# Every boot: count it on the disk, keep the reset record the previous boot
# left, start the daemon and recreate the indicator. With max_resets = 2 the
# first two boots are reset by the watchdog; the third must stay up.
SURVIVE = 15

GUEST = r"""
mount -t ext4 /dev/vda /mnt || say "cannot mount the disk"
n=$(( $(cat /mnt/boots) + 1 ))
echo "$n" > /mnt/boots
if [ -e /mnt/state/reset-record ]; then
    cp /mnt/state/reset-record "/mnt/records/boot-$n.record"
fi
sync
start_daemon --config /etc/stability/config.ini
sleep 2
create_indicator "boot$n" /mnt/ind/fault
sleep %d
mark "boot$n-survived"
stability --config /etc/stability/config.ini status > "/mnt/status-$n.txt" 2>&1
echo "exit=$?" >> "/mnt/status-$n.txt"
kill "$DAEMON_PID"
sleep 0.5
umount /mnt || { sync; say "umount failed"; }
""" % SURVIVE


def check(run):
    watchdogs = []
    for n in (1, 2):
        before = run.mark(f"boot{n}-before", 90)
        wd = run.event("WATCHDOG", LATENCY_BOUND + 30, after=before)
        run.expect(wd.t - before <= LATENCY_BOUND,
                   f"boot {n}: indicator -> WATCHDOG {wd.t - before:.2f} s")
        watchdogs.append(wd)
        run.metric(f"boot{n}_indicator_to_watchdog_s", wd.t - before)
    third = run.mark("boot3-before", 90)
    survived = run.mark("boot3-survived", SURVIVE + 20)
    run.expect(survived - third >= SURVIVE - 0.5, "the third boot's window was too short")
    sd = run.event("SHUTDOWN", 30, after=survived)
    run.expect(sd.data.get("reason") == "guest-shutdown", f"final SHUTDOWN {sd.data}")
    wd_all = run.vm.find_events("WATCHDOG")
    resets = run.resets()
    run.expect(len(wd_all) == 2, f"expected exactly 2 WATCHDOG events, got {wd_all}")
    run.expect(len(resets) == 2, f"expected exactly 2 resets, got {resets}")
    run.vm.stop()
    boots = evidence.disk_read(run.disk, "/boots")
    run.expect(boots is not None and boots.strip() == "3", f"/boots on the disk reads {boots!r}")
    for n in (2, 3):
        rec = evidence.disk_read(run.disk, f"/records/boot-{n}.record")
        run.expect(rec and "=" in rec, f"boot {n} found no readable reset record: {rec!r}")
        run.note(f"record seen at boot {n}: {rec.strip().replace(chr(10), ' | ')}")
    guard = evidence.disk_read(run.disk, "/state/guard")
    run.expect(guard and "=" in guard, f"no guard file in state_dir: {guard!r}")
    run.note(f"guard: {guard.strip().replace(chr(10), ' | ')}")
    status = evidence.disk_read(run.disk, "/status-3.txt") or ""
    run.note(f"status at boot 3: {status.strip().replace(chr(10), ' | ')[:300]}")


SCENARIO = Scenario(
    name="d06_boot_guard_x86", check=check, guest=GUEST, daemon=True, actions=ACTIONS_REBOOT,
    config=ini(general={"indicator_file_path": "/mnt/ind/fault", "state_dir": "/mnt/state",
                        "max_resets": "2", "reset_window": "3600"}),
    disk={"/boots": "0\n", "/records/": "", "/state/": "", "/ind/": ""},
    modules=("i6300esb", "virtio_pci", "virtio_blk", "ext4", "crc32c_generic"),
    timeout=150, doc="boot-loop guard across real reboots: max_resets = 2 => exactly 2 resets, records kept")
