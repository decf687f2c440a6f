from scenario import Scenario
from _common import ini, SOFTDOG
import d24_probe_armv7 as d24

SCENARIO = Scenario(
    name="d28_probe_mipsel", check=d24.check, guest=d24.GUEST % d24.WINDOW["malta"], config=ini(),
    daemon=True, arch="mipsel", module_args=SOFTDOG, timeout=100,
    doc="malta: probe names Software Watchdog 1..65535 s and rtc_cmos; no reset for 12 s"
        " (softdog default 10 s)")
