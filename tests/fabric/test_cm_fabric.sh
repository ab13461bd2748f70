#!/usr/bin/env bash
# rdma_cm between hosts: Debian's unmodified rdmacm-utils, perftest's
# eight tools with -R (and UD for the send tools),
# qperf -cm1 and rsockets' tools, each server a guest of host 2's
# xenibd and its client a guest of host 3's (and back), connected by the
# two backends' connection managers over the fabric (xenibd/fabric/fcm.c):
# rping (data validated, also with self-made QPs -q), ucmatose (ten
# connections, ids migrating between channels), udaddy (UD via SIDR),
# rdma_server/rdma_client, rdma_xserver/rdma_xclient (RC and XRC), rstream,
# riostream, rcopy, librspreload, udpong, cmtime, qperf -cm1, UCX over
# sockaddr; the
# failures a client must see across hosts: REJECTED with status 8 (nobody listens on that host), ADDR_ERROR
# for an address no host has.  Afterwards neither xenibd holds a CM or
# verbs object.
# Usage: test_cm_fabric.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/fabric/cluster.sh
. "$(dirname "$0")/cluster.sh"

command -v rping >/dev/null 2>&1 || fab_skip "rdmacm-utils is not installed"
clu_start cm-fabric "${1:-build}" 2
[ -e "$CLU_B/lib/librdmacm.so.1" ] || { fab_fail "$CLU_B/lib/librdmacm.so.1 missing"; exit 1; }
TO=${XENIB_CM_TIMEOUT:-60}
ERR_RE="error|fail|invalid|unable|couldn't|unhandled"
N=0

