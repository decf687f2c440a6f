from scenario import Scenario, AW_WDT_TRACE
import boardsmoke

# The Allwinner H3's own watchdog (sunxi_wdt on QEMU's allwinner-wdt), and the
# precision of the marker UART against QEMU's trace clock (writes to the
# SID, an H3 block no driver of this initramfs claims).
GUEST = boardsmoke.guest("0x01c14040 32 0")


def check(run):
    boardsmoke.markers(run, r"^allwinner_sid_write offset 0x40 ")
    boardsmoke.watchdog(run)


SCENARIO = Scenario(
    name="smoke_wdt_armv7", group="smoke", check=check, guest=GUEST, arch="armv7",
    trace=AW_WDT_TRACE + ("allwinner_wdt_update_timer", "allwinner_sid_write"), timeout=60,
    doc="orangepi-pc: busybox watchdog -T 2, kill -9: WATCHDOG 2 s later; marker UART precision")
