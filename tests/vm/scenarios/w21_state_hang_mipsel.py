from scenario import Scenario
from _common import SOFTDOG
import w20_state_hang_armv7 as w20

SCENARIO = Scenario(
    name="w21_state_hang_mipsel", group="worst", check=w20.check, guest=w20.GUEST,
    config=w20.CONFIG, daemon=True, arch="mipsel", modules=("softdog", "fuse"),
    module_args=SOFTDOG, timeout=75,
    doc="malta: as w20 (state_dir hung, reset within reset_deadline + wdt_timeout + 2 s;"
        " fails before issue 12's fix)")
