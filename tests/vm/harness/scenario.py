"""Scenarios: what the guest runs, and what the host must see.

A scenario is a Scenario(...) value in tests/vm/scenarios/<name>.py: the guest
script (busybox sh, run by /init with the helpers of guest/guest.sh), an
optional daemon config, the machine, and `check(run)`, a host-side function
that waits for and asserts on host evidence while the VM runs (and after it).
"""
import dataclasses
import glob
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
# A failed run whose guest kernel clock stalled this long is run once more
# (main.py): the stall is the guest's (see Run.guest_clock_stall).
STALL_S = 10.0

# Architecture -> (Debian architecture of the kernel and busybox, the Rust
# target whose binary the guest runs by default).
ARCHES = {
    "x86_64": ("amd64", "x86_64-unknown-linux-musl"),
    "aarch64": ("arm64", "aarch64-unknown-linux-musl"),
    "armv7": ("armhf", "armv7-unknown-linux-musleabihf"),
    "mipsel": ("mipsel", "mipsel-unknown-linux-musl"),
}
# The machines of each architecture; the first is the default.
MACHINES = {
    "x86_64": ("q35", "pc-s3"),
    "aarch64": ("virt",),
    "armv7": ("orangepi-pc",),
    "mipsel": ("malta",),
}
# Allwinner H3 (orangepi-pc): the UART the guest writes its markers to (the
# device tree enables only UART0, the console; this one is enabled by the
# harness, see dtb.py), and the watchdog's registers.
H3_MARK_UART = "soc/serial@1c28400"
AW_WDT_CTRL, AW_WDT_CFG, AW_WDT_MODE = 0x10, 0x14, 0x18
# QEMU's allwinner-wdt: INTV_VALUE (MODE bits 4-7) -> seconds (its table of
# half-second counts); the Linux sunxi_wdt driver picks INTV for a timeout.
AW_WDT_SECONDS = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16)
AW_WDT_KEY = 0xA57 << 1
AW_WDT_TRACE = ("allwinner_wdt_write", "allwinner_wdt_expired")


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
    arch: str = "x86_64"            # x86_64 | aarch64 | armv7 | mipsel
    # q35 (PVH vmlinux) | pc-s3 (bzImage, S3 on) | virt (aarch64) |
    # orangepi-pc (armv7, Allwinner H3) | malta (mipsel); None: the arch's first
    machine: Optional[str] = None
    config: Optional[str] = None    # /etc/stability/config.ini
    daemon: bool = False            # put the daemon's binary in /bin/stability
    # Which binary: the Rust target (default: the arch's, see ARCHES) and the
    # cargo profile (release, or smallest as scripts/cross-test.sh --sizes builds it).
    target: Optional[str] = None
    profile: str = "release"
    actions: str = ACTIONS_EXIT
    disk: Optional[dict] = None     # {path: text or DAEMON} for a persistent ext4 virtio disk (vda)
    disk_mb: int = 16               # its size
    disks: tuple = ()               # more ext4 disks (vdb, vdc, ...), each {path: text or DAEMON}
    modules: Optional[tuple] = None  # plus their dependencies; None: the machine's watchdog driver
    module_args: dict = dataclasses.field(default_factory=dict)
    timeout: float = 60.0           # hard limit for the whole run
    trace: Optional[tuple] = None   # QEMU trace points; None: the machine's watchdog writes
    group: str = "daemon"           # smoke | daemon | keepalive | worst | measure (measure: only when named)
    host_programs: tuple = ()       # host (x86_64) programs copied in with their shared libraries
    # f(cpio, host): adds more to the initramfs (files made from the work
    # directory's downloads, e.g. the peers of bench/run --peers)
    initramfs: Optional[Callable] = None
    doc: str = ""

    def __post_init__(self):
        if self.arch not in ARCHES:
            raise ValueError(f"{self.name}: unknown arch {self.arch!r}")
        if self.machine is None:
            self.machine = MACHINES[self.arch][0]
        if self.machine not in MACHINES[self.arch]:
            raise ValueError(f"{self.name}: machine {self.machine!r} is not one of {self.arch}'s"
                             f" {MACHINES[self.arch]}")
        if self.target is None:
            self.target = ARCHES[self.arch][1]
        model = self.watchdog_model
        if self.modules is None:
            self.modules = {"i6300esb": ("i6300esb",), "allwinner": ("sunxi_wdt",),
                            None: ("softdog",)}[model]
        if self.trace is None:
            self.trace = {"i6300esb": ("pci_cfg_write",), "allwinner": AW_WDT_TRACE,
                          None: ()}[model]

    @property
    def binary_key(self):
        return (self.target, self.profile)

    @property
    def marker(self):
        """How the guest's markers reach the host: pvpanic-pci, or a second UART."""
        return "serial" if self.machine in ("orangepi-pc", "malta") else "pvpanic"

    @property
    def watchdog_model(self):
        """QEMU's watchdog device model the guest's driver runs: i6300esb,
        allwinner (the H3's own), or None (Malta: the kernel's softdog)."""
        return {"orangepi-pc": "allwinner", "malta": None}.get(self.machine, "i6300esb")


