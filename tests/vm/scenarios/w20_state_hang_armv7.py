from scenario import Scenario
from _common import ini, START, indicator, reset_seen, no_reset_before, notable, WDT_TIMEOUT
from scenario import Fail

# Issue 12's hung storage on the 32-bit boards: state_dir stops answering
# after the daemon has started (a FUSE file system with no server laid over
# it: /dev/fuse opened, never read), the indicator on a healthy tmpfs. The
# board must be reset within reset_deadline + wdt_timeout + 2 s after the
# indicator, whatever of the fault path waits on state_dir. Before issue 12's
# fix the daemon's fault path writes the guard and the record first and
# blocks there for ever: no reset. The guest marks state-stuck as soon as a
# request besides the mount's own FUSE_INIT waits on the connection: the
# daemon did reach the hung storage (this is required, or the hang was not
# exercised).
DEADLINE = 5.0
BOUND = DEADLINE + WDT_TIMEOUT + 2.0
STATE = "/var/lib/stability"

GUEST = r"""
mount -t fusectl none /sys/fs/fuse/connections || say "no fusectl"
[ -c /dev/fuse ] || say "no /dev/fuse"
""" + START + r"""
exec 5<>/dev/fuse
mark fuse-before
mount -t fuse -o fd=5,rootmode=40000,user_id=0,group_id=0 stuck %s || say "fuse mount failed"
mark fuse-mounted
conn=$(ls /sys/fs/fuse/connections | head -n 1)
sleep 1
create_indicator fault
n=0
while [ "$(cat "/sys/fs/fuse/connections/$conn/waiting")" -lt 2 ] && [ "$n" -lt 200 ]; do
    sleep 0.05; n=$((n + 1))
done
if [ "$n" -lt 200 ]; then mark state-stuck; else say "no request waits on the hung state_dir"; fi
sleep 30
say "no reset 30 s after the indicator"
""" % STATE

CONFIG = ini(general={"state_dir": STATE, "reset_deadline": str(int(DEADLINE))})


def check(run):
    mounted = run.mark("fuse-mounted", 60)
    bad = run.guest_said(r"@@ (fuse mount failed|no fusectl|no /dev/fuse)")
    run.expect(not bad, f"the hung state_dir was not set up: {bad[0].text if bad else ''}")
    before, _ = indicator(run)
    no_reset_before(run, before, "before the indicator")
    run.metric("mount_to_indicator_s", before - mounted)
    try:
        t = reset_seen(run, before, BOUND + 10, "the indicator, state_dir hung")
    except Fail as e:
        stuck = run.vm.mark("state-stuck")
        where = (f"; the daemon's request waited on the hung state_dir from"
                 f" {stuck - before:.2f} s after the indicator" if stuck is not None else "")
        raise Fail(f"{e}{where}") from None
    latency = t - before
    run.metric("indicator_to_reset_s", latency)
    stuck = run.vm.mark("state-stuck")
    run.expect(stuck is not None and stuck < t,
               "the daemon never waited on the hung state_dir before the reset (no state-stuck"
               f" marker): the hang was not exercised (events: {notable(run)})")
    run.metric("indicator_to_stuck_s", stuck - before)
    run.expect(latency <= BOUND, f"indicator -> reset took {latency:.2f} s with state_dir hung,"
                                 f" bound reset_deadline + wdt_timeout + 2 = {BOUND:.0f} s")


SCENARIO = Scenario(
    name="w20_state_hang_armv7", group="worst", check=check, guest=GUEST, config=CONFIG,
    daemon=True, arch="armv7", modules=("sunxi_wdt", "fuse"), timeout=75,
    doc="orangepi-pc: state_dir hung (FUSE, no server) after start, indicator on tmpfs: reset"
        " within reset_deadline + wdt_timeout + 2 s (fails before issue 12's fix)")
