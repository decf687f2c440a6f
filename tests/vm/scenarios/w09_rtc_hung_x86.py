from scenario import Scenario, ACTIONS_PAUSE
import _worst as w
import evidence

# recovery_device = rtc, reboot with state_dir hung: the alarm set in the
# future and the power-off within the bound, never waiting for storage.
DELAY = 60
GUEST = w.HANG_FUSE + w.START + r"""
hang_fuse /var/lib/stability
create_indicator fault
sleep 40
say "still running 40 s after the indicator"
"""


def check(run):
    before = run.mark("fault-before", 90)
    sd = run.event("SHUTDOWN", w.BOUND + 25, after=before)
    run.expect(sd.data.get("reason") == "guest-shutdown", f"SHUTDOWN reason {sd.data}")
    latency = sd.t - before
    run.metric("indicator_to_poweroff_s", latency)
    run.expect(latency <= w.BOUND, f"indicator -> power-off took {latency:.2f} s, bound {w.BOUND:.1f} s")
    run.event("STOP", 5, after=sd.t)
    c = evidence.CmosAlarm(run.vm)
    run.note(repr(c))
    left = c.seconds_until_alarm()
    run.expect(c.aie and left is not None, f"no CMOS alarm armed: {c}")
    elapsed = run.vm.now() - before
    run.metric("alarm_ahead_s", left)
    run.expect(DELAY - elapsed - 2 <= left <= DELAY + 1,
               f"alarm {left} s ahead, expected {DELAY} s less the {elapsed:.1f} s since the indicator")
    run.expect(evidence.pm1_en(run.vm) & 0x400, "PM1_EN RTC_EN clear: the RTC cannot wake the machine")


SCENARIO = Scenario(
    name="w09_rtc_hung_x86", group="worst", check=check, guest=GUEST, actions=ACTIONS_PAUSE,
    config=w.config(general={"recovery_device": "rtc, reboot"},
                    rtc={"rtc_mode": "off", "rtc_wake_delay": str(DELAY)}),
    modules=("i6300esb", "fuse"), daemon=True, timeout=90,
    doc="rtc, reboot with state_dir hung: alarm ahead and power-off within deadline + 3 s")
