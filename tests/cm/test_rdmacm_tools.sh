#!/usr/bin/env bash
# Debian's unmodified rdmacm-utils and perftest -R on our librdmacm.so.1,
# with xenibd as the connection manager, between two guest processes:
# rping (data validated, also with self-made QPs -q, over IPv6), ucmatose
# (one and ten connections, migrating ids between channels), udaddy (UD via
# SIDR), rdma_server/rdma_client, rdma_xserver/rdma_xclient (RC and XRC),
# mckey (multicast to several receivers), cmtime, perftest's eight tools
# with -R (and UD send tools), and the
# failures a client must see: REJECTED with status 8 (no listener).
# Afterwards xenibd must hold no CM object and no verbs object.
# Usage: test_rdmacm_tools.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init rdmacm_tools "${1:-}"

if ! command -v rping >/dev/null 2>&1; then
	echo "rdmacm-utils is not installed: skipping"
	exit 77
fi
[ -e "$B/lib/librdmacm.so.1" ] || die "$B/lib/librdmacm.so.1 missing"
start_xenibd

TO=${XENIB_CM_TIMEOUT:-60}
# shellcheck source=tests/cm/cm_lib.sh
. "$(dirname "$0")/cm_lib.sh"

# rping -v prints one "ping data" line per ping on the client.
PINGS=1000
chk_rping() {
	local got
	no_errors "$1" || return 1
	[ "$2" = srv ] && return 0
	# rping's unbuffered stderr may land inside a buffered stdout line.
	got=$(sed -z 's/client DISCONNECT EVENT\.\.\.\n//g' "$1" |
	      grep -o 'ping data: rdma-ping-[0-9]*:' | sort -u | wc -l)
	[ "$got" -eq "$PINGS" ] && return 0
	echo "  $got distinct pings of $PINGS in $1 ($(wc -l <"$1") lines)"
	cp "$1" "${TMPDIR:-/tmp}/rdmacm_tools.$(basename "$1").$$" 2>/dev/null
	return 1
}
chk_status0() { no_errors "$1" && grep -q 'return status 0' "$1"; }
chk_end0() { no_errors "$1" && grep -q ': end 0' "$1"; }
chk_perf() {
	grep -qiE "couldn't|failed|error|unable|invalid" "$1" && return 1
	[ "$2" = srv ] && return 0
	grep -q '#bytes' "$1" && grep -qE '^ +[0-9]+ +[0-9]+ ' "$1"
}

P=$((20000 + ($$ % 20000)))

pair "rping -v -V -C $PINGS (data validated)" chk_rping \
	rping -s -a 127.0.0.1 -p $P -V -C $PINGS -- \
	rping -c -a 127.0.0.1 -p $P -v -V -C $PINGS
pair "rping -v -V -C $PINGS -S 4000" chk_rping \
	rping -s -a 127.0.0.1 -p $((P + 1)) -V -C $PINGS -S 4000 -- \
	rping -c -a 127.0.0.1 -p $((P + 1)) -v -V -C $PINGS -S 4000
pair "rping -q (self-created, self-modified QPs)" chk_rping \
	rping -s -q -a 127.0.0.1 -p $((P + 2)) -V -C $PINGS -- \
	rping -c -q -a 127.0.0.1 -p $((P + 2)) -v -V -C $PINGS
PINGS=100
pair "rping over IPv6 (::1)" chk_rping \
	rping -s -a ::1 -p $((P + 3)) -V -C $PINGS -- \
	rping -c -a ::1 -p $((P + 3)) -v -V -C $PINGS
pair "rping, server on the wildcard address" chk_rping \
	rping -s -a 0.0.0.0 -p $((P + 4)) -V -C $PINGS -- \
	rping -c -a 127.0.0.1 -p $((P + 4)) -v -V -C $PINGS

pair "ucmatose" chk_status0 \
	ucmatose -p $((P + 5)) -- ucmatose -s 127.0.0.1 -p $((P + 5))
pair "ucmatose -c 10" chk_status0 \
	ucmatose -p $((P + 6)) -c 10 -- ucmatose -s 127.0.0.1 -p $((P + 6)) -c 10
pair "ucmatose -c 4 -m (ids migrate between channels)" chk_status0 \
	ucmatose -p $((P + 7)) -c 4 -m -- \
	ucmatose -s 127.0.0.1 -p $((P + 7)) -c 4 -m
pair "ucmatose -C 100 -S 4096" chk_status0 \
	ucmatose -p $((P + 8)) -C 100 -S 4096 -- \
	ucmatose -s 127.0.0.1 -p $((P + 8)) -C 100 -S 4096
pair "udaddy (UD, SIDR)" chk_status0 udaddy -- udaddy -s 127.0.0.1
pair "udaddy -c 10" chk_status0 udaddy -c 10 -- udaddy -s 127.0.0.1 -c 10
pair "rdma_server / rdma_client" chk_end0 \
	rdma_server -p $((P + 9)) -- rdma_client -s 127.0.0.1 -p $((P + 9))
