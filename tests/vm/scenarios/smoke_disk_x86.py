from scenario import Scenario, ACTIONS_REBOOT
import evidence

GUEST = r"""
mount -t ext4 /dev/vda /mnt || say "mount failed"
n=$(cat /mnt/count)
n=$((n + 1))
echo "$n" > /mnt/count
sync
mark boot-$n
umount /mnt
if [ "$n" -lt 3 ]; then reboot -f; fi
"""


def check(run):
    for n in (1, 2, 3):
        run.mark(f"boot-{n}", 40)
    reason = run.shutdown_reason(20, after=run.vm.mark("boot-3"))
    run.expect(reason == "guest-shutdown", f"final SHUTDOWN reason {reason}")
    resets = run.resets()
    run.expect(len(resets) == 2 and all(e.data.get("reason") == "guest-reset" for e in resets),
               f"expected two guest resets, got {resets}")
    run.vm.stop()
    count = evidence.disk_read(run.disk, "/count")
    run.expect(count is not None and count.strip() == "3", f"/count on the disk reads {count!r}")
    t1, t3 = run.vm.mark("boot-1"), run.vm.mark("boot-3")
    run.metric("reboot_cycle_s", (t3 - t1) / 2)


SCENARIO = Scenario(
    name="smoke_disk_x86", group="smoke", check=check, guest=GUEST, actions=ACTIONS_REBOOT,
    disk={"/count": "0\n"}, modules=("i6300esb", "virtio_pci", "virtio_blk", "ext4", "crc32c_generic"),
    timeout=90, doc="persistent ext4 disk: count boots across two real reboots, read on the host")
