from scenario import Scenario
from _common import SOFTDOG
import keepalive as k
import k20_kill9_armv7 as k20

SCENARIO = Scenario(
    name="k21_kill9_mipsel", group="keepalive", check=k20.check, guest=k20.GUEST,
    config=k.config(), daemon=True, arch="mipsel", module_args=SOFTDOG, timeout=75,
    doc="malta keepalive (softdog): healthy 2 x timeout, kill -9 -> reset within"
        " keepalive_timeout + 1 s and not before keepalive_timeout - 0.5 s")
