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


# -- the 32-bit boards (issue 13): orangepi-pc (armv7) and malta (mipsel) -----
# softdog's default timeout when nothing sets one (the module's own default is
# 60 s): short, so a daemon that arms the watchdog without setting its timeout,
# or arms it when it should not, resets within a short window.
SOFTDOG = {"softdog": "soft_margin=10"}
SOFTDOG_DEFAULT = 10.0
# sunxi_wdt's default when nothing sets one: its maximum, 16 s.
SUNXI_DEFAULT = 16.0


def reset_seen(run, after, timeout, what):
    """The machine's reset after run time `after`, as the host sees it; returns
    the time of its first sign.

    With a watchdog device model (i6300esb, the H3's allwinner-wdt): the
    WATCHDOG event (action reset), then SHUTDOWN guest-reset. On the Malta the
    watchdog is softdog, a timer in the guest's kernel: the host sees the
    kernel's restart (the Malta reset register: SHUTDOWN guest-reset) and no
    WATCHDOG; softdog's console line "Initiating system reboot" must precede it
    (the guest's word can fail this, never pass it: a reboot(2) has none)."""
    if run.scenario.watchdog_model:
        wd = run.vm.wait_event("WATCHDOG", timeout, after=after)
        if wd is None:
            raise Fail(f"no WATCHDOG within {timeout:.0f} s after {what}"
                       f" (events: {notable(run)})")
        run.expect(wd.data.get("action") == "reset", f"WATCHDOG action {wd.data}")
        reason = run.shutdown_reason(5, after=wd.t)
        run.expect(reason == "guest-reset", f"after WATCHDOG, SHUTDOWN reason {reason}")
        return wd.t
    sd = run.vm.wait_event("SHUTDOWN", timeout, after=after)
    if sd is None:
        raise Fail(f"no reset (SHUTDOWN guest-reset) within {timeout:.0f} s after {what}"
                   f" (events: {notable(run)})")
    run.expect(sd.data.get("reason") == "guest-reset", f"SHUTDOWN {sd.data}, expected guest-reset")
    run.vm.wait_line(r"softdog: Initiating system reboot", 1.0)
    fired = [ln for ln in run.guest_said(r"softdog: Initiating system reboot") if ln.t >= after]
    run.expect(fired, "the reset was not softdog's: no 'softdog: Initiating system reboot' on the"
                      " console before it")
    wd = run.vm.find_events("WATCHDOG")
    run.expect(not wd, f"WATCHDOG events on a machine with no watchdog device model: {wd}")
    return sd.t


def notable(run):
    return [e for e in run.vm.events if e.name not in ("GUEST_CRASHLOADED", "GUEST_MARK", "RESUME")]


def no_reset_before(run, t, what):
    """No WATCHDOG, RESET or SHUTDOWN before run time t."""
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "RESET", "SHUTDOWN") and e.t < t]
    if bad:
        raise Fail(f"{what}: {bad[0].name} {bad[0].data} at t={bad[0].t:.2f} (events: {bad})")


def timeout_logged(run, seconds):
    """The daemon's log names the timeout it read back after WDIOC_SETTIMEOUT,
    last before the reset ("armed (N s timeout in force)"; before issue 12's
    fault path "armed with a N s timeout"): the guest's word, so it can only fail."""
    import re
    rx = re.compile(r"armed (?:with a |\()(\d+) s timeout")
    said = [m for m in (rx.search(ln.text) for ln in run.vm.lines) if m]
    run.expect(said, "the daemon did not log the timeout it armed the watchdog with")
    run.expect(int(said[-1].group(1)) == int(seconds),
               f"the daemon read back another timeout: {said[-1].string!r}, asked {seconds:.0f} s")


