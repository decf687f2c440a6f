"""Host-side evidence: what the host itself can read from QEMU and the disk.

Nothing here asks the guest anything. Register reads go through the HMP monitor
(`human-monitor-command`) while the VM is paused (run with -action shutdown=pause
so a guest power-off leaves the machine readable).
"""
import re
import subprocess


class EvidenceError(Exception):
    pass


# -- x86 CMOS RTC (MC146818) and ACPI PM1 ------------------------------------
def port_in(vm, port, width="b"):
    out = vm.hmp(f"i /{width} {port:#x}")
    m = re.search(r"=\s*(0x[0-9a-fA-F]+)", out) or re.search(r":\s*(0x[0-9a-fA-F]+)", out)
    if not m:
        raise EvidenceError(f"cannot parse HMP 'i' output {out!r}")
    return int(m.group(1), 16)


def port_out(vm, port, value, width="b"):
    vm.hmp(f"o /{width} {port:#x} {value:#x}")


def cmos(vm, reg):
    """One CMOS byte (index through port 0x70, data through 0x71)."""
    port_out(vm, 0x70, reg)
    return port_in(vm, 0x71)


def _bcd(v):
    return (v >> 4) * 10 + (v & 0xF)


class CmosAlarm:
    """The CMOS clock and alarm as the host reads them, decoded."""

    def __init__(self, vm):
        self.reg_b = cmos(vm, 0x0B)
        raw = {name: cmos(vm, r) for name, r in (
            ("sec", 0x00), ("alarm_sec", 0x01), ("min", 0x02), ("alarm_min", 0x03),
            ("hour", 0x04), ("alarm_hour", 0x05))}
        self.raw = raw
        self.binary = bool(self.reg_b & 0x04)   # DM bit: 1 = binary, 0 = BCD
        self.h24 = bool(self.reg_b & 0x02)
        self.aie = bool(self.reg_b & 0x20)
        conv = (lambda v: v) if self.binary else _bcd
        # "don't care" alarm values (0xC0-0xFF) are kept as None
        self.time = tuple(conv(raw[k]) for k in ("hour", "min", "sec"))
        self.alarm = tuple(None if raw[k] >= 0xC0 else conv(raw[k])
                           for k in ("alarm_hour", "alarm_min", "alarm_sec"))

    def seconds_until_alarm(self):
        """Seconds from the CMOS time now to the alarm (mod one day), or None."""
        if None in self.alarm or not self.h24:
            return None
        h, m, s = self.time
        ah, am, as_ = self.alarm
        return ((ah * 3600 + am * 60 + as_) - (h * 3600 + m * 60 + s)) % 86400

    def __repr__(self):
        return (f"CMOS time {self.time} alarm {self.alarm} regB={self.reg_b:#04x} "
                f"(AIE={int(self.aie)} {'binary' if self.binary else 'BCD'} "
                f"{'24h' if self.h24 else '12h'})")


PM_BASE = 0x600   # SeaBIOS puts the ACPI PM block here on both pc (PIIX4) and q35 (ICH9)


def pm1_en(vm):
    """PM1_EN (16 bits); bit 10 (0x400) RTC_EN lets the RTC alarm wake from S5."""
    return port_in(vm, PM_BASE + 2, "h")


def pm1_sts(vm):
    return port_in(vm, PM_BASE, "h")


# -- ARM PL031 RTC (virt: 0x09010000) ------------------------------------------
PL031_BASE = 0x09010000
PL031_REGS = {"DR": 0x00, "MR": 0x04, "LR": 0x08, "CR": 0x0C, "IMSC": 0x10, "RIS": 0x14, "MIS": 0x18}


def phys_word(vm, addr):
    out = vm.hmp(f"xp /1wx {addr:#x}")
    m = re.search(r":\s*(0x[0-9a-fA-F]+)", out)
    if not m:
        raise EvidenceError(f"cannot parse HMP 'xp' output {out!r}")
    return int(m.group(1), 16)


def pl031(vm, base=PL031_BASE):
    """The PL031 registers read through the bus (MMIO reads have no side effect there)."""
    return {name: phys_word(vm, base + off) for name, off in PL031_REGS.items()}


# -- the persistent disk --------------------------------------------------------
def make_ext4(image, src_dir, size_mb=16):
    with open(image, "wb") as f:
        f.truncate(size_mb * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "vmtest", "-d", src_dir, image], check=True)


def disk_read(image, path):
    """Contents of `path` in the ext4 image, or None when missing. Read with
    debugfs, which does not replay the journal: power the guest off cleanly
    (sync + umount) before trusting what it wrote last."""
    r = subprocess.run(["debugfs", "-R", f"cat {path}", image],
                       capture_output=True)
    if r.returncode != 0:
        return None
    st = subprocess.run(["debugfs", "-R", f"stat {path}", image], capture_output=True, text=True)
    if "File not found" in st.stderr or "File not found" in st.stdout:
        return None
    return r.stdout.decode("utf-8", "replace")


def disk_ls(image, path="/"):
    r = subprocess.run(["debugfs", "-R", f"ls -p {path}", image], capture_output=True, text=True)
    names = []
    for line in r.stdout.splitlines():
        parts = line.strip("/").split("/")
        if len(parts) >= 5 and parts[4] not in (".", ".."):
            names.append(parts[4])
    return names


def cmos_writes(run, after=0.0):
    """[(t, register, value)]: the guest's writes to CMOS registers, from the
    trace point memory_region_ops_write (the index port 0x70, then the data
    port 0x71), on the run's clock. That trace point logs every MMIO and port
    write: enable it only around what matters (the Malta's kernel writes the
    CMOS index ~300,000 times while it boots)."""
    rx = re.compile(r"addr 0x(7[01]) value 0x([0-9a-f]+) .*name '(rtc|rtc-index)'")
    out, index = [], None
    for t, text in run.vm.trace_lines(r"^memory_region_ops_write .*name 'rtc(-index)?'"):
        m = rx.search(text)
        if not m:
            continue
        port, value = int(m.group(1), 16), int(m.group(2), 16)
        if port == 0x70:
            index = value & 0x7F
        elif index is not None and t >= after:
            out.append((t, index, value))
    return out
