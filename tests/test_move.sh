#!/usr/bin/env bash
# The guest side of a move between hosts' backends in the emulation
# (tests/move/test_move.c): contexts of our libibverbs, served by a real
# xenibd through fake source and destination hosts in the test's process.
# Afterwards xenibd must still run and hold nothing of the guest.
# Usage: test_move.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
BIN=${2:?usage: test_move.sh BUILD_DIR TEST_BINARY}
t_init move "${1:-}"
[ -x "$BIN" ] || die "test binary $BIN not found"
start_xenibd

# The guest looks for its device where the fake source listens.
XDIR=$XENIB_EMU_DIR
GDIR=$T_TMP/guest
mkdir -p "$GDIR"
XENIB_EMU_DIR=$GDIR XENIB_EMU_GUEST=mover XENIB_EMU_MOVE_TIMEOUT_MS=3000 \
	timeout -k 5 120 "$BIN" "$XDIR" "$GDIR" 2>&1 |
	tee "$T_TMP/move.out"
rc=${PIPESTATUS[0]}
verdict "test_move: every check (exit $rc)" "$rc"

xenibd_alive
verdict "xenibd still running" $?
wait_stats 10 contexts=0 pds=0 mrs=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibd reclaimed every context (xenibctl stats all zero)" $?
stop_xenibd
t_finish