pair "rdma_xserver / rdma_xclient (RC)" chk_end0 \
	rdma_xserver -p $((P + 10)) -- rdma_xclient -s 127.0.0.1 -p $((P + 10))
pair "rdma_xserver / rdma_xclient (XRC)" chk_end0 \
	rdma_xserver -p $((P + 11)) -c x -- \
	rdma_xclient -s 127.0.0.1 -p $((P + 11)) -c x

# mckey: three receivers join a group, then a sender's datagrams reach
# every one of them (multicast fan-out).
mckey_run() {
	local desc=$1 grp=$2 ok=0 i pids=() rc
	shift 2
	n=$((n + 1))
	log "mckey $n: $desc"
	for i in 1 2 3; do
		bg_start "$T_TMP/t$n.r$i.log" "$TO" mckey -m "$grp" "$@"
		pids+=("$BG_PID")
	done
	# Every receiver has joined: three joins (and the sender's to come).
	wait_stats 10 cm_joins=$((3 * ${MCKEY_CONNS:-1})) >/dev/null || ok=1
	bg_start "$T_TMP/t$n.s.log" "$TO" mckey -m "$grp" -s "$@"
	wait "$BG_PID"
	rc=$?
	chk_status0 "$T_TMP/t$n.s.log" s && [ "$rc" -eq 0 ] ||
		{ echo "  sender: exit $rc"; show "$T_TMP/t$n.s.log"; ok=1; }
	for i in 1 2 3; do
		wait "${pids[i - 1]}"
		rc=$?
		if [ "$rc" -ne 0 ] || ! chk_status0 "$T_TMP/t$n.r$i.log" r ||
		   ! grep -q 'data transfers complete' "$T_TMP/t$n.r$i.log"; then
			echo "  receiver $i: exit $rc"
			show "$T_TMP/t$n.r$i.log"
			ok=1
		fi
	done
	verdict "mckey $desc" $ok
}
mckey_run "(three receivers, one sender)" 224.1.2.3
MCKEY_CONNS=2 mckey_run "-c 2 (two groups each)" 224.1.2.10 -c 2
mckey_run "-C 100 -S 1000 over IPv6 (ff0e::101)" ff0e::101 -C 100 -S 1000
wait_stats 10 cm_joins=0 >/dev/null
verdict "every multicast join left" $?

# cmtime's server serves until it is killed; the client reports and exits.
n=$((n + 1))
log "pair $n: cmtime -c 100"
bg_start "$T_TMP/t$n.srv.log" "$TO" cmtime -p $((P + 12))
srv=$BG_PID
listeners 1
bg_start "$T_TMP/t$n.cli.log" "$TO" cmtime -s 127.0.0.1 -p $((P + 12)) -c 100
wait "$BG_PID"
rc=$?
kill_tree "$srv"
[ "$rc" -eq 0 ] && no_errors "$T_TMP/t$n.cli.log" &&
	grep -qE '^connect +:' "$T_TMP/t$n.cli.log" &&
	grep -qE '^disconnect +:' "$T_TMP/t$n.cli.log"
ok=$?
[ "$ok" -eq 0 ] || show "$T_TMP/t$n.cli.log"
verdict "cmtime -c 100 (client exit $rc)" $ok
listeners 0

# perftest -R connects twice, each from a new listening id: the server
# leaves its port unbound between the two, and a client quicker than that
# would get REJECTED 8 (no listener; perftest 4.5's client then crashes
# on its retry).  xenibd keeps a REQ for a port whose listener has just
# gone until it is bound again (xenibd/cm/cm_hold.c), so no run is lost.
for t in ib_send_lat ib_send_bw ib_write_lat ib_write_bw ib_read_lat \
	 ib_read_bw ib_atomic_lat ib_atomic_bw; do
	P=$((P + 1))
	pair "$t -R" chk_perf "$t" -R -n 200 -p $((P + 20)) -- \
		"$t" -R -n 200 -p $((P + 20)) 127.0.0.1
done
for t in ib_send_lat ib_send_bw; do
	P=$((P + 1))
	pair "$t -R -c UD" chk_perf "$t" -R -c UD -n 200 -p $((P + 20)) -- \
		"$t" -R -c UD -n 200 -p $((P + 20)) 127.0.0.1
done

