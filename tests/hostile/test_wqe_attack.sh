#!/usr/bin/env bash
# Malformed WQEs (tests/hostile/wqe_attack: the READ+INLINE stack smash of
# issue 10 with num_sge 17, 24, 32, 0xffffffff on RC and XRC_SEND, and every
# neighbouring malformed send/receive/SRQ WQE).  Each must fail the
# attacker's own QP with the documented status; meanwhile a victim
# ibv_rc_pingpong -c pair on the same xenibd keeps passing, and xenibd (with
# sanitizers in the sanitize suite) survives without a report.
# Usage: test_wqe_attack.sh BUILD_DIR WQE_ATTACK_BIN
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init wqe_attack "${1:-}"
BIN=${2:?usage: test_wqe_attack.sh BUILD_DIR WQE_ATTACK_BIN}
start_xenibd

stop=$T_TMP/stop
bg_start "$T_TMP/attack.log" 400 "$BIN" "$stop"
att=$BG_PID
# The victim runs while the attacker repeats the attack (until told to stop).
pp_run victim_pp 300 -s 4096 -n 50000 -c
verdict "victim ibv_rc_pingpong -c passed during the attack" $?
alive "$att"
verdict "the attack was still going on when the victim finished" $?
touch "$stop"
wait "$att"
rc=$?
grep -v '^xenib' "$T_TMP/attack.log"
verdict "every malformed WQE failed the attacker's own QP with its status (exit $rc)" "$rc"
xenibd_alive
verdict "xenibd still running after the attack" $?
! grep -qE 'AddressSanitizer|runtime error:' "$XENIBD_LOG"
verdict "no sanitizer report from xenibd" $?
wait_stats 10 contexts=0 qps=0 srqs=0 xrcds=0 mrs=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after the attacker exited" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
