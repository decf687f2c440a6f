#!/usr/bin/env bash
# shellcheck disable=SC2317,SC1091 # functions run through step(); /etc/os-release
# Cross-compilation and qemu-user test matrix for stability.
#
# Usage: scripts/cross-test.sh [--sizes] [--budget] [--no-test] [--no-install] [TARGET...]
#
# For each TARGET (default: all six) it builds the release binary (fully
# static: checked with `file` and readelf), then runs the crate's unit and
# integration tests for that target, foreign ones under qemu-user, with the
# ioctl ground truth made from that architecture's kernel headers.
#
#   --sizes       also build the "smallest" profile (nightly build-std +
#                 panic immediate-abort) and print a markdown table of the
#                 stripped sizes of both profiles
#   --budget      --sizes, and fail if armv7 is over its ceilings (default 320 KiB,
#                 smallest 140 KiB); the smallest build's 120 KiB aim is reported
#   --no-test     build (and measure) only
#   --no-install  install nothing; fail if a tool is missing
#
# On a fresh machine of the project's image (Debian 12, rustup, root) it
# installs what it needs: qemu-user-static from bookworm-backports (the apt
# source is derived from the machine's Debian source), Debian's gcc cross
# compilers and kernel headers (ioctl ground truth, strip), rustup targets and
# rust-src, and in the work dir zig from PyPI (venv) and a pinned
# cargo-zigbuild. The work dir ($STABILITY_CROSS_WORK, default
# <target dir>/cross) holds every cache, log and truth file.
#
# How each target is built: .cargo/config.toml. In short, x86_64 and aarch64
# use stable Rust, rustup's std and rust-lld; armv7, arm (v6), mips and mipsel
# use nightly -Z build-std and cargo-zigbuild. Tests run in the debug profile:
# `cargo test --release -Z build-std` in the target dir of a
# `build --release -Z build-std=std,panic_abort` fails (duplicate lang item).
#
# Time: installs run in the background while the first targets build, and zig's
# musl for every architecture (about a minute each) is built ahead, while the
# previous target compiles.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

ALL_TARGETS=(
	x86_64-unknown-linux-musl
	aarch64-unknown-linux-musl
	armv7-unknown-linux-musleabihf
	arm-unknown-linux-musleabihf
	mips-unknown-linux-musl
	mipsel-unknown-linux-musl
)
ZIG_VERSION=0.15.2
ZIGBUILD_VERSION=0.24.1
STABLE=${STABILITY_STABLE_TOOLCHAIN:-stable}
NIGHTLY=${STABILITY_NIGHTLY_TOOLCHAIN:-nightly}
# Budgets from issue 3, for armv7 (bytes, stripped). The smallest build's
# 120 KiB was met at 121,204 B before the fault path of issue 12 (a storage
# worker, deadlines, the memory lock) and the field fixes of issue 14 added
# 24.7 KB (Thumb-2 musl took 8.7 KB back); it is reported as an aim, missed
# or met, with the bytes. What fails
# CI is the ceiling: growth past 140 KiB is a regression to look at
# (docs/toolchains.md says where the bytes go).
AIM_SMALLEST_ARMV7=$((120 * 1024))
CEILING_SMALLEST_ARMV7=$((140 * 1024))
BUDGET_DEFAULT_ARMV7=$((320 * 1024))

sizes=0 test=1 install=1 budget=0
targets=()
for arg in "$@"; do
	case $arg in
	--sizes) sizes=1 ;;
	--budget) sizes=1 budget=1 ;;
	--no-test) test=0 ;;
	--no-install) install=0 ;;
	-h | --help)
		sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	-*)
		echo "cross-test: unknown option $arg (see --help)" >&2
		exit 64
		;;
	*)
		case " ${ALL_TARGETS[*]} " in
		*" $arg "*) targets+=("$arg") ;;
		*)
			echo "cross-test: unknown target $arg; known: ${ALL_TARGETS[*]}" >&2
			exit 64
			;;
		esac
		;;
	esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

