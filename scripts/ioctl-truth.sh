#!/usr/bin/env bash
# Usage: scripts/ioctl-truth.sh [CC] > truth.txt
#
# Prints the ioctl request numbers of the Linux uapi headers as the C compiler
# CC (default: cc) sees them for its own architecture, one "NAME 0x%08x" line
# per request, after a "machine TRIPLE" line naming CC's target so that
# tests/ioctl_numbers.rs can refuse a truth file made for another architecture.
# CC is one of Debian's cross compilers (aarch64-linux-gnu-gcc,
# arm-linux-gnueabihf-gcc, mips-linux-gnu-gcc, mipsel-linux-gnu-gcc) or the
# host gcc; it only compiles tests/ioctl/ioctl_truth.c to assembly.
set -euo pipefail

cc=${1:-cc}
src="$(cd "$(dirname "$0")/.." && pwd)/tests/ioctl/ioctl_truth.c"

machine=$($cc -dumpmachine)
# $cc is split on purpose: "gcc -m32" style compilers work.
asm=$($cc -S -o - "$src")

echo "machine $machine"
count=0
# The immediate is printed as a signed 32-bit decimal, after "$" on x86 and
# "#" on ARM; mask it to the unsigned request number.
while read -r name value; do
	printf '%s 0x%08x\n' "$name" $((value & 0xffffffff))
	count=$((count + 1))
done < <(sed -n 's/^.*"@ioctl \([A-Z0-9_]*\) [$#]\{0,1\}\(-\{0,1\}[0-9][0-9]*\)".*$/\1 \2/p' <<<"$asm")

if [ "$count" -eq 0 ]; then
	echo "ioctl-truth: no @ioctl markers in the assembly of $src from $cc" >&2
	exit 1
fi
