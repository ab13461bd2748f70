#!/usr/bin/env bash
# Per-guest limits (xenibd.conf limit.*): xenibd on a tiny configuration,
# tests/hostile/test_limits checks the errnos past each limit and that
# freeing makes room again; xenibd logs each refusal.
# Usage: test_limits.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init limits "${1:-}"
BIN=${2:?usage: test_limits.sh BUILD_DIR TEST_BINARY}

cat >"$T_TMP/xenibd.conf" <<CONF
limit.pds = 3
limit.mrs = 4
limit.mr_bytes = 65536
limit.cqs = 3
limit.qps = 2
CONF
start_xenibd -c "$T_TMP/xenibd.conf"

timeout -k 5 120 "$BIN" 3 4 65536 3 2
verdict "test_limits (exit $?)" $?
grep -q 'limit.pds reached' "$XENIBD_LOG" && grep -q 'limit.mr_bytes reached' "$XENIBD_LOG"
verdict "xenibd logs the refusals" $?

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after the test exited" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
