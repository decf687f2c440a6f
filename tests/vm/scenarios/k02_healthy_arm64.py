from scenario import Scenario
import k01_healthy_x86 as k01

SCENARIO = Scenario(
    name="k02_healthy_arm64", group="keepalive", check=k01.check, guest=k01.GUEST,
    config=k01.SCENARIO.config, daemon=True, trace=k01.SCENARIO.trace, timeout=75,
    arch="aarch64", machine="virt", doc="aarch64 virt: as k01")
