#!/usr/bin/env bash
# rdma_cm semantics through our librdmacm and a real xenibd
# (tests/cm/test_cm_api.c), then xenibd must hold no CM object.
# Usage: test_cm_api.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init cm_api "${1:-}"
BIN=${2:?usage: test_cm_api.sh BUILD_DIR TEST_BINARY}
# Event channels have a limit of their own (test_channel_limit).
cat >"$T_TMP/cm.conf" <<CONF
limit.cm_channels = 100
CONF
start_xenibd -c "$T_TMP/cm.conf"

timeout -k 5 "${XENIB_CM_TIMEOUT:-120}" "$BIN"
verdict "test_cm_api (exit $?)" $?
wait_stats 10 cm_channels=0 cm_ids=0 cm_listeners=0 cm_connections=0 \
	contexts=0 qps=0 cqs=0 pds=0
verdict "xenibctl stats: nothing left" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
verdict "xenibd exits 0 on SIGTERM" $?
t_finish
