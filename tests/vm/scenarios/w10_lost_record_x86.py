from scenario import Scenario, ACTIONS_REBOOT
import _worst as w
import evidence

# The record of a reset that storage did not take in time, across a real
# reboot: state_dir on a disk; in boot 1 a FUSE mount with no server is laid
# over it after start-up and the indicator resets within the deadline
# without a record. Boot 2's `status` must say that the previous boot lost
# its record (it neither stopped deliberately nor left one).
GUEST = w.HANG_FUSE + r"""
mount -t ext4 /dev/vda /mnt || say "cannot mount the disk"
n=$(( $(cat /mnt/boots) + 1 ))
echo "$n" > /mnt/boots
sync
start_daemon --config /etc/stability/config.ini
sleep 2
if [ "$n" -eq 1 ]; then
    hang_fuse /mnt/state
    create_indicator fault
    sleep 40
    say "no reset 40 s after the indicator"
fi
stability --config /etc/stability/config.ini status > /mnt/status-$n.txt 2>&1
kill "$DAEMON_PID"
sleep 1.5
mark boot$n-done
umount /mnt || { sync; say "umount failed"; }
"""


def check(run):
    w.reset_within(run, rebooting=True)
    done = run.mark("boot2-done", 90)
    sd = run.event("SHUTDOWN", 30, after=done)
    run.expect(sd.data.get("reason") == "guest-shutdown", f"final SHUTDOWN {sd.data}")
    run.vm.stop()
    status = evidence.disk_read(run.disk, "/status-2.txt") or ""
    run.note(f"status at boot 2: {status.strip().replace(chr(10), ' | ')[:500]}")
    run.expect("previous_boot.end=abrupt" in status, f"boot 2's status: {status!r}")
    run.expect("previous_boot.record=missing" in status, f"boot 2's status: {status!r}")


SCENARIO = Scenario(
    name="w10_lost_record_x86", group="worst", check=check, guest=GUEST, actions=ACTIONS_REBOOT,
    config=w.config(general={"state_dir": "/mnt/state"}),
    disk={"/boots": "0\n", "/state/": ""},
    modules=("i6300esb", "fuse", "virtio_pci", "virtio_blk", "ext4", "crc32c_generic"),
    daemon=True, timeout=120,
    doc="state_dir hung in boot 1: reset without a record; boot 2's status says the record is missing")
