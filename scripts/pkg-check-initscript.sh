#!/usr/bin/env bash
# Run service/S50stability for real: start, reload, restart, stop, with
# BusyBox's start-stop-daemon (Buildroot, most Yocto sysvinit images) and
# with dpkg's (Yocto's start-stop-daemon package), each in a throw-away root.
#
#   pkg-check-initscript.sh WORKDIR
#
# /usr/bin/stability there is a stand-in that logs its arguments and the
# signals it gets: the real daemon would try to reset this machine. The
# root is a chroot of busybox-static inside new mount and PID namespaces, so
# nothing is left running or mounted afterwards. Needs root, busybox, dash,
# dpkg's start-stop-daemon (Debian) and a C compiler with a static libc.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$1
rm -rf "$WORK"
mkdir -p "$WORK"

cat > "$WORK/fake-stability.c" <<'EOF'
/* Stand-in for the daemon: logs argv, "HUP" per SIGHUP, "TERM" at SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static volatile sig_atomic_t hup, term;
static void on_signal(int sig) { if (sig == SIGHUP) hup = 1; else term = 1; }
int main(int argc, char **argv) {
	FILE *log = fopen("/var/log/stability.log", "a");
	if (!log) return 71;
	for (int i = 1; i < argc; i++) fprintf(log, "%s%s", argv[i], i + 1 < argc ? " " : "");
	fputs("\n", log);
	fflush(log);
	signal(SIGHUP, on_signal);
	signal(SIGTERM, on_signal);
	while (!term) {
		pause();
		if (hup) { hup = 0; fputs("HUP\n", log); fflush(log); }
	}
	fputs("TERM\n", log);
	fclose(log);
	return 0;
}
EOF
cc -static -O1 -o "$WORK/fake-stability" "$WORK/fake-stability.c"

copy_libs() { # copy_libs ROOT BINARY...: the shared libraries they need
	local r=$1 lib
	shift
	{ ldd "$@" 2>/dev/null || true; } | { grep -o '/[^ ]*\.so[^ ]*' || true; } | sort -u |
		while read -r lib; do
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done
}

make_root() { # make_root DIR FLAVOUR
	local r=$1 applet
	mkdir -p "$r"/{bin,sbin,usr/bin,etc/init.d,etc/default,var/run,var/log,var/lib,proc,dev,tmp}
	touch "$r/dev/null"
	cp "$(command -v busybox)" "$r/bin/busybox"
	copy_libs "$r" "$r/bin/busybox"
	for applet in sh printf echo sleep rm mkdir cat kill grep tail start-stop-daemon; do
		ln -sf busybox "$r/bin/$applet"
	done
	if [ "$2" = dpkg ]; then
		# dpkg's start-stop-daemon, and dash as /bin/sh: BusyBox's sh would
		# run its own start-stop-daemon applet whatever PATH says.
		rm "$r/bin/start-stop-daemon" "$r/bin/sh"
		cp /usr/sbin/start-stop-daemon "$r/sbin/"
		cp "$(readlink -f /bin/dash)" "$r/bin/sh"
		copy_libs "$r" /usr/sbin/start-stop-daemon /bin/dash
	fi
	cp "$WORK/fake-stability" "$r/usr/bin/stability"
	install -m 0755 "$ROOT/service/S50stability" "$r/etc/init.d/S50stability"
	cp "$ROOT/service/stability.default" "$r/etc/default/stability"
}

# The scenario, run inside the root. Prints what went wrong and exits 1.
cat > "$WORK/scenario.sh" <<'EOF'
set -u
export PATH=/sbin:/bin:/usr/bin
S=/etc/init.d/S50stability
LOG=/var/log/stability.log
PIDFILE=/var/run/stability.pid
fail() { echo "$FLAVOUR: $*"; echo "--- log:"; cat "$LOG" 2>/dev/null; exit 1; }
# A process is running if it exists and is not a zombie (nothing in this PID
# namespace reaps the daemons start-stop-daemon orphans).
running() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }
alive() { [ -f "$PIDFILE" ] && running "$(cat "$PIDFILE")"; }
wait_log() { # wait_log LINE: up to 2 s for the log's last line to be LINE
	i=0
	while [ "$(tail -n1 "$LOG" 2>/dev/null)" != "$1" ]; do
		i=$((i + 1)); [ $i -le 20 ] || return 1; sleep 0.1
	done
}

out=$(sh $S start) || fail "start failed: $out"
[ "$out" = "Starting stability: OK" ] || fail "start printed: $out"
alive || fail "no running daemon behind $PIDFILE after start"
wait_log "--config /etc/stability/config.ini" || fail "not started with /etc/default/stability's arguments"
[ -d /var/lib/stability ] || fail "start did not create /var/lib/stability"

pid=$(cat "$PIDFILE")
sh $S reload >/dev/null || fail "reload failed"
wait_log HUP || fail "reload did not send SIGHUP"
[ "$(cat "$PIDFILE")" = "$pid" ] || fail "reload changed the pid"

echo 'STABILITY_ARGS="--config /etc/stability/other.ini --dry-run"' > /etc/default/stability
sh $S restart >/dev/null || fail "restart failed"
wait_log "--config /etc/stability/other.ini --dry-run" || fail "restart did not use the new STABILITY_ARGS"
alive && [ "$(cat "$PIDFILE")" != "$pid" ] || fail "restart left no new daemon"
grep -qx TERM "$LOG" || fail "restart did not stop the old daemon with SIGTERM"

pid=$(cat "$PIDFILE")
out=$(sh $S stop) || fail "stop failed: $out"
[ "$out" = "Stopping stability: OK" ] || fail "stop printed: $out"
[ ! -e "$PIDFILE" ] || fail "stop left $PIDFILE"
running "$pid" && fail "stop left the daemon running"
[ "$(tail -n1 "$LOG")" = TERM ] || fail "stop did not end the daemon with SIGTERM"

sh $S bogus >/dev/null 2>&1 && fail "an unknown action exited 0"
# Which start-stop-daemon ran: the flavour must not have been a no-op.
ssd=$(start-stop-daemon --version 2>&1 | grep -o -m1 -e 'BusyBox v[^ ]*' -e 'start-stop-daemon [0-9.]* for Debian')
case "$FLAVOUR:$ssd" in
busybox:BusyBox*|dpkg:*Debian) ;;
*) fail "expected the $FLAVOUR start-stop-daemon, ran: $ssd" ;;
esac
echo "$FLAVOUR: start, reload, restart, stop ok ($ssd)"
EOF

rc=0
for flavour in busybox dpkg; do
	r=$WORK/root-$flavour
	make_root "$r" "$flavour"
	cp "$WORK/scenario.sh" "$r/scenario.sh"
	# A script that hangs (e.g. a daemon left in the foreground) fails after
	# 60 s; --kill-child then takes the whole PID namespace down with it.
	# shellcheck disable=SC2016 # $1/$2 are the inner shell's arguments
	timeout 60 unshare --kill-child --mount --pid --fork --propagation private sh -c '
		mount -t proc proc "$1/proc" && mount --bind /dev/null "$1/dev/null" &&
		FLAVOUR=$2 chroot "$1" /bin/sh /scenario.sh' sh "$r" "$flavour" ||
		{ status=$?; rc=1; echo "$flavour: failed or timed out (exit $status)"; }
done
exit $rc