class Run:
    """What a check function gets: the VM, the run's directory, notes."""

    def __init__(self, scenario, vm, outdir, disk_image):
        self.scenario, self.vm, self.outdir, self.disk = scenario, vm, outdir, disk_image
        self.notes = []
        self.metrics = {}
        self.stall_s = 0.0   # set when the run failed: see guest_clock_stall

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
            notable = [e for e in self.vm.events if e.name not in ("RESUME", "GUEST_CRASHLOADED", "GUEST_MARK")]
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
        """Host times of the watchdog's reloads (every ping, and the one at each
        start): i6300esb reload register bit 8; Allwinner CTRL restart with its key."""
        if self.scenario.watchdog_model == "allwinner":
            return [t for t, off, v in self.aw_wdt_writes()
                    if off == AW_WDT_CTRL and v & 1 and v & 0x1ffe == AW_WDT_KEY]
        return [t for t, off, v in self.esb_writes() if off == 0xc and v & 0x100]

    def watchdog_timeouts(self):
        """[(t, seconds)]: the timeouts the guest's driver programmed (i6300esb:
        timer 1 preload / 512; Allwinner: MODE's interval, as QEMU counts it;
        the stop, a MODE write of 0, is not one)."""
        if self.scenario.watchdog_model == "allwinner":
            return [(t, AW_WDT_SECONDS[(v >> 4) & 0xf] if (v >> 4) & 0xf < len(AW_WDT_SECONDS)
                     else None)
                    for t, off, v in self.aw_wdt_writes() if off == AW_WDT_MODE and v != 0]
        return [(t, v / 512) for t, off, v in self.esb_writes() if off == 0x0]

    def watchdog_starts(self):
        """Host times at which the watchdog was started: the i6300esb's enable
        bit written 1; the Allwinner MODE enable bit rising."""
        if self.scenario.watchdog_model == "allwinner":
            return [t for t, rise in self._aw_edges() if rise]
        return [t for t, v in self.watchdog_enables() if v & 0x2]

    def watchdog_stops(self):
        """Host times at which the watchdog was stopped (a 0 enable bit written;
        on the Allwinner, the MODE enable bit falling)."""
        if self.scenario.watchdog_model == "allwinner":
            return [t for t, rise in self._aw_edges() if not rise]
        return [t for t, v in self.watchdog_enables() if not v & 0x2]

    def aw_wdt_writes(self):
        """Host-traced writes to the Allwinner watchdog: [(t, offset, value)].
        Needs the trace point allwinner_wdt_write in the scenario's `trace`
        (see AW_WDT_TRACE). Offsets: 0x10 CTRL (bit 0 restart, with the key
        0xA57 in bits 1-12: a ping), 0x14 CFG (1: reset the system), 0x18 MODE
        (bit 0 enable, bits 4-7 the interval)."""
        import re
        rx = re.compile(r"offset 0x([0-9a-f]+) data 0x([0-9a-f]+)")
        out = []
        for t, text in self.vm.trace_lines(r"^allwinner_wdt_write "):
            m = rx.search(text)
            if m:
                out.append((t, int(m.group(1), 16), int(m.group(2), 16)))
        return out

    def _aw_edges(self):
        """[(t, rising)] of the MODE enable bit."""
        out, on = [], False
        for t, off, v in self.aw_wdt_writes():
            if off != AW_WDT_MODE:
                continue
            if bool(v & 1) != on:
                on = bool(v & 1)
                out.append((t, on))
        return out

    def aw_rtc_writes(self):
        """Host-traced writes to the H3's RTC (trace allwinner_rtc_write):
        [(t, offset, value)]. QEMU's model does not keep the alarm registers
        (reads give 0) and its clock does not tick: the traced writes are the
        alarm as the guest's driver set it."""
        import re
        rx = re.compile(r"addr 0x([0-9a-f]+) value 0x([0-9a-f]+)")
        out = []
        for t, text in self.vm.trace_lines(r"^allwinner_rtc_write "):
            m = rx.search(text)
            if m:
                out.append((t, int(m.group(1), 16), int(m.group(2), 16)))
        return out

    def guest_clock_stall(self):
        """How far the guest kernel's clock fell behind the host's during the
        run, in seconds: the largest growth of (host time - kernel timestamp)
        over the console's kernel-stamped lines after the first second of
        boot (the Malta's guest prints one per marker, stability_kmsg).

        Seen on the Malta (about 2 boots in 60, on a loaded host): the guest
        kernel loses a CP0 Compare timer interrupt and sleeps until the 32-bit
        Count wraps round to it, 26.8 s at the 160 MHz count of QEMU's 24Kf;
        printk time (jiffies) stands still meanwhile. Nothing in the guest runs
        then: not the daemon, nor softdog's timer."""
        import re
        rx = re.compile(r"^\[\s*(\d+\.\d+)\]")
        lags = []
        for ln in self.vm.lines:
            m = rx.search(ln.text.lstrip())
            if m and float(m.group(1)) >= 1.0:
                lags.append(ln.t - float(m.group(1)))
        worst, low = 0.0, None
        for lag in lags:
            low = lag if low is None else min(low, lag)
            worst = max(worst, lag - low)
        return worst

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

    def __init__(self, work, binaries, fake_bug=None, missing=None):
        self.work = work
        self.binaries = binaries  # (target, profile) -> path (or missing)
        self.missing = missing or {}  # (target, profile) -> why there is no binary
        self.fake_bug = fake_bug  # with the shell stand-in daemon: which bug it plays

    def kernel_root(self, arch):
        return os.path.join(self.work, "kernel", ARCHES[arch][0])

    def busybox(self, arch):
        return os.path.join(self.work, "busybox", ARCHES[arch][0], "busybox")


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
        binary = host.binaries.get(sc.binary_key)
        if not binary or not os.path.exists(binary):
            why = host.missing.get(sc.binary_key, "build failed or was skipped")
            raise Fail(f"no daemon binary for {sc.target} ({sc.profile}): {why}")
        c.copy("bin/stability", binary, 0o755)
    if sc.initramfs is not None:
        sc.initramfs(c, host)
    c.write(out)


