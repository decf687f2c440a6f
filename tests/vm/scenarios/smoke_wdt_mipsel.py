from scenario import Scenario
import boardsmoke

# softdog on the Malta (no watchdog device QEMU models has a driver in this
# kernel): its expiry restarts the machine through the Malta's reset register,
# a SHUTDOWN guest-reset with no WATCHDOG event. Marker precision against
# QEMU's trace clock: writes to the Malta FPGA's LED bar.
GUEST = boardsmoke.guest("0x1f000408 8 0x55")


def check(run):
    boardsmoke.markers(run, r"^malta_fpga_leds ")
    boardsmoke.watchdog(run)


SCENARIO = Scenario(
    name="smoke_wdt_mipsel", group="smoke", check=check, guest=GUEST, arch="mipsel",
    trace=("malta_fpga_leds",), timeout=60,
    doc="malta: softdog, busybox watchdog -T 2, kill -9: reset 2 s later; marker UART precision")
