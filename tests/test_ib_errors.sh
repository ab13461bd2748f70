#!/usr/bin/env bash
# IB error semantics through the whole stack: runs tests/neg/test_ib_errors
# (one process, two contexts of xenib0) against a fresh xenibd.
# Usage: test_ib_errors.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init ib_errors "${1:-}"
BIN=${2:?usage: test_ib_errors.sh BUILD_DIR TEST_BINARY}
start_xenibd

timeout -k 5 "${XENIB_NEG_TIMEOUT:-120}" "$BIN"
verdict "test_ib_errors (exit $?)" $?

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after the test exited" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
