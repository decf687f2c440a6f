from scenario import Scenario, ACTIONS_PAUSE
import evidence

DELAY = 60

GUEST = r"""
cat /sys/class/rtc/rtc0/name
echo enabled > /sys/class/rtc/rtc0/device/power/wakeup 2>/dev/null
mark set-alarm
echo +%d > /sys/class/rtc/rtc0/wakealarm
cat /proc/driver/rtc
poweroff -f
""" % DELAY


def check(run):
    run.mark("set-alarm", 90)
    reason = run.shutdown_reason(30)
    run.expect(reason == "guest-shutdown", f"SHUTDOWN reason {reason}")
    run.event("STOP", 5)
    regs = evidence.pl031(run.vm)
    run.note("PL031 " + " ".join(f"{k}={v:#x}" for k, v in regs.items()))
    # What QOM shows of the device (investigation: is the match register a property?)
    props = run.vm.qmp("qom-list-properties", typename="pl031")
    run.note("pl031 QOM properties: " + ",".join(p["name"] for p in props))
    writes = run.vm.trace_lines(r"^pl031_(write|set_alarm)")
    run.note(f"pl031 traced writes: {writes}")
    left = regs["MR"] - regs["DR"]
    run.metric("match_minus_counter_s", left)
    run.expect(regs["IMSC"] & 1, "PL031 alarm interrupt not enabled (IMSC bit 0)")
    run.expect(DELAY - 10 <= left <= DELAY, f"match register is {left} s ahead, expected <= {DELAY}")


SCENARIO = Scenario(
    name="smoke_pl031_arm64", group="smoke", check=check, guest=GUEST, arch="aarch64",
    machine="virt", actions=ACTIONS_PAUSE, trace=("pl031_write", "pl031_set_alarm"), timeout=90,
    doc="aarch64 PL031: wakealarm +60 then poweroff; read MR/DR/IMSC through the bus")
