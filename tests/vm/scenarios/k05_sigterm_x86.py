from scenario import Scenario
import keepalive as k

# SIGTERM with disarm_on_exit = true: the magic close stops the watchdog (the
# host sees the enable bit cleared), and nothing resets for 2 x keepalive_timeout.
GUEST = k.GONE + k.START + k.ARMED + r"""
sleep 2
""" + k.PHASE + r"""
mark term-before
kill -TERM "$DAEMON_PID"
mark term-sent
gone "$DAEMON_PID" 3
sleep %d
mark quiet-end
""" % (2 * k.KT + 1)

STOP_BOUND = 1.0   # the contract: exit within 100 ms; TCG on shared cores


def check(run):
    start = run.mark("daemon-start", 60)
    before = run.mark("term-before", 20)
    end = k.until_mark(run, "quiet-end", 2 * k.KT + 15)
    k.finish(run, 15)
    armed = k.armed(run, start)
    k.pinged(run, armed, before, "before SIGTERM")
    stop = [t for t in k.stops(run) if t >= before]
    run.expect(stop, f"no magic close: the i6300esb was not stopped after SIGTERM"
                     f" (enable register: {k.fmt(run.watchdog_enables())})")
    stop = stop[0]
    run.metric("term_to_stop_s", stop - before)
    run.expect(stop - before <= STOP_BOUND,
               f"the watchdog stopped {stop - before:.2f} s after SIGTERM, bound {STOP_BOUND:.1f} s")
    again = [round(t, 3) for t in k.starts(run) if t > stop]
    run.expect(not again, f"the watchdog was started again after the stop: {again}")
    late = [round(t, 3) for t in run.watchdog_pings() if t > stop]
    run.expect(not late, f"pings after the stop: {late}")
    k.no_reset_before(run, end, "after SIGTERM with disarm_on_exit = true", ("SIGTERM", before))
    run.expect(end - before >= 2 * k.KT, f"quiet window only {end - before:.2f} s")
    run.metric("quiet_window_s", end - before)
    k.guest_status(run, 0)


SCENARIO = Scenario(
    name="k05_sigterm_x86", group="keepalive", check=check, guest=GUEST,
    config=k.config(disarm_on_exit="true"), daemon=True, trace=k.TRACE, timeout=60,
    doc="keepalive: SIGTERM, disarm_on_exit = true: magic close seen, no reset for 2 x timeout")
