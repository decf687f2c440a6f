from scenario import Scenario
from _common import ini, BOARD, INTERVAL, indicator, watchdog_reset

# Issue 7, clock jumps, on a real kernel's real clock. The guest's wall clock
# goes back to 1970 and forward to 2100 between polls while the daemon watches
# a heartbeat (touched every 0.5 s). The boot-loop guard starts engaged (5/5,
# its last fault noted just now in this boot, window 1 h). Then:
# - the jumps must not reset the board (no stale heartbeat from a clock jump);
# - an indicator must still be refused: a wall-clock jump must not clear the
#   guard's window, which runs on CLOCK_BOOTTIME;
# - with the guard removed, an indicator resets the board as in d01.
JUMPS = 5

GUEST = BOARD + r"""
mkdir -p /var/lib/stability
{ echo format=1; echo count=5
  echo "fault_boot_id=$(cat /proc/sys/kernel/random/boot_id)"
  echo "fault_uptime=$(cut -d' ' -f1 /proc/uptime)"; } > /var/lib/stability/guard
touch /run/hb
start_daemon --config /etc/stability/config.ini
sleep 2
( while :; do touch /run/hb; sleep 0.5; done ) &
mark jumps-start
i=0
while [ $i -lt %d ]; do
    date -s @86400 > /dev/null       # 1970-01-02
    sleep 1.5
    date -s @4102444800 > /dev/null  # 2100-01-01
    sleep 1.5
    i=$((i + 1))
done
mark jumps-end
create_indicator refused
sleep 5
mark refused-end
rm -f /var/lib/stability/guard /run/ind
sleep 2
create_indicator fault
sleep 60
""" % JUMPS


def check(run):
    start = run.mark("jumps-start", 60)
    end = run.mark("jumps-end", JUMPS * 3 + 20)
    run.expect(end - start >= JUMPS * 3 - 1, f"jump window only {end - start:.2f} s")
    run.metric("jump_window_s", end - start)
    before, _ = indicator(run, "refused")
    refused_end = run.mark("refused-end", 20)
    run.expect(refused_end - before >= INTERVAL + 3, f"refusal window only {refused_end - before:.2f} s")
    bad = [e for e in run.vm.events if e.name in ("WATCHDOG", "RESET", "SHUTDOWN", "SUSPEND") and e.t < refused_end]
    run.expect(not bad, f"a reset during the clock jumps, or the guard cleared by them: {bad}")
    armed = [(t, v) for t, v in run.watchdog_enables() if v & 0x2 and t < refused_end]
    run.expect(not armed, f"the watchdog was started before the guard was removed: {armed}")
    # Still watching, and still able to reset.
    watchdog_reset(run)


CONFIG = ini(general={
    "heartbeat_file_path": "/run/hb",
    "heartbeat_timeout": "3",
    "max_resets": "5",
    "reset_window": "1h",
})

SCENARIO = Scenario(
    name="d11_clock_jumps_x86", check=check, guest=GUEST, config=CONFIG, daemon=True, timeout=150,
    doc="wall clock set to 1970 and 2100 between polls: no reset, the guard's window holds; then an indicator resets")