for tool in file readelf python3 rustup cargo; do
	command -v "$tool" >/dev/null || {
		echo "cross-test: $tool is missing (file, binutils, python3 and rustup come with the image)" >&2
		exit 69
	}
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${STABILITY_CROSS_WORK:-$TARGET_DIR/cross}
mkdir -p "$WORK/logs" "$WORK/ioctl-truth" "$WORK/sizes"
WORK=$(cd "$WORK" && pwd)
rm -f "$WORK/zigbuild.ready"

# zig (from the venv), cargo-zigbuild and their caches: all in the work dir.
export CARGO_ZIGBUILD_PYTHON_PATH="$WORK/zig-venv/bin/python"
export ZIG_GLOBAL_CACHE_DIR="$WORK/zig-cache"
export ZIG_LOCAL_CACHE_DIR="$WORK/zig-cache"
export CARGO_ZIGBUILD_CACHE_DIR="$WORK/zigbuild-cache"
export PATH="$WORK/tools/bin:$PATH"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

T0=$(date +%s)
say() { printf '\n==> %s\n' "$*"; }
elapsed() { echo $(($(date +%s) - $1)); }

# ---------------------------------------------------------------- targets

# How std is had: from rustup (stable), or built (-Z build-std, nightly + zig).
uses_build_std() {
	case $1 in x86_64-* | aarch64-*) return 1 ;; *) return 0 ;; esac
}

# Debian's C compiler for the target's architecture: its kernel headers are
# the ioctl ground truth, its binutils strip the size copies.
gnu_prefix() {
	case $1 in
	x86_64-*) echo "" ;;
	aarch64-*) echo aarch64-linux-gnu- ;;
	arm*-*) echo arm-linux-gnueabihf- ;;
	mips-*) echo mips-linux-gnu- ;;
	mipsel-*) echo mipsel-linux-gnu- ;;
	esac
}

# Debian packages that bring that compiler and the kernel headers.
debian_packages() {
	case $1 in
	x86_64-*) echo gcc linux-libc-dev ;;
	aarch64-*) echo gcc-aarch64-linux-gnu linux-libc-dev-arm64-cross ;;
	arm*-*) echo gcc-arm-linux-gnueabihf linux-libc-dev-armhf-cross ;;
	mips-*) echo gcc-mips-linux-gnu linux-libc-dev-mips-cross ;;
	mipsel-*) echo gcc-mipsel-linux-gnu linux-libc-dev-mipsel-cross ;;
	esac
}

# The qemu-user runner, as .cargo/config.toml declares it (empty: native).
runner_of() {
	python3 - "$1" <<-'EOF'
		import sys, tomllib
		with open(".cargo/config.toml", "rb") as f:
		    config = tomllib.load(f)
		print(config.get("target", {}).get(sys.argv[1], {}).get("runner", ""))
	EOF
}

# ------------------------------------------------------- background jobs

declare -A BG_PID
# bg NAME COMMAND...: run in the background, output in logs/NAME.log.
bg() {
	local name=$1
	shift
	"$@" >"$WORK/logs/$name.log" 2>&1 &
	BG_PID[$name]=$!
}
# await NAME: wait for it; on failure show its log. Returns its status.
await() {
	local name=$1 rc=0
	[ -n "${BG_PID[$name]:-}" ] || return 0
	wait "${BG_PID[$name]}" || rc=$?
	unset "BG_PID[$name]"
	if [ "$rc" -eq 0 ]; then
		echo "$name: done (log: $WORK/logs/$name.log)"
	else
		echo "$name: FAILED, exit $rc:"
		sed 's/^/    /' "$WORK/logs/$name.log"
	fi
	return $rc
}
# On any exit, end the background jobs this script started, children first.
kill_tree() {
	local child
	for child in $(pgrep -P "$1" || true); do kill_tree "$child"; done
	kill "$1" 2>/dev/null || true
}
cleanup() {
	local name
	for name in "${!BG_PID[@]}"; do kill_tree "${BG_PID[$name]}"; done
}
trap cleanup EXIT

# ------------------------------------------------------------------ setup

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "cross-test: need root for: $*" >&2
		return 1
	fi
}