stat_of() { clu_stats "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

# wait_stat I KEY VALUE SECS
wait_stat() {
	local deadline=$((SECONDS + $4))
	while [ "$SECONDS" -le "$deadline" ]; do
		[ "$(stat_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

show() {
	grep -inE "$ERR_RE|mismatch|wait for" "$1" | head -n 6 | sed 's/^/      ! /'
	sed 's/^/      /' "$1" | tail -n 8
}

no_errors() { ! grep -qiE "$ERR_RE" "$1"; }

# xpair DESC CHECK SRV CLI SERVER_CMD -- CLIENT_CMD: the server as a guest
# of host SRV (waited for until it listens), then the client as a guest of
# host CLI; "@SRV@" in the client's words is the server host's address.
# Both must exit 0 and pass CHECK LOG SIDE.
xpair() {
	local desc=$1 chk=$2 srv=$3 cli=$4 s rc_s rc_c ok=0 side lg rc w
	local -a scmd=() ccmd=()
	shift 4
	while [ "$1" != -- ]; do scmd+=("$1"); shift; done
	shift
	for w in "$@"; do ccmd+=("${w//@SRV@/$(fab_ip "$srv")}"); done
	N=$((N + 1))
	fab_log "pair $N: host $srv: ${scmd[*]}  |  host $cli: ${ccmd[*]}"
	clu_guest_bg "$srv" "s$N" "$FAB_TMP/t$N.srv.log" timeout "$TO" "${scmd[@]}"
	s=$FAB_PID
	if ! wait_stat "$srv" cm_listeners 1 20; then
		fab_fail "$desc: the server did not listen"
		fab_kill "$s"
		show "$FAB_TMP/t$N.srv.log"
		return 1
	fi
	clu_guest "$cli" "c$N" timeout "$TO" "${ccmd[@]}" \
		>"$FAB_TMP/t$N.cli.log" 2>&1
	rc_c=$?
	[ "$rc_c" -eq 0 ] || { sleep 2; fab_kill "$s"; }
	fab_wait_pid "$s" "$TO"
	rc_s=$?
	for side in srv cli; do
		lg=$FAB_TMP/t$N.$side.log
		rc=$rc_s
		[ "$side" = cli ] && rc=$rc_c
		if [ "$rc" -ne 0 ] || ! "$chk" "$lg" "$side"; then
			echo "    $side: exit $rc; output:"
			show "$lg"
			ok=1
		fi
	done
	wait_stat "$srv" cm_listeners 0 10 || echo "    a listener is left over"
	clu_check "$desc (server on host $srv, client on host $cli)" $ok
	return $ok
}

PINGS=1000
chk_rping() {
	local got
	no_errors "$1" || return 1
	[ "$2" = srv ] && return 0
	got=$(sed -z 's/client DISCONNECT EVENT\.\.\.\n//g' "$1" |
	      grep -o 'ping data: rdma-ping-[0-9]*:' | sort -u | wc -l)
	[ "$got" -eq "$PINGS" ] && return 0
	echo "    $got distinct pings of $PINGS"
	return 1
}
chk_status0() { no_errors "$1" && grep -q 'return status 0' "$1"; }
chk_end0() { no_errors "$1" && grep -q ': end 0' "$1"; }
chk_none() { no_errors "$1"; }
chk_perf() {
	grep -qiE "couldn't|failed|error|unable|invalid" "$1" && return 1
	[ "$2" = srv ] && return 0
	grep -q '#bytes' "$1" && grep -qE '^ +[0-9]+ +[0-9]+ ' "$1"
}

P=20000
xpair "rping -v -V -C $PINGS (data validated)" chk_rping 2 3 \
	rping -s -a "$(fab_ip 2)" -p $P -V -C $PINGS -- \
	rping -c -a @SRV@ -p $P -v -V -C $PINGS
xpair "rping -q -S 4000, the other way (self-made QPs)" chk_rping 3 2 \
	rping -s -q -a 0.0.0.0 -p $((P + 1)) -V -C $PINGS -S 4000 -- \
	rping -c -q -a @SRV@ -p $((P + 1)) -v -V -C $PINGS -S 4000
xpair "ucmatose -c 10" chk_status0 2 3 \
	ucmatose -p $((P + 2)) -c 10 -- ucmatose -s @SRV@ -p $((P + 2)) -c 10
xpair "ucmatose -c 4 -m -C 100 -S 4096 (ids migrate between channels)" \
	chk_status0 2 3 \
	ucmatose -p $((P + 3)) -c 4 -m -C 100 -S 4096 -- \
	ucmatose -s @SRV@ -p $((P + 3)) -c 4 -m -C 100 -S 4096
xpair "udaddy -c 4 (UD, SIDR)" chk_status0 2 3 \
	udaddy -c 4 -- udaddy -s @SRV@ -c 4
xpair "rdma_server / rdma_client" chk_end0 2 3 \
	rdma_server -p $((P + 5)) -- rdma_client -s @SRV@ -p $((P + 5))
xpair "rdma_xserver / rdma_xclient (RC)" chk_end0 2 3 \
	rdma_xserver -p $((P + 6)) -- rdma_xclient -s @SRV@ -p $((P + 6))
xpair "rdma_xserver / rdma_xclient (XRC)" chk_end0 2 3 \
	rdma_xserver -p $((P + 7)) -c x -- \
	rdma_xclient -s @SRV@ -p $((P + 7)) -c x
xpair "rstream -S 4096 -C 1000 (rsockets)" chk_none 2 3 \
	rstream -p $((P + 8)) -S 4096 -C 1000 -- \
	rstream -s @SRV@ -p $((P + 8)) -S 4096 -C 1000
xpair "riostream -S 65536 -C 100 (rsockets, riomap)" chk_none 2 3 \
	riostream -p $((P + 9)) -S 65536 -C 100 -- \
	riostream -s @SRV@ -p $((P + 9)) -S 65536 -C 100
# udpong's server (datagram rsockets) serves until it is killed.
N=$((N + 1))
clu_guest_bg 2 "s$N" "$FAB_TMP/t$N.srv.log" \
	udpong -b "$(fab_ip 2)" -p $((P + 10))
s=$FAB_PID
ok=0
wait_stat 2 cm_listeners 1 20 || ok=1
for args in "-S 64 -C 200 -T e" "-S 1024 -C 2000"; do
	# shellcheck disable=SC2086
	if ! clu_guest 3 "c$N" timeout "$TO" udpong -s "$(fab_ip 2)" \
		-p $((P + 10)) $args >"$FAB_TMP/t$N.cli.log" 2>&1 ||
	   ! no_errors "$FAB_TMP/t$N.cli.log" ||
	   ! grep -qE '^custom +' "$FAB_TMP/t$N.cli.log"; then
		echo "    client $args:"
		show "$FAB_TMP/t$N.cli.log"
		ok=1
	fi
done
fab_kill "$s"
clu_check "udpong -S 64 -T e, -S 1024 (datagram rsockets, UD; server on host 2, client on host 3)" $ok
wait_stat 2 cm_listeners 0 10 || echo "    a listener is left over"

for t in ib_send_lat ib_send_bw ib_write_lat ib_write_bw ib_read_lat \
	 ib_read_bw ib_atomic_lat ib_atomic_bw; do
	P=$((P + 1))
	xpair "$t -R" chk_perf 2 3 "$t" -R -n 200 -p $((P + 20)) -- \
		"$t" -R -n 200 -p $((P + 20)) @SRV@
done
for t in ib_send_lat ib_send_bw; do
	P=$((P + 1))
	xpair "$t -R -c UD" chk_perf 2 3 \
		"$t" -R -c UD -n 200 -p $((P + 20)) -- \
		"$t" -R -c UD -n 200 -p $((P + 20)) @SRV@
done

# Servers that serve until killed, reached first over TCP: cmtime, qperf
# -cm1 (RC QPs connected by rdma_cm).  bg_pair DESC PORT SERVER_CMD -- CLIENT_CMD:
# the server on host 2 (waited for until PORT or a CM listener is up),
# the client on host 3 must exit 0; CHECK is grep -E for its output.
bg_pair() {
	local desc=$1 port=$2 check=$3 s rc ok=0 w
	local -a scmd=() ccmd=()
	shift 3
	while [ "$1" != -- ]; do scmd+=("$1"); shift; done
	shift
	for w in "$@"; do ccmd+=("${w//@SRV@/$(fab_ip 2)}"); done
	N=$((N + 1))
	clu_guest_bg 2 "s$N" "$FAB_TMP/t$N.srv.log" "${scmd[@]}"
	s=$FAB_PID
	clu_wait_port 2 "$port" 20 || wait_stat 2 cm_listeners 1 20 || ok=1
	clu_guest 3 "c$N" timeout "$TO" "${ccmd[@]}" >"$FAB_TMP/t$N.cli.log" 2>&1
	rc=$?
	fab_kill "$s"
	if [ "$ok" -ne 0 ] || [ "$rc" -ne 0 ] ||
	   [ "$(grep -cE "$check" "$FAB_TMP/t$N.cli.log")" -lt "${CHECK_N:-1}" ]; then
		echo "    client exit $rc:"
		show "$FAB_TMP/t$N.cli.log"
		ok=1
	fi
	clu_check "$desc (server on host 2, client on host 3)" $ok
}
bg_pair "cmtime -c 100" $((P + 11)) '^disconnect +:' \
	cmtime -p $((P + 11)) -- cmtime -s @SRV@ -p $((P + 11)) -c 100
if command -v qperf >/dev/null 2>&1; then
	CHECK_N=2 bg_pair "qperf -cm1 rc_bw rc_lat" $((P + 12)) '^ +(bw|latency) +=' \
		qperf -lp $((P + 12)) -- \
		qperf -lp $((P + 12)) @SRV@ -t 1 -to 10 -cm1 rc_bw rc_lat
fi
# rcopy: a 24 MiB file from host 3 to host 2 (its server serves until
# killed), compared.
head -c $((24 << 20)) /dev/urandom >"$FAB_TMP/src.bin"
rm -f "$FAB_TMP/dst.bin"
bg_pair "rcopy: 24 MiB" $((P + 15)) 'bytes in' \
	rcopy -p $((P + 15)) -- \
	rcopy "$FAB_TMP/src.bin" "@SRV@:$FAB_TMP/dst.bin" -p $((P + 15))
cmp -s "$FAB_TMP/src.bin" "$FAB_TMP/dst.bin"
clu_check "rcopy: the copy on host 2 is the file of host 3" $?

# Debian's librspreload.so (on our rsocket API) around rstream's plain
# socket mode: TCP sockets that run over RDMA between the hosts.
PRELOAD=$(find /usr/lib -path "*/rsocket/librspreload.so" 2>/dev/null | head -n 1)
case "$(ldd "$CLU_B/lib/libibverbs.so.1" 2>/dev/null)" in
*libasan*) PRE_OURS=$(gcc -print-file-name=libasan.so):$PRELOAD ;;
*) PRE_OURS=$PRELOAD ;;
esac
if [ -n "$PRELOAD" ]; then
	before=$(stat_of 2 cm_msgs)
	xpair "librspreload: rstream -T s (plain sockets over rsockets)" \
		chk_none 2 3 \
		env LD_PRELOAD="$PRE_OURS" rstream -T s -p $((P + 16)) -S 4096 -C 1000 -- \
		env LD_PRELOAD="$PRE_OURS" rstream -T s -s @SRV@ -p $((P + 16)) -S 4096 -C 1000
	after=$(stat_of 2 cm_msgs)
	[ "$((after - before))" -ge 3 ]
	clu_check "librspreload's sockets went through the CM ($((after - before)) messages on host 2)" $?
fi

# UCX with its rdmacm connection manager (UCP over sockaddr: UCX's own
# example, built by tests/cm), rc_verbs on xenib0 at both ends.  UCX takes
# the device only through its node (each host's xenibd makes its own).
UCS=$CLU_B/bin/ucp_client_server
case "$(ldd "$CLU_B/lib/libibverbs.so.1" 2>/dev/null)" in
*libasan*) UCS= ;;	# UCX's binaries do not load an ASan library
esac
if [ -n "$UCS" ] && [ -x "$UCS" ]; then
	for mode in tag am; do
		UCX_NET_DEVICES=xenib0:1 UCX_TLS=rc_verbs,ud_verbs,self \
		UCX_WARN_UNUSED_ENV_VARS=n \
		bg_pair "ucp_client_server -c $mode over sockaddr (UCX's rdmacm CM)" \
			$((P + 14)) 'Client: iteration #10' \
			"$UCS" -p $((P + 14)) -c $mode -- \
			"$UCS" -a @SRV@ -p $((P + 14)) -c $mode -i 10
		P=$((P + 1))
	done
