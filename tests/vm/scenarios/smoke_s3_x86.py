from scenario import Scenario

GUEST = r"""
echo enabled > /sys/class/rtc/rtc0/device/power/wakeup
mark before-suspend
echo +5 > /sys/class/rtc/rtc0/wakealarm
echo mem > /sys/power/state
mark resumed
"""


def check(run):
    before = run.mark("before-suspend", 60)
    sus = run.event("SUSPEND", 20, after=before)
    wake = run.event("WAKEUP", 20, after=sus.t)
    resumed = run.mark("resumed", 20)
    run.expect(resumed > wake.t, "the guest went on before the WAKEUP event")
    reason = run.shutdown_reason(15, after=resumed)
    run.expect(reason == "guest-shutdown", f"SHUTDOWN reason {reason}")
    run.metric("mark_to_suspend_s", sus.t - before)
    run.metric("suspend_to_wakeup_s", wake.t - sus.t)
    run.metric("mark_to_wakeup_s", wake.t - before)
    run.expect(3.0 <= wake.t - sus.t <= 6.5, f"woke {wake.t - sus.t:.2f} s after suspending, expected ~5")


SCENARIO = Scenario(
    name="smoke_s3_x86", group="smoke", check=check, guest=GUEST, machine="pc-s3", timeout=90,
    doc="sysfs wakealarm +5, mem sleep on pc (bzImage): SUSPEND then WAKEUP ~5 s later")
