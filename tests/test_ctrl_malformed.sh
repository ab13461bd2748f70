#!/usr/bin/env bash
# Runs one program of tests/ctrl (test_ctrl_hello, _handles, _regions, _mr,
# _cq, _qp, _xrc) against a fresh xenibd: every malformed or foreign-handle
# control message gets an error reply, xenibd logs them, keeps running, and
# leaks nothing.
# Usage: test_ctrl_malformed.sh BUILD_DIR TEST_BINARY
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
BIN=${2:?usage: test_ctrl_malformed.sh BUILD_DIR TEST_BINARY}
NAME=$(basename "$BIN")
t_init "${NAME#test_}" "${1:-}"
[ -x "$BIN" ] || die "test binary $BIN not found"
start_xenibd

base=$(wc -l <"$XENIBD_LOG")
errs0=$(stat_val "$(xstats)" ctrl_errors)
timeout -k 5 300 "$BIN" "$XENIB_EMU_DIR" 2>&1 | tee "$T_TMP/ctrl.out"
rc=${PIPESTATUS[0]}
verdict "$NAME: every case (exit $rc)" "$rc"

xenibd_alive
verdict "xenibd still running after the hostile guests" $?

# Each refused request is logged.  Allow a backend to rate-limit its logs
# per guest, but not to be silent.
errs=$(sed -n 's/^error replies: \([0-9]*\)$/\1/p' "$T_TMP/ctrl.out")
errs=${errs:-0}
nlog=$(tail -n +"$((base + 1))" "$XENIBD_LOG" | grep -ciE \
	'error|invalid|malformed|reject|refus|bad|unknown|denied|not owned|foreign|out of range|no such|not supported|not permitted|too (short|long|big|large|many)|mismatch|short|overflow|EINVAL|EPROTO|ENOENT|EBADF|EPERM|EACCES|fail|protocol|unexpected')
need=$((errs < 10 ? errs : 10))
[ "$errs" -gt 0 ] && [ "$nlog" -ge "$need" ]
verdict "xenibd logged the refused requests ($nlog error lines for $errs error replies)" $?
# xenibd's own count of refused control messages, where it keeps one.
errs1=$(stat_val "$(xstats)" ctrl_errors)
if [[ $errs0 =~ ^[0-9]+$ && $errs1 =~ ^[0-9]+$ ]]; then
	[ $((errs1 - errs0)) -ge "$errs" ]
	verdict "xenibctl stats ctrl_errors rose by >= $errs (by $((errs1 - errs0)))" $?
fi
echo "    sample of xenibd's log:"
tail -n +"$((base + 1))" "$XENIBD_LOG" | head -n 8 | sed 's/^/      /'

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "nothing left behind once the test's channels closed (xenibctl stats all zero)" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
