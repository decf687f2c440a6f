from scenario import Scenario
import keepalive as k

# Keepalive start-up fails after the watchdog was opened (which started it):
# the daemon runs as `nobody` with RLIMIT_NPROC 1, so its pinger thread cannot
# be created. It must disarm the watchdog it started (magic close) and say
# so, exit 69, and the board must not reset. (Before: closed without the
# magic 'V', "nothing is armed" in the log, and a reset keepalive_timeout
# later.)
GUEST = k.GONE + k.BOARD + r"""
chmod 666 /dev/watchdog
mkdir -p /tmp/state && chmod 777 /tmp/state
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> /etc/passwd
echo 'nogroup:x:65534:' >> /etc/group
mark daemon-start
su -s /bin/sh nobody -c 'ulimit -u 1; exec stability --config /etc/stability/config.ini' > /dev/console 2>&1 &
DAEMON_PID=$!
gone "$DAEMON_PID" 5
sleep %d
mark quiet-end
""" % (2 * k.KT)


def check(run):
    start = run.mark("daemon-start", 60)
    end = k.until_mark(run, "quiet-end", 2 * k.KT + 20)
    k.finish(run, 15)
    en = k.starts(run)
    run.expect([t for t in en if t >= start], "the daemon never started the watchdog (nothing to disarm)")
    stopped = [t for t in k.stops(run) if t >= start]
    run.expect(stopped, "the watchdog the daemon started was never stopped (no magic close)")
    run.metric("start_to_disarmed_s", stopped[0] - start)
    k.no_reset_before(run, end, "after a failed keepalive start", ("the daemon's start", start))
    k.guest_status(run, 69)
    said = run.guest_said(r"keepalive mode cannot start: .*pinger thread.*disarmed \(magic close\)")
    run.expect(said, "the daemon's log does not say the watchdog was disarmed")


SCENARIO = Scenario(
    name="k13_pinger_fails_x86", group="keepalive", check=check, guest=GUEST,
    config=k.config(general={"state_dir": "/tmp/state"}),
    daemon=True, trace=k.TRACE, timeout=60,
    doc="keepalive: the pinger cannot start after the open: disarmed, exit 69, no reset")
