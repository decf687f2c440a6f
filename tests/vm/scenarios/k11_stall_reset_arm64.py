from scenario import Scenario
import k09_stall_reset_x86 as k09

SCENARIO = Scenario(
    name="k11_stall_reset_arm64", group="keepalive", check=k09.check, guest=k09.GUEST,
    config=k09.SCENARIO.config, modules=k09.SCENARIO.modules, daemon=True,
    trace=k09.SCENARIO.trace, timeout=75, arch="aarch64", machine="virt", doc="aarch64 virt: as k09")
