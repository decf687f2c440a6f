# shellcheck shell=sh
# Helpers for the scenario scripts (sourced by /init; busybox ash).
# Everything a scenario prints goes to the serial console, which the host logs
# with host timestamps. Lines starting with "@@" are for the harness.

say() { echo "@@ $*"; }

# mark NAME: a point in the guest's run that the host times from QMP.
# The console line names it; the pvpanic "crash loaded" write makes QEMU emit
# GUEST_CRASHLOADED at once. The host pairs the k-th line with the k-th event.
# On boards without pvpanic the name goes to the marker UART (fd 9, opened
# once: a shell builtin's write, no exec), which the host timestamps.
mark() {
    if [ -n "$MARK_TTY" ]; then
        echo "$1" >&9
        echo "@@MARK $1"
        # stability_kmsg=1: the marker also in the kernel log, so the console
        # shows the guest kernel's timestamp of it (see Run.guest_clock_stall).
        # shellcheck disable=SC2154 # set by the kernel
        [ -n "$stability_kmsg" ] && echo "<3>@@KMARK $1" > /dev/kmsg
        return
    fi
    echo "@@MARK $1"
    if [ -n "$PVPANIC" ]; then
        devmem "$PVPANIC" 8 2
    else
        echo "@@ no pvpanic device: marker $1 has no QMP event"
    fi
}

guest_setup() {
    PVPANIC=
    MARK_TTY=
    # stability_mark=ttySN on the kernel command line (an environment
    # variable of init): the marker UART.
    # shellcheck disable=SC2154 # set by the kernel
    if [ -n "$stability_mark" ]; then
        # (A failed redirection of `exec` would end this shell: try it first.)
        if [ -c "/dev/$stability_mark" ] && { true > "/dev/$stability_mark"; } 2>/dev/null; then
            exec 9>"/dev/$stability_mark"
            stty -F "/dev/$stability_mark" raw -echo 2>/dev/null
            MARK_TTY=/dev/$stability_mark
        else
            echo "@@ no marker UART /dev/$stability_mark"
        fi
        return
    fi
    for d in /sys/bus/pci/devices/*; do
        if [ "$(cat "$d/vendor")" != 0x1b36 ] || [ "$(cat "$d/device")" != 0x0011 ]; then
            continue
        fi
        # No driver binds it: enable its memory decoding ourselves.
        echo 1 > "$d/enable" 2>/dev/null
        # shellcheck disable=SC2046
        set -- $(head -n 1 "$d/resource")
        PVPANIC=$1
    done
}

# The daemon under test, its stderr on the console.
start_daemon() {
    stability "$@" > /dev/console 2>&1 9>&- &
    DAEMON_PID=$!
    say "daemon pid $DAEMON_PID"
}

# wait_file PATH SECONDS: until PATH exists (polling every 0.1 s).
wait_file() {
    n=0
    while [ ! -e "$1" ] && [ "$n" -lt $(($2 * 10)) ]; do sleep 0.1; n=$((n + 1)); done
    [ -e "$1" ]
}

# create_indicator NAME [PATH]: create the indicator file between two markers,
# NAME-before and NAME-created, so the host knows the moment to within the
# time between them. The file is created by a shell redirection (no exec).
create_indicator() {
    mark "$1-before"
    echo "$1" > "${2:-/run/ind}"
    mark "$1-created"
}

# wait_suspends N SECONDS: until the kernel has completed N suspends since boot.
wait_suspends() {
    n=0
    while [ "$(cat /sys/power/suspend_stats/success)" -lt "$1" ] && [ "$n" -lt $(($2 * 10)) ]; do
        sleep 0.1
        n=$((n + 1))
    done
    [ "$(cat /sys/power/suspend_stats/success)" -ge "$1" ]
}
