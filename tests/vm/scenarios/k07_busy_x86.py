from scenario import Scenario
import keepalive as k

# busybox `watchdog` holds /dev/watchdog (4 s timeout, a ping a second): the
# daemon in keepalive mode must refuse to start (exit 69) and leave the device
# alone: no enable, stop or timeout write of its own, no reset.
HOLDER_T = 4

GUEST = k.GONE + r"""
watchdog -F -T %d -t 1 /dev/watchdog &
HOLDER=$!
sleep 1
""" % HOLDER_T + k.START + r"""
gone "$DAEMON_PID" 5
sleep %d
mark quiet-end
kill -TERM "$HOLDER"
sleep 0.5
""" % (2 * k.KT)


def check(run):
    start = run.mark("daemon-start", 60)
    end = k.until_mark(run, "quiet-end", 2 * k.KT + 20)
    k.finish(run, 15)
    held = [t for t in k.starts(run) if t < start]
    run.expect(held, "the holder (busybox watchdog) never enabled the i6300esb")
    k.no_reset_before(run, end, "with the watchdog busy", ("the daemon's start", start))
    touched = [(round(t, 3), v) for t, v in run.watchdog_enables() if start <= t <= end]
    run.expect(not touched, f"the i6300esb enable register was written while the holder had it"
                            f" (the daemon started or stopped it): {touched}")
    tos = [(round(t, 3), s) for t, s in run.watchdog_timeouts() if start <= t <= end]
    run.expect(not tos, f"the timeout was changed while the holder had the watchdog: {tos}")
    pings = [t for t in run.watchdog_pings() if start <= t <= end]
    gaps = [y - x for x, y in zip([start] + pings, pings + [end])]
    run.expect(max(gaps) <= 2.0, f"the holder's pings stopped for {max(gaps):.2f} s")
    run.expect(end - start >= 2 * k.KT, f"quiet window only {end - start:.2f} s")
    run.metric("quiet_window_s", end - start)
    k.guest_status(run, 69)
    said = run.guest_said(r"stability.*(?i:busy|EBUSY)")
    run.expect(said, "the daemon's log does not say the watchdog is busy")
    run.note(f"daemon said: {said[0].text.strip()!r}")


SCENARIO = Scenario(
    name="k07_busy_x86", group="keepalive", check=check, guest=GUEST, config=k.config(),
    daemon=True, trace=k.TRACE, timeout=60,
    doc="keepalive: /dev/watchdog held by busybox: exit 69, device untouched, no reset")
