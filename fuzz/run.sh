#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: build the fuzz targets and run each for SECONDS
# (default 60), all at once, from the committed corpus. Prints each target's
# execution count and corpus size; exits non-zero if a tool cannot be
# installed, the build fails, or any target finds a crash, a hang (over 10 s
# for one input) or runs out of memory, after printing the input that did it.
#
# Everything it makes is under target/ (gitignored), nothing under fuzz/:
#   target/fuzz-tools/     cargo-fuzz (pinned) and its build
#   target/fuzz/build/     the fuzz targets' build
#   target/fuzz/corpus/T/  inputs found in this run (the committed fuzz/corpus/T
#                          is only read; add finds with a merge, see README.md)
#   target/fuzz/artifacts/T/, target/fuzz/logs/T.log
#
# Environment: FUZZ_SANITIZER (default none: the fuzzed code is safe Rust,
# and debug assertions and overflow checks are on; `address` for ASan),
# FUZZ_MAX_LEN (default 8192 bytes per generated input: see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-60}"
[[ "$SECONDS_EACH" =~ ^[1-9][0-9]*$ ]] || {
	echo "usage: fuzz/run.sh [SECONDS]" >&2
	exit 64
}
CARGO_FUZZ_VERSION=0.13.2
SANITIZER="${FUZZ_SANITIZER:-none}"
MAX_LEN="${FUZZ_MAX_LEN:-8192}"
TARGETS=(config reason statefile)
TOOLS="$PWD/target/fuzz-tools"
OUT="$PWD/target/fuzz"
TRIPLE=x86_64-unknown-linux-gnu
start=$(date +%s)
say() { printf 'fuzz: %s\n' "$*"; }

# libFuzzer is C++, built by the libfuzzer-sys crate with the system's C++
# compiler (g++ will do; clang is not needed).
if ! command -v c++ >/dev/null; then
	say "installing g++"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
	say "installing the nightly toolchain"
	rustup toolchain install nightly --profile minimal >/dev/null
fi
if [[ "$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
	say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
	# A debug build: it only drives cargo, and builds in a third of the time.
	CARGO_TARGET_DIR="$TOOLS/build" cargo install --quiet --locked --force --debug \
		--root "$TOOLS" --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi
export PATH="$TOOLS/bin:$PATH"

say "building ${TARGETS[*]} (sanitizer: $SANITIZER)"
(cd fuzz && cargo +nightly fuzz build --debug-assertions --sanitizer "$SANITIZER" \
	--target-dir "$OUT/build")
built=$(date +%s)

# On the way out: stop the fuzzers still running (only this shell's own
# jobs) and remove the directories their guard checks made in /dev/shm.
pids=()
cleanup() {
	local pid
	for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for pid in "${pids[@]}"; do rm -rf /dev/shm/stability-fuzz-"$pid"-*; done
}
trap cleanup EXIT

say "running each target for $SECONDS_EACH s"
for t in "${TARGETS[@]}"; do
	mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t" "$OUT/logs"
	"$OUT/build/$TRIPLE/release/$t" "$OUT/corpus/$t" "fuzz/corpus/$t" \
		-max_total_time="$SECONDS_EACH" -max_len="$MAX_LEN" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$OUT/artifacts/$t/" -print_final_stats=1 \
		>"$OUT/logs/$t.log" 2>&1 &
	pids+=("$!")
done

failed=0
total=0
for i in "${!TARGETS[@]}"; do
	t=${TARGETS[$i]}
	status=0
	wait "${pids[$i]}" || status=$?
	log="$OUT/logs/$t.log"
	runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)$/\1/p' "$log" | tail -n1)
	corp=$(grep -o 'corp: [0-9]*/[0-9]*[A-Za-z]*' "$log" | tail -n1 | cut -d' ' -f2)
	found=$(find "$OUT/corpus/$t" -type f | wc -l)
	seeds=$(find "fuzz/corpus/$t" -type f | wc -l)
	total=$((total + ${runs:-0}))
	if [[ $status -eq 0 && -n "$runs" ]]; then
		say "$t: $runs executions, corpus $corp (inputs/size; $seeds committed, $found new in $OUT/corpus/$t), no crash"
	else
		failed=1
		say "$t: FAILED (libFuzzer exit status $status) after ${runs:-?} executions; the end of $log:"
		tail -n 40 "$log" | sed 's/^/    /'
		for a in "$OUT/artifacts/$t"/*; do
			[[ -f "$a" ]] || continue
			say "$t: reproducer $a ($(stat -c %s "$a") bytes), base64:"
			base64 "$a" | sed 's/^/    /'
			say "replay: $OUT/build/$TRIPLE/release/$t $a; keep it as fuzz/artifacts/$t/<name> for cargo test"
		done
	fi
done
end=$(date +%s)
say "total: $total executions; tools and build $((built - start)) s, fuzzing $((end - built)) s, all $((end - start)) s"
exit "$failed"
