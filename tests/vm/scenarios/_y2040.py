"""The wall clock in 2040 (issue 14, item 8): what d13 (x86_64, evidence on
its disk) and d30/d31 (armv7, mipsel: no disk in this harness, evidence on
the console) share: the old record, the config, and the checks of what
`status` printed and of the record the daemon wrote."""
import re

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


# -- the 32-bit boards (d30, d31): no disk, so the console carries it ----------
STATE_DIR = "/run/state"     # tmpfs
RECORD = STATE_DIR + "/reset-record"
STATUS_TAG, RECORD_TAG, DONE = "@@status ", "@@record ", "@@ y2040 done"

# The clock set to 2040 (SET_CLOCK_*: below), the old record written, `status` relayed
# line by line; then the daemon (as _common.START, without its /dev/rtc link:
# rtc_path is unset, devtmpfs has /dev/rtc0 only), the indicator, and once the
# daemon has replaced the record (seq 41 gone; 30 s at most), the new record
# relayed. rtc_mode = no: the daemon sets the alarm and keeps monitoring.
# The daemon is called by its path, not found through PATH: once the clock
# is past 2038, the 32-bit busybox's stat fails (EOVERFLOW) on a file whose
# atime or ctime is (relatime sets the binary's atime at its first run), and
# ash then cannot find the command ("Value too large for defined data type").
GUEST_32 = r"""
%(setclock)s
mkdir -p %(dir)s
%(printf)s
{ /bin/stability --config /etc/stability/config.ini status 2>&1; echo "exit status $?"; } | sed 's/^/%(status)s/'
echo enabled > /sys/class/rtc/rtc0/device/power/wakeup 2>/dev/null
/bin/stability --config /etc/stability/config.ini > /dev/console 2>&1 9>&- &
DAEMON_PID=$!
say "daemon pid $DAEMON_PID"
sleep 2
sleep "0.$(printf '%%03d' $((RANDOM %% 1000)))"
kill -0 "$DAEMON_PID" || say "the daemon is not running"
create_indicator fault
n=0
while grep -q '^seq=41$' %(record)s && [ "$n" -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
sleep 1
sed 's/^/%(rec)s/' %(record)s
say "y2040 done"
kill -0 "$DAEMON_PID" || say "the daemon is not running after the alarm"
sleep 120
say "still running 120 s after the indicator"
"""

# Setting the clock: Debian bookworm's armhf and mipsel busybox have a 32-bit
# time_t, so their `date -s` refuses 2040 ("invalid date") and their `hwclock`
# can neither read nor write it (time() overflows). /bin/setclock
# (harness/setclock.py, a few instructions laid out by hand) does what
# `date -u -s "2040-01-01 00:00:00"; hwclock -w -u` would:
# - H3: clock_settime64 only. The RTC stays where QEMU started it (the host's
#   time, frozen), and Linux's sun6i-rtc ends the H3 RTC's range at
#   2033-12-31 23:59:59: no H3 holds 2040 in its RTC.
# - Malta: clock_settime64, then RTC_SET_TIME on /dev/rtc0 (the MC146818
#   holds 2040). Booting in 2040 instead (QEMU -rtc base, the kernel's
#   hctosys) was tried: busybox's 32-bit stat then fails on every file made
#   at boot (EOVERFLOW: `--install`, `mkdir -p`, `[ -c ]`), and the guest
#   harness with it.
SET_CLOCK = 'setclock || say "setclock failed: exit status $?"'
RTC_2040 = (0, 0, 0, 1, 0, 140, 0, 0, 0)   # struct rtc_time: 2040-01-01 00:00:00 (a Sunday)


def guest_32():
    return GUEST_32 % {"setclock": SET_CLOCK, "dir": STATE_DIR,
                       "printf": printf_record(RECORD), "record": RECORD,
                       "status": STATUS_TAG, "rec": RECORD_TAG}


def setclock_arm(cpio, host):
    """Scenario.initramfs hook: /bin/setclock, the wall clock to 2040-01-01T00:00:00Z."""
    import setclock
    cpio.file("bin/setclock", setclock.arm_elf(Y2040), 0o755)


def setclock_mipsel(cpio, host):
    """Scenario.initramfs hook: /bin/setclock, the wall clock and the RTC to 2040-01-01T00:00:00Z."""
    import setclock
    cpio.file("bin/setclock", setclock.mipsel_elf(Y2040, RTC_2040), 0o755)


CONFIG_32 = config(STATE_DIR, "no")


def relayed(run, tag):
    """The text the guest relayed under `tag`: the daemon's own output."""
    return "\n".join(ln.text.split(tag, 1)[1] for ln in run.guest_said(re.escape(tag))) + "\n"


def console_checks(run, before):
    """After the indicator at host time `before`: the guest relayed the new
    record; no power-off, reset or watchdog (rtc_mode = no); then the checks
    of `status` and of the record, from the console. Returns the host time
    of the guest's DONE line."""
    done = run.vm.wait_line(re.escape(DONE), 60, after=before)
    run.expect(done is not None, f"the guest did not relay the new record within 60 s after the"
                                 f" indicator (events: {run.vm.events})")
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "RESET", "SHUTDOWN")]
    run.expect(not bad, f"rtc_mode = no, yet the machine stopped or reset: {bad}")
    run.metric("indicator_to_record_relayed_s", done.t - before)
    record_checks(run, relayed(run, STATUS_TAG), relayed(run, RECORD_TAG))
    took_rtc0(run)
    return done.t
