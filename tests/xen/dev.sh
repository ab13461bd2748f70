#!/usr/bin/env bash
# Development loop on the Xen-in-QEMU machine of build.sh: boot it once,
# then push new builds into dom0 and both domUs and run commands there,
# without rebuilding images or rebooting (seconds instead of minutes).
#
#   bash tests/xen/dev.sh boot [WORKDIR]      boot (dom0-dev.sh), wait for domu1/domu2
#   bash tests/xen/dev.sh push [BUILD_DIR]    build as the packages do (default
#                                             build-xen-dev/), install in dom0, domu1, domu2
#   bash tests/xen/dev.sh run [-t SECS] CMD   run CMD in dom0 (bash, with lib.sh:
#                                             domu_run NAME SECS 'CMD', ...)
#   bash tests/xen/dev.sh domu NAME [-t SECS] CMD   run CMD in domU NAME
#   bash tests/xen/dev.sh stop
#
# WORKDIR defaults to $XENIB_XEN_DIR or /var/tmp/xenib-xen and must hold a
# build.sh build.  The 9p share is WORKDIR/dev-share (dom0: /mnt/xt); the
# serial log is WORKDIR/run.log, the domU consoles are in dom0's
# /var/log/xen/console.  Not part of the test suite.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
W=${XENIB_XEN_DIR:-/var/tmp/xenib-xen}
SH=$W/dev-share
cmd=${1:-}
shift || true

# run_dom0 TIMEOUT SCRIPT: run SCRIPT in dom0, print its output, return its
# exit status (124: no status within TIMEOUT seconds).
run_dom0() {
	local to=$1 body=$2 n i
	[ -e "$SH/ready" ] || { echo "dev.sh: not booted (no $SH/ready)" >&2; return 1; }
	n=$(($(cat "$SH/seq" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$SH/seq"
	printf '%s\n' "$body" >"$SH/in/$n.sh.tmp"
	mv "$SH/in/$n.sh.tmp" "$SH/in/$n.sh"
	for ((i = 0; i < to * 10; i++)); do
		[ -e "$SH/out/$n.rc" ] && break
		sleep 0.1
	done
	cat "$SH/out/$n.log" 2>/dev/null
	[ -e "$SH/out/$n.rc" ] || { echo "dev.sh: no exit status within $to s" >&2; return 124; }
	return "$(cat "$SH/out/$n.rc")"
}

case $cmd in
boot)
	W=${1:-$W}
	SH=$W/dev-share
	pkill -f "qemu-system-x86_64.*$W/dom0.img" 2>/dev/null || true
	rm -rf "$SH"
	mkdir -p "$SH/in" "$SH/out"
	XT_DEV_SHARE=$SH nohup bash "$HERE/run.sh" "$W" 86400 >"$W/dev-run.log" 2>&1 &
	echo "dev.sh: booting (serial log $W/run.log)"
	for ((i = 0; i < 600; i++)); do
		[ -e "$SH/ready" ] && break
		sleep 1
	done
	[ -e "$SH/ready" ] || { echo "dev.sh: not ready after 600 s" >&2; tail -n 20 "$W/run.log"; exit 1; }
	echo "dev.sh: ready after ${i}s ($(cat "$SH/ready"))"
	;;
push)
	# Configured as the packages are (debian/rules), installed into a
	# staging tree, shipped as one tarball.
	B=${1:-$SRC/build-xen-dev}
	cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
		-DCMAKE_INSTALL_SYSCONFDIR=/etc -DCMAKE_INSTALL_LIBDIR=lib/x86_64-linux-gnu \
		-DXENIB_RUN_DIR=/run/xenib >/dev/null
	cmake --build "$B" -j"$(nproc)" | grep -E 'error|warning' || true
	rm -rf "$SH/www"
	mkdir -p "$SH/www"
	DESTDIR=$SH/www/root cmake --install "$B" >/dev/null
	rm -rf "$SH/www/root/etc/xenib" "$SH/www/root/usr/share"
	tar -C "$SH/www/root" -cf "$SH/www/xenib.tar" .
	rm -rf "$SH/www/root"
	# shellcheck disable=SC2016 # expands in the guests
	run_dom0 180 'tar -C / -xf /mnt/xt/www/xenib.tar && echo "dom0: installed"
for d in domu1 domu2; do
	domu_run $d 120 "python3 -c \"import urllib.request as u, sys; sys.stdout.buffer.write(u.urlopen(sys.argv[1]).read())\" http://10.77.0.254:8000/www/xenib.tar | tar -C / -xf - && echo installed" || exit 1
done'
	;;
run)
	TO=600
	if [ "${1:-}" = -t ]; then TO=$2; shift 2; fi
	run_dom0 "$TO" "$*"
	;;
domu)
	name=$1
	shift
	TO=600
	if [ "${1:-}" = -t ]; then TO=$2; shift 2; fi
	q=$(printf '%q' "$*")
	run_dom0 "$((TO + 30))" "domu_run $name $TO $q"
	;;
stop)
	pkill -f "qemu-system-x86_64.*$W/dom0.img" || true
	rm -f "$SH/ready"
	;;
*)
	sed -n '2,18p' "$0"
	exit 2
	;;
esac
