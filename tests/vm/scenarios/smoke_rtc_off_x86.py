from scenario import Scenario, ACTIONS_PAUSE
import evidence

DELAY = 60

GUEST = r"""
echo enabled > /sys/class/rtc/rtc0/device/power/wakeup
mark set-alarm
echo +%d > /sys/class/rtc/rtc0/wakealarm
poweroff -f
""" % DELAY


def check(run):
    run.mark("set-alarm", 60)
    reason = run.shutdown_reason(20)
    run.expect(reason == "guest-shutdown", f"SHUTDOWN reason {reason}")
    run.event("STOP", 5)
    c = evidence.CmosAlarm(run.vm)
    pm = evidence.pm1_en(run.vm)
    run.note(repr(c))
    run.note(f"PM1_EN={pm:#06x}")
    left = c.seconds_until_alarm()
    run.expect(left is not None, f"no full alarm time in CMOS: {c}")
    run.metric("alarm_minus_cmos_time_s", left)
    run.expect(c.aie, "AIE (register B bit 5) is not set")
    run.expect(DELAY - 10 <= left <= DELAY, f"alarm is {left} s ahead, expected <= {DELAY}")


SCENARIO = Scenario(
    name="smoke_rtc_off_x86", group="smoke", check=check, guest=GUEST, actions=ACTIONS_PAUSE,
    timeout=60, doc="wakealarm +60 then poweroff: CMOS alarm regs and PM1_EN via HMP")
