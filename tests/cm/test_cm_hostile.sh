#!/usr/bin/env bash
# A malicious guest against the connection manager (tests/cm/cm_attacker:
# spoofed QPNs, foreign ids, port theft, a connection flood up to its
# quotas) while a victim listens (tests/cm/cm_victim, backlog 4) and an
# unrelated rping pair of two other guests runs with data validation.
# Nothing of the attack may succeed, exactly the backlog may reach the
# victim, the rping pair must pass, and every object must be freed.
# Usage: test_cm_hostile.sh BUILD_DIR ATTACKER_BIN VICTIM_BIN
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init cm_hostile "${1:-}"
ATT=${2:?usage: test_cm_hostile.sh BUILD_DIR ATTACKER_BIN VICTIM_BIN}
VIC=${3:?usage: test_cm_hostile.sh BUILD_DIR ATTACKER_BIN VICTIM_BIN}
start_xenibd

P=$((20000 + ($$ % 20000)))
ready=$T_TMP/victim.ready
flooded=$T_TMP/attack.flooded
counted=$T_TMP/victim.counted
XENIB_EMU_GUEST=victim bg_start "$T_TMP/victim.log" 180 \
	"$VIC" $P "$ready" "$flooded" "$counted"
vic=$BG_PID
for _ in $(seq 100); do
	[ -e "$ready" ] && break
	sleep 0.1
done
[ -e "$ready" ]
verdict "victim listens (backlog 4)" $?

# An unrelated pair of two other guests, running through the attack.
XENIB_EMU_GUEST=legit-s bg_start "$T_TMP/legit.srv.log" 180 \
	rping -s -a 127.0.0.1 -p $((P + 1)) -V -C 20000
ls=$BG_PID
wait_stats 10 cm_listeners=2 >/dev/null
XENIB_EMU_GUEST=legit-c bg_start "$T_TMP/legit.cli.log" 180 \
	rping -c -a 127.0.0.1 -p $((P + 1)) -V -C 20000
lc=$BG_PID

XENIB_EMU_GUEST=attacker timeout -k 5 170 "$ATT" $P "$flooded" "$counted" \
	>"$T_TMP/attacker.log" 2>&1
rc=$?
grep -v '^xenib' "$T_TMP/attacker.log"
verdict "no attack succeeded, the flood was bounded (attacker exit $rc)" "$rc"
wait "$vic"
rc=$?
cat "$T_TMP/victim.log"
verdict "exactly the backlog reached the victim; its channel works (exit $rc)" "$rc"
wait "$lc"
rc_c=$?
wait "$ls"
rc_s=$?
[ "$rc_c" -eq 0 ] && [ "$rc_s" -eq 0 ]
verdict "the other guests' rping -V passed through the attack (exit $rc_c/$rc_s)" $?

wait_stats 15 cm_channels=0 cm_ids=0 cm_listeners=0 cm_connections=0 \
	contexts=0 qps=0 cqs=0 pds=0 notifiers=0
verdict "xenibctl stats: everything freed" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
verdict "xenibd exits 0 on SIGTERM" $?
t_finish
