# Ship your own /etc/stability/config.ini: copy this file into your layer as
# recipes-support/stability/stability_%.bbappend and put the config beside it
# as files/config.ini. Works on scarthgap (files unpacked to WORKDIR) and
# wrynose (UNPACKDIR) alike: STABILITY_UNPACKDIR is whichever applies.
FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
SRC_URI += "file://config.ini"
STABILITY_CONFIG = "${STABILITY_UNPACKDIR}/config.ini"
