from scenario import Scenario

GUEST = r"""
for i in 1 2 3 4 5 6; do mark burst-$i; done
mark idle-start
sleep 20
mark idle-end
"""


def check(run):
    start = run.mark("idle-start", 40)
    end = run.mark("idle-end", 30)
    run.expect(end - start >= 19.5, f"the idle window lasted {end - start:.2f} s on the host clock")
    reason = run.shutdown_reason(15, after=end)
    run.expect(reason == "guest-shutdown", f"SHUTDOWN reason {reason}")
    wd = run.vm.find_events("WATCHDOG")
    run.expect(not wd, f"WATCHDOG events in an idle guest: {wd}")
    run.expect(not run.watchdog_enables()[1:] and
               all(v & 0x2 == 0 for _, v in run.watchdog_enables()),
               f"the watchdog was enabled: {run.watchdog_enables()}")
    run.metric("idle_window_s", end - start)
    # Marker precision: back-to-back markers are one busybox exec apart, and the
    # console line of a marker reaches the host before its QMP event.
    import statistics
    burst = [run.vm.mark(f"burst-{i}") for i in range(1, 7)]
    gaps = [b - a for a, b in zip(burst, burst[1:])]
    run.metric("marker_spacing_median_s", statistics.median(gaps))
    run.metric("marker_spacing_max_s", max(gaps))
    lines = {ln.text.split("@@MARK ", 1)[1].strip(): ln.t for ln in run.vm.lines if "@@MARK burst-" in ln.text}
    lead = [burst[i - 1] - lines[f"burst-{i}"] for i in range(1, 7) if f"burst-{i}" in lines]
    run.metric("serial_line_before_event_median_s", statistics.median(lead))


SCENARIO = Scenario(
    name="smoke_noop_x86", group="smoke", check=check, guest=GUEST, timeout=60,
    doc="idle guest for 20 s: no WATCHDOG, clean power-off")
