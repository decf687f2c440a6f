"""Shared pieces of the daemon scenarios: the config in the seed's style, the
guest's start of the daemon, and the host's latency measurement."""
from scenario import Fail


def ini(general=None, watchdog=None, rtc=None):
    """A config in the seed's style; keyword dicts override or add keys."""
    sections = [
        ("general", {"recovery_device": "watchdog", "checking_interval": "1",
                     "indicator_file_path": "/run/ind", "single_run": "false"}, general),
        ("watchdog-device", {"wdt_path": "/dev/watchdog", "wdt_kill_delay": "30",
                             "wdt_timeout": "1"}, watchdog),
        ("rtc-device", {"rtc_path": "/dev/rtc", "rtc_mode": "off"}, rtc),
    ]
    out = []
    for name, base, extra in sections:
        keys = dict(base)
        keys.update(extra or {})
        out.append(f"[{name}]")
        out += [f"{k} = {v}" for k, v in keys.items()]
        out.append("")
    return "\n".join(out)


# Guest: what udev and a board's setup would have done: /dev/rtc, RTC wakeups on.
BOARD = r"""
[ -e /dev/rtc ] || ln -s rtc0 /dev/rtc
[ -w /sys/class/rtc/rtc0/device/power/wakeup ] && echo enabled > /sys/class/rtc/rtc0/device/power/wakeup
"""

# ... then the daemon, given a moment to start. The extra random fraction of a
# second puts the indicator at a random phase of the daemon's 1 s poll, so
# latencies are not all measured at the same (lucky or unlucky) phase.
START = BOARD + r"""
start_daemon --config /etc/stability/config.ini
sleep 2
sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
kill -0 "$DAEMON_PID" || say "the daemon is not running"
"""

INTERVAL, WDT_TIMEOUT = 1.0, 1.0
LATENCY_BOUND = INTERVAL + WDT_TIMEOUT + 1.5     # issue 4, scenario 1


def indicator(run, name="fault", timeout=90):
    """(before, created): host times of the markers around the indicator's creation."""
    before = run.mark(f"{name}-before", timeout)
    created = run.mark(f"{name}-created", 10)
    return before, created


def nothing_before(run, t, names=("WATCHDOG", "SHUTDOWN", "RESET", "SUSPEND")):
    early = [e for e in run.vm.events if e.name in names and e.t < t]
    if early:
        raise Fail(f"events before the indicator existed: {early}")


def watchdog_reset(run, name="fault"):
    """The indicator -> WATCHDOG -> guest reset sequence; returns the latency."""
    before, created = indicator(run, name)
    nothing_before(run, before)
    # Wait past the i6300esb default (30 s) so a daemon that never sets the
    # timeout fails with its real latency, not with a bare "no WATCHDOG".
    wd = run.event("WATCHDOG", 40, after=before)
    run.expect(wd.data.get("action") == "reset", f"WATCHDOG action {wd.data}")
    reason = run.shutdown_reason(5, after=wd.t)
    run.expect(reason == "guest-reset", f"after WATCHDOG, SHUTDOWN reason {reason}")
    latency = wd.t - before
    run.metric("indicator_to_watchdog_s", latency)
    run.metric("marker_bracket_s", created - before)
    armed = [t for t, v in run.watchdog_enables() if v & 0x2 and t >= before]
    if armed:
        run.metric("indicator_to_arming_s", armed[0] - before)
        run.metric("arming_to_watchdog_s", wd.t - armed[0])
    run.expect(latency <= LATENCY_BOUND,
               f"indicator -> WATCHDOG took {latency:.2f} s, bound {LATENCY_BOUND:.1f} s")
    return latency


# rtc + off (d05 on the CMOS RTC, d10 on the PL031): the alarm rtc_wake_delay
# ahead, then a power-off; what the host reads afterwards differs per RTC.
RTC_OFF_DELAY = 60
RTC_OFF_GUEST = START + r"""
create_indicator fault
sleep 60
say "still running 60 s after the indicator"
"""
RTC_OFF_CONFIG = ini(general={"recovery_device": "rtc"},
                     rtc={"rtc_mode": "off", "rtc_wake_delay": str(RTC_OFF_DELAY)})


def powered_off(run):
    """The indicator -> guest power-off sequence of rtc + off; returns the host
    time before the indicator, once the machine has stopped."""
    before, _ = indicator(run)
    nothing_before(run, before)
    sd = run.event("SHUTDOWN", INTERVAL + 30, after=before)
    run.expect(sd.data.get("reason") == "guest-shutdown", f"SHUTDOWN reason {sd.data}")
    run.metric("indicator_to_poweroff_s", sd.t - before)
    run.event("STOP", 5, after=sd.t)
    run.expect(sd.t - before <= INTERVAL + 3, f"power-off {sd.t - before:.2f} s after the indicator")
    return before
