from scenario import Scenario, ACTIONS_PAUSE
from _common import RTC_OFF_CONFIG, RTC_OFF_DELAY as DELAY, RTC_OFF_GUEST, powered_off
import evidence


def check(run):
    before = powered_off(run)
    c = evidence.CmosAlarm(run.vm)
    pm = evidence.pm1_en(run.vm)
    run.note(repr(c))
    run.note(f"PM1_EN={pm:#06x}")
    left = c.seconds_until_alarm()
    run.expect(c.aie, f"the CMOS alarm interrupt is not enabled (AIE clear): {c}")
    run.expect(left is not None, f"no complete alarm time in CMOS: {c}")
    # The alarm was set rtc_wake_delay after some moment between the indicator and
    # the power-off; the host reads the clock a little after the power-off.
    elapsed = run.vm.now() - before
    run.metric("alarm_ahead_s", left)
    run.expect(DELAY - elapsed - 2 <= left <= DELAY + 1,
               f"alarm {left} s ahead of the CMOS clock, expected {DELAY} s minus the "
               f"{elapsed:.1f} s since the indicator")
    run.expect(pm & 0x400, f"PM1_EN RTC_EN clear ({pm:#06x}): the RTC cannot wake the machine from S5")


SCENARIO = Scenario(
    name="d05_rtc_off_x86", check=check, guest=RTC_OFF_GUEST, daemon=True, actions=ACTIONS_PAUSE,
    config=RTC_OFF_CONFIG,
    timeout=90, doc="rtc + off: power-off with the CMOS alarm set rtc_wake_delay ahead, AIE and RTC_EN set")
