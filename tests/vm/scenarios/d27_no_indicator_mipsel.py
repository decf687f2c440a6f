from scenario import Scenario
from _common import ini, SOFTDOG
import d23_no_indicator_armv7 as d23

SCENARIO = Scenario(
    name="d27_no_indicator_mipsel", check=d23.check, guest=d23.GUEST, config=ini(), daemon=True,
    arch="mipsel", module_args=SOFTDOG, timeout=100,
    doc="malta: %d s without indicator (past softdog's 10 s default): no reset; then one resets"
        % d23.IDLE)
