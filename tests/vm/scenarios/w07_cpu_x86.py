from scenario import Scenario
import _worst as w

# The CPU taken: a busy loop at nice -20 on every CPU, and one SCHED_FIFO
# priority-99 hog under the kernel's default RT throttling (95 % per second).
GUEST = w.START + r"""
say "rt throttling: $(cat /proc/sys/kernel/sched_rt_runtime_us) / $(cat /proc/sys/kernel/sched_rt_period_us)"
i=0
while [ "$i" -lt "$(nproc)" ]; do
    sh -c 'while :; do :; done' &
    renice -n -20 -p $! >/dev/null
    i=$((i + 1))
done
chrt -f 99 sh -c 'while :; do :; done' &
# This shell would crawl as the daemon would at nice 0: give it the
# daemon's nice, so that the markers around the indicator stay close.
renice -n -20 -p $$ >/dev/null
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
    doc="CPU starved (nice -20 loops, a SCHED_FIFO 99 hog): indicator -> WATCHDOG within deadline + 3 s")
