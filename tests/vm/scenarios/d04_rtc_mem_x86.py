from scenario import Scenario
from _common import ini, START, indicator, nothing_before, INTERVAL

DELAY = 5


def guest(delay=DELAY):
    return START + r"""
create_indicator fault1
wait_suspends 1 30 || say "no suspend"
rm -f /run/ind
say "wakealarm after resume: '$(cat /sys/class/rtc/rtc0/wakealarm)'"
sleep 2
create_indicator fault2
wait_suspends 2 30 || say "no second suspend"
rm -f /run/ind
say "wakealarm after resume: '$(cat /sys/class/rtc/rtc0/wakealarm)'"
sleep 2
kill -0 "$DAEMON_PID" && say "the daemon still runs"
mark end
"""


def cycle(run, name, delay=DELAY):
    before, _ = indicator(run, name)
    sus = run.event("SUSPEND", INTERVAL + 2 + 10, after=before)
    wake = run.event("WAKEUP", delay + 15, after=sus.t)
    run.metric(f"{name}_indicator_to_suspend_s", sus.t - before)
    run.metric(f"{name}_suspend_to_wakeup_s", wake.t - sus.t)
    run.expect(sus.t - before <= INTERVAL + 2, f"{name}: SUSPEND {sus.t - before:.2f} s after the indicator")
    run.expect(delay - 1.5 <= wake.t - sus.t <= delay + 1.5,
               f"{name}: WAKEUP {wake.t - sus.t:.2f} s after SUSPEND, rtc_wake_delay is {delay}")
    return before, sus, wake


def check(run, delay=DELAY):
    b1, s1, w1 = cycle(run, "fault1", delay)
    nothing_before(run, b1)
    b2, s2, w2 = cycle(run, "fault2", delay)
    between = [e for e in run.vm.find_events("SUSPEND", after=w1.t) if e.t < b2]
    run.expect(not between, f"suspended again with no new indicator: {between}")
    end = run.mark("end", 30)
    later = [e for e in run.vm.events if e.name in ("SUSPEND",) and e.t > s2.t]
    run.expect(not later, f"extra suspends after the second fault: {later}")
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "RESET", "SHUTDOWN") and e.t < end]
    run.expect(not bad, f"unexpected {bad}")


def config(backend="ioctl", delay=DELAY):
    return ini(general={"recovery_device": "rtc", "max_resets": "10"},
               rtc={"rtc_mode": "mem", "rtc_wake_delay": str(delay), "rtc_backend": backend})


SCENARIO = Scenario(
    name="d04_rtc_mem_x86", check=check, guest=guest(), config=config(), daemon=True,
    machine="pc-s3", timeout=120,
    doc="rtc + mem: SUSPEND, WAKEUP after rtc_wake_delay, and a second fault handled the same way")
