from scenario import Scenario
import _worst as w

# The CPU taken: a busy loop at nice -20 on every CPU, and a SCHED_FIFO hog
# (priority 50, a runaway real-time application) under the kernel's default
# RT throttling (95 % of each second to real-time tasks). The daemon, a
# normal task at nice -20, gets a share of the 5 % left. The scenario's shell
# runs at SCHED_FIFO 99 so that its markers around the indicator are not
# starved as well (they would be seconds apart).
GUEST = w.START + r"""
say "rt throttling: $(cat /proc/sys/kernel/sched_rt_runtime_us) / $(cat /proc/sys/kernel/sched_rt_period_us)"
# This shell's own pid ($$ is init's in a subshell), to SCHED_FIFO 99 first;
# the loops it starts get their policies explicitly (a child inherits it).
read -r me _ < /proc/self/stat
chrt -f -p 99 "$me"
i=0
while [ "$i" -lt "$(nproc)" ]; do
    chrt -o 0 sh -c 'while :; do :; done' &
    renice -n -20 -p $! >/dev/null
    i=$((i + 1))
done
chrt -f 50 sh -c 'while :; do :; done' &
sleep 5
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""


def check(run):
    w.reset_within(run)


SCENARIO = Scenario(
    name="w07_cpu_x86", group="worst", check=check, guest=GUEST, config=w.config(),
    host_programs=("/usr/bin/chrt",), daemon=True, timeout=120,
    doc="CPU starved (nice -20 loops, a SCHED_FIFO 50 hog): indicator -> WATCHDOG within deadline + 3 s")
