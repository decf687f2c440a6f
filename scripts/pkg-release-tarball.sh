#!/usr/bin/env bash
# Make the release tarball that the Yocto recipe and the Buildroot package
# fetch, and print its sha256.
#
#   scripts/pkg-release-tarball.sh [TAG]           default TAG: v<Cargo.toml version>
#   scripts/pkg-release-tarball.sh --update-recipe [TAG]
#
# Writes target/stability-<version>.tar.gz with `git archive` from TAG: the
# committed files only, under one top directory stability-<version>/, which is
# the default S of the recipe (so it needs no S line on any release) and what
# Buildroot extracts. Publish it as
#   <project URL>/releases/download/v<version>/stability-<version>.tar.gz
# --update-recipe also writes the checksum into the recipe
# (STABILITY_RELEASE_SHA256). Buildroot's hash is of its own repacked
# tarball, not this one: see buildroot-package/package/stability/stability.hash.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RECIPE_DIR=$ROOT/meta-stability/recipes-support/stability

update=
if [ "${1:-}" = "--update-recipe" ]; then
	update=1
	shift
fi
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -n1)
tag=${1:-v$version}
git -C "$ROOT" rev-parse --verify --quiet "$tag^{commit}" >/dev/null ||
	{ echo "no tag or commit $tag" >&2; exit 1; }
tag_version=$(git -C "$ROOT" show "$tag:Cargo.toml" | sed -n 's/^version = "\(.*\)"$/\1/p' | head -n1)
out=$ROOT/target/stability-$tag_version.tar.gz
mkdir -p "$ROOT/target"
git -C "$ROOT" archive --format=tar.gz --prefix="stability-$tag_version/" -o "$out" "$tag"
sum=$(sha256sum "$out" | cut -d' ' -f1)
echo "$out"
echo "sha256 $sum"
if [ -n "$update" ]; then
	recipe=$RECIPE_DIR/stability_$tag_version.bb
	[ -f "$recipe" ] || { echo "no recipe $recipe" >&2; exit 1; }
	sed -i "s/^STABILITY_RELEASE_SHA256 ?= \".*\"$/STABILITY_RELEASE_SHA256 ?= \"$sum\"/" "$recipe"
	grep -q "^STABILITY_RELEASE_SHA256 ?= \"$sum\"$" "$recipe" ||
		{ echo "could not set STABILITY_RELEASE_SHA256 in $recipe" >&2; exit 1; }
	echo "updated $recipe"
fi
