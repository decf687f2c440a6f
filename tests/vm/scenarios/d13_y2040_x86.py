"""The wall clock and the RTC in 2040 (issue 14, item 8), on a real kernel.

The guest sets its clock to 2040-01-01 and writes it to the RTC (hwclock -w),
runs `status` on a reset record from 2040 that the host put on the disk, then
the daemon resets the board on an indicator with recovery_device = rtc,
rtc_mode = off, and rtc_path not set (devtmpfs alone: only /dev/rtc0, no
/dev/rtc link; item 10). The host reads back the CMOS clock and alarm (date
in 2040, alarm rtc_wake_delay ahead), and from the disk the new record
(time in 2040, epoch after 2^31) and what `status` printed.

x86_64's time_t was always 64 bits: this passes with any build there. The
32-bit builds are proved by d30_y2040_armv7 and d31_y2040_mipsel, which share
the old record, the config and the record checks (`_y2040.py`); they have no
disk, so their evidence of the record comes from the console.
"""
from scenario import Scenario, ACTIONS_PAUSE
from _common import powered_off
from _y2040 import DELAY, OLD_RECORD, config, record_checks, cmos_year, took_rtc0
import evidence

GUEST = r"""
mount -t ext4 /dev/vda /mnt || say "cannot mount the disk"
date -u -s "2040-01-01 00:00:00" > /dev/null
hwclock -w -u || say "hwclock -w failed"
stability --config /etc/stability/config.ini status > /mnt/status-2040.txt 2>&1
sync
start_daemon --config /etc/stability/config.ini
sleep 2
create_indicator fault
sleep 70
say "still running 70 s after the indicator"
"""

# No rtc_path: the first of /dev/rtc, /dev/rtc0, /dev/misc/rtc that exists.
CONFIG = config("/mnt/state", "off")


def y2040_checks(run):
    """The disk's evidence: `status` read the 2040 record, and the daemon
    wrote a new one with the wall clock in 2040."""
    record_checks(run, evidence.disk_read(run.disk, "/status-2040.txt") or "",
                  evidence.disk_read(run.disk, "/state/reset-record") or "")


def check(run):
    before = powered_off(run)
    c = evidence.CmosAlarm(run.vm)
    year = cmos_year(run.vm, c.reg_b)
    run.note(f"{c!r}, CMOS year {year}")
    run.expect(year == 2040, f"the CMOS clock says {year}, not 2040 (hwclock -w?)")
    left = c.seconds_until_alarm()
    run.expect(c.aie and left is not None, f"no CMOS alarm armed: {c}")
    elapsed = run.vm.now() - before
    run.metric("alarm_ahead_s", left)
    run.expect(DELAY - elapsed - 2 <= left <= DELAY + 1,
               f"alarm {left} s ahead of the CMOS clock, expected {DELAY} s less {elapsed:.1f} s")
    run.vm.stop()
    y2040_checks(run)
    took_rtc0(run)


SCENARIO = Scenario(
    name="d13_y2040_x86", check=check, guest=GUEST, daemon=True, actions=ACTIONS_PAUSE,
    config=CONFIG, disk={"/state/reset-record": OLD_RECORD},
    modules=("i6300esb", "virtio_pci", "virtio_blk", "ext4", "crc32c_generic"),
    timeout=120,
    doc="clock and RTC in 2040, rtc_path unset: status reads a 2040 record, the new record and "
        "the CMOS alarm are in 2040")
