#!/usr/bin/env python3
"""Generate, or check, meta-stability's stability-crates.inc from Cargo.lock.

bitbake's crate fetcher needs one SRC_URI entry and one sha256sum per crate
that Cargo.lock takes from the registry; OE's own `bitbake -c update_crates
stability` writes the same entries, but needs a full OE build. This script
needs Python 3.11+ only.

  pkg-crates-inc.py [--lock Cargo.lock]            print the .inc
  pkg-crates-inc.py [--lock Cargo.lock] --write    rewrite the .inc in the layer
  pkg-crates-inc.py [--lock Cargo.lock] --check    exit 1 if the .inc has drifted

--check compares the crates themselves (name, version, sha256) and says which
differ, then requires the exact generated text, so that the file stays
reproducible.
"""

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INC = ROOT / "meta-stability/recipes-support/stability/stability-crates.inc"

# The `source` Cargo.lock gives the default registry, and the URI prefix
# bitbake's crate fetcher uses for it (the fetcher's own spelling).
DEFAULT_REGISTRY = "registry+https://github.com/rust-lang/crates.io-index"
CRATE_URI_PREFIX = "crate://crates.io/"

HEADER = """\
# Generated from Cargo.lock by scripts/pkg-crates-inc.py --write; do not edit.
# scripts/check-packaging.sh fails when this file and Cargo.lock disagree.
# `bitbake -c update_crates stability` writes the same entries.
"""


def crates_from_lock(lock_path):
    """(name, version, sha256) of every registry crate, in Cargo.lock order."""
    with open(lock_path, "rb") as f:
        lock = tomllib.load(f)
    crates = []
    for pkg in lock.get("package", []):
        source = pkg.get("source")
        if source is None:
            continue  # the workspace's own crates (path dependencies)
        if source != DEFAULT_REGISTRY:
            sys.exit(f"{lock_path}: {pkg['name']} {pkg['version']} comes from "
                     f"{source}; only the default registry is supported here")
        if "checksum" not in pkg:
            sys.exit(f"{lock_path}: {pkg['name']} {pkg['version']} has no checksum")
        crates.append((pkg["name"], pkg["version"], pkg["checksum"]))
    if not crates:
        sys.exit(f"{lock_path}: no registry crates found")
    return crates


def render(crates):
    # `SRC_URI += "\` rather than OE's `SRC_URI += " \`: the same value for
    # bitbake (+= adds the space), and oelint-adv's inconspaces rule stays quiet.
    lines = [HEADER, "# from Cargo.lock", 'SRC_URI += "\\']
    for name, version, _ in crates:
        lines.append(f"    {CRATE_URI_PREFIX}{name}/{version};name={name}-{version} \\")
    lines.append('"')
    lines.append("")
    for name, version, sha in crates:
        lines.append(f'SRC_URI[{name}-{version}.sha256sum] = "{sha}"')
    return "\n".join(lines) + "\n"


URI_RE = re.compile(r"crate://[^/\s]+/([^/\s]+)/([^;\s]+);name=(\S+)")
SUM_RE = re.compile(r'^SRC_URI\[([^\]]+)\.sha256sum\]\s*=\s*"([0-9a-f]*)"', re.M)


def crates_from_inc(text):
    """Read back what a .inc declares: {(name, version): sha256 or None}."""
    sums = dict(SUM_RE.findall(text))
    found = {}
    for name, version, key in URI_RE.findall(text):
        found[(name, version)] = sums.get(key) if key == f"{name}-{version}" else None
    return found, sums


def check(lock_path, inc_path):
    want = {(n, v): s for n, v, s in crates_from_lock(lock_path)}
    text = inc_path.read_text()
    have, sums = crates_from_inc(text)
    problems = []
    for key in sorted(want.keys() - have.keys()):
        problems.append("missing crate %s %s" % key)
    for key in sorted(have.keys() - want.keys()):
        problems.append("crate %s %s is not in Cargo.lock" % key)
    for key in sorted(want.keys() & have.keys()):
        if have[key] != want[key]:
            problems.append("crate %s %s: sha256 %s, Cargo.lock says %s"
                            % (*key, have[key] or "(none)", want[key]))
    extra = set(sums) - {f"{n}-{v}" for n, v in want}
    for key in sorted(extra):
        problems.append(f"checksum SRC_URI[{key}.sha256sum] belongs to no crate")
    if not problems and text != render(crates_from_lock(lock_path)):
        problems.append("same crates, but not the generated text")
    for p in problems:
        print(f"{inc_path}: {p}", file=sys.stderr)
    if problems:
        print("regenerate it: scripts/pkg-crates-inc.py --write", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lock", type=Path, default=ROOT / "Cargo.lock")
    ap.add_argument("--inc", type=Path, default=INC)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if args.check:
        return check(args.lock, args.inc)
    text = render(crates_from_lock(args.lock))
    if args.write:
        args.inc.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
