from scenario import Scenario
from _common import ini
import d20_wdt_reset_armv7 as d20

SCENARIO = Scenario(
    name="d21_wdt_reset_armv7_smallest", check=d20.check, guest=d20.GUEST, config=ini(),
    daemon=True, arch="armv7", profile="smallest", timeout=90,
    doc="as d20 with the armv7 smallest-profile binary (build-std, immediate abort)")
