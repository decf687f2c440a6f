from scenario import Scenario
import _worst as w

# state_dir stops answering (FUSE, no server) after start-up; the indicator is
# on a healthy tmpfs. The watchdog, armed first with the deadline, resets.
GUEST = w.HANG_FUSE + w.START + r"""
hang_fuse /var/lib/stability
say "state_dir hung"
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    # Storage is waited for until deadline - wdt_timeout after the poll that
    # saw the fault; the backstop fires at the deadline.
    w.reset_within(run, early=w.DEADLINE - w.WDT_TIMEOUT - 0.5)


SCENARIO = Scenario(
    name="w01_state_hung_x86", group="worst", check=check, guest=GUEST, config=w.config(),
    modules=("i6300esb", "fuse"), daemon=True, timeout=90,
    doc="state_dir hangs (FUSE, no server) after start: indicator -> WATCHDOG within deadline + 3 s")