def qemu_argv(sc, host, initrd, disks, outdir):
    root = host.kernel_root(sc.arch)
    boot = os.path.join(root, "boot")
    vmlinuz = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")][0]
    base = ["-accel", "tcg", "-nodefaults", "-no-user-config", "-display", "none",
            "-initrd", initrd, "-action", sc.actions]
    if disks and sc.machine in ("orangepi-pc", "malta"):
        raise Fail(f"{sc.name}: no virtio disks on {sc.machine} in this harness")
    if sc.machine == "orangepi-pc":
        # Allwinner H3 (Cortex-A7, 1 GiB fixed), the zImage and the board's
        # device tree from the kernel package, with a second UART enabled for
        # the markers; its own watchdog (sunxi_wdt) and RTC (sun6i-rtc). The
        # board has four cores: nosmp keeps one, as on the other machines.
        import dtb
        dtbs = glob.glob(os.path.join(root, "usr/lib/linux-image-*/sun8i-h3-orangepi-pc.dtb"))
        if not dtbs:
            raise Fail(f"no sun8i-h3-orangepi-pc.dtb under {root} (tests/vm/setup unpacks it)")
        patched = os.path.join(outdir, "orangepi-pc.dtb")
        dtb.enable_node_file(dtbs[0], patched, H3_MARK_UART)
        return ["qemu-system-arm", "-M", "orangepi-pc", "-m", "1G",
                "-kernel", os.path.join(boot, vmlinuz), "-dtb", patched,
                "-append", f"console=ttyS0,115200 {FAST_CMDLINE} nosmp stability_mark=ttyS1"] + base
    if sc.machine == "malta":
        # MIPS Malta (little-endian, 24Kf): its PIIX4 with the MC146818 RTC,
        # two ISA UARTs (ttyS0 the console, ttyS1 the markers); no watchdog
        # device QEMU models has a driver in the 4kc-malta kernel: softdog.
        return ["qemu-system-mipsel", "-M", "malta", "-m", "256",
                "-kernel", os.path.join(boot, vmlinuz),
                "-append", f"console=ttyS0 {FAST_CMDLINE} stability_mark=ttyS1 stability_kmsg=1"] + base
    common = base + ["-m", "256", "-smp", "1", "-device", "i6300esb", "-device", "pvpanic-pci"]
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
            binary = host.binaries.get(sc.binary_key)
            if not binary or not os.path.exists(binary):
                why = host.missing.get(sc.binary_key, "build failed or was skipped")
                raise Fail(f"no daemon binary for {sc.target} ({sc.profile}): {why}")
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
        vm = VM(qemu_argv(sc, host, initrd, images, outdir), outdir, trace_events=sc.trace,
                marker=sc.marker)
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
        if run is not None:
            run.stall_s = run.guest_clock_stall()
            if run.stall_s >= STALL_S:
                msg += (f" [the guest kernel's clock stalled {run.stall_s:.1f} s during this run:"
                        f" a lost timer interrupt in the guest (tests/vm/README.md), not the daemon]")
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
