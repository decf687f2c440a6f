"""The wall clock in 2040 on the H3 (armv7, 32-bit: issue 14 item 8), d13's
32-bit counterpart.

The guest sets its clock to 2040-01-01 and writes it to the RTC (hwclock -w),
writes a reset record from 2040 (seq 41) to state_dir (tmpfs) and runs
`status`; then the daemon, rtc_path unset, recovery_device = rtc with
rtc_mode = no (the alarm is set and the daemon keeps monitoring), and the
indicator.

Host evidence: the alarm, traced as in d25 (ALARM0_COUNTER = rtc_wake_delay,
then enable, interrupt, wake-up), and neither power-off nor reset. The
record evidence (what `status` read back: record.time=2040-01-01T00:00:00Z,
record.epoch=2208988800; the new record: seq 42, time 2040-01-01T00:…,
epoch in [2208988800, +600]) comes from the console, because these machines
have no disk in this harness: it is the daemon's own output (its `status`
and the file it wrote), which the guest script only relays, line by line,
under the tags `@@status ` and `@@record `.

A build whose time_t is 32 bits (the libc crate without
`--cfg libc_unstable_musl_v1_2`) cannot read a 2040 wall clock
(clock_gettime fails with EOVERFLOW): this scenario fails with it.
"""
from scenario import Scenario, AW_WDT_TRACE
from _common import indicator, nothing_before, h3_alarm_set
from _y2040 import DELAY, CONFIG_32, console_checks, guest_32, setclock_arm


def check(run):
    before, _ = indicator(run, timeout=90)
    nothing_before(run, before)
    console_checks(run, before)
    run.vm.stop()   # the trace log is complete once QEMU has ended
    t_set = h3_alarm_set(run, before, DELAY)
    run.expect(t_set - before <= 15, f"the alarm was written {t_set - before:.2f} s after the indicator")


SCENARIO = Scenario(
    name="d30_y2040_armv7", check=check, guest=guest_32(), daemon=True, arch="armv7", initramfs=setclock_arm,
    trace=AW_WDT_TRACE + ("allwinner_rtc_write",), config=CONFIG_32, timeout=150,
    doc="orangepi-pc, clock and RTC in 2040, rtc + no: status reads a 2040 record, the new record"
        " is in 2040 (console); traced sun6i alarm counter = rtc_wake_delay")
