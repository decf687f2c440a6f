SUMMARY = "Hard reset of the board when a fault indicator file appears"
DESCRIPTION = "stability watches for an indicator file on a shared volume \
               and, when it appears, resets the board through the hardware \
               watchdog, an RTC wake alarm or reboot(2), with a boot-loop guard."
# PLACEHOLDER: the project's public URL is not decided yet. Set STABILITY_URL
# (in local.conf or a bbappend) to the project's home; release tarballs are
# fetched from ${STABILITY_URL}/releases/download/v${PV}/${BP}.tar.gz.
# The .invalid domain never resolves, so a build that forgot it fails at fetch.
STABILITY_URL ?= "https://example.invalid/stability"
# oelint does not expand STABILITY_URL, an https:// URL, and takes it for no URL.
# nooelint: oelint.vars.homepageprefix
HOMEPAGE = "${STABILITY_URL}"
SECTION = "admin"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=b8a671e8c2d7f14e0d1bc7724dae12e1"

# A release tarball (scripts/pkg-release-tarball.sh) unpacks to ${BP}, the
# default S of every release: no S line, so one recipe serves scarthgap
# (S in WORKDIR) and wrynose (S in UNPACKDIR). To build a local checkout
# instead, see meta-stability/README.md (externalsrc).
SRC_URI = "${STABILITY_URL}/releases/download/v${PV}/${BP}.tar.gz"
SRC_URI[sha256sum] = "${STABILITY_RELEASE_SHA256}"
# Written by scripts/pkg-release-tarball.sh when v${PV} is tagged. Until then
# it is empty and bitbake stops at do_fetch, printing the checksum it got.
STABILITY_RELEASE_SHA256 ?= ""

require stability-crates.inc

inherit cargo cargo-update-recipe-crates systemd update-rc.d

# 32-bit musl (TCLIBC = "musl"): the libc crate gives musl 1.1's 32-bit
# time_t unless told the musl is 1.2 or newer (scarthgap's is 1.2.4), and the
# wall clock would then fail after 2038-01-19. Nothing changes on 64-bit
# targets. glibc: see docs/toolchains.md, "Y2038 on the 32-bit builds".
RUSTFLAGS:append:libc-musl = " --cfg libc_unstable_musl_v1_2"

# Both init flavours are packaged; systemd.bbclass and update-rc.d.bbclass
# each act only when DISTRO_FEATURES has theirs.
SYSTEMD_SERVICE:${PN} = "stability.service"
INITSCRIPT_NAME = "stability"
INITSCRIPT_PARAMS = "start 50 2 3 4 5 . stop 50 0 1 6 ."

# The config installed as /etc/stability/config.ini. A bbappend points it at
# its own file: "${STABILITY_UNPACKDIR}/config.ini" (examples/stability_%.bbappend).
STABILITY_CONFIG ?= "${S}/config.ini"
# Where file:// entries are unpacked: UNPACKDIR from styhead on, WORKDIR on
# scarthgap, which has no UNPACKDIR. Assigning UNPACKDIR itself here would
# override bitbake.conf's weak default on the newer releases.
STABILITY_UNPACKDIR = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

do_install:append() {
    install -D -m 0644 ${STABILITY_CONFIG} ${D}${sysconfdir}/stability/config.ini
    install -D -m 0644 ${S}/service/stability.default ${D}${sysconfdir}/default/stability
    # The man pages go to ${PN}-doc (FILES:${PN}-doc has ${mandir}).
    install -D -m 0644 ${S}/docs/man/stability.8 ${D}${mandir}/man8/stability.8
    install -D -m 0644 ${S}/docs/man/stability.ini.5 ${D}${mandir}/man5/stability.ini.5
    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -D -m 0644 ${S}/service/stability.service \
            ${D}${systemd_system_unitdir}/stability.service
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -D -m 0755 ${S}/service/S50stability ${D}${INIT_D_DIR}/stability
    fi
}

# Not defaults, set on purpose: package upgrades keep a locally edited config
# and argument file.
CONFFILES:${PN} = "${sysconfdir}/stability/config.ini ${sysconfdir}/default/stability"
