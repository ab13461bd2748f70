#!/usr/bin/env bash
# Debian's ibv_rc_pingpong between two guest processes on one xenibd, with
# data checking (-c), message sizes 1 B .. 1 MiB, completion events (-e),
# a tiny receive queue, many iterations and GID addressing.
# Usage: test_rc_pingpong.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init rc_pingpong "${1:-}"
start_xenibd

TO=${XENIB_PP_TIMEOUT:-120}
n=0
# pair DESCRIPTION ARGS...: one server+client exchange, verdict on both sides.
pair() {
	local desc=$1
	shift
	n=$((n + 1))
	log "pair $n: $desc: ibv_rc_pingpong $*"
	pp_run "p$n" "$TO" "$@"
	verdict "rc_pingpong $desc ($*)" $?
}

for size in 1 2 64 4095 4096 65536 1048576; do
	iters=500
	[ "$size" -ge 65536 ] && iters=200
	[ "$size" -ge 1048576 ] && iters=50
	pair "size $size, data check" -s "$size" -n "$iters" -c
done
pair "events, 1 B" -e -c -s 1 -n 500
pair "events, 4 KiB" -e -c -s 4096 -n 500
pair "events, 1 MiB" -e -c -s 1048576 -n 50
pair "rx depth 4" -r 4 -n 300 -s 128 -c
pair "20000 iterations (ring wrap-around)" -n 20000 -s 8
pair "GID addressing (GRH)" -g 0 -s 4096 -n 300 -c

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after the pingpongs exited" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
