#!/usr/bin/env bash
# Build xenib's RPMs from this tree with rpmbuild (on Debian: apt package
# rpm).  Usage: bash redhat/build-rpm.sh [OUTDIR]   (default /tmp/xenib-rpm)
# Makes OUTDIR/SOURCES/xenib-VERSION.tar.gz from the tree (no .git, no build
# directories), runs rpmbuild -bb and lists each package with rpm -qlp.
# On Debian, BuildRequires cannot be checked against dpkg's database and
# there is no find-debuginfo: --nodeps, no debuginfo package.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/xenib-rpm}
command -v rpmbuild >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 \
		--no-install-recommends rpm >/dev/null
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VER=$(awk '$1 == "Version:" { print $2; exit }' "$SRC/redhat/xenib.spec")

rm -rf "$OUT/SOURCES" "$OUT/BUILD" "$OUT/BUILDROOT" "$OUT/RPMS"
mkdir -p "$OUT/SOURCES"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude='./obj-*' \
	--exclude=./debian/tmp --exclude=./debian/.debhelper \
	--transform "s,^\.,xenib-$VER," -czf "$OUT/SOURCES/xenib-$VER.tar.gz" .

extra=()
if [ -r /etc/debian_version ]; then
	extra=(--nodeps --define 'debug_package %{nil}')
fi
rpmbuild -bb "${extra[@]}" \
	--define "_topdir $OUT" \
	--define "_sourcedir $OUT/SOURCES" \
	"$SRC/redhat/xenib.spec"

for r in "$OUT"/RPMS/*/*.rpm; do
	echo "== $(basename "$r") ($(stat -c %s "$r") bytes)"
	rpm -qlp "$r"
done
