#!/usr/bin/env bash
# A guest shrinks memory it registered without a seal (tests/hostile/
# reg_shrink.c): xenibd survives its SIGBUS guard, says so in its log,
# and an ibv_rc_pingpong -c pair afterwards still passes.
# Usage: test_reg_shrink.sh BUILD_DIR REG_SHRINK_BIN
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init reg_shrink "${1:-}"
BIN=${2:?usage: test_reg_shrink.sh BUILD_DIR REG_SHRINK_BIN}
start_xenibd

timeout -k 5 60 "$BIN"
verdict "reg_shrink: registered, truncated, RDMA through it completes (exit $?)" $?
xenibd_alive
verdict "xenibd still running after touching truncated guest memory" $?
grep -q 'the guest shrank the memory it shares' "$XENIBD_LOG"
verdict "xenibd logs that the guest shrank shared memory" $?
! grep -qE 'AddressSanitizer|runtime error:' "$XENIBD_LOG"
verdict "no sanitizer report from xenibd" $?
pp_run after_pp 120 -s 4096 -n 1000 -c
verdict "ibv_rc_pingpong -c passes afterwards" $?
wait_stats 10 contexts=0 mrs=0 regions=0
verdict "xenibctl stats all zero after the guest exited" $?
stop_xenibd
verdict "xenibd exits 0 on SIGTERM" $?
t_finish
