#!/usr/bin/env bash
# Install/remove test of xenib's Debian packages on THIS machine (Debian 12,
# as root).  Not part of ctest: it diverts the system's libibverbs.so.1 and
# librdmacm.so.1.
#
#   bash tests/packaging/test_packages.sh
#
# 1. Clean state: purge leftovers of an earlier run, undo stale diversions,
#    reinstall libibverbs1 if its files are missing.
# 2. Install Debian's verbs consumers (ibverbs-providers, ibverbs-utils,
#    perftest, librdmacm1, rdmacm-utils, libucx0, openmpi-bin) if missing;
#    record how Debian's ibv_devices behaves.
# 3. Build the .debs (tests/packaging/build-debs.sh, nocheck) and lintian them.
# 4. Install xenib-guest + xenibd beside them; check diversions, conffiles,
#    apt/dpkg health and that every Debian binary and library using
#    libibverbs.so.1 still resolves its verbs symbols.
# 5. Start /usr/sbin/xenibd -f (default run directory /run/xenib); with no
#    LD_LIBRARY_PATH or other environment: ibv_devices lists xenib0,
#    ib_write_bw, ibv_rc_pingpong and rping pass between two guest processes.
# 6. Purge both packages: Debian's libibverbs.so.1 and librdmacm.so.1 (files
#    and symlinks) are back
#    byte for byte, ibv_devices behaves as before, dpkg --audit and
#    apt-get check are clean.
# The packages stay installed only between steps 4 and 6 (seconds); an exit
# or signal in between still purges them.  Ends with "N passed, N failed".
set -uo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${XENIB_PKG_WORK:-/tmp/xenib-pkgtest}
LIBDIR=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
DIVDIR=$LIBDIR/xenib-diverted
RUN=/run/xenib
PKGS=(xenib-guest xenibd)
DEBIAN_PKGS=(libibverbs1 ibverbs-providers ibverbs-utils perftest librdmacm1 rdmacm-utils libucx0 openmpi-bin)
CLEAN_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C)
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300)

PASSES=0
FAILS=0
XENIBD_PID=
INSTALLED=0

log()  { printf '[packages] %s\n' "$*"; }
pass() { PASSES=$((PASSES + 1)); printf 'PASS: %s\n' "$*"; }
fail() { FAILS=$((FAILS + 1)); printf 'FAIL: %s\n' "$*"; }
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
finish() {
	printf 'packages: %d passed, %d failed\n' "$PASSES" "$FAILS"
	[ "$FAILS" -eq 0 ]
	exit $?
}
die() { fail "$*"; finish; }

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'; }
known()     { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -qv 'not-installed$'; }

# ------------------------------------------------------------ clean state

stop_xenibd() {
	local _
	[ -n "$XENIBD_PID" ] || return 0
	kill -TERM "$XENIBD_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$XENIBD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$XENIBD_PID" 2>/dev/null
	wait "$XENIBD_PID" 2>/dev/null
	XENIBD_STATUS=$?
	XENIBD_PID=
	rm -f "$WORK/xenibd.pid"
	return 0
}

# A xenibd left running by an earlier run of this script (its pid file,
# and only if that pid still is /usr/sbin/xenibd).
stop_stale_xenibd() {
	local pid
	[ -f "$WORK/xenibd.pid" ] || return 0
	pid=$(cat "$WORK/xenibd.pid")
	if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/xenibd ]; then
		log "stopping xenibd pid $pid left by an earlier run"
		kill -TERM "$pid" 2>/dev/null
		sleep 1
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$WORK/xenibd.pid"
}

