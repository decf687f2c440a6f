from scenario import Scenario, ACTIONS_PAUSE, AW_WDT_TRACE
from _common import RTC_OFF_CONFIG, RTC_OFF_DELAY as DELAY, RTC_OFF_GUEST, powered_off, h3_alarm_set

# rtc + off on the H3's sun6i RTC: what the host can observe of the alarm is
# the driver's traced writes (see h3_alarm_set); then the power-off (PSCI
# SYSTEM_OFF) pauses the machine.


def check(run):
    before = powered_off(run)
    h3_alarm_set(run, before, DELAY)


SCENARIO = Scenario(
    name="d25_rtc_off_armv7", check=check, guest=RTC_OFF_GUEST, daemon=True, actions=ACTIONS_PAUSE,
    arch="armv7", trace=AW_WDT_TRACE + ("allwinner_rtc_write",), config=RTC_OFF_CONFIG, timeout=90,
    doc="orangepi-pc rtc + off: power-off; traced sun6i alarm writes: counter = rtc_wake_delay,"
        " enable, IRQ and wake-up set")
