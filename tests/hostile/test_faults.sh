#!/usr/bin/env bash
# Faults: (a) kill -9 of a guest mid-transfer: its peer's RDMA writes
# complete with IBV_WC_RETRY_EXC_ERR within the QP's retry timeout;
# (b) kill -9 of xenibd: a guest polling its CQ fails (EIO) instead of
# hanging, ibv_get_async_event returns IBV_EVENT_DEVICE_FATAL and control
# calls fail; (c) xenibd restarted on the same run directory serves new
# contexts (ibv_rc_pingpong).
# Usage: test_faults.sh BUILD_DIR FAULT_PEER_BIN FATAL_WAIT_BIN
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init faults "${1:-}"
FP=${2:?usage: test_faults.sh BUILD_DIR FAULT_PEER_BIN FATAL_WAIT_BIN}
FW=${3:?usage: test_faults.sh BUILD_DIR FAULT_PEER_BIN FATAL_WAIT_BIN}
start_xenibd

# pair NAME: a target and a requester with traffic flowing (sets TGT, REQ).
pair() {
	local i
	XENIB_EMU_GUEST=$1-t bg_start "$T_TMP/$1.t.log" 60 "$FP" target \
		"$T_TMP/$1.t" "$T_TMP/$1.r" 50
	TGT=$BG_PID
	XENIB_EMU_GUEST=$1-r bg_start "$T_TMP/$1.r.log" 60 "$FP" requester \
		"$T_TMP/$1.r" "$T_TMP/$1.t" 50
	REQ=$BG_PID
	for i in $(seq 200); do
		grep -q running "$T_TMP/$1.r.log" && return 0
		alive "$REQ" || break
		sleep 0.05
	done
	cat "$T_TMP/$1.r.log"
	return 1
}

# wait_exit PID SECONDS: 0 if PID exited within SECONDS (status in RC).
wait_exit() {
	local i
	for i in $(seq $(($2 * 10))); do
		alive "$1" || { wait "$1"; RC=$?; return 0; }
		sleep 0.1
	done
	return 1
}

# (a) the target dies
pair a
verdict "(a) RDMA writes flowing between two guests" $?
t0=$(date +%s%N)
kill -KILL "$(child_of "$TGT")"
wait_exit "$REQ" 3
verdict "(a) requester reports the loss within 3 s (took $((($(date +%s%N) - t0) / 1000000)) ms)" $?
cat "$T_TMP/a.r.log"
[ "${RC:-1}" = 0 ] && grep -q "transport retry counter exceeded" "$T_TMP/a.r.log"
verdict "(a) its WQE completed with IBV_WC_RETRY_EXC_ERR" $?
wait_stats 10 contexts=0 qps=0 mrs=0 regions=0
verdict "(a) both guests' resources freed" $?

# (b) xenibd dies
pair b
verdict "(b) RDMA writes flowing" $?
XENIB_EMU_GUEST=b-w bg_start "$T_TMP/b.async.log" 60 "$FW" 30
ASYNC=$BG_PID
sleep 0.5
kill -KILL "$(child_of "$XENIBD_PID")"
t0=$(date +%s%N)
wait_exit "$REQ" 10
verdict "(b) requester does not hang (exit ${RC:-?} in $((($(date +%s%N) - t0) / 1000000)) ms)" $?
cat "$T_TMP/b.r.log"
grep -q "poll_cq failed: Input/output error" "$T_TMP/b.r.log"
verdict "(b) ibv_poll_cq fails with EIO" $?
wait_exit "$ASYNC" 10
verdict "(b) async waiter returns (exit ${RC:-?})" $?
cat "$T_TMP/b.async.log"
[ "${RC:-1}" = 0 ]
verdict "(b) IBV_EVENT_DEVICE_FATAL delivered; later verbs fail with EIO" $?
kill_tree "$TGT"
wait "$XENIBD_PID" 2>/dev/null
XENIBD_PID=

# (c) xenibd comes back
start_xenibd
pp_run c 60 -s 4096 -n 200 -c
verdict "(c) restarted xenibd serves new contexts (ibv_rc_pingpong -c)" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
