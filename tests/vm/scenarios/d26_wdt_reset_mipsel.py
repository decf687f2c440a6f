from scenario import Scenario
from _common import ini, SOFTDOG
import d20_wdt_reset_armv7 as d20

# d01 on the MIPS Malta (little-endian), softdog through the kernel's watchdog
# core and the MIPS ioctl encoding, the cross matrix's mipsel release binary.
SCENARIO = Scenario(
    name="d26_wdt_reset_mipsel", check=d20.check, guest=d20.GUEST, config=ini(), daemon=True,
    arch="mipsel", module_args=SOFTDOG, timeout=90,
    doc="malta, softdog, mipsel release: indicator -> reset (softdog's) within"
        " interval + wdt_timeout + 1.5 s")
