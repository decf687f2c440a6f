################################################################################
#
# stability
#
################################################################################

STABILITY_VERSION = 0.1.0
# PLACEHOLDER: the project's public URL is not decided yet. Set STABILITY_SITE
# to where the release tarballs (stability-$(STABILITY_VERSION).tar.gz) live,
# here or on the command line: make STABILITY_SITE=https://...
STABILITY_SITE = https://example.invalid/stability/releases/download/v$(STABILITY_VERSION)
STABILITY_LICENSE = MIT
STABILITY_LICENSE_FILES = LICENSE

# A local checkout (STABILITY_OVERRIDE_SRCDIR in local.mk) skips the download
# step, and with it Buildroot's vendoring of the crates, so the --offline build
# would find none: vendor them into the build directory's copy instead, the
# way the download step does (needs the network once; the checkout itself is
# not touched).
ifneq ($(STABILITY_OVERRIDE_SRCDIR),)
STABILITY_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude=target
define STABILITY_VENDOR_CRATES
	mkdir -p $(@D)/.cargo
	cd $(@D) && $(HOST_MAKE_ENV) $(PKG_CARGO_ENV) \
		cargo vendor --locked VENDOR > $(@D)/.cargo/config.toml
endef
STABILITY_PRE_BUILD_HOOKS += STABILITY_VENDOR_CRATES
endif

# musl: the libc crate gives 32-bit musl targets musl 1.1's 32-bit time_t
# unless told the musl is 1.2 or newer (Buildroot's is), and the wall clock
# would then fail after 2038-01-19. This variable replaces the one
# pkg-cargo.mk sets for ARM, so its flag is repeated. glibc: see
# docs/toolchains.md, "Y2038 on the 32-bit builds".
ifeq ($(BR2_TOOLCHAIN_USES_MUSL),y)
STABILITY_RUSTFLAGS = --cfg libc_unstable_musl_v1_2
ifeq ($(NORMALIZED_ARCH),arm)
STABILITY_RUSTFLAGS += -Clink-arg=-Wl,--allow-multiple-definition
endif
STABILITY_CARGO_ENV += \
	CARGO_TARGET_$(call UPPERCASE,$(RUSTC_TARGET_NAME))_RUSTFLAGS="$(STABILITY_RUSTFLAGS)"
endif

STABILITY_RECOVERY_DEVICE = $(call qstrip,$(BR2_PACKAGE_STABILITY_RECOVERY_DEVICE))

# The shipped config, with the recovery device chosen in menuconfig. A file
# of the same name in a rootfs overlay replaces it.
define STABILITY_INSTALL_CONFIG
	$(INSTALL) -D -m 0644 $(@D)/config.ini $(TARGET_DIR)/etc/stability/config.ini
	$(SED) 's/^recovery_device = .*/recovery_device = $(STABILITY_RECOVERY_DEVICE)/' \
		$(TARGET_DIR)/etc/stability/config.ini
endef
STABILITY_POST_INSTALL_TARGET_HOOKS += STABILITY_INSTALL_CONFIG

# The man pages, where every package puts them. Buildroot's target-finalize
# removes /usr/share/man from the image, as for all packages; to ship them,
# copy them back in a post-build script (they are in the source tree,
# docs/man/).
define STABILITY_INSTALL_MAN_PAGES
	$(INSTALL) -D -m 0644 $(@D)/docs/man/stability.8 \
		$(TARGET_DIR)/usr/share/man/man8/stability.8
	$(INSTALL) -D -m 0644 $(@D)/docs/man/stability.ini.5 \
		$(TARGET_DIR)/usr/share/man/man5/stability.ini.5
endef
STABILITY_POST_INSTALL_TARGET_HOOKS += STABILITY_INSTALL_MAN_PAGES

# The init script and the unit come from the source tree's service/, as the
# Yocto recipe takes them from ${S}: one copy of each in the project.
define STABILITY_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(@D)/service/S50stability \
		$(TARGET_DIR)/etc/init.d/S50stability
endef

define STABILITY_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/service/stability.service \
		$(TARGET_DIR)/usr/lib/systemd/system/stability.service
endef

$(eval $(cargo-package))
