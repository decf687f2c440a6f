"""One QEMU (TCG) virtual machine, watched from the host.

QMP and the serial console are unix sockets that QEMU creates and waits on
(server=on,wait=on), so nothing is lost before we connect; QEMU starts stopped
(-S) and runs when we send `cont`, which is time zero of the run. Every QMP
event and every serial line gets a HOST timestamp (time.monotonic, seconds
since time zero) as it arrives, and is logged to events.log / serial.log in the
run's directory.

Guest markers: the guest's `mark NAME` prints "@@MARK NAME" on the console and
then writes the "crash loaded" bit to a pvpanic-pci device, which QEMU reports
at once as the QMP event GUEST_CRASHLOADED (it changes nothing else). The k-th
such event is the k-th marker: the host knows when the guest reached a point
from QMP alone, to within the time of one busybox exec (see README).

Boards without pvpanic (the 32-bit ARM and MIPS machines) use a marker line
instead (marker="serial"): a second UART of the board on its own socket, which
the guest writes nothing but marker names to (`echo NAME` into an open tty, no
exec). Each line is timestamped on the host when its first byte arrives and
kept as the event GUEST_MARK {"name": NAME}.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time


class VMError(Exception):
    pass


class Event:
    __slots__ = ("t", "name", "data", "wall")

    def __init__(self, t, name, data, wall):
        self.t, self.name, self.data, self.wall = t, name, data, wall

    def __repr__(self):
        return f"{self.name}{json.dumps(self.data, sort_keys=True) if self.data else ''}@{self.t:.3f}s"


class Line:
    __slots__ = ("t", "text")

    def __init__(self, t, text):
        self.t, self.text = t, text

    def __repr__(self):
        return f"{self.t:8.3f} {self.text}"


def _connect(path, proc, deadline):
    while True:
        if proc.poll() is not None:
            raise VMError(f"qemu exited with {proc.returncode} before {os.path.basename(path)} opened")
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > deadline:
                raise VMError(f"no socket {path}")
            time.sleep(0.02)


class VM:
    """A VM built from a spec (see Machine in scenario.py); start() boots it."""

    def __init__(self, argv, outdir, trace_events=(), marker="pvpanic"):
        self.argv = list(argv)
        self.outdir = outdir
        self.trace_events = list(trace_events)
        if marker not in ("pvpanic", "serial"):
            raise ValueError(f"marker {marker!r}: pvpanic or serial")
        self.marker = marker
        self._mark = None
        self._mark_buf = b""
        self._mark_t = None
        self.proc = None
        self.events = []
        self.lines = []
        self.t0 = None
        self.wall0 = None
        self._cond = threading.Condition()
        self._replies = []
        self._threads = []
        self._evlog = None
        self._serlog = None
        self._qmp = None
        self._ser = None
        self._serial_buf = b""

    # -- life cycle ---------------------------------------------------------
    def start(self):
        os.makedirs(self.outdir, exist_ok=True)
        qmp_path = os.path.join(self.outdir, "qmp.sock")
        ser_path = os.path.join(self.outdir, "serial.sock")
        mark_path = os.path.join(self.outdir, "mark.sock")
        for p in (qmp_path, ser_path, mark_path):
            if os.path.exists(p):
                os.unlink(p)
        argv = self.argv + [
            "-S",
            "-chardev", f"socket,id=qmp,path={qmp_path},server=on,wait=on",
            "-mon", "chardev=qmp,mode=control",
            "-chardev", f"socket,id=ser,path={ser_path},server=on,wait=on",
            "-serial", "chardev:ser",
        ]
        if self.marker == "serial":
            # The board's second UART (the first is the console).
            argv += ["-chardev", f"socket,id=mark,path={mark_path},server=on,wait=on",
                     "-serial", "chardev:mark"]
        if self.trace_events:
            argv += ["-msg", "timestamp=on", "-D", os.path.join(self.outdir, "trace.log")]
            for ev in self.trace_events:
                argv += ["-trace", ev]
        with open(os.path.join(self.outdir, "qemu.cmd"), "w") as f:
            f.write(" ".join(argv) + "\n")
        self._stderr = open(os.path.join(self.outdir, "qemu.stderr"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        self._qmp = _connect(qmp_path, self.proc, deadline)
        self._ser = _connect(ser_path, self.proc, deadline)
        if self.marker == "serial":
            self._mark = _connect(mark_path, self.proc, deadline)
        self._evlog = open(os.path.join(self.outdir, "events.log"), "w")
        self._serlog = open(os.path.join(self.outdir, "serial.log"), "w")
        self._qmpf = self._qmp.makefile("rb")
        greeting = json.loads(self._qmpf.readline())
        if "QMP" not in greeting:
            raise VMError(f"unexpected QMP greeting {greeting}")
        readers = [self._qmp_reader, self._serial_reader]
        if self._mark:
            readers.append(self._mark_reader)
        for target in readers:
            th = threading.Thread(target=target, daemon=True)
            th.start()
            self._threads.append(th)
        self.qmp("qmp_capabilities")
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.qmp("cont")
        self._log_event_line({"event": "HOST-CONT"}, 0.0)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Quit QEMU (gently, then by force) and close the logs. Idempotent."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.qmp("quit", timeout=3)
            except Exception:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for th in self._threads:
            th.join(2)
        for s in (self._qmp, self._ser, self._mark):
            if s:
                s.close()
        if self._serial_buf:
            self._add_line(self._serial_buf)
            self._serial_buf = b""
        for f in (self._evlog, self._serlog, self._stderr):
            if f:
                f.close()
        self._evlog = self._serlog = None

    def now(self):
        return time.monotonic() - self.t0

    # -- readers --------------------------------------------------------------
    def _log_event_line(self, obj, t):
        if self._evlog:
            rec = {"t": round(t, 4), "host_time": round(time.time(), 4)}
            rec.update(obj)
            self._evlog.write(json.dumps(rec, sort_keys=True) + "\n")
            self._evlog.flush()

    def _qmp_reader(self):
        try:
            self._qmp_read_loop()
        except OSError:
            pass  # QEMU went away
        with self._cond:
            self._replies.append({"error": {"desc": "QMP connection closed"}})
            self._cond.notify_all()

    def _qmp_read_loop(self):
        for raw in self._qmpf:
            t = time.monotonic()
            msg = json.loads(raw)
            with self._cond:
                if "event" in msg:
                    ev = Event(t - (self.t0 or t), msg["event"], msg.get("data", {}), time.time())
                    self.events.append(ev)
                    self._log_event_line({"event": ev.name, "data": ev.data}, ev.t)
                else:
                    self._replies.append(msg)
                self._cond.notify_all()

    def _add_line(self, raw):
        text = raw.decode("utf-8", "replace").rstrip("\r")
        line = Line(time.monotonic() - (self.t0 or time.monotonic()), text)
        with self._cond:
            self.lines.append(line)
            if self._serlog:
                self._serlog.write(f"{line.t:9.3f} {text}\n")
                self._serlog.flush()
            self._cond.notify_all()

    def _serial_reader(self):
        while True:
            try:
                data = self._ser.recv(4096)
            except OSError:
                break
            if not data:
                with self._cond:
                    self._cond.notify_all()
                break
            buf = self._serial_buf + data
            *whole, rest = buf.split(b"\n")
            for raw in whole:
                self._add_line(raw)
            self._serial_buf = rest

    def _mark_reader(self):
        """The marker UART: one name per line, timed by its first byte's arrival."""
        while True:
            try:
                data = self._mark.recv(4096)
            except OSError:
                break
            if not data:
                break
            t = time.monotonic() - (self.t0 or time.monotonic())
            buf = self._mark_buf + data
            if self._mark_t is None:
                self._mark_t = t
            *whole, rest = buf.split(b"\n")
            for raw in whole:
                name = raw.decode("utf-8", "replace").strip("\r\n ")
                if name:
                    ev = Event(self._mark_t, "GUEST_MARK", {"name": name}, time.time())
                    with self._cond:
                        self.events.append(ev)
                        self._log_event_line({"event": ev.name, "data": ev.data}, ev.t)
                        self._cond.notify_all()
                # Bytes after this newline in the same read arrived now too.
                self._mark_t = t
            self._mark_buf = rest
            if not rest:
                self._mark_t = None

    # -- QMP / HMP ------------------------------------------------------------
    def qmp(self, command, timeout=10, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        with self._cond:
            n = len(self._replies)
            self._qmp.sendall(json.dumps(msg).encode() + b"\n")
            if not self._cond.wait_for(lambda: len(self._replies) > n, timeout):
                raise VMError(f"no QMP reply to {command}")
            reply = self._replies[n]
        if "error" in reply:
            raise VMError(f"QMP {command}: {reply['error'].get('desc')}")
        return reply.get("return")

    def hmp(self, command_line):
        return self.qmp("human-monitor-command", **{"command-line": command_line})

    # -- waiting --------------------------------------------------------------
    def wait_for(self, predicate, timeout):
        """Wait until predicate() (called under the lock) is true; False on timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate():
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    return False
                # Slices: QEMU's exit is seen by polling, not by a notification.
                self._cond.wait(min(left, 0.2))

    def find_events(self, name, after=0.0, **data):
        return [e for e in self.events if e.name == name and e.t >= after
                and all(e.data.get(k) == v for k, v in data.items())]

    def wait_event(self, name, timeout, after=0.0, **data):
        """The first event `name` (with these data fields) at t >= after, or None."""
        found = []

        def pred():
            found[:] = self.find_events(name, after, **data)
            return bool(found) or self.proc.poll() is not None

        end = time.monotonic() + timeout
        while True:
            self.wait_for(pred, max(0.0, end - time.monotonic()))
            if found:
                return found[0]
            if time.monotonic() >= end:
                return None
            if self.proc.poll() is not None:
                # QEMU is gone: the reader may still be draining the last events.
                for th in self._threads:
                    th.join(1)
                found[:] = self.find_events(name, after, **data)
                return found[0] if found else None

    def wait_line(self, pattern, timeout, after=0.0):
        rx = re.compile(pattern)
        found = []

        def pred():
            found[:] = [ln for ln in self.lines if ln.t >= after and rx.search(ln.text)]
            return bool(found) or self.proc.poll() is not None

        self.wait_for(pred, timeout)
        return found[0] if found else None

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout)
            for th in self._threads:
                th.join(2)
            return True
        except subprocess.TimeoutExpired:
            return False

    # -- guest markers ----------------------------------------------------------
    # Marker names are restricted to [A-Za-z0-9_.:-]: a kernel message may be
    # printed into the middle of the console line, right after the name.
    MARK_RX = re.compile(r"@@MARK ([A-Za-z0-9_.:-]+)")

    def _mark_names(self):
        out = []
        for ln in self.lines:
            m = self.MARK_RX.search(ln.text)
            if m:
                out.append(m.group(1))
        return out

    def marks(self):
        """[(name, t)] of the guest's markers, timed by their QMP events.

        Names come from the "@@MARK name" console lines, in order; the time is
        that of the matching GUEST_CRASHLOADED event (None if the event is missing).
        With the marker UART, names and times come from its lines.
        """
        if self.marker == "serial":
            return [(e.data["name"], e.t) for e in self.events if e.name == "GUEST_MARK"]
        names = self._mark_names()
        times = [e.t for e in self.events if e.name == "GUEST_CRASHLOADED"]
        out = [(n, times[i] if i < len(times) else None) for i, n in enumerate(names)]
        for i in range(len(names), len(times)):
            out.append((f"<unnamed #{i}>", times[i]))
        return out

    def mark(self, name, nth=1):
        """Host time of the nth marker called `name`, or None."""
        hits = [t for n, t in self.marks() if n == name]
        return hits[nth - 1] if len(hits) >= nth else None

    def wait_mark(self, name, timeout, nth=1):
        def pred():
            if self.marker == "serial":
                hits = [e for e in self.events if e.name == "GUEST_MARK" and e.data["name"] == name]
                return len(hits) >= nth or self.proc.poll() is not None
            names = self._mark_names()
            idx = [i for i, n in enumerate(names) if n == name]
            if len(idx) < nth:
                return self.proc.poll() is not None
            k = idx[nth - 1]
            return sum(1 for e in self.events if e.name == "GUEST_CRASHLOADED") > k \
                or self.proc.poll() is not None

        self.wait_for(pred, timeout)
        return self.mark(name, nth)

    def trace_lines(self, pattern):
        """[(t, text)] of QEMU trace log lines matching pattern, on the run's clock."""
        path = os.path.join(self.outdir, "trace.log")
        out = []
        if not os.path.exists(path):
            return out
        rx = re.compile(pattern)
        tsrx = re.compile(r"^(\d+)@(\d+)\.(\d+):(.*)$")
        for raw in open(path, errors="replace"):
            m = tsrx.match(raw.strip())
            if not m or not rx.search(m.group(4)):
                continue
            wall = int(m.group(2)) + int(m.group(3)) / 10 ** len(m.group(3))
            out.append((wall - self.wall0, m.group(4)))
        return out
