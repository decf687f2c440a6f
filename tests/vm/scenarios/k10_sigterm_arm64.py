from scenario import Scenario
import k05_sigterm_x86 as k05

SCENARIO = Scenario(
    name="k10_sigterm_arm64", group="keepalive", check=k05.check, guest=k05.GUEST,
    config=k05.SCENARIO.config, daemon=True, trace=k05.SCENARIO.trace, timeout=60,
    arch="aarch64", machine="virt", doc="aarch64 virt: as k05")
