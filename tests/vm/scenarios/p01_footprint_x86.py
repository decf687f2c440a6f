import re

from scenario import Scenario
import _peers as p
import keepalive as k

# Footprint while healthy: each peer started FOOT_RUNS times in one boot, one
# after the other; each run a window of FOOT_WINDOW s after it settled. Memory
# from /proc/PID/status and smaps_rollup at the window's end, wake-ups and CPU
# time over the window from schedstat (every thread), processes spawned from
# the most recent pid. The host adds what it sees itself: the pings
# (i6300esb reloads) in each window, and the window's length on its clock.
GUEST = p.FUNCS + p.FOOT_FUNCS + "".join(
    f"footprint {peer} {i}\n" for peer in p.PEERS for i in range(1, p.FOOT_RUNS + 1)
) + 'mark "footprint-end"\n'


def check(run):
    end = run.vm.wait_mark("footprint-end", 400)
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "RESET") or
           (e.name == "SHUTDOWN" and (end is None or e.t < end))]
    run.expect(not bad, f"a reset while healthy: {bad}; marks: {run.vm.marks()[-3:]}")
    run.expect(end is not None, "the guest did not finish its runs within 400 s")
    k.finish(run, 20)
    said = run.guest_said(r"@@ (peer not running|unknown peer)")
    run.expect(not said, f"the guest says: {[ln.text for ln in said]}")
    lines = {}
    for ln in run.guest_said(r"@@FOOT "):
        kv = dict(x.split("=", 1) for x in ln.text.split("@@FOOT ", 1)[1].split())
        lines[(kv["peer"], int(kv["run"]))] = kv
    pings = run.watchdog_pings()
    out = {}
    for peer in p.PEERS:
        runs = []
        for i in range(1, p.FOOT_RUNS + 1):
            kv = lines.get((peer, i))
            run.expect(kv is not None, f"no figures from {peer} run {i}")
            missing = [f for f in p.FOOT_FIELDS if not re.fullmatch(r"-?\d+", kv.get(f, ""))]
            run.expect(not missing, f"{peer} run {i}: no {missing} in {kv}")
            a, b = run.vm.mark(f"{peer}-{i}-window"), run.vm.mark(f"{peer}-{i}-window-end")
            fig = {f: int(kv[f]) for f in p.FOOT_FIELDS}
            fig["window_s"] = b - a
            fig["pings"] = len([t for t in pings if a <= t <= b])
            if peer in p.PINGERS:
                run.expect(fig["pings"] > 0, f"{peer} run {i}: no ping in its {b - a:.1f} s window")
            else:
                run.expect(fig["pings"] == 0, f"{peer} run {i}: {fig['pings']} pings while healthy")
            runs.append(fig)
        out[peer] = runs
        rss = sorted(r["VmRSS"] for r in runs)
        run.note(f"{peer}: VmRSS {rss[len(rss) // 2]} KiB")
    p.write_outcome(run, {"footprint": out})


SCENARIO = Scenario(
    name="p01_footprint_x86", group="peers", check=check, guest=GUEST,
    initramfs=p.install(), daemon=True, trace=p.TRACE, timeout=480,
    doc="peers: footprint while healthy (memory, threads, wake-ups, pings), 5 runs of each in one boot")
