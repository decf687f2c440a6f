from scenario import Scenario
import _worst as w

# The CPU taken: a busy loop at nice -20 on every CPU, and a SCHED_FIFO hog
# (priority 50, a runaway real-time application) under the kernel's default
# RT throttling (95 % of each second to real-time tasks). The daemon, a
# normal task at nice -20, gets a share of the 5 % left. The scenario's shell
# runs at SCHED_FIFO 99 so that its markers around the indicator are not
# starved as well (they would be seconds apart).
GUEST = w.START + r"""
""" + w.CPU_HOGS + r"""sleep 5
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    w.reset_within(run)


SCENARIO = Scenario(
    name="w07_cpu_x86", group="worst", check=check, guest=GUEST, config=w.config(),
    host_programs=w.CPU_PROGRAMS, daemon=True, timeout=120,
    doc="CPU starved (nice -20 loops, a SCHED_FIFO 50 hog): indicator -> WATCHDOG within deadline + 3 s")
