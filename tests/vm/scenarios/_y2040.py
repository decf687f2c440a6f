"""The wall clock in 2040 (issue 14, item 8): what d13 and the 32-bit
scenarios share: the old record, the config, and the checks of what
`status` printed and of the record the daemon wrote."""
from _common import ini
import evidence

# 2040-01-01T00:00:00Z: past 2^31 - 1 (2038-01-19), where a 32-bit time_t ends.
Y2040 = 2_208_988_800
DELAY = 60

# A reset record from 2040 (seq 41): `status` must read it back, and the
# daemon's next one must be seq 42.
OLD_RECORD = ("format=1\nseq=41\ntime=2040-01-01T00:00:00Z\nepoch=%d\ntrigger=indicator\n"
              "source=/run/ind\nreason=written by the host, in 2040\n" % Y2040)


def config(state_dir, rtc_mode, delay=DELAY):
    """recovery_device = rtc with no rtc_path: the daemon takes the first of
    /dev/rtc, /dev/rtc0, /dev/misc/rtc that exists (hwclock's order)."""
    return "\n".join(
        line for line in ini(general={"recovery_device": "rtc", "state_dir": state_dir},
                             rtc={"rtc_mode": rtc_mode, "rtc_wake_delay": str(delay)}).splitlines()
        if not line.startswith("rtc_path")) + "\n"


def printf_record(path):
    """A guest command that writes OLD_RECORD to `path` (busybox printf)."""
    assert "'" not in OLD_RECORD and "%" not in OLD_RECORD and "\\" not in OLD_RECORD
    return "printf '%s' > %s" % (OLD_RECORD.replace("\n", "\\n"), path)


def record_checks(run, status, rec):
    """`status` (its output) read the 2040 record, and the daemon wrote a new
    one (`rec`, the reset-record file) with the wall clock in 2040."""
    run.expect("record.time=2040-01-01T00:00:00Z" in status and f"record.epoch={Y2040}" in status,
               f"status did not read the 2040 record back: {status!r}")
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


def took_rtc0(run):
    """The daemon's word that it found /dev/rtc0 itself (rtc_path unset): can only fail."""
    said = run.guest_said(r"rtc_path is not set: .*: /dev/rtc0")
    run.expect(said, "the daemon did not say it took /dev/rtc0 (rtc_path not set)")

