#!/usr/bin/env bash
# The "xen" suite of scripts/test.sh: xenib on real Xen 4.17 inside QEMU.
# Installs the host packages, builds the test machine (build.sh; the base
# rootfs is cached in $XENIB_XEN_DIR, default /var/tmp/xenib-xen) and boots
# it (run.sh).  Root.  XENIB_TEST_XEN=0 skips the suite;
# XENIB_XEN_TIMEOUT sets run.sh's timeout (default 2400 s); XT_STEPS and
# XT_LONG_N pass through to run.sh.  CI runs every step but g, the
# benchmark (numbers, not checks: bench/RESULTS.md, "Real Xen"); run it
# with XT_STEPS=abg (or XT_STEPS=abcdefgh for everything).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${XENIB_TEST_XEN:-1}" = 0 ]; then
	echo "xen suite skipped (XENIB_TEST_XEN=0)"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "ci.sh: the xen suite needs root" >&2; exit 1; }
W=${XENIB_XEN_DIR:-/var/tmp/xenib-xen}
mkdir -p "$W"

need=()
for p in qemu-system-x86 debootstrap e2fsprogs python3 git iproute2; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
	echo "ci.sh: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}" >/dev/null
fi

s=$(date +%s)
bash "$HERE/build.sh" "$W" | tee "$W/build.out"
b=$(($(date +%s) - s))
# build.sh says which: a stale key is a miss even with a base.tar there.
kind=warm
grep -q 'base rootfs: cache miss' "$W/build.out" && kind=cold
export XT_STEPS=${XT_STEPS:-abcdefh}
s=$(date +%s)
rc=0
bash "$HERE/run.sh" "$W" "${XENIB_XEN_TIMEOUT:-2400}" || rc=$?
r=$(($(date +%s) - s))
echo "xen suite: build ${b}s ($kind: base rootfs $([ $kind = cold ] && echo built || echo cached)), run ${r}s, run.sh exit $rc"
exit "$rc"
