from scenario import Scenario
import _peers as p
import keepalive as k

# One boot, nine cases, one after the other: kill -9 and SIGSTOP of each
# pinger (classic, BusyBox, stability keepalive), then the indicator for each
# peer that has one (stability on-fault and keepalive, classic). QEMU's
# watchdog action is `none`, so an expiry is seen (QMP WATCHDOG, at the moment
# it would reset the machine) and the guest goes on; between cases the guest
# reloads the i6300esb driver. bench/run --peers runs it 5 times.
GUEST = p.FUNCS + p.LATENCY_FUNCS + "".join(
    f"signal_case {peer} {case} {'KILL' if case == 'kill9' else 'STOP'}\n"
    for peer, case in p.SIGNAL_CASES) + "".join(
    f"indicator_case {peer}\n" for peer, _ in p.INDICATOR_CASES) + 'mark "cases-end"\n'

def check(run):
    starts = []
    for peer, case in p.LATENCY_CASES:
        starts.append(run.mark(f"{peer}-{case}-start", 60))
    end = run.mark("cases-end", 60)
    k.finish(run, 20)
    said = run.guest_said(r"@@ (peer not running|rmmod|insmod|no i6300esb|unknown peer)")
    run.expect(not said, f"the guest says: {[ln.text for ln in said]}")
    resets = [e for e in run.vm.events if e.name == "SHUTDOWN" and e.t < end]
    run.expect(not resets, f"the machine went down during the cases: {resets}")
    enables = [t for t, v in run.watchdog_enables() if v & 0x2]
    pings = run.watchdog_pings()
    outcome = {}
    for i, (peer, case) in enumerate(p.LATENCY_CASES):
        name = f"{peer}_{case}"
        start = starts[i]
        stop = starts[i + 1] if i + 1 < len(starts) else end
        before = run.vm.mark(f"{peer}-{case}-before")
        run.expect(before is not None and start < before < stop,
                   f"{name}: no marker of the event between {start:.2f} and {stop:.2f}")
        wds = [e for e in run.vm.events if e.name == "WATCHDOG" and start <= e.t < stop]
        early = [e for e in wds if e.t < before]
        run.expect(not early, f"{name}: the watchdog fired before the {case}: {early}"
                              f" ({early[0].t - start:.2f} s after the peer's start)" if early else "")
        if peer in p.PINGERS:
            armed = [t for t in enables if start - p.CLOCK_SLACK <= t <= before]
            run.expect(armed, f"{name}: {p.LABEL[peer]} did not enable the i6300esb between its"
                              f" start ({start:.2f}) and the {case} ({before:.2f})")
        res = {"window_s": stop - before}
        if wds:
            wd = wds[0]
            run.expect(wd.data.get("action") == "none", f"{name}: WATCHDOG {wd.data}")
            res["latency_s"] = wd.t - before
            run.metric(f"{name}_s", wd.t - before)
            last = [t for t in pings if t < wd.t]
            if last:
                res["last_ping_to_watchdog_s"] = wd.t - last[-1]
                run.metric(f"{name}_last_ping_s", wd.t - last[-1])
        else:
            run.note(f"{name}: no expiry within {stop - before:.1f} s")
        outcome[f"{peer}/{case}"] = res
    p.write_outcome(run, {"cases": outcome})


SCENARIO = Scenario(
    name="p02_latency_x86", group="peers", check=check, guest=GUEST,
    initramfs=p.install(), daemon=True, actions=p.ACTIONS_GO_ON, trace=p.TRACE, timeout=300,
    doc="peers: kill -9, SIGSTOP (pingers) and indicator -> watchdog expiry, nine cases in one boot")
