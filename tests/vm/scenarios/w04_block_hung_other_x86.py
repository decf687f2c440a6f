from scenario import Scenario
import _worst as w

# state_dir healthy (tmpfs here), but another mount hangs with dirty data on
# it: the guard and record are written, and sync(2) blocks; the deadline
# bounds it.
GUEST = w.DM_SETUP + w.START.replace("start_daemon", "dm_setup\nstart_daemon") + r"""
dm_hang
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    w.reset_within(run, early=w.DEADLINE - w.WDT_TIMEOUT - 0.5)


SCENARIO = Scenario(
    name="w04_block_hung_other_x86", group="worst", check=check, guest=GUEST,
    config=w.config(), disk={"/.keep": ""}, disk_mb=64, modules=w.DM_MODULES,
    host_programs=w.DM_PROGRAMS, daemon=True, timeout=90,
    doc="another mount hung with dirty data (sync(2) blocks): reset within deadline + 3 s")