def board_watchdog_reset(run, name="fault"):
    """d01 on any board: indicator -> reset within interval + wdt_timeout + 1.5 s.
    With the Allwinner watchdog the host also sees the daemon program wdt_timeout
    (MODE's interval) and start it after the indicator, and the expiry one
    timeout after the last reload. Returns the latency."""
    before, created = indicator(run, name)
    nothing_before(run, before)
    # Past the drivers' defaults (sunxi 16 s, softdog as loaded here 10 s):
    # a daemon that never sets the timeout fails with its real latency.
    t = reset_seen(run, before, 30, "the indicator")
    latency = t - before
    run.metric("indicator_to_reset_s", latency)
    run.metric("marker_bracket_s", created - before)
    run.expect(latency <= LATENCY_BOUND,
               f"indicator -> reset took {latency:.2f} s, bound {LATENCY_BOUND:.1f} s")
    if run.scenario.watchdog_model == "allwinner":
        run.vm.wait_exit(10)
        early = [round(x, 3) for x in run.watchdog_starts() if x < before]
        run.expect(not early, f"the watchdog was started before the indicator: {early}")
        starts = [x for x in run.watchdog_starts() if x >= before]
        run.expect(starts, "the H3 watchdog was not started after the indicator (MODE enable)")
        run.metric("indicator_to_arming_s", starts[0] - before)
        tos = [(x, s) for x, s in run.watchdog_timeouts() if before <= x <= t]
        run.expect(tos and tos[-1][1] == WDT_TIMEOUT,
                   f"timeout programmed before the reset: {[(round(x, 3), s) for x, s in tos]},"
                   f" expected wdt_timeout = {WDT_TIMEOUT:.0f} s")
        last = [p for p in run.watchdog_pings() if p < t]
        run.expect(last, "no reload of the H3 watchdog before its expiry")
        run.metric("last_reload_to_watchdog_s", t - last[-1])
    timeout_logged(run, WDT_TIMEOUT)
    return latency


# The H3's sun6i RTC alarm (d25, d30). QEMU's allwinner-rtc model neither keeps
# the alarm registers (they read 0 through the bus) nor lets its clock tick
# (the time is the host's at reset, frozen): what the host can observe is the
# guest driver's writes, traced with host timestamps. The Linux driver sets a
# countdown: ALARM0_COUNTER = alarm - RTC time, which with the frozen clock is
# rtc_wake_delay exactly; then the counter enable, its interrupt and the
# wake-up output.
H3_RTC_BASE = 0x01F00000
H3_RTC_COUNTER, H3_RTC_ENABLE, H3_RTC_IRQ_EN, H3_RTC_CONFIG = 0x20, 0x28, 0x2C, 0x50


def h3_alarm_set(run, before, delay):
    """The traced alarm writes after host time `before`: the counter =
    `delay`, then enable, IRQ and wake-up set. Returns the counter write's time."""
    import evidence
    regs = {off: evidence.phys_word(run.vm, H3_RTC_BASE + off)
            for off in (H3_RTC_COUNTER, H3_RTC_ENABLE, H3_RTC_IRQ_EN, H3_RTC_CONFIG)} \
        if run.vm.alive() else {}
    if regs:
        run.note("H3 RTC through the bus (QEMU keeps none of these): "
                 + " ".join(f"{off:#x}={v:#x}" for off, v in regs.items()))
    writes = [(t, off, v) for t, off, v in run.aw_rtc_writes() if t >= before]
    last = {}
    for t, off, v in writes:
        last[off] = (t, v)
    run.expect(H3_RTC_COUNTER in last and last[H3_RTC_COUNTER][1] != 0,
               f"no alarm counter written after the indicator (RTC writes: "
               f"{[(round(t, 3), hex(o), v) for t, o, v in writes]})")
    t_set, counter = last[H3_RTC_COUNTER]
    run.metric("alarm_counter_s", counter)
    run.metric("indicator_to_alarm_write_s", t_set - before)
    run.expect(counter == delay, f"alarm counter {counter} s, expected rtc_wake_delay = {delay} s"
                                 " (QEMU's H3 RTC does not tick)")
    for off, what in ((H3_RTC_ENABLE, "counter enable"), (H3_RTC_IRQ_EN, "alarm interrupt"),
                      (H3_RTC_CONFIG, "wake-up output")):
        run.expect(off in last and last[off][1] & 1 and last[off][0] >= t_set,
                   f"the alarm's {what} ({off:#x}) was not set after the counter:"
                   f" {last.get(off)}")
    wd = run.vm.find_events("WATCHDOG")
    run.expect(not wd, f"WATCHDOG events in rtc mode: {wd}")
    return t_set
