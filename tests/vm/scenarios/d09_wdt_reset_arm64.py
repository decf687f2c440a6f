from scenario import Scenario
from _common import ini
import d01_wdt_reset_x86 as d01

SCENARIO = Scenario(
    name="d09_wdt_reset_arm64", check=d01.check, guest=d01.GUEST, config=ini(), daemon=True,
    arch="aarch64", machine="virt", timeout=90,
    doc="aarch64 virt, i6300esb on PCIe: as d01")
