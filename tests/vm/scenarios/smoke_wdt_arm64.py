from scenario import Scenario
import importlib.util, os

_x86 = importlib.util.spec_from_file_location("_x86", os.path.join(os.path.dirname(__file__), "smoke_wdt_x86.py"))
_m = importlib.util.module_from_spec(_x86); _x86.loader.exec_module(_m)

SCENARIO = Scenario(
    name="smoke_wdt_arm64", group="smoke", check=_m.check, guest=_m.GUEST, arch="aarch64",
    machine="virt", timeout=90, doc="aarch64 virt, i6300esb on PCIe: as smoke_wdt_x86")
