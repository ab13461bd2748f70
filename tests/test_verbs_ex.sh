#!/usr/bin/env bash
# Extended verbs through the whole stack: runs tests/ext/test_verbs_ex
# (ibv_wr_* API, extended CQs, resize_cq, one channel for many CQs)
# against a fresh xenibd, then Debian's ibv_asyncwatch on xenib0 while the
# administrator bounces the virtual link (xenibctl link-flap): it must print
# IBV_EVENT_PORT_ERR then IBV_EVENT_PORT_ACTIVE for port 1.
# Usage: test_verbs_ex.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init verbs_ex "${1:-}"
BIN=${2:?usage: test_verbs_ex.sh BUILD_DIR TEST_BINARY}
start_xenibd

timeout -k 5 "${XENIB_EX_TIMEOUT:-120}" "$BIN"
verdict "test_verbs_ex (exit $?)" $?

if command -v ibv_asyncwatch >/dev/null 2>&1; then
	AW=$T_TMP/asyncwatch.log
	bg_start "$AW" 30 stdbuf -oL ibv_asyncwatch -d "$PP_DEV"
	aw=$BG_PID
	for _ in $(seq 50); do
		grep -q 'async event FD' "$AW" && break
		sleep 0.1
	done
	grep -q 'async event FD' "$AW"
	verdict "ibv_asyncwatch opens xenib0" $?
	timeout -k 2 5 "$B/bin/xenibctl" -d "$XENIB_EMU_DIR" link-flap
	for _ in $(seq 50); do
		grep -q 'IBV_EVENT_PORT_ACTIVE' "$AW" && break
		sleep 0.1
	done
	grep -A1 'IBV_EVENT_PORT_ERR (10), port 1' "$AW" |
		grep -q 'IBV_EVENT_PORT_ACTIVE (9), port 1'
	verdict "ibv_asyncwatch reports PORT_ERR, PORT_ACTIVE on a link flap" $?
	alive "$aw"
	verdict "ibv_asyncwatch still running (no error)" $?
	kill_tree "$aw"
	sed 's/^/    /' "$AW"
else
	log "ibv_asyncwatch not installed: async check skipped"
fi

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after the test exited" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
