from scenario import Scenario
import _worst as w

# w01 in keepalive mode: the pings must stop at the fault, before storage.
GUEST = w.HANG_FUSE + w.START + r"""
hang_fuse /var/lib/stability
say "state_dir hung"
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    w.reset_within(run, early=w.DEADLINE - w.WDT_TIMEOUT - 0.5)


SCENARIO = Scenario(
    name="w02_state_hung_keepalive_x86", group="worst", check=check, guest=GUEST,
    config=w.config(watchdog={"wdt_mode": "keepalive", "keepalive_timeout": "30"}),
    modules=("i6300esb", "fuse"), daemon=True, timeout=90,
    doc="keepalive, state_dir hangs (FUSE): indicator -> WATCHDOG within deadline + 3 s")
