from scenario import Scenario
from _common import ini
import d20_wdt_reset_armv7 as d20

# The ARMv6 build (Raspberry Pi Zero/1 class) runs on the Cortex-A7 too.
SCENARIO = Scenario(
    name="d22_wdt_reset_armv6", check=d20.check, guest=d20.GUEST, config=ini(), daemon=True,
    arch="armv7", target="arm-unknown-linux-musleabihf", timeout=90,
    doc="as d20 with the ARMv6 release binary (arm-unknown-linux-musleabihf) on the Cortex-A7")
