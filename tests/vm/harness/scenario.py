"""Scenarios: what the guest runs, and what the host must see.

A scenario is a Scenario(...) value in tests/vm/scenarios/<name>.py: the guest
script (busybox sh, run by /init with the helpers of guest/guest.sh), an
optional daemon config, the machine, and `check(run)`, a host-side function
that waits for and asserts on host evidence while the VM runs (and after it).
"""
import dataclasses
import os
import shutil
import time
from typing import Callable, Optional

from initramfs import Cpio
from kernel import load_order
from qemu import VM
import evidence

HERE = os.path.dirname(os.path.abspath(__file__))

# Default reaction to the guest: a watchdog expiry or a reboot ends QEMU
# (reported as WATCHDOG + SHUTDOWN guest-reset); a power-off ends it too.
ACTIONS_EXIT = "reboot=shutdown,shutdown=poweroff,watchdog=reset"
# Real reboots (boot counting): QEMU resets the machine and goes on.
ACTIONS_REBOOT = "reboot=reset,shutdown=poweroff,watchdog=reset"
# Power-off pauses, so the host can read registers afterwards.
ACTIONS_PAUSE = "reboot=shutdown,shutdown=pause,watchdog=reset"

FAST_CMDLINE = "quiet cryptomgr.notests rodata=off mitigations=off"


class Fail(Exception):
    pass


# In a disk's contents: the daemon's binary (as a board has it on its root
# file system, where its pages can be dropped and must be read back).
DAEMON = object()


@dataclasses.dataclass
class Scenario:
    name: str
    check: Callable
    guest: str = ""
    arch: str = "x86_64"            # x86_64 | aarch64
    machine: str = "q35"            # q35 (PVH vmlinux) | pc-s3 (bzImage, S3 on) | virt (aarch64)
    config: Optional[str] = None    # /etc/stability/config.ini
    daemon: bool = False            # put the daemon's release binary in /bin/stability
    actions: str = ACTIONS_EXIT
    disk: Optional[dict] = None     # {path: text or DAEMON} for a persistent ext4 virtio disk (vda)
    disk_mb: int = 16               # its size
    disks: tuple = ()               # more ext4 disks (vdb, vdc, ...), each {path: text or DAEMON}
    modules: tuple = ("i6300esb",)  # plus their dependencies
    module_args: dict = dataclasses.field(default_factory=dict)
    timeout: float = 60.0           # hard limit for the whole run
    trace: tuple = ("pci_cfg_write",)
    group: str = "daemon"           # smoke | daemon | keepalive | measure (measure: only when named)
    host_programs: tuple = ()       # host (x86_64) programs copied in with their shared libraries
    # f(cpio, host): adds more to the initramfs (files made from the work
    # directory's downloads, e.g. the peers of bench/run --peers)
    initramfs: Optional[Callable] = None
    doc: str = ""