# qemu-user-static comes from <codename>-backports (the image's qemu-utils
# does). Reuse an existing backports source, else derive one from the
# image's Debian source: same URIs and keyring, the backports suite.
ensure_backports_source() {
	local codename=$1
	if grep -rqs -- "$codename-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 0
	fi
	python3 - "$codename" /etc/apt/sources.list.d/debian.sources >"$WORK/backports.sources" <<-'EOF'
		import sys
		codename, path = sys.argv[1], sys.argv[2]
		for stanza in open(path).read().split("\n\n"):
		    fields = {}
		    for line in stanza.splitlines():
		        if line.startswith("#") or ":" not in line:
		            continue
		        key, value = line.split(":", 1)
		        fields[key.strip().lower()] = value.strip()
		    if codename in fields.get("suites", "").split() and "uris" in fields:
		        print("Types: deb")
		        print("URIs: " + fields["uris"])
		        print("Suites: " + codename + "-backports")
		        print("Components: " + fields.get("components", "main"))
		        if "signed-by" in fields:
		            print("Signed-By: " + fields["signed-by"])
		        break
		else:
		    sys.exit("no stanza for suite %s in %s" % (codename, path))
	EOF
	as_root install -m 0644 "$WORK/backports.sources" \
		"/etc/apt/sources.list.d/$codename-backports.sources"
	echo "added /etc/apt/sources.list.d/$codename-backports.sources:"
	sed 's/^/    /' "$WORK/backports.sources"
}

