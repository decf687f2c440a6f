"""`setclock`: a 44-byte static ARM EABI program that sets CLOCK_REALTIME
through clock_settime64 (syscall 404) and exits with its result (0, or the
negative errno's low byte).

Why: Debian bookworm's armhf busybox has a 32-bit time_t, so its `date -s`
cannot set a time after 2038-01-19 ("invalid date") and its `hwclock`
cannot read one; the kernel's time64 calls can. No toolchain is needed:
the program is three instructions and a timespec, laid out here by hand.
"""
import struct

VADDR = 0x10000


def arm_elf(seconds):
    code = struct.pack(
        "<7I",
        0xE3A00000,   # mov r0, #0           CLOCK_REALTIME
        0xE28F1010,   # add r1, pc, #16      &ts (pc reads 8 ahead: 4 + 8 + 16 = 28)
        0xE59F7008,   # ldr r7, [pc, #8]     the word at 24: 404, clock_settime64
        0xEF000000,   # svc 0
        0xE3A07001,   # mov r7, #1           exit(r0)
        0xEF000000,   # svc 0
        404,
    ) + struct.pack("<qq", seconds, 0)   # struct __kernel_timespec
    ehsize, phsize = 52, 32
    size = ehsize + phsize + len(code)
    header = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8) + struct.pack(
        "<HHIIIIIHHHHHH", 2, 40, 1, VADDR + ehsize + phsize, ehsize, 0,
        0x05000400,   # EABI version 5, hard-float
        ehsize, phsize, 1, 0, 0, 0)
    phdr = struct.pack("<8I", 1, 0, VADDR, VADDR, size, size, 5, 0x1000)   # PT_LOAD, R+X
    return header + phdr + code


# -- mipsel (o32): the wall clock, then the RTC -----------------------------------
# Here the program also writes the RTC (RTC_SET_TIME takes a struct rtc_time,
# no time_t, but busybox's hwclock gets the time through a 32-bit time() first).
def _r(rs, rt, rd, funct, sa=0):
    return (rs << 21) | (rt << 16) | (rd << 11) | (sa << 6) | funct


def _i(op, rs, rt, imm):
    return (op << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


ZERO, V0, A0, A1, A2, A3, T0, T1, S0, S1 = 0, 2, 4, 5, 6, 7, 8, 9, 16, 17
MIPS_VADDR = 0x400000
RTC_SET_TIME_MIPS = 0x8024700A   # _IOW('p', 0x0a, struct rtc_time): MIPS's write bit is 0x80000000


def mipsel_elf(seconds, rtc_tm, rtc_path=b"/dev/rtc0"):
    """clock_settime64(CLOCK_REALTIME, seconds), then open(rtc_path, O_RDWR)
    and RTC_SET_TIME with rtc_tm (the 9 ints of struct rtc_time); exit
    status: bit 0 the clock failed, bit 1 the RTC_SET_TIME, bit 2 the open."""
    ehsize, phsize = 52, 32
    n_code = 25
    data = MIPS_VADDR + ehsize + phsize + 4 * n_code
    ts, tm, path = data, data + 16, data + 16 + 36

    def li32(reg, value):
        return [_i(0xF, 0, reg, value >> 16), _i(0xD, reg, reg, value)]

    code = (
        li32(A1, ts) + [
            _i(9, ZERO, A0, 0),            # a0 = CLOCK_REALTIME
            _i(9, ZERO, V0, 4404),         # clock_settime64
            0x0000000C,                    # syscall
            _r(A3, ZERO, S0, 0x25),        # s0 = a3 (1: failed)
        ] + li32(A0, path) + [
            _i(9, ZERO, A1, 2),            # O_RDWR
            _i(9, ZERO, V0, 4005),         # open
            0x0000000C,
            _r(A3, ZERO, S1, 0x25),        # s1 = a3
            _r(V0, ZERO, A0, 0x25),        # a0 = fd
        ] + li32(A1, RTC_SET_TIME_MIPS) + li32(A2, tm) + [
            _i(9, ZERO, V0, 4054),         # ioctl
            0x0000000C,
            _r(0, A3, T0, 0x00, 1),        # t0 = a3 << 1
            _r(0, S1, T1, 0x00, 2),        # t1 = s1 << 2
            _r(S0, T0, A0, 0x25),          # a0 = s0 | t0
            _r(A0, T1, A0, 0x25),          # a0 |= t1
            _i(9, ZERO, V0, 4001),         # exit
            0x0000000C,
        ])
    assert len(code) == n_code, len(code)
    body = struct.pack("<%dI" % n_code, *code) + struct.pack("<qq", seconds, 0) \
        + struct.pack("<9i", *rtc_tm) + rtc_path + b"\0"
    size = ehsize + phsize + len(body)
    header = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8) + struct.pack(
        "<HHIIIIIHHHHHH", 2, 8, 1, MIPS_VADDR + ehsize + phsize, ehsize, 0,
        0x70001000,   # MIPS32r2, o32
        ehsize, phsize, 1, 0, 0, 0)
    phdr = struct.pack("<8I", 1, 0, MIPS_VADDR, MIPS_VADDR, size, size, 7, 0x1000)   # PT_LOAD, RWX
    return header + phdr + body
