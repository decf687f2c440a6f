"""The wall clock and the RTC in 2040 (issue 14, item 8), on a real kernel.

The guest sets its clock to 2040-01-01 and writes it to the RTC (hwclock -w),
runs `status` on a reset record from 2040 that the host put on the disk, then
the daemon resets the board on an indicator with recovery_device = rtc,
rtc_mode = off, and rtc_path not set (devtmpfs alone: only /dev/rtc0, no
/dev/rtc link; item 10). The host reads back the CMOS clock and alarm (date
in 2040, alarm rtc_wake_delay ahead), and from the disk the new record
(time in 2040, epoch after 2^31) and what `status` printed.

x86_64's time_t was always 64 bits: this passes with any build there. The
same scenario on the 32-bit machines (armv7, mipsel: branch vm-arch) is what
proves the 32-bit builds; `y2040_checks` is meant to be shared with them,
with their own RTC reader in place of the CMOS one.
"""
from scenario import Scenario, ACTIONS_PAUSE
from _common import ini, powered_off
import evidence

Y2040 = 2_208_988_800
DELAY = 60

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
CONFIG = "\n".join(
    line for line in ini(general={"recovery_device": "rtc", "state_dir": "/mnt/state"},
                         rtc={"rtc_mode": "off", "rtc_wake_delay": str(DELAY)}).splitlines()
    if not line.startswith("rtc_path")) + "\n"

OLD_RECORD = ("format=1\nseq=41\ntime=2040-01-01T00:00:00Z\nepoch=%d\ntrigger=indicator\n"
              "source=/run/ind\nreason=written by the host, in 2040\n" % Y2040)


def y2040_checks(run):
    """The disk's evidence, any architecture: `status` read the 2040 record,
    and the daemon wrote a new one with the wall clock in 2040."""
    status = evidence.disk_read(run.disk, "/status-2040.txt") or ""
    run.expect("record.time=2040-01-01T00:00:00Z" in status and f"record.epoch={Y2040}" in status,
               f"status did not read the 2040 record back: {status!r}")
    rec = evidence.disk_read(run.disk, "/state/reset-record") or ""
    fields = dict(line.split("=", 1) for line in rec.splitlines() if "=" in line)
    run.note(f"record: time={fields.get('time')} epoch={fields.get('epoch')} seq={fields.get('seq')}")
    run.expect(fields.get("seq") == "42", f"no new record after the 2040 one: {rec!r}")
    epoch = int(fields.get("epoch", "0") or 0)
    run.expect(Y2040 <= epoch <= Y2040 + 600,
               f"the record's epoch {epoch} is not the guest's clock in 2040 (>= {Y2040})")
    run.expect(fields.get("time", "").startswith("2040-01-01T00:"), f"record time {fields.get('time')}")


def cmos_year(vm, reg_b):
    conv = (lambda v: v) if reg_b & 0x04 else evidence._bcd
    return conv(evidence.cmos(vm, 0x32)) * 100 + conv(evidence.cmos(vm, 0x09))


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
    said = run.guest_said(r"rtc_path is not set: .*: /dev/rtc0")
    run.expect(said, "the daemon did not say it took /dev/rtc0 (rtc_path not set)")


SCENARIO = Scenario(
    name="d13_y2040_x86", check=check, guest=GUEST, daemon=True, actions=ACTIONS_PAUSE,
    config=CONFIG, disk={"/state/reset-record": OLD_RECORD},
    modules=("i6300esb", "virtio_pci", "virtio_blk", "ext4", "crc32c_generic"),
    timeout=120,
    doc="clock and RTC in 2040, rtc_path unset: status reads a 2040 record, the new record and "
        "the CMOS alarm are in 2040")
