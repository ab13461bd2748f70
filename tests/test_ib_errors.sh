#!/usr/bin/env bash
# IB error semantics through the whole stack: runs one program of
# tests/neg (test_ib_local, _remote, _retry, _states: one process, two
# contexts of xenib0) against a fresh xenibd.
# Usage: test_ib_errors.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
BIN=${2:?usage: test_ib_errors.sh BUILD_DIR TEST_BINARY}
NAME=$(basename "$BIN")
t_init "${NAME#test_}" "${1:-}"
start_xenibd

timeout -k 5 "${XENIB_NEG_TIMEOUT:-120}" "$BIN"
verdict "$NAME (exit $?)" $?

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after the test exited" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