class Run:
    """What a check function gets: the VM, the run's directory, notes."""

    def __init__(self, scenario, vm, outdir, disk_image):
        self.scenario, self.vm, self.outdir, self.disk = scenario, vm, outdir, disk_image
        self.notes = []
        self.metrics = {}

    def note(self, text):
        self.notes.append(text)

    def metric(self, key, value):
        self.metrics[key] = value
        self.note(f"{key} = {value:.3f}" if isinstance(value, float) else f"{key} = {value}")

    def expect(self, cond, message):
        if not cond:
            raise Fail(message)

    # -- common evidence ---------------------------------------------------------
    def event(self, name, timeout, after=0.0, **data):
        """Wait for a QMP event; Fail when it does not come."""
        ev = self.vm.wait_event(name, timeout, after=after, **data)
        if ev is None:
            raise Fail(f"no {name} {data or ''} within {timeout:.0f} s after t={after:.2f}"
                       f" (events: {self.vm.events})")
        return ev

    def no_event(self, name, until, after=0.0, **data):
        """Wait until run time `until`; Fail if event `name` came after `after`."""
        ev = self.vm.wait_event(name, max(0.0, until - self.vm.now()), after=after, **data)
        if ev is not None:
            raise Fail(f"unexpected {ev} (window {after:.2f}..{until:.2f} s)")
        if self.vm.now() < until - 0.5 and not self.vm.alive():
            # QEMU ended early: the window was not observed.
            raise Fail(f"QEMU ended at t={self.vm.now():.2f} before the window closed ({until:.2f} s);"
                       f" events: {self.vm.events}")

    def mark(self, name, timeout, nth=1):
        t = self.vm.wait_mark(name, timeout, nth)
        if t is None:
            notable = [e for e in self.vm.events if e.name not in ("RESUME", "GUEST_CRASHLOADED")]
            why = f"QEMU ended at t={self.vm.now():.1f}" if not self.vm.alive() else f"within {timeout:.0f} s"
            raise Fail(f"guest marker {name!r} (#{nth}) not seen ({why});"
                       f" events: {notable}; marks: {self.vm.marks()}")
        return t

    def shutdown_reason(self, timeout, after=0.0):
        return self.event("SHUTDOWN", timeout, after=after).data.get("reason")

    def guest_said(self, pattern):
        """Guest lines matching pattern (for explanations, never a pass on its own)."""
        import re
        rx = re.compile(pattern)
        return [ln for ln in self.vm.lines if rx.search(ln.text)]

    def resets(self, after=0.0):
        """Guest resets as the host saw them: RESET events, those less than 1 s
        apart counted once (on x86 the firmware resets once more by itself
        right after a guest reset)."""
        out = []
        for e in self.vm.find_events("RESET", after=after):
            if not out or e.t - out[-1][-1].t > 1.0:
                out.append([e])
            else:
                out[-1].append(e)
        return [c[0] for c in out]

    def esb_writes(self):
        """Host-traced writes to the i6300esb's memory BAR: [(t, offset, value)].

        Needs the trace point memory_region_ops_write in the scenario's `trace`.
        The unlock sequence (0x80, 0x86 to the reload register) is left out.
        Offsets: 0x00/0x04 timer 1/2 preload (the Linux driver writes
        timeout << 9 to both), 0x0c reload register (bit 8: reload = a ping).
        Read it once QEMU has ended: the trace log is written as QEMU goes."""
        import re
        rx = re.compile(r"addr 0x([0-9a-f]+) value 0x([0-9a-f]+)")
        out = []
        for t, text in self.vm.trace_lines(r"^memory_region_ops_write .*name 'i6300esb'"):
            m = rx.search(text)
            if not m:
                continue
            off, val = int(m.group(1), 16) & 0xf, int(m.group(2), 16)
            if off == 0xc and val in (0x80, 0x86):
                continue
            out.append((t, off, val))
        return out

    def watchdog_pings(self):
        """Host times of the i6300esb's reloads (every ping, and the one at each start)."""
        return [t for t, off, v in self.esb_writes() if off == 0xc and v & 0x100]

    def watchdog_timeouts(self):
        """[(t, seconds)]: the timeouts the guest's driver programmed (timer 1 preload / 512)."""
        return [(t, v / 512) for t, off, v in self.esb_writes() if off == 0x0]

    def watchdog_enables(self):
        """Host-traced writes of the i6300esb lock register (0x68): (t, value)."""
        out = []
        for t, text in self.vm.trace_lines(r"^pci_cfg_write i6300esb "):
            if "@0x68 " in text:
                out.append((t, int(text.rsplit("0x", 1)[1], 16)))
        return out


# -- building the guest ------------------------------------------------------------
class Host:
    """Paths of the prepared work directory and the daemon binaries."""

    def __init__(self, work, binaries, fake_bug=None):
        self.work = work
        self.binaries = binaries  # arch -> path (or missing)
        self.fake_bug = fake_bug  # with the shell stand-in daemon: which bug it plays

    def kernel_root(self, arch):
        return os.path.join(self.work, "kernel", {"x86_64": "amd64", "aarch64": "arm64"}[arch])

    def busybox(self, arch):
        return os.path.join(self.work, "busybox", {"x86_64": "amd64", "aarch64": "arm64"}[arch],
                            "busybox")


