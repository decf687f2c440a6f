"""The wall clock in 2040 on the Malta (mipsel, 32-bit: issue 14 item 8),
d13's 32-bit counterpart.

The guest sets its clock to 2040-01-01 and writes it to the RTC (hwclock -w),
writes a reset record from 2040 (seq 41) to state_dir (tmpfs) and runs
`status`; then the daemon, rtc_path unset, recovery_device = rtc with
rtc_mode = no (the alarm is set and the daemon keeps monitoring), and the
indicator.

Host evidence: the PIIX4's CMOS read through HMP port I/O, with the machine
stopped once the guest has relayed the new record: the year 2040 (century
0x32, year 0x09, as d13), the alarm rtc_wake_delay ahead of the CMOS clock
less the time since the indicator, and AIE set. On the Malta rtc_cmos clears
AIE at power-off (no wake-up capability: d29); there is no power-off here,
and the alarm cannot have fired yet (the CMOS is read well before
rtc_wake_delay has passed), so AIE must still be set. Neither power-off nor
reset. The record evidence (what `status` read back:
record.time=2040-01-01T00:00:00Z, record.epoch=2208988800; the new record:
seq 42, time 2040-01-01T00:…, epoch in [2208988800, +600]) comes from the
console, because these machines have no disk in this harness: it is the
daemon's own output (its `status` and the file it wrote), which the guest
script only relays, line by line, under the tags `@@status ` and `@@record `.

A build whose time_t is 32 bits (the libc crate without
`--cfg libc_unstable_musl_v1_2`) cannot read a 2040 wall clock
(clock_gettime fails with EOVERFLOW): this scenario fails with it.
"""
from scenario import Scenario
from _common import indicator, nothing_before, SOFTDOG
from _y2040 import DELAY, CONFIG_32, console_checks, cmos_year, guest_32, setclock_mipsel
import evidence


def check(run):
    before, _ = indicator(run, timeout=90)
    nothing_before(run, before)
    console_checks(run, before)
    run.vm.qmp("stop")     # the guest sleeps: nothing of it touches the CMOS index meanwhile
    elapsed = run.vm.now() - before
    run.expect(elapsed < DELAY - 10, f"the CMOS read {elapsed:.1f} s after the indicator: the"
                                     f" alarm ({DELAY} s) may have fired already")
    c = evidence.CmosAlarm(run.vm)
    year = cmos_year(run.vm, c.reg_b)
    run.note(f"{c!r}, CMOS year {year}")
    run.expect(year == 2040, f"the CMOS clock says {year}, not 2040 (hwclock -w?)")
    left = c.seconds_until_alarm()
    run.expect(left is not None, f"no complete alarm time in CMOS: {c}")
    run.metric("alarm_ahead_s", left)
    run.metric("cmos_read_after_indicator_s", elapsed)
    run.expect(DELAY - elapsed - 2 <= left <= DELAY + 1,
               f"alarm {left} s ahead of the CMOS clock, expected {DELAY} s less {elapsed:.1f} s")
    run.expect(c.aie, f"AIE clear with the alarm pending and no power-off: {c}")


SCENARIO = Scenario(
    name="d31_y2040_mipsel", check=check, guest=guest_32(), daemon=True, arch="mipsel", initramfs=setclock_mipsel,
    module_args=SOFTDOG, config=CONFIG_32, timeout=150,
    doc="malta, clock and RTC in 2040, rtc + no: status reads a 2040 record, the new record is"
        " in 2040 (console); CMOS year 2040, alarm rtc_wake_delay ahead, AIE set")
