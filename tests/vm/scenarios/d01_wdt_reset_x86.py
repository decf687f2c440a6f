from scenario import Scenario
from _common import ini, START, watchdog_reset

GUEST = START + r"""
create_indicator fault
sleep 60
say "no reset 60 s after the indicator"
"""


def check(run):
    watchdog_reset(run)


SCENARIO = Scenario(
    name="d01_wdt_reset_x86", check=check, guest=GUEST, config=ini(), daemon=True, timeout=90,
    doc="indicator -> WATCHDOG then reset, within interval + wdt_timeout + 1.5 s")