setup_apt() {
	local pkgs=() missing=() need_qemu=0 t p r codename
	for t in "${targets[@]}"; do
		read -ra p <<<"$(debian_packages "$t")"
		pkgs+=("${p[@]}")
		r=$(runner_of "$t")
		if [ -n "$r" ] && ! command -v "${r%% *}" >/dev/null; then need_qemu=1; fi
	done
	for p in $(printf '%s\n' "${pkgs[@]}" | sort -u); do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if [ "$need_qemu" -eq 0 ] && [ ${#missing[@]} -eq 0 ]; then
		echo "apt: nothing to install"
		return 0
	fi
	if [ "$install" -eq 0 ]; then
		echo "cross-test: missing (--no-install): ${missing[*]} $([ "$need_qemu" -eq 1 ] && echo qemu-user-static)" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	if [ "$need_qemu" -eq 1 ]; then ensure_backports_source "$codename"; fi
	as_root apt-get update -q
	if [ "$need_qemu" -eq 1 ]; then
		as_root apt-get install -y -q --no-install-recommends -t "$codename-backports" qemu-user-static
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

setup_rust() {
	local std_targets=() t need_nightly=$NEED_ZIG
	for t in "${targets[@]}"; do
		uses_build_std "$t" || std_targets+=("$t")
	done
	if [ "$install" -eq 1 ]; then
		if [ ${#std_targets[@]} -gt 0 ]; then
			rustup target add --toolchain "$STABLE" "${std_targets[@]}"
		fi
		if [ "$need_nightly" -eq 1 ]; then
			rustup run "$NIGHTLY" rustc -V >/dev/null 2>&1 ||
				rustup toolchain install "$NIGHTLY" --profile minimal
			rustup component add --toolchain "$NIGHTLY" rust-src
		fi
	fi
	rustc "+$STABLE" -V
	[ "$need_nightly" -eq 0 ] || rustc "+$NIGHTLY" -V
}

setup_zig() {
	if "$WORK/zig-venv/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIG_VERSION"; then
		return 0
	fi
	[ "$install" -eq 1 ] || { echo "cross-test: zig $ZIG_VERSION missing" >&2; return 1; }
	rm -rf "$WORK/zig-venv"
	python3 -m venv "$WORK/zig-venv"
	"$WORK/zig-venv/bin/pip" install -q --disable-pip-version-check "ziglang==$ZIG_VERSION"
	echo "zig $("$WORK/zig-venv/bin/python" -m ziglang version)"
}

setup_zigbuild() {
	if cargo-zigbuild --version 2>/dev/null | grep -q " $ZIGBUILD_VERSION\$"; then
		return 0
	fi
	[ "$install" -eq 1 ] || { echo "cross-test: cargo-zigbuild $ZIGBUILD_VERSION missing" >&2; return 1; }
	# Its own target dir, so that it never waits for our builds' lock; --debug
	# compiles in 40% of the CPU time, and a linker wrapper need not be fast.
	CARGO_TARGET_DIR="$WORK/zigbuild-build" cargo "+$STABLE" install --quiet --locked --debug \
		"cargo-zigbuild@$ZIGBUILD_VERSION" --root "$WORK/tools"
	rm -rf "$WORK/zigbuild-build"
	cargo-zigbuild --version
}

# zig builds musl, crt objects and libunwind for each target and CPU the
# first time it links for it, about a minute each. Link a C stub with the
# flags of rustc's link line that choose that variant (static, no PIE,
# debuginfo stripped), through cargo-zigbuild's own wrapper, so the matrix
# finds it in zig's cache. If the flags drift, this only wastes time.
prewarm_zig() {
	local t wrapper
	printf 'int main(void) { return 0; }\n' >"$WORK/prewarm.c"
	for t in "$@"; do
		# Any zigbuild invocation writes the wrapper, then cargo stops at once.
		CARGO_TARGET_DIR="$WORK/prewarm-target" RUSTUP_TOOLCHAIN="$NIGHTLY" \
			cargo-zigbuild zigbuild --target "$t" --bin cross-test-prewarm-none >/dev/null 2>&1 || true
		wrapper=$(find "$CARGO_ZIGBUILD_CACHE_DIR" -name "zigcc-$t-*.sh" | head -n 1)
		if [ -z "$wrapper" ]; then
			echo "prewarm $t: no cargo-zigbuild wrapper found, skipped"
			continue
		fi
		local t1
		t1=$(date +%s)
		local link=("$wrapper")
		# armv7 links with zig's Thumb-2 musl (zig_linker below).
		[ -z "$(zig_linker "$t")" ] || link=(env "CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_LINKER=$wrapper" "$ROOT/scripts/zig-thumb-link")
		"${link[@]}" -static -no-pie -nodefaultlibs -Wl,--gc-sections -Wl,--strip-debug \
			-Wl,-Bstatic -lunwind -lc -o "$WORK/prewarm-$t" "$WORK/prewarm.c" ||
			echo "prewarm $t: link failed (the matrix will build zig's libc itself)"
		echo "prewarm $t: $(elapsed "$t1")s"
	done
}

# The zig lane: zig, cargo-zigbuild, then zig's libc for each zig target.
zig_lane() {
	setup_zig
	setup_zigbuild
	touch "$WORK/zigbuild.ready"
	prewarm_zig "$@"
}

# Blocks until cargo-zigbuild is installed (the zig lane goes on prewarming).
await_zigbuild() {
	while [ ! -e "$WORK/zigbuild.ready" ]; do
		if ! kill -0 "${BG_PID[zig]:-0}" 2>/dev/null; then
			await zig || true
			[ -e "$WORK/zigbuild.ready" ] && return 0
			return 1
		fi
		sleep 1
	done
}

# ------------------------------------------------------------ the matrix

# armv7 links through scripts/zig-thumb-link: musl in Thumb-2 like the Rust
# code. A --config on the command line outranks cargo-zigbuild's variable.
zig_linker() {
	case $1 in
	armv7-*) echo "--config=target.$1.linker='$ROOT/scripts/zig-thumb-link'" ;;
	esac
}

# cargo for the target: stable + rustup's std, or nightly + build-std + zig.
# $1 = target, $2 = build|test, rest = cargo arguments.
cargo_for() {
	local target=$1 verb=$2
	shift 2
	if uses_build_std "$target"; then
		if [ "$verb" = build ]; then verb=zigbuild; fi
		# No debuginfo in the test (dev profile) builds: with build-std it
		# doubles the time to build std, and the tests print their messages.
		# shellcheck disable=SC2046
		CARGO_PROFILE_DEV_DEBUG=0 RUSTUP_TOOLCHAIN="$NIGHTLY" \
			cargo-zigbuild "$verb" --target "$target" $(zig_linker "$target") "$@"
	else
		cargo "+$STABLE" "$verb" --target "$target" "$@"
	fi
}

# Fully static: `file` says so, no program interpreter, no needed libraries.
check_static() {
	local bin=$1 desc
	desc=$(file -b "$bin")
	echo "file: $desc"
	case $desc in
	*"statically linked"* | *"static-pie linked"*) ;;
	*)
		echo "NOT STATIC: $bin" >&2
		return 1
		;;
	esac
	if readelf -lW "$bin" | grep -q 'program interpreter' || readelf -dW "$bin" | grep -q '(NEEDED)'; then
		echo "NOT STATIC: $bin has an interpreter or needed libraries" >&2
		return 1
	fi
}

build_release() {
	local target=$1 extra=()
	# std built for the release profile's panic = "abort", and without std's
	# default `backtrace` feature: symbolizing a backtrace needs debug info a
	# board does not carry, and it costs ~170 KB (armv7: 395,712 -> 218,472).
	# shellcheck disable=SC2054
	uses_build_std "$target" && extra=(-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size)
	cargo_for "$target" build --release "${extra[@]}" &&
		check_static "$TARGET_DIR/$target/release/stability"
}

make_truth() {
	local target=$1 cc
	cc="$(gnu_prefix "$target")gcc"
	scripts/ioctl-truth.sh "$cc" >"$WORK/ioctl-truth/$target.txt" || return 1
	echo "ioctl truth from $cc: $WORK/ioctl-truth/$target.txt ($(($(wc -l <"$WORK/ioctl-truth/$target.txt") - 1)) requests)"
}

run_tests() {
	local target=$1 runner extra=()
	runner=$(runner_of "$target")
	uses_build_std "$target" && extra=(-Z build-std)
	echo "runner: ${runner:-native}"
	(
		export STABILITY_IOCTL_TRUTH="$WORK/ioctl-truth/$target.txt"
		if [ -n "$runner" ]; then
			# The integration tests prefix it to every spawn of the binary.
			export STABILITY_TEST_RUNNER="$runner"
		else
			unset STABILITY_TEST_RUNNER
		fi
		# Every test binary, even after a failure; --show-output so that
		# the reason a test skipped itself ("SKIPPED: ...") is printed.
		cargo_for "$target" test --no-fail-fast "${extra[@]}" -- --show-output
	)
}

# The failures of a test log: libtest's "failures:" sections (each failing
# test's output, then their names) and cargo's word on a test binary that
# died or failed.
failure_digest() {
	awk '/^failures:$/ {on = 1}
		on {print}
		/^test result:/ {on = 0}
		/^error: test failed|process didn.t exit successfully/ {print}' "$1"
}

# Sum of cargo's "test result:" lines of a log: "passed failed skipped".
# A test that skips itself prints "SKIPPED: reason" and passes: it counts as
# skipped, not passed, as do #[ignore]d tests.
count_tests() {
	local skipped
	skipped=$(grep -c '^SKIPPED: ' "$1" || true)
	sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$1" |
		awk -v s="$skipped" '{p += $1; f += $2; i += $3} END {print p - s, f + 0, i + s}'
}

# Runs one step of one target, output shown and kept in a log.
# $1 = name, $2 = target, rest = command. Sets STEP_SECONDS.
step() {
	local name=$1 target=$2 t0 rc=0
	shift 2
	say "$name $target"
	t0=$(date +%s)
	"$@" 2>&1 | tee "$WORK/logs/$name-$target.log" || rc=$?
	STEP_SECONDS=$(elapsed "$t0")
	echo "($name $target: ${STEP_SECONDS}s, exit $rc)"
	return $rc
}

# ------------------------------------------------------------------ sizes

build_smallest() {
	local target=$1 rustflags="'-C','force-unwind-tables=no','-C','relocation-model=static'"
	# x86_64/aarch64 link with zig here too (rust-lld has no musl of its own
	# under build-std), which brings its own crt objects.
	uses_build_std "$target" || rustflags+=",'-C','link-self-contained=no'"
	# ARM: nothing unwinds, so the EHABI personality routines can be abort
	# (see the script); keeps libunwind and printf out.
	case $target in
	arm*) rustflags+=",'-C','link-arg=-Wl,-T,$ROOT/scripts/cross-nounwind-arm.ld','-C','llvm-args=-enable-machine-outliner=always'" ;;
	esac
	# Cargo appends these to the target's rustflags of .cargo/config.toml.
	local flags=(--config "target.$target.rustflags=[$rustflags]")
	# shellcheck disable=SC2207
	flags+=($(zig_linker "$target"))
	RUSTUP_TOOLCHAIN="$NIGHTLY" cargo-zigbuild zigbuild --target "$target" --profile smallest \
		-Z build-std=std,panic_abort -Z panic-immediate-abort \
		-Z build-std-features=optimize_for_size \
		--config 'profile.smallest.inherits="release"' \
		--config 'profile.smallest.panic="immediate-abort"' \
		"${flags[@]}" &&
		check_static "$TARGET_DIR/$target/smallest/stability"
}

# Bytes of a stripped copy (Debian's binutils for the architecture).
stripped_size() {
	local target=$1 profile=$2 copy
	copy="$WORK/sizes/$target-$profile"
	"$(gnu_prefix "$target")strip" --strip-all -o "$copy" "$TARGET_DIR/$target/$profile/stability"
	stat -c %s "$copy"
}

# ------------------------------------------------------------------- main

NEED_ZIG=$sizes
zig_targets=()
for target in "${targets[@]}"; do
	if uses_build_std "$target"; then NEED_ZIG=1 zig_targets+=("$target"); fi
done
# The smallest builds link every target with zig.
[ "$sizes" -eq 0 ] || for target in "${targets[@]}"; do
	uses_build_std "$target" || zig_targets+=("$target")
done

say "Cross.toml (offline schema check for cross 0.2.5)"
python3 scripts/cross-toml-check.py --self-test | tail -n 1
python3 scripts/cross-toml-check.py

say "setup: rust toolchains"
setup_rust 2>&1 | sed 's/^/    /'
echo "background: apt (log: $WORK/logs/apt.log)"
bg apt setup_apt
if [ "$NEED_ZIG" -eq 1 ]; then
	echo "background: zig, cargo-zigbuild, zig's libc for ${zig_targets[*]} (log: $WORK/logs/zig.log)"
	bg zig zig_lane "${zig_targets[@]}"
fi

declare -A BUILD_S TEST_S RESULT COUNTS SMALL
failed=0 apt_ok=unknown zigbuild_ok=unknown
need_apt() {
	if [ "$apt_ok" = unknown ]; then
		if await apt; then apt_ok=yes; else apt_ok=no; fi
	fi
	[ "$apt_ok" = yes ]
}
need_zigbuild() {
	if [ "$zigbuild_ok" = unknown ]; then
		echo "waiting for cargo-zigbuild ($(elapsed "$T0")s since start)"
		if await_zigbuild; then zigbuild_ok=yes; else zigbuild_ok=no; fi
	fi
	[ "$zigbuild_ok" = yes ]
}

for target in "${targets[@]}"; do
	RESULT[$target]=ok
	if uses_build_std "$target" && ! need_zigbuild; then
		RESULT[$target]="no cargo-zigbuild" failed=1
		continue
	fi
	if step build "$target" build_release "$target"; then
		BUILD_S[$target]=$STEP_SECONDS
	else
		BUILD_S[$target]=$STEP_SECONDS RESULT[$target]="build failed" failed=1
		continue
	fi
	[ "$test" -eq 1 ] || continue
	if ! need_apt; then
		RESULT[$target]="apt failed" failed=1
		continue
	fi
	if ! make_truth "$target"; then
		RESULT[$target]="no ioctl truth" failed=1
		continue
	fi
	if step test "$target" run_tests "$target"; then
		TEST_S[$target]=$STEP_SECONDS
	else
		TEST_S[$target]=$STEP_SECONDS RESULT[$target]="tests failed" failed=1
	fi
	COUNTS[$target]=$(count_tests "$WORK/logs/test-$target.log")
done

if [ "$sizes" -eq 1 ]; then
	for target in "${targets[@]}"; do
		need_zigbuild || break
		if step smallest "$target" build_smallest "$target"; then
			SMALL[$target]=$STEP_SECONDS
		else
			RESULT[$target]="smallest build failed" failed=1
		fi
	done
fi

say "background jobs"
need_apt || failed=1
if command -v qemu-arm-static >/dev/null; then qemu-arm-static --version | head -n 1; fi
if [ "$NEED_ZIG" -eq 1 ]; then
	await zig || failed=1
	grep -h '^prewarm' "$WORK/logs/zig.log" | sed 's/^/    /' || true
fi

say "summary ($(elapsed "$T0")s in all)"
printf '%-32s %8s %7s %9s %s\n' target build_s test_s tests result
total_p=0 total_f=0 total_i=0
for target in "${targets[@]}"; do
	read -r p f i <<<"${COUNTS[$target]:-0 0 0}"
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_i=$((total_i + i))
	printf '%-32s %8s %7s %9s %s\n' "$target" "${BUILD_S[$target]:--}" "${TEST_S[$target]:--}" \
		"$p/$f/$i" "${RESULT[$target]}"
done
echo "(tests: passed/failed/skipped)"
# The tests run with --show-output, so a failure's panic is buried in
# thousands of lines: repeat each failing test's own output here, where CI's
# tail shows it.
for target in "${targets[@]}"; do
	[ "${RESULT[$target]}" = "tests failed" ] || continue
	echo
	echo "failing tests on $target (full log: $WORK/logs/test-$target.log):"
	failure_digest "$WORK/logs/test-$target.log" | head -n 200
done
for target in "${targets[@]}"; do
	[ -f "$WORK/logs/test-$target.log" ] || continue
	grep -h '^SKIPPED: ' "$WORK/logs/test-$target.log" | sort | uniq -c |
		sed "s/^ *\([0-9]*\) SKIPPED: /skipped on $target (\1x): /" || true
done

if [ "$sizes" -eq 1 ] && need_apt; then
	say "sizes (bytes, stripped with binutils strip --strip-all)"
	echo
	echo "| target | std for the default build | default (release profile) | smallest (build-std + immediate-abort) |"
	echo "|---|---|---:|---:|"
	declare -A DEFAULT_B SMALLEST_B
	for target in "${targets[@]}"; do
		DEFAULT_B[$target]=- SMALLEST_B[$target]=-
		[ -z "${BUILD_S[$target]:-}" ] || DEFAULT_B[$target]=$(stripped_size "$target" release)
		[ -z "${SMALL[$target]:-}" ] || SMALLEST_B[$target]=$(stripped_size "$target" smallest)
		how="rustup (stable)"
		uses_build_std "$target" && how="build-std (nightly)"
		echo "| $target | $how | ${DEFAULT_B[$target]} | ${SMALLEST_B[$target]} |"
	done
	echo
	t=armv7-unknown-linux-musleabihf
	if [ -n "${DEFAULT_B[$t]:-}" ]; then
		for check in "default ${DEFAULT_B[$t]} $BUDGET_DEFAULT_ARMV7" "smallest ${SMALLEST_B[$t]} $CEILING_SMALLEST_ARMV7"; do
			read -r profile bytes limit <<<"$check"
			if [ "$bytes" != - ] && [ "$bytes" -le "$limit" ]; then
				echo "budget: armv7 $profile $bytes <= $limit bytes: ok"
			else
				echo "budget: armv7 $profile $bytes > $limit bytes: OVER"
				[ "$budget" -eq 0 ] || failed=1
			fi
		done
		bytes=${SMALLEST_B[$t]}
		if [ "$bytes" != - ]; then
			if [ "$bytes" -le "$AIM_SMALLEST_ARMV7" ]; then
				echo "aim: armv7 smallest $bytes <= $AIM_SMALLEST_ARMV7 bytes (issue 3): met"
			else
				echo "aim: armv7 smallest $bytes > $AIM_SMALLEST_ARMV7 bytes (issue 3): missed by $((bytes - AIM_SMALLEST_ARMV7)) bytes"
			fi
		fi
	fi
fi

# The closing line CI reads: the tests of every target added up.
echo
echo "cross: $total_p passed, $total_f failed, $total_i skipped"
exit $failed
