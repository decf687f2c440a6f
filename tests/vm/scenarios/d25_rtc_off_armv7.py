from scenario import Scenario, ACTIONS_PAUSE, AW_WDT_TRACE
from _common import RTC_OFF_CONFIG, RTC_OFF_DELAY as DELAY, RTC_OFF_GUEST, powered_off
import evidence

# rtc + off on the H3's sun6i RTC. QEMU's allwinner-rtc model neither keeps
# the alarm registers (they read 0 through the bus) nor lets its clock tick
# (the time is the host's at reset, frozen): what the host can observe is the
# guest driver's writes, traced with host timestamps. The Linux driver sets a
# countdown: ALARM0_COUNTER = alarm - RTC time, which with the frozen clock is
# rtc_wake_delay exactly; then the counter enable, its interrupt and the
# wake-up output. Then the power-off (PSCI SYSTEM_OFF) pauses the machine.
RTC_BASE = 0x01F00000
COUNTER, ENABLE, IRQ_EN, CONFIG = 0x20, 0x28, 0x2C, 0x50


def check(run):
    before = powered_off(run)
    regs = {off: evidence.phys_word(run.vm, RTC_BASE + off) for off in (COUNTER, ENABLE, IRQ_EN, CONFIG)}
    run.note("H3 RTC through the bus (QEMU keeps none of these): "
             + " ".join(f"{off:#x}={v:#x}" for off, v in regs.items()))
    writes = [(t, off, v) for t, off, v in run.aw_rtc_writes() if t >= before]
    last = {}
    for t, off, v in writes:
        last[off] = (t, v)
    run.expect(COUNTER in last and last[COUNTER][1] != 0,
               f"no alarm counter written after the indicator (RTC writes: "
               f"{[(round(t, 3), hex(o), v) for t, o, v in writes]})")
    t_set, counter = last[COUNTER]
    run.metric("alarm_counter_s", counter)
    run.metric("indicator_to_alarm_write_s", t_set - before)
    run.expect(counter == DELAY, f"alarm counter {counter} s, expected rtc_wake_delay = {DELAY} s"
                                 " (QEMU's H3 RTC does not tick)")
    for off, what in ((ENABLE, "counter enable"), (IRQ_EN, "alarm interrupt"),
                      (CONFIG, "wake-up output")):
        run.expect(off in last and last[off][1] & 1 and last[off][0] >= t_set,
                   f"the alarm's {what} ({off:#x}) was not set after the counter:"
                   f" {last.get(off)}")
    wd = run.vm.find_events("WATCHDOG")
    run.expect(not wd, f"WATCHDOG events in rtc mode: {wd}")


SCENARIO = Scenario(
    name="d25_rtc_off_armv7", check=check, guest=RTC_OFF_GUEST, daemon=True, actions=ACTIONS_PAUSE,
    arch="armv7", trace=AW_WDT_TRACE + ("allwinner_rtc_write",), config=RTC_OFF_CONFIG, timeout=90,
    doc="orangepi-pc rtc + off: power-off; traced sun6i alarm writes: counter = rtc_wake_delay,"
        " enable, IRQ and wake-up set")
