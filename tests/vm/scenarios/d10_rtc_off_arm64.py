from scenario import Scenario, ACTIONS_PAUSE
from _common import RTC_OFF_CONFIG, RTC_OFF_DELAY as DELAY, RTC_OFF_GUEST, powered_off
import evidence


def check(run):
    before = powered_off(run)
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


SCENARIO = Scenario(
    name="d10_rtc_off_arm64", check=check, guest=RTC_OFF_GUEST, daemon=True, actions=ACTIONS_PAUSE,
    arch="aarch64", machine="virt", trace=("pci_cfg_write", "pl031_write", "pl031_set_alarm"),
    config=RTC_OFF_CONFIG,
    timeout=90, doc="rtc + off on the PL031: match register rtc_wake_delay ahead, alarm unmasked, power-off")