# qperf -cm1 (RC QPs connected by rdma_cm; its control channel is TCP).
# Its server sends its port between rdma_bind_addr and rdma_listen: the
# REQ often comes first and xenibd holds it (xenibd/cm/cm_hold.c).  It ends
# a test with SIGALRM (no SA_RESTART): a server blocked in
# ibv_get_cq_event must get EINTR (providers/xenib/fatal.c), or the client
# times out waiting for the results.
qperf_cm() {
	free_port
	n=$((n + 1))
	bg_start "$T_TMP/t$n.srv.log" "$TO" qperf -lp "$PORT"
	srv=$BG_PID
	wait_listen "$PORT" "$srv"
	timeout "$TO" qperf -lp "$PORT" 127.0.0.1 -t 1 -to 10 -cm1 \
		rc_bw rc_lat rc_rdma_write_bw rc_rdma_read_lat \
		>"$T_TMP/t$n.cli.log" 2>&1
	rc=$?
	kill_tree "$srv"
	[ "$rc" -eq 0 ] &&
		[ "$(grep -cE '^ +(bw|latency) +=' "$T_TMP/t$n.cli.log")" = 4 ] &&
		return 0
	show "$T_TMP/t$n.cli.log"
	return 1
}
if command -v qperf >/dev/null 2>&1; then
	qperf_cm
	verdict "qperf -cm1 rc_bw rc_lat rc_rdma_write_bw rc_rdma_read_lat" $?
else
	log "qperf not installed: skipped"
fi

# libfabric's verbs provider over rdma_cm: fi_info, fi_pingpong.
if command -v fi_pingpong >/dev/null 2>&1; then
	timeout "$TO" fi_info -p verbs >"$T_TMP/fi_info.log" 2>&1 &&
		grep -q 'domain: xenib0' "$T_TMP/fi_info.log"
	verdict "fi_info -p verbs lists xenib0" $?
	# rxm sizes its CQ by FI_UNIVERSE_SIZE (256) x 1024 entries, past
	# xenib0's max_cqe (65535): a smaller universe for the rdm case.
	for ep in dgram msg rdm; do
		free_port
		n=$((n + 1))
		FI_UNIVERSE_SIZE=32 bg_start "$T_TMP/t$n.srv.log" "$TO" \
			fi_pingpong -p verbs -e $ep -B "$PORT" -I 100
		srv=$BG_PID
		wait_listen "$PORT" "$srv"
		FI_UNIVERSE_SIZE=32 timeout "$TO" fi_pingpong -p verbs -e $ep \
			-P "$PORT" -I 100 127.0.0.1 >"$T_TMP/t$n.cli.log" 2>&1
		rc=$?
		wait "$srv"
		rc_s=$?
		# Sizes up to 1m (dgram: one MTU, 4k), each 100 times.
		[ "$rc" -eq 0 ] && [ "$rc_s" -eq 0 ] &&
			[ "$(grep -cE '^[0-9]+[km]? +100 +=100' "$T_TMP/t$n.cli.log")" -ge 4 ]
		ok=$?
		[ "$ok" -eq 0 ] || show "$T_TMP/t$n.cli.log"
		verdict "fi_pingpong -p verbs -e $ep (exit $rc/$rc_s)" $ok
	done
else
	log "libfabric-bin not installed: skipped"
fi

# No listener: the IB CM rejects with reason 8 (invalid service ID).
n=$((n + 1))
timeout "$TO" rping -c -a 127.0.0.1 -p $((P + 40)) -C 1 >"$T_TMP/t$n.log" 2>&1
grep -q 'RDMA_CM_EVENT_REJECTED, error 8' "$T_TMP/t$n.log"
ok=$?
[ "$ok" -eq 0 ] || show "$T_TMP/t$n.log"
verdict "rping to a port nobody listens on: REJECTED, error 8" $ok
n=$((n + 1))
timeout "$TO" ucmatose -s 127.0.0.1 -p $((P + 41)) >"$T_TMP/t$n.log" 2>&1
grep -q 'RDMA_CM_EVENT_REJECTED, error: 8' "$T_TMP/t$n.log"
ok=$?
[ "$ok" -eq 0 ] || show "$T_TMP/t$n.log"
verdict "ucmatose to a port nobody listens on: REJECTED, error: 8" $ok
# An address of no host here (TEST-NET-2, unless this host has it): address
# resolution fails.
far=198.51.100.77
if ip -o addr 2>/dev/null | grep -q " $far/"; then
	log "$far is an address of this host: ADDR_ERROR case skipped"
else
	n=$((n + 1))
	timeout "$TO" rping -c -a $far -p $((P + 42)) -C 1 >"$T_TMP/t$n.log" 2>&1
	grep -q 'RDMA_CM_EVENT_ADDR_ERROR' "$T_TMP/t$n.log"
	ok=$?
	[ "$ok" -eq 0 ] || show "$T_TMP/t$n.log"
	verdict "rping to $far (not an address of this host): ADDR_ERROR" $ok
fi

wait_stats 10 cm_channels=0 cm_ids=0 cm_listeners=0 cm_connections=0 \
	contexts=0 pds=0 mrs=0 cqs=0 qps=0 srqs=0 regions=0 notifiers=0
verdict "xenibctl stats: no CM and no verbs object left" $?
s=$(xstats)
[ "$(stat_val "$s" cm_msgs)" -gt 0 ] && [ "$(stat_val "$s" cm_events_dropped)" = 0 ]
verdict "CM messages were exchanged, no event dropped ($(stat_val "$s" cm_msgs) messages)" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
