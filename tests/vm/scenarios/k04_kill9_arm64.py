from scenario import Scenario
import k03_kill9_x86 as k03

SCENARIO = Scenario(
    name="k04_kill9_arm64", group="keepalive", check=k03.check, guest=k03.GUEST,
    config=k03.SCENARIO.config, daemon=True, trace=k03.SCENARIO.trace, timeout=60,
    arch="aarch64", machine="virt", doc="aarch64 virt: as k03")