def shared_libraries(program):
    """The shared libraries `ldd` lists for a host program (absolute paths)."""
    import subprocess
    out = subprocess.run(["ldd", program], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        for p in parts:
            if p.startswith("/"):
                libs.append(p)
                break
    return libs


def build_initramfs(sc, host, out):
    root = host.kernel_root(sc.arch)
    c = Cpio()
    c.chardev("dev/console", 5, 1)
    c.dir("proc"); c.dir("sys"); c.dir("run"); c.dir("tmp"); c.dir("mnt")
    c.copy("bin/busybox", host.busybox(sc.arch), 0o755)
    c.copy("init", os.path.join(HERE, "guest", "init"), 0o755)
    c.copy("lib/guest.sh", os.path.join(HERE, "guest", "guest.sh"), 0o644)
    mods = load_order(root, sc.modules)
    lines = []
    for path in mods:
        base = os.path.basename(path)
        c.copy(f"lib/modules/{base}", path, 0o644)
        name = base[:-3].replace("-", "_")
        lines.append(f"{base} {sc.module_args.get(name, '')}".rstrip())
    c.file("etc/modules.list", "\n".join(lines) + "\n")
    c.file("scenario.sh", sc.guest)
    if sc.config is not None:
        c.file("etc/stability/config.ini", sc.config)
    for prog in sc.host_programs:
        if sc.arch != "x86_64":
            raise Fail(f"host program {prog} cannot run on {sc.arch}")
        for path in [prog] + shared_libraries(prog):
            c.copy(path.lstrip("/"), os.path.realpath(path), 0o755)
    if host.fake_bug is not None:
        c.file("etc/stability/fake-bug", host.fake_bug + "\n")
    if sc.daemon:
        binary = host.binaries.get(sc.arch)
        if not binary or not os.path.exists(binary):
            raise Fail(f"no daemon binary for {sc.arch} (build failed or was skipped)")
        c.copy("bin/stability", binary, 0o755)
    if sc.initramfs is not None:
        sc.initramfs(c, host)
    c.write(out)


def qemu_argv(sc, host, initrd, disks):
    root = host.kernel_root(sc.arch)
    boot = os.path.join(root, "boot")
    vmlinuz = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")][0]
    common = ["-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
              "-display", "none", "-initrd", initrd, "-action", sc.actions,
              "-device", "i6300esb", "-device", "pvpanic-pci"]
    for disk in disks:
        common += ["-drive", f"file={disk},if=virtio,format=raw,cache=writeback"]
    if sc.arch == "x86_64":
        cmdline = f"console=ttyS0 {FAST_CMDLINE}"
        if sc.machine == "q35":
            return ["qemu-system-x86_64", "-M", "q35", "-kernel", os.path.join(root, "vmlinux"),
                    "-append", cmdline] + common
        if sc.machine == "pc-s3":
            return ["qemu-system-x86_64", "-M", "pc", "-global", "PIIX4_PM.disable_s3=0",
                    "-kernel", os.path.join(boot, vmlinuz), "-append", cmdline] + common
    if sc.arch == "aarch64" and sc.machine == "virt":
        return ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57",
                "-kernel", os.path.join(boot, vmlinuz),
                # The pvpanic BAR would share a page with the i6300esb BAR, which its
                # driver claims, and /dev/mem then refuses the whole page: give the
                # pvpanic device a page of its own.
                "-append", f"console=ttyAMA0 {FAST_CMDLINE} pci=resource_alignment=12@pci:1b36:0011",
                ] + common
    raise ValueError(f"{sc.name}: unknown arch/machine {sc.arch}/{sc.machine}")


def make_disk(sc, host, contents, base, size_mb):
    """An ext4 image `base`.img holding `contents` ({path: text, DAEMON, or
    f(host) -> bytes}; a path ending in / is a directory)."""
    src = base + "-src"
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    for path, text in contents.items():
        full = os.path.join(src, path.lstrip("/"))
        if path.endswith("/"):
            os.makedirs(full, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if text is DAEMON:
            binary = host.binaries.get(sc.arch)
            if not binary or not os.path.exists(binary):
                raise Fail(f"no daemon binary for {sc.arch} (build failed or was skipped)")
            shutil.copy(binary, full)
            os.chmod(full, 0o755)
            continue
        if callable(text):
            with open(full, "wb") as f:
                f.write(text(host))
            os.chmod(full, 0o755)
            continue
        with open(full, "w") as f:
            f.write(text)
    image = base + ".img"
    evidence.make_ext4(image, src, size_mb)
    return image


def run_scenario(sc, host, results):
    """Boot, check, stop. Returns (ok, message, run)."""
    outdir = os.path.join(results, sc.name)
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    initrd = os.path.join(outdir, "initrd.cpio")
    disk = None
    run = None
    started = time.monotonic()
    try:
        build_initramfs(sc, host, initrd)
        images = []
        for n, contents in enumerate(([sc.disk] if sc.disk is not None else []) + list(sc.disks)):
            name = "disk" if n == 0 and sc.disk is not None else f"disk{n + 1}"
            images.append(make_disk(sc, host, contents, os.path.join(outdir, name),
                                    sc.disk_mb if name == "disk" else 64))
        disk = images[0] if sc.disk is not None else None
        vm = VM(qemu_argv(sc, host, initrd, images), outdir, trace_events=sc.trace)
        run = Run(sc, vm, outdir, disk)
        import threading
        killer = threading.Timer(sc.timeout, lambda: vm.proc and vm.proc.kill())
        killer.daemon = True
        vm.start()
        killer.start()
        try:
            sc.check(run)
        finally:
            killer.cancel()
            timed_out = time.monotonic() - started >= sc.timeout
            vm.stop()
        if timed_out:
            raise Fail(f"hard timeout {sc.timeout:.0f} s")
        ok, msg = True, "; ".join(run.notes)
    except Fail as e:
        ok, msg = False, str(e)
    except Exception as e:  # harness trouble is a failure too, with its cause
        import traceback
        traceback.print_exc()
        ok, msg = False, f"{type(e).__name__}: {e}"
    finally:
        if run is not None:
            run.vm.stop()
    wall = time.monotonic() - started
    with open(os.path.join(outdir, "result.txt"), "w") as f:
        f.write(f"{'PASS' if ok else 'FAIL'} {sc.name} {wall:.1f}s\n{msg}\n")
        if run:
            for k, v in run.metrics.items():
                f.write(f"metric {k} {v}\n")
    if ok:  # keep the logs, drop the bulky inputs
        for f in ("initrd.cpio",):
            p = os.path.join(outdir, f)
            if os.path.exists(p):
                os.unlink(p)
    return ok, msg, wall, run