# Purge our packages and undo anything an interrupted run left behind.
restore_system() {
	local p f
	for p in "${PKGS[@]}"; do
		if known "$p"; then
			log "purging $p"
			dpkg --purge "$p" >/dev/null 2>&1 ||
				dpkg --purge --force-remove-reinstreq "$p" >/dev/null 2>&1 ||
				log "cannot purge $p"
		fi
	done
	for f in libibverbs.so.1 libibverbs.so.1.14.44.0 \
		 librdmacm.so.1 librdmacm.so.1.3.44.0; do
		if dpkg-divert --listpackage "$LIBDIR/$f" 2>/dev/null | grep -qx xenib-guest; then
			log "removing stale diversion of $LIBDIR/$f"
			dpkg-divert --package xenib-guest --remove --rename \
				--divert "$DIVDIR/$f" "$LIBDIR/$f" >/dev/null
		fi
	done
	rmdir "$DIVDIR" 2>/dev/null
	if installed libibverbs1 && ! dpkg --verify libibverbs1 >/dev/null 2>&1; then
		log "libibverbs1's files are damaged or missing: reinstalling it"
		"${APT[@]}" install --reinstall libibverbs1 >/dev/null
	fi
	return 0
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_xenibd
	if [ "$INSTALLED" = 1 ]; then
		log "interrupted while installed: purging the packages"
		restore_system
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

[ "$(id -u)" -eq 0 ] || { echo "test_packages: must run as root (it installs packages)" >&2; exit 1; }
grep -q '^VERSION_ID="12"' /etc/os-release ||
	{ echo "test_packages: needs Debian 12" >&2; exit 1; }
mkdir -p "$WORK"
stop_stale_xenibd
restore_system

# ------------------------------------------------------------ Debian's side

missing=()
for p in "${DEBIAN_PKGS[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing Debian's ${missing[*]}"
	"${APT[@]}" install --no-install-recommends "${missing[@]}" >"$WORK/apt-deps.log" 2>&1 ||
		{ "${APT[@]}" update >/dev/null 2>&1 &&
		  "${APT[@]}" install --no-install-recommends "${missing[@]}" >"$WORK/apt-deps.log" 2>&1; } ||
		die "cannot install ${missing[*]} (see $WORK/apt-deps.log)"
fi
check "libibverbs1's files intact before the test" dpkg --verify libibverbs1

REAL=$LIBDIR/libibverbs.so.1.14.44.0
LINK=$LIBDIR/libibverbs.so.1
base_sum=$(sha256sum "$REAL" | cut -d' ' -f1)
base_link=$(readlink "$LINK")
CM_REAL=$LIBDIR/librdmacm.so.1.3.44.0
CM_LINK=$LIBDIR/librdmacm.so.1
cm_sum=$(sha256sum "$CM_REAL" | cut -d' ' -f1)
cm_link=$(readlink "$CM_LINK")
base_out=$(timeout 20 "${CLEAN_ENV[@]}" ibv_devices 2>&1)
base_rc=$?
log "Debian's ibv_devices before: exit $base_rc: $(echo "$base_out" | tr '\n' ' ')"

# Every Debian file that links libibverbs.so.1 (checked with ours below).
: >"$WORK/consumers"
for p in "${DEBIAN_PKGS[@]}" libfabric1 libopenmpi3; do
	dpkg -L "$p" 2>/dev/null
done | sort -u | while read -r f; do
	[ -f "$f" ] && [ ! -L "$f" ] && [ "$f" != "$REAL" ] &&
		readelf -d "$f" 2>/dev/null | grep -q 'NEEDED.*\[libibverbs\.so\.1\]' &&
		echo "$f"
done >"$WORK/consumers"

# ------------------------------------------------------------ build

log "building the packages (tests/packaging/build-debs.sh, nocheck)"
if DEB_BUILD_OPTIONS=nocheck bash "$SRC/tests/packaging/build-debs.sh" "$WORK/debs" \
	>"$WORK/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b"
else
	tail -n 30 "$WORK/build.log"
	die "dpkg-buildpackage failed (log $WORK/build.log)"
fi
DEBS=()
for p in "${PKGS[@]}"; do
	DEBS+=("$(ls "$WORK"/debs/"${p}"_*.deb)")
done
ls -l "${DEBS[@]}" | sed 's/^/    /'
rm -rf "$WORK/x"
dpkg-deb -x "${DEBS[0]}" "$WORK/x"
lintian --tag-display-limit 0 "$WORK"/debs/*.changes >"$WORK/lintian.txt" 2>&1
sed 's/^/    lintian: /' "$WORK/lintian.txt"
check "lintian: no errors" bash -c "! grep -q '^E:' '$WORK/lintian.txt'"

# ------------------------------------------------------------ install

sim=$("${APT[@]}" install -s "${DEBS[@]}" 2>&1)
check "apt would install beside Debian's packages, removing nothing" \
	bash -c "echo \"\$1\" | grep -q ' 0 to remove' && ! echo \"\$1\" | grep -q '^Remv'" _ "$sim"
log "installing ${PKGS[*]}"
INSTALLED=1
"${APT[@]}" install "${DEBS[@]}" >"$WORK/install.log" 2>&1
check "apt-get install ${PKGS[*]}" installed xenib-guest
check "xenibd installed" installed xenibd
for p in "${DEBIAN_PKGS[@]}"; do
	check "$p still installed" installed "$p"
done
check "dpkg --audit clean (installed)" bash -c '[ -z "$(dpkg --audit 2>&1)" ]'
check "apt-get check clean (installed)" apt-get check -qq
check "Debian's libibverbs.so.1 diverted by xenib-guest" \
	bash -c "dpkg-divert --listpackage '$REAL' | grep -qx xenib-guest && dpkg-divert --listpackage '$LINK' | grep -qx xenib-guest"
check "Debian's library kept at $DIVDIR" \
	bash -c "[ \"\$(sha256sum '$DIVDIR/libibverbs.so.1.14.44.0' | cut -d' ' -f1)\" = '$base_sum' ]"
ldconfig
check "after ldconfig, libibverbs.so.1 is ours" \
	bash -c "[ \"\$(readlink '$LINK')\" = libibverbs.so.1.14.44.0 ] && cmp -s '$REAL' '$WORK/x$REAL' && ! cmp -s '$REAL' '$DIVDIR/libibverbs.so.1.14.44.0'"
check "Debian's librdmacm.so.1 diverted by xenib-guest, kept at $DIVDIR" \
	bash -c "dpkg-divert --listpackage '$CM_REAL' | grep -qx xenib-guest && dpkg-divert --listpackage '$CM_LINK' | grep -qx xenib-guest && [ \"\$(sha256sum '$DIVDIR/librdmacm.so.1.3.44.0' | cut -d' ' -f1)\" = '$cm_sum' ]"
check "after ldconfig, librdmacm.so.1 is ours" \
	bash -c "[ \"\$(readlink '$CM_LINK')\" = librdmacm.so.1.3.44.0 ] && cmp -s '$CM_REAL' '$WORK/x$CM_REAL'"
check "/etc/xenib/xenibd.conf is a conffile" \
	bash -c "dpkg-query -W -f='\${Conffiles}' xenibd | grep -q /etc/xenib/xenibd.conf"
check "systemd unit installed (ExecStart xenibd -f, RuntimeDirectory=xenib)" \
	bash -c "grep -qx 'ExecStart=/usr/sbin/xenibd -f' /lib/systemd/system/xenibd.service && grep -qx 'RuntimeDirectory=xenib' /lib/systemd/system/xenibd.service"
check "man pages xenib(7) xenib-node(8) xenibd(8) xenibctl(8) xenibd.conf(5) installed" \
	bash -c 'for m in man7/xenib.7 man8/xenib-node.8 man8/xenibd.8 man8/xenibctl.8 man5/xenibd.conf.5; do [ -f /usr/share/man/$m.gz ] || exit 1; done'
check "xenib-guest: xenib-node and its unit (oneshot, ExecStart xenib-node)" \
	bash -c "[ -x /usr/sbin/xenib-node ] && grep -qx 'ExecStart=/usr/sbin/xenib-node' /lib/systemd/system/xenib-node.service && grep -qx 'Type=oneshot' /lib/systemd/system/xenib-node.service"
check "xenib-node outside Xen: nothing to do, exit 0" \
	bash -c "out=\$(/usr/sbin/xenib-node) && echo \"\$out\" | grep -q 'nothing to do'"
bad=$(while read -r f; do
	"${CLEAN_ENV[@]}" ldd -r "$f" 2>&1 |
		grep -E "undefined symbol: [^[:space:]]*(ibv|verbs)|IBVERBS_[^[:space:]]*' not found|libibverbs.so.1 => not found" |
		sed "s|^|$f: |"
done <"$WORK/consumers")
[ -n "$bad" ] && echo "$bad" | head -n 20 | sed 's/^/    /'
check "all $(wc -l <"$WORK/consumers") Debian binaries/libraries linking libibverbs.so.1 resolve it (ldd -r)" \
	test -z "$bad"

# ------------------------------------------------------------ run

# With systemd running, the package's postinst has started xenibd.service:
# use it.  Otherwise (CI, containers) start the installed daemon by hand.
SERVICE=0
if [ -d /run/systemd/system ] && systemctl is-active --quiet xenibd.service; then
	SERVICE=1
	log "using xenibd.service, started by the package"
	for _ in $(seq 100); do
		[ -S "$RUN/xenib0.sock" ] && break
		sleep 0.1
	done
elif timeout 5 /usr/sbin/xenibctl -d "$RUN" stats >/dev/null 2>&1; then
	die "a xenibd not started by this test serves $RUN; stop it first"
else
	log "starting /usr/sbin/xenibd -f (run directory $RUN)"
	timeout -k 5 300 /usr/sbin/xenibd -f >"$WORK/xenibd.log" 2>&1 &
	XENIBD_PID=$!
	echo "$XENIBD_PID" >"$WORK/xenibd.pid"
	for _ in $(seq 100); do
		[ -S "$RUN/xenib0.sock" ] && break
		kill -0 "$XENIBD_PID" 2>/dev/null || break
		sleep 0.1
	done
fi
check "installed xenibd serves $RUN/xenib0.sock" test -S "$RUN/xenib0.sock"

out=$(timeout 20 "${CLEAN_ENV[@]}" ibv_devices 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
check "ibv_devices (no LD_LIBRARY_PATH) lists xenib0, exit 0" \
	bash -c "[ $rc -eq 0 ] && echo \"\$1\" | grep -qw xenib0" _ "$out"
check "the installed xenibd made the device's node (/dev/infiniband, named in $RUN)" \
	bash -c "[ -c \"\$(readlink '$RUN/xenib0.node')\" ]"
check "ibv_devinfo -d xenib0: port active" \
	bash -c "timeout 20 ${CLEAN_ENV[*]} ibv_devinfo -d xenib0 | grep -q PORT_ACTIVE"

port_free() { [ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]; }
PORT=$((30000 + $$ % 20000))
next_port() {
	PORT=$((PORT + 1))
	while ! port_free "$PORT"; do PORT=$((PORT + 1)); done
}
wait_listen() {
	for _ in $(seq 100); do
		[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# pair NAME CMD ARGS...: server and client guest processes (each its own
# guest), clean environment; 0 if both exit 0.
pair() {
	local name=$1 srv rc1 rc2
	shift
	next_port
	timeout -k 5 60 "${CLEAN_ENV[@]}" "$@" -p "$PORT" >"$WORK/$name.srv.log" 2>&1 &
	srv=$!
	if ! wait_listen "$PORT" "$srv"; then
		kill "$srv" 2>/dev/null
		wait "$srv"
		sed 's/^/    srv: /' "$WORK/$name.srv.log" | tail -n 10
		return 1
	fi
	timeout -k 5 60 "${CLEAN_ENV[@]}" "$@" -p "$PORT" 127.0.0.1 >"$WORK/$name.cli.log" 2>&1
	rc2=$?
	wait "$srv"
	rc1=$?
	if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
		echo "    $name: server exit $rc1, client exit $rc2"
		sed 's/^/    srv: /' "$WORK/$name.srv.log" | tail -n 10
		sed 's/^/    cli: /' "$WORK/$name.cli.log" | tail -n 10
		return 1
	fi
	return 0
}
pair write_bw ib_write_bw -d xenib0 -s 65536 -n 2000
rc=$?
grep -A1 '#bytes' "$WORK/write_bw.cli.log" | sed 's/^/    /'
check "ib_write_bw between two guest processes (installed packages)" test "$rc" -eq 0
pair pingpong ibv_rc_pingpong -d xenib0 -i 1 -c -s 4096 -n 500
rc=$?
grep 'bytes in' "$WORK/pingpong.cli.log" | sed 's/^/    /'
check "ibv_rc_pingpong -c between two guest processes" test "$rc" -eq 0
# rping's port option is -p, its server/client flags -s/-c and -a.
next_port
timeout -k 5 60 "${CLEAN_ENV[@]}" rping -s -a 127.0.0.1 -p "$PORT" -C 100 \
	>"$WORK/rping.srv.log" 2>&1 &
srv=$!
sleep 1
timeout -k 5 60 "${CLEAN_ENV[@]}" rping -c -a 127.0.0.1 -p "$PORT" -C 100 -V \
	>"$WORK/rping.cli.log" 2>&1
rc=$?
wait "$srv"
rc_s=$?
check "rping -C 100 -V on the installed librdmacm.so.1 (xenibd's CM)" \
	test "$rc" -eq 0 -a "$rc_s" -eq 0
check "xenibctl stats (default run directory)" \
	bash -c "timeout 5 /usr/sbin/xenibctl stats >/dev/null"
if [ "$SERVICE" = 0 ]; then
	stop_xenibd
	check "xenibd exits 0 on SIGTERM" test "${XENIBD_STATUS:-1}" -eq 0
	rmdir "$RUN" 2>/dev/null	# made by xenibd; left alone if not empty
fi

# ------------------------------------------------------------ remove

log "purging ${PKGS[*]}"
"${APT[@]}" purge "${PKGS[@]}" >"$WORK/purge.log" 2>&1
check "apt-get purge ${PKGS[*]}" bash -c '! dpkg-query -W xenib-guest xenibd 2>/dev/null | grep -q .'
INSTALLED=0
check "no diversion of libibverbs left" \
	bash -c "! dpkg-divert --list | grep -q libibverbs"
check "Debian's libibverbs.so.1.14.44.0 restored byte for byte" \
	bash -c "[ \"\$(sha256sum '$REAL' | cut -d' ' -f1)\" = '$base_sum' ]"
check "symlink libibverbs.so.1 -> $base_link restored" \
	bash -c "[ \"\$(readlink '$LINK')\" = '$base_link' ]"
check "libibverbs1 owns its files again (dpkg --verify)" dpkg --verify libibverbs1
check "Debian's librdmacm.so.1 restored (file, symlink; no diversion left)" \
	bash -c "! dpkg-divert --list | grep -q librdmacm && [ \"\$(sha256sum '$CM_REAL' | cut -d' ' -f1)\" = '$cm_sum' ] && [ \"\$(readlink '$CM_LINK')\" = '$cm_link' ]"
check "librdmacm1 owns its files again (dpkg --verify)" dpkg --verify librdmacm1
check "no xenib files left" \
	bash -c "[ ! -e /etc/libibverbs.d/xenib.driver ] && [ ! -e '$LIBDIR/libibverbs/libxenib-rdmav34.so' ] && [ ! -e /usr/sbin/xenibd ] && [ ! -e /etc/xenib ] && [ ! -e '$DIVDIR' ]"
out=$(timeout 20 "${CLEAN_ENV[@]}" ibv_devices 2>&1)
rc=$?
log "Debian's ibv_devices after: exit $rc: $(echo "$out" | tr '\n' ' ')"
check "ibv_devices behaves as before (exit $base_rc, same output, no xenib0)" \
	bash -c "[ $rc -eq $base_rc ] && [ \"\$1\" = \"\$2\" ] && ! echo \"\$1\" | grep -qw xenib0" _ "$out" "$base_out"
check "dpkg --audit clean (removed)" bash -c '[ -z "$(dpkg --audit 2>&1)" ]'
check "apt-get check clean (removed)" apt-get check -qq
finish
