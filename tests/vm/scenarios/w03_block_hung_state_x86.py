from scenario import Scenario
import _worst as w

# state_dir on a block device whose I/O hangs with dirty data on it (dm
# suspended): fsync and sync(2) block.
GUEST = w.DM_SETUP + w.START.replace("start_daemon", "dm_setup\nmkdir -p /slow/state\nstart_daemon") + r"""
dm_hang
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    w.reset_within(run, early=w.DEADLINE - w.WDT_TIMEOUT - 0.5)


SCENARIO = Scenario(
    name="w03_block_hung_state_x86", group="worst", check=check, guest=GUEST,
    config=w.config(general={"state_dir": "/slow/state"}),
    disk={"/.keep": ""}, disk_mb=64, modules=w.DM_MODULES, host_programs=w.DM_PROGRAMS,
    daemon=True, timeout=90,
    doc="state_dir on a block device hung with dirty data (dm suspend): reset within deadline + 3 s")
