from scenario import Scenario
import d04_rtc_mem_x86 as d04

# Debian's busybox-static has no rtcwake applet: util-linux's rtcwake from the
# host (with its libc) stands in.
SCENARIO = Scenario(
    name="d07_rtcwake_mem_x86", check=d04.check, guest=d04.guest(), config=d04.config("rtcwake"),
    daemon=True, machine="pc-s3", timeout=120, host_programs=("/usr/sbin/rtcwake",),
    doc="as d04 with rtc_backend = rtcwake (util-linux rtcwake in the guest)")
