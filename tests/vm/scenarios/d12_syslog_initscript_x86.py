"""BusyBox init's world (issue 14, item 2): syslogd with its circular buffer,
and the daemon started by the real init script (service/S50stability), whose
start-stop-daemon --background points stderr at /dev/null. Every line must
reach syslog with facility daemon at its own priority, tagged with the pid
the init script wrote, and the daemon must still reset the board.

The host reads syslog back through the serial console: `logread -f` copies
each message there as syslogd stores it (host timestamps on every line), and
the reset itself is the host's WATCHDOG event.
"""
import os
import re

from scenario import Scenario
from _common import ini, indicator, nothing_before, INTERVAL

HERE = os.path.dirname(os.path.abspath(__file__))
INIT_SCRIPT = open(os.path.join(HERE, "..", "..", "..", "service", "S50stability")).read()
assert "STABILITY_INIT_EOF" not in INIT_SCRIPT

GUEST = r"""
mkdir -p /var/run /var/lib /usr/bin /etc/init.d
ln -s loop /run/loop
syslogd -C64
n=0; while [ ! -S /dev/log ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
logread -f > /dev/console &
cp /bin/stability /usr/bin/stability
cat > /etc/init.d/S50stability <<'STABILITY_INIT_EOF'
""" + INIT_SCRIPT + r"""STABILITY_INIT_EOF
chmod 755 /etc/init.d/S50stability
mark start-before
/etc/init.d/S50stability start
say "pidfile $(cat /var/run/stability.pid)"
sleep 2
create_indicator fault
sleep 40
say "no reset 40 s after the indicator"
"""

# An unknown key (warning), a heartbeat behind a symlink loop (error, logged
# once), the start-up line (info), the reset (critical).
# wdt_timeout = 5: logread -f copies new messages to the console about once a
# second, so the critical line gets there before the watchdog's reset.
WDT_TIMEOUT = 5
LATENCY_BOUND = INTERVAL + WDT_TIMEOUT + 1.5
CONFIG = ini(general={"heartbeat_file_path": "/run/loop/hb", "heartbeat_timeout": "3600",
                      "colour": "blue"},
             watchdog={"wdt_timeout": str(WDT_TIMEOUT)})
EXPECTED = [
    ("daemon.warn", r"unknown key `colour`"),
    ("daemon.info", r"watching indicator /run/ind"),
    ("daemon.err", r"cannot check heartbeat /run/loop/hb"),
    ("daemon.crit", r"resetting the board: trigger=indicator"),
]


def check(run):
    before, _ = indicator(run)
    nothing_before(run, before)
    wd = run.event("WATCHDOG", 40, after=before)
    run.metric("indicator_to_watchdog_s", wd.t - before)
    run.expect(wd.t - before <= LATENCY_BOUND,
               f"indicator -> WATCHDOG took {wd.t - before:.2f} s, bound {LATENCY_BOUND:.1f} s")
    pid_lines = run.guest_said(r"^@@ pidfile \d+")
    run.expect(pid_lines, "the init script wrote no pidfile (did start-stop-daemon run it?)")
    pid = pid_lines[0].text.split()[-1]
    for prio, what in EXPECTED:
        rx = rf" {re.escape(prio)} stability\[{pid}\]: .*{what}"
        seen = run.guest_said(rx)
        run.expect(seen, f"no syslog line `{prio} stability[{pid}]: ...{what}` on the console;"
                         f" syslog lines seen: {run.guest_said(r' daemon[.]')[:12]}")
        if prio == "daemon.crit":
            run.expect(seen[0].t <= wd.t, "the critical line reached syslog only after the reset")
    # stderr was /dev/null: no line in the plain stderr form anywhere.
    plain = run.guest_said(r"stability: (critical|error|warning|notice|info): ")
    run.expect(not plain, f"lines in stderr form on the console: {plain[:3]}")
    run.note(f"syslog lines: {len(run.guest_said(re.escape(f' stability[{pid}]: ')))}")


SCENARIO = Scenario(
    name="d12_syslog_initscript_x86", check=check, guest=GUEST, config=CONFIG, daemon=True,
    timeout=100,
    doc="BusyBox syslogd + the real init script: every line in syslog (daemon.*) at its priority; reset")
