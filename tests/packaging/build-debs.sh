#!/usr/bin/env bash
# Build xenib's Debian packages from this tree: bash build-debs.sh OUTDIR
# The tree is copied to OUTDIR/src first (without build directories and
# .git), so the source tree stays untouched; the .debs land in OUTDIR.
# DEB_BUILD_OPTIONS is passed through (the test uses nocheck).
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: build-debs.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

NEED=(debhelper dpkg-dev fakeroot lintian cmake gcc libibverbs-dev librdmacm-dev libxen-dev pkgconf)
missing=()
for p in "${NEED[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "build-debs: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
		--no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
			--no-install-recommends "${missing[@]}" >/dev/null; }
fi

rm -rf "$OUT/src" "$OUT"/*.deb "$OUT"/*.buildinfo "$OUT"/*.changes
mkdir -p "$OUT/src"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
	--exclude=./debian/tmp --exclude=./debian/.debhelper -cf - . |
	tar -C "$OUT/src" -xf -
(cd "$OUT/src" && dpkg-buildpackage -us -uc -b)
ls -l "$OUT"/*.deb
