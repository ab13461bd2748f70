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

# shellcheck source=tests/cm/cm_lib.sh
. "$(dirname "$0")/cm_lib.sh"
run_and_drain test_cm_api "$BIN"
t_finish
