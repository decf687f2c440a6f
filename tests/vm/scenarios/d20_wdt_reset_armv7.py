from scenario import Scenario
from _common import ini, START, board_watchdog_reset

# d01 on the Allwinner H3 (orangepi-pc), its own watchdog (sunxi_wdt), the
# cross matrix's armv7 release binary.
GUEST = START + r"""
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    board_watchdog_reset(run)


SCENARIO = Scenario(
    name="d20_wdt_reset_armv7", check=check, guest=GUEST, config=ini(), daemon=True,
    arch="armv7", timeout=90,
    doc="orangepi-pc (H3, sunxi_wdt), armv7 release: indicator -> WATCHDOG, 1 s programmed,"
        " within interval + wdt_timeout + 1.5 s")
