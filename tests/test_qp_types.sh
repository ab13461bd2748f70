#!/usr/bin/env bash
# QP types beyond RC, with Debian's unmodified binaries: ibv_ud_pingpong,
# ibv_uc_pingpong, ibv_srq_pingpong (data checking, events, several QPs on
# one SRQ), ibv_xsrq_pingpong (XRC: one and several clients),
# and perftest in UD / UC modes and with an SRQ.
# Usage: test_qp_types.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init qp_types "${1:-}"
start_xenibd

TO=${XENIB_PP_TIMEOUT:-120}
n=0
# pair BINARY DESCRIPTION ARGS...: one pingpong server+client exchange.
pair() {
	local bin=$1 desc=$2
	shift 2
	n=$((n + 1))
	log "pair $n: $desc: $bin $*"
	PP_BIN=$bin pp_run "p$n" "$TO" "$@"
	verdict "${bin#ibv_} $desc ($*)" $?
}

for size in 1 64 1024 2048 4096; do
	pair ibv_ud_pingpong "size $size, data check" -s "$size" -n 300 -c
done
pair ibv_ud_pingpong "events" -e -c -s 2048 -n 300
pair ibv_ud_pingpong "GID addressing (GRH)" -g 0 -c -s 1024 -n 300

for size in 1 4096 65536; do
	pair ibv_uc_pingpong "size $size, data check" -s "$size" -n 300 -c
done
pair ibv_uc_pingpong "events" -e -c -s 4096 -n 300

pair ibv_srq_pingpong "4 QPs, data check" -q 4 -c -n 300
pair ibv_srq_pingpong "16 QPs, events" -e -c -n 300
pair ibv_srq_pingpong "4 QPs, 64 KiB, rx depth 8" -q 4 -r 8 -s 65536 -c -n 100

# XRC: ibv_xsrq_pingpong, one server and NCLI clients.  With several
# clients the server sends to a client's XRC SRQ through another client's
# XRC_RECV QP, which works because the clients share the XRC domain of
# /tmp/xrc_domain: as on one host, they run in one guest (XENIB_EMU_GUEST).
# The binary has no data check; tests/ext/test_xrc.c checks XRC data.
xsrq() {
	local ncli=$1 desc=$2 srv pids=() i rc ok=0 lg
	shift 2
	n=$((n + 1))
	lg=$T_TMP/xsrq$n
	free_port
	log "xsrq $n: $desc: ibv_xsrq_pingpong -c $ncli $*"
	XENIB_EMU_GUEST=xrc-guest-$n bg_start "$lg.srv.log" "$TO" \
		ibv_xsrq_pingpong -d "$PP_DEV" -i 1 -p "$PORT" -c "$ncli" "$@"
	srv=$BG_PID
	if ! wait_listen "$PORT" "$srv"; then
		kill_tree "$srv"
		fail "xsrq_pingpong $desc (server did not listen)"
		return
	fi
	for i in $(seq "$ncli"); do
		XENIB_EMU_GUEST=xrc-guest-$n bg_start "$lg.cli$i.log" "$TO" \
			ibv_xsrq_pingpong -d "$PP_DEV" -i 1 -p "$PORT" "$@" 127.0.0.1
		pids+=("$BG_PID")
	done
	for i in $(seq "$ncli"); do
		wait "${pids[$((i - 1))]}" 2>/dev/null
		rc=$?
		if [ "$rc" -ne 0 ] || ! grep -q '^success' "$lg.cli$i.log"; then
			echo "  client $i: exit $rc:"
			sed 's/^/      /' "$lg.cli$i.log" | tail -n 10
			ok=1
		fi
	done
	wait "$srv" 2>/dev/null
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q '^success' "$lg.srv.log"; then
		echo "  server: exit $rc:"
		sed 's/^/      /' "$lg.srv.log" | tail -n 10
		ok=1
	fi
	verdict "xsrq_pingpong $desc (-c $ncli $*)" $ok
}

# XRC verbs, data checked, wrong-domain SRQ, EBUSY (tests/ext/test_xrc.c).
timeout -k 5 60 "$B/bin/test_xrc" >"$T_TMP/xrc.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && sed 's/^/      /' "$T_TMP/xrc.log"
verdict "test_xrc (exit $rc: $(tail -n 1 "$T_TMP/xrc.log"))" "$rc"

xsrq 1 "one client" -n 200 -s 64
xsrq 1 "4 KiB, events" -e -n 100 -s 4096
xsrq 3 "three clients sharing an XRC domain" -n 100 -s 1024
xsrq 2 "two clients, events" -e -n 50 -s 1

# perftest: server "TOOL -d DEV -p PORT ARGS", client the same + 127.0.0.1.
pt_check_log() {
	grep -qE '^ *#bytes' "$1" && ! grep -qE "Couldn't|[Ff]ailed|[Ee]rror|Unable" "$1"
}
perf() {
	local tool=$1 srv cli rc1 rc2 lg
	shift
	n=$((n + 1))
	free_port
	lg=$T_TMP/perf$n
	log "perf $n: $tool $*"
	bg_start "$lg.srv.log" "$TO" "$tool" -d "$PP_DEV" -p "$PORT" "$@"
	srv=$BG_PID
	if ! wait_listen "$PORT" "$srv"; then
		kill_tree "$srv"
		fail "$tool $* (server did not listen)"
		return
	fi
	bg_start "$lg.cli.log" "$TO" "$tool" -d "$PP_DEV" -p "$PORT" "$@" 127.0.0.1
	cli=$BG_PID
	wait "$cli" 2>/dev/null
	rc1=$?
	wait "$srv" 2>/dev/null
	rc2=$?
	if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && pt_check_log "$lg.cli.log" &&
	   pt_check_log "$lg.srv.log"; then
		pass "$tool $*"
	else
		fail "$tool $* (client exit $rc1, server exit $rc2)"
		tail -n 8 "$lg.cli.log" "$lg.srv.log" | sed 's/^/    /'
	fi
}

perf ib_send_bw -c UD -n 1000
perf ib_send_bw -c UD -a -n 100
perf ib_send_lat -c UD -n 1000
perf ib_send_bw -c UD --use-srq -n 1000
perf ib_write_bw -c UC -n 1000
perf ib_send_bw -c UC -n 1000
perf ib_send_lat -c UC -n 1000
perf ib_write_lat -c UC -n 1000
perf ib_send_bw -c RC --use-srq -n 1000

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 srqs=0 ahs=0 xrcds=0 \
	regions=0 notifiers=0
verdict "xenibctl stats all zero (srqs, ahs, xrcds included) after the runs" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
