from scenario import Scenario, ACTIONS_PAUSE
from _common import RTC_OFF_CONFIG, RTC_OFF_DELAY as DELAY, START, powered_off, SOFTDOG
import evidence

# rtc + off on the Malta's MC146818 (rtc_cmos, the PIIX4's). The alarm is set
# through RTC_WKALM_SET, an _IOW request whose number differs on MIPS.
# The host reads the CMOS through HMP port I/O after the power-off, as on
# x86, and traces the guest's CMOS writes (memory_region_ops_write, switched
# on at the marker trace-on, after the boot's ~300,000 CMOS index writes).
#
# What the host sees: the daemon writes the alarm (hh:mm:ss, rtc_wake_delay
# ahead) and sets AIE; then Linux's rtc_cmos, at the power-off, clears AIE
# again: this RTC has no wake-up capability on the Malta (no
# power/wakeup in sysfs, device_may_wakeup() false), so its shutdown hook
# disarms the alarm. QEMU's Malta could not power on at the alarm anyway.
GUEST = START + r"""
mark trace-on
sleep 0.5
create_indicator fault
sleep 60
say "still running 60 s after the indicator"
"""

AIE = 0x20


def check(run):
    run.mark("trace-on", 60)
    run.vm.qmp("trace-event-set-state", name="memory_region_ops_write", enable=True)
    on = run.vm.now()
    before = powered_off(run)
    run.expect(before > on + 0.1, "the trace was switched on after the indicator")
    c = evidence.CmosAlarm(run.vm)
    run.note(repr(c))
    left = c.seconds_until_alarm()
    run.expect(left is not None, f"no complete alarm time in CMOS: {c}")
    elapsed = run.vm.now() - before
    run.metric("alarm_ahead_s", left)
    run.expect(DELAY - elapsed - 2 <= left <= DELAY + 1,
               f"alarm {left} s ahead of the CMOS clock, expected {DELAY} s minus the "
               f"{elapsed:.1f} s since the indicator")
    run.vm.stop()   # the trace log is complete once QEMU has ended
    writes = evidence.cmos_writes(run, after=before)
    alarm = [(t, r, v) for t, r, v in writes if r in (0x01, 0x03, 0x05)]
    run.expect(len({r for _, r, _ in alarm}) == 3,
               f"the alarm registers were not all written after the indicator: {writes}")
    armed = [t for t, r, v in writes if r == 0x0B and v & AIE]
    run.expect(armed, f"AIE never set in register B after the indicator (CMOS writes: {writes})")
    run.expect(armed[0] >= max(t for t, _, _ in alarm), "AIE set before the alarm time was written")
    run.metric("indicator_to_aie_s", armed[0] - before)
    cleared = [t for t, r, v in writes if r == 0x0B and not v & AIE and t > armed[0]]
    if cleared:
        run.note(f"AIE cleared {cleared[0] - armed[0]:.3f} s after it was set: rtc_cmos's"
                 f" shutdown hook (no wake-up capability on this board)")
    run.note(f"register B at the end {c.reg_b:#04x}")


SCENARIO = Scenario(
    name="d29_rtc_off_mipsel", check=check, guest=GUEST, daemon=True, actions=ACTIONS_PAUSE,
    arch="mipsel", module_args=SOFTDOG, config=RTC_OFF_CONFIG, timeout=90,
    # Listed so that QEMU opens its trace log; switched on at run time.
    trace=("malta_fpga_leds",),
    doc="malta rtc + off: power-off; CMOS alarm rtc_wake_delay ahead (HMP), AIE set by the"
        " daemon (traced; Linux clears it at power-off: no wake-up on this board)")
