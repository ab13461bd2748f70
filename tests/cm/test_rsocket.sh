#!/usr/bin/env bash
# rsockets through our librdmacm and a real xenibd
# (tests/cm/test_rsocket.c), then xenibd must hold no CM object.
# Usage: test_rsocket.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init rsocket_api "${1:-}"
BIN=${2:?usage: test_rsocket.sh BUILD_DIR TEST_BINARY}
# Every rsocket has an rdma_cm event channel of its own: the 48
# connections of one process (96 rsockets, both ends) take 96 channels,
# which count against limit.cm_channels, not limit.contexts (kept small
# here to show it).
cat >"$T_TMP/rsocket.conf" <<CONF
limit.contexts = 8
limit.cm_channels = 160
CONF
start_xenibd -c "$T_TMP/rsocket.conf"

# shellcheck source=tests/cm/cm_lib.sh
. "$(dirname "$0")/cm_lib.sh"
run_and_drain test_rsocket "$BIN"
t_finish