fi

# Nobody listens on that port of host 2: the IB CM there rejects (8).
N=$((N + 1))
clu_guest 3 "c$N" timeout "$TO" rping -c -a "$(fab_ip 2)" -p $((P + 40)) -C 1 \
	>"$FAB_TMP/t$N.log" 2>&1
grep -q 'RDMA_CM_EVENT_REJECTED, error 8' "$FAB_TMP/t$N.log"
ok=$?
[ "$ok" -eq 0 ] || show "$FAB_TMP/t$N.log"
clu_check "rping to a port nobody listens on at host 2: REJECTED, error 8" $ok
# An address of the link no host has: address resolution fails.
N=$((N + 1))
clu_guest 3 "c$N" timeout "$TO" rping -c -a 10.77.0.99 -p $((P + 41)) -C 1 \
	>"$FAB_TMP/t$N.log" 2>&1
grep -q 'RDMA_CM_EVENT_ADDR_ERROR' "$FAB_TMP/t$N.log"
ok=$?
[ "$ok" -eq 0 ] || show "$FAB_TMP/t$N.log"
clu_check "rping to 10.77.0.99 (no host of the fabric): ADDR_ERROR" $ok

for i in 2 3; do
	ok=0
	for k in cm_channels cm_ids cm_listeners cm_connections contexts qps; do
		wait_stat "$i" "$k" 0 10 || { echo "    host $i: $k $(stat_of "$i" $k)"; ok=1; }
	done
	clu_check "host $i's xenibd holds no CM and no verbs object" $ok
	m=$(stat_of "$i" cm_msgs)
	[ "${m:-0}" -gt 0 ]
	clu_check "host $i's CM exchanged messages ($m)" $?
done

fab_log "$FAB_PASSES passed, $FAB_FAILS failed"
[ "$FAB_FAILS" -eq 0 ]
