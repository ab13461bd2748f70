#!/usr/bin/env bash
# Debian's unmodified perftest (ib_{write,send,read,atomic}_{bw,lat}) on RC
# between two guest processes on one xenibd: default options, the old post
# path, all sizes (-a), 4 QPs, bidirectional and completion events; then
# ibv_rc_pingpong with the ibv_wr_* API (-N), extended CQs with completion
# timestamps (-t) and both with events, with data checking (-c).
#
# perftest verifies no data; ibv_rc_pingpong -c does.  perftest 4.5+0.17
# (Debian 12) turns its ibv_wr_* path on only for HCAs it recognises by
# vendor/part id (mlx5, EFA, HNS), so on xenib0 it prints "ibv_wr* API : OFF"
# with or without --use_old_post_send; the ibv_wr_* API is exercised by the
# -N pingpongs here and by test_verbs_ex.
# Usage: test_perftest.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init perftest "${1:-}"

if ! command -v ib_write_bw >/dev/null 2>&1; then
	echo "perftest is not installed: skipping"
	exit 77
fi
start_xenibd

# A hang detector, not a speed bound: -a sweeps on a loaded 2-core machine
# (two polling tools and xenibd on 2 cores) have taken over 40 s.
TO=${XENIB_PF_TIMEOUT:-150}
N_BW=${XENIB_PF_ITERS:-100}
N_ALL=${XENIB_PF_ALL_ITERS:-20}
n=0

# pf_check_log LOG SIDE: a clean perftest side; the client (and the server
# of the two-sided tests) prints its results table.  The server of the
# one-sided read/atomic latency tests is passive and prints none.
pf_check_log() {
	grep -qiE "couldn't|failed|error|unable|invalid" "$1" && return 1
	[ "$2" = srv ] && return 0
	grep -q '#bytes' "$1" && grep -qE '^ +[0-9]+ +[0-9]+ ' "$1"
}

# pf TOOL DESC ARGS...: one server+client pair of a perftest tool; one
# PASS/FAIL line.  Sets PF_CLI to the client's log.
pf() {
	local tool=$1 desc=$2 srv cli rc_s rc_c ok=0 side lg
	shift 2
	n=$((n + 1))
	free_port
	log "pair $n: $tool $*"
	bg_start "$T_TMP/pf$n.srv.log" "$TO" "$tool" -d "$PP_DEV" -p "$PORT" -F "$@"
	srv=$BG_PID
	PF_CLI=$T_TMP/pf$n.cli.log
	if ! wait_listen "$PORT" "$srv"; then
		echo "  server did not listen on port $PORT"
		kill_tree "$srv"
		sed 's/^/      /' "$T_TMP/pf$n.srv.log" | tail -n 15
		fail "$tool $desc ($*)"
		return 1
	fi
	bg_start "$PF_CLI" "$TO" "$tool" -d "$PP_DEV" -p "$PORT" -F "$@" 127.0.0.1
	cli=$BG_PID
	wait "$cli" 2>/dev/null
	rc_c=$?
	wait "$srv" 2>/dev/null
	rc_s=$?
	for side in srv cli; do
		lg=$T_TMP/pf$n.$side.log
		rc=$rc_s
		[ "$side" = cli ] && rc=$rc_c
		if [ "$rc" -ne 0 ] || ! pf_check_log "$lg" "$side"; then
			echo "  $side: exit $rc$([ "$rc" = 124 ] && echo ' (timed out)'); output:"
			sed 's/^/      /' "$lg" | tail -n 15
			ok=1
		fi
	done
	verdict "$tool $desc ($*)" $ok
	return $ok
}

# wr_api LOG: the value of perftest's "ibv_wr* API" header line.
wr_api() {
	sed -n 's/^ *ibv_wr\* API *: *\([A-Z]*\).*/\1/p' "$1" | head -n 1
}

for tool in ib_write_bw ib_send_bw ib_read_bw ib_atomic_bw; do
	if pf "$tool" default -n "$N_BW"; then
		api=$(wr_api "$PF_CLI")
		log "$tool default: ibv_wr* API: ${api:-not printed}"
		[ -n "$api" ]
		verdict "$tool prints its post path (ibv_wr* API: ${api:-?})" $?
	fi
	if pf "$tool" "old post path" -n "$N_BW" --use_old_post_send; then
		[ "$(wr_api "$PF_CLI")" = OFF ]
		verdict "$tool --use_old_post_send reports ibv_wr* API: OFF" $?
	fi
	# perftest: "Message size cannot be changed for Atomic tests".
	[ "$tool" = ib_atomic_bw ] || pf "$tool" "all sizes" -a -n "$N_ALL"
	pf "$tool" "4 QPs" -q 4 -n "$N_BW"
	pf "$tool" bidirectional -b -n "$N_BW"
	# perftest: "Events feature not available on WRITE verb".
	[ "$tool" = ib_write_bw ] || pf "$tool" events -e -n "$N_BW"
done

for tool in ib_write_lat ib_send_lat ib_read_lat ib_atomic_lat; do
	pf "$tool" default -n "$N_BW"
	pf "$tool" "old post path" -n "$N_BW" --use_old_post_send
	[ "$tool" = ib_atomic_lat ] || pf "$tool" "all sizes" -a -n "$N_ALL"
	# perftest: "Events feature not available on WRITE verb".
	[ "$tool" = ib_write_lat ] || pf "$tool" events -e -n "$N_BW"
done

# ibv_rc_pingpong: -N ibv_wr_* API, -t extended CQ with timestamps.
pp_pair() {
	local desc=$1
	shift
	n=$((n + 1))
	log "pair $n: ibv_rc_pingpong $*"
	pp_run "p$n" "$TO" "$@"
	verdict "ibv_rc_pingpong $desc ($*)" $?
}
pp_pair "ibv_wr_* API, data check" -N -c -n 500
pp_pair "ibv_wr_* API, events, data check" -N -e -c -n 500
pp_pair "ibv_wr_* API, 1 MiB" -N -c -s 1048576 -n 50
pp_pair "extended CQ with timestamps" -t -c -n 500
pp_pair "extended CQ with timestamps, events" -t -e -c -n 500
pp_pair "ibv_wr_* API + extended CQ + events" -N -t -e -c -n 500

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after the tests exited" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
