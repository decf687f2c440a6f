"""The smoke checks of the 32-bit boards (smoke_wdt_armv7, smoke_wdt_mipsel):
busybox's watchdog on the board's driver, and the marker UART's precision.

Precision: back-to-back markers (a burst), and markers around a write to a
device register that QEMU traces with its own host timestamp (`devmem` on a
block no driver claims). The traced write must fall between the two markers'
host times: a marker stamped late by more than a devmem exec would come after
it. The spread of (write - marker before) and (marker after - write) is kept.
"""
import statistics

from scenario import Fail

BURST = 6
BRACKETS = 8


def guest(devmem_args):
    """The guest script: a burst of markers, BRACKETS traced writes each
    between two markers, then busybox watchdog -T 2 killed after 1 s."""
    return r"""
i=1; while [ $i -le %d ]; do mark burst-$i; i=$((i + 1)); done
i=1; while [ $i -le %d ]; do mark wr-$i; devmem %s; mark wr-done-$i; i=$((i + 1)); done
mark wd-start
watchdog -F -T 2 -t 60 /dev/watchdog &
sleep 1
kill -9 $!
mark wd-killed
sleep 30
say "no reset after 30 s"
""" % (BURST, BRACKETS, devmem_args)


def markers(run, trace_rx):
    run.mark(f"wr-done-{BRACKETS}", 60)
    burst = [run.vm.mark(f"burst-{i}") for i in range(1, BURST + 1)]
    gaps = [b - a for a, b in zip(burst, burst[1:])]
    run.metric("marker_spacing_median_s", statistics.median(gaps))
    run.metric("marker_spacing_max_s", max(gaps))
    run.vm.wait_exit(45)   # the trace is complete once QEMU has ended
    writes = [t for t, _ in run.vm.trace_lines(trace_rx)]
    run.expect(len(writes) == BRACKETS, f"{len(writes)} traced writes, expected {BRACKETS}")
    before = [w - run.vm.mark(f"wr-{i}") for i, w in enumerate(writes, 1)]
    after = [run.vm.mark(f"wr-done-{i}") - w for i, w in enumerate(writes, 1)]
    run.metric("marker_to_traced_write_min_s", min(before))
    run.metric("marker_to_traced_write_median_s", statistics.median(before))
    run.metric("traced_write_to_marker_median_s", statistics.median(after))
    run.metric("traced_write_to_marker_min_s", min(after))
    run.expect(min(before) > 0 and min(after) > 0,
               f"a traced write outside its two markers: write - marker {before},"
               f" next marker - write {after}")


def watchdog(run):
    """busybox watchdog -T 2, killed after 1 s: the reset ~2 s after it started."""
    start = run.vm.mark("wd-start")
    killed = run.vm.mark("wd-killed")
    if start is None or killed is None:
        raise Fail(f"markers wd-start/wd-killed missing: {run.vm.marks()}")
    sd = run.vm.find_events("SHUTDOWN")
    run.expect(sd and sd[0].data.get("reason") == "guest-reset",
               f"SHUTDOWN {sd[0].data if sd else 'missing'}, expected guest-reset")
    sd = sd[0]
    if run.scenario.watchdog_model:
        wd = run.vm.find_events("WATCHDOG")
        run.expect(wd and wd[0].data.get("action") == "reset", f"WATCHDOG events {wd}")
        t = wd[0].t
        starts = run.watchdog_starts()
        run.expect(starts and start <= starts[-1] <= killed, f"watchdog starts {starts}")
        tos = run.watchdog_timeouts()
        run.expect(tos and tos[-1][1] == 2, f"timeouts programmed {tos}, expected 2 s")
        last = [p for p in run.watchdog_pings() if p < t][-1]
        run.metric("last_ping_to_watchdog_s", t - last)
        run.metric("start_to_watchdog_s", t - starts[-1])
    else:
        wd = run.vm.find_events("WATCHDOG")
        run.expect(not wd, f"WATCHDOG events with no watchdog device model: {wd}")
        t = sd.t
        said = run.guest_said(r"softdog: Initiating system reboot")
        run.expect(said, "no 'softdog: Initiating system reboot' on the console before the reset")
    run.expect(killed < t, "the reset came before the holder was killed")
    run.metric("kill_to_reset_s", t - killed)
    run.expect(1.5 <= t - start <= 3.5, f"reset {t - start:.2f} s after the start, expected ~2 s")
