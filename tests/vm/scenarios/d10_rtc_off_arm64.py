from scenario import Scenario, ACTIONS_PAUSE
from _common import ini, START, indicator, nothing_before, INTERVAL
import evidence

DELAY = 60

GUEST = START + r"""
create_indicator fault
sleep 60
say "still running 60 s after the indicator"
"""


def check(run):
    before, _ = indicator(run)
    nothing_before(run, before)
    sd = run.event("SHUTDOWN", INTERVAL + 30, after=before)
    run.expect(sd.data.get("reason") == "guest-shutdown", f"SHUTDOWN reason {sd.data}")
    run.metric("indicator_to_poweroff_s", sd.t - before)
    run.event("STOP", 5, after=sd.t)
    # QEMU's PL031 cannot power the virt machine on again; what the host can see
    # is the armed alarm: the match register, the interrupt mask, the traced write.
    regs = evidence.pl031(run.vm)
    run.note("PL031 " + " ".join(f"{k}={v:#x}" for k, v in regs.items()))
    writes = [(t, text) for t, text in run.vm.trace_lines(r"^pl031_write addr 0x0+4 ") if t >= before]
    run.expect(writes, "no write to the PL031 match register after the indicator")
    left = regs["MR"] - regs["DR"]
    elapsed = run.vm.now() - before
    run.metric("match_ahead_s", left)
    run.metric("indicator_to_alarm_write_s", writes[-1][0] - before)
    run.expect(regs["IMSC"] & 1, "PL031 alarm interrupt masked (IMSC bit 0 clear)")
    run.expect(DELAY - elapsed - 2 <= left <= DELAY + 1,
               f"match register {left} s ahead of the counter, expected {DELAY} s minus {elapsed:.1f} s")
    run.expect(sd.t - before <= INTERVAL + 3, f"power-off {sd.t - before:.2f} s after the indicator")


SCENARIO = Scenario(
    name="d10_rtc_off_arm64", check=check, guest=GUEST, daemon=True, actions=ACTIONS_PAUSE,
    arch="aarch64", machine="virt", trace=("pci_cfg_write", "pl031_write", "pl031_set_alarm"),
    config=ini(general={"recovery_device": "rtc"},
               rtc={"rtc_mode": "off", "rtc_wake_delay": str(DELAY)}),
    timeout=90, doc="rtc + off on the PL031: match register rtc_wake_delay ahead, alarm unmasked, power-off")
