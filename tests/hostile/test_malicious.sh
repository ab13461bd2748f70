#!/usr/bin/env bash
# A malicious guest (tests/hostile/malicious_guest: wire ABI, leaked and
# guessed keys and QPNs, garbage rings, destroy races, control floods)
# attacks while a victim guest (tests/hostile/victim: canary buffers) and an
# ibv_rc_pingpong -c pair run.  The canaries must be unchanged byte for
# byte, the victim's QP untouched, the pingpong must pass, xenibd survive.
# Usage: test_malicious.sh BUILD_DIR MALICIOUS_BIN VICTIM_BIN [SECONDS]
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init malicious "${1:-}"
MAL=${2:?usage: test_malicious.sh BUILD_DIR MALICIOUS_BIN VICTIM_BIN [SECONDS]}
VIC=${3:?usage: test_malicious.sh BUILD_DIR MALICIOUS_BIN VICTIM_BIN [SECONDS]}
SECS=${4:-15}
start_xenibd

info=$T_TMP/victim.info
done_file=$T_TMP/attack.done
XENIB_EMU_GUEST=victim bg_start "$T_TMP/victim.log" $((SECS + 120)) \
	"$VIC" "$info" "$done_file" $((SECS + 90))
vic=$BG_PID
for _ in $(seq 100); do
	[ -s "$info" ] && break
	alive "$vic" || break
	sleep 0.1
done
[ -s "$info" ]
verdict "victim set up (canaries, QP in RTS)" $?

# Pingpong pairs one after another for as long as the attack lasts (a
# count of round trips sized to outlast it would time out on a slow,
# sanitized or loaded machine and end too early on a fast one); each must
# pass.
pp_done=$T_TMP/pp.done
(
	runs=0 bad=0
	while [ ! -e "$done_file" ]; do
		runs=$((runs + 1))
		pp_run "victim_pp$runs" 180 -s 64 -n 2000 -c >"$T_TMP/pp.$runs.out" ||
			{ bad=$((bad + 1)); cat "$T_TMP/pp.$runs.out"; }
	done
	echo "$runs $bad" >"$pp_done"
) &
pp_loop=$!
for _ in $(seq 100); do
	[ -n "$(ls "$T_TMP"/victim_pp1.cli.log 2>/dev/null)" ] && break
	sleep 0.1
done
[ -e "$T_TMP/victim_pp1.cli.log" ]
verdict "victim pingpong pair started" $?

bg_start "$T_TMP/malicious.log" $((SECS + 60)) "$MAL" "$info" "$SECS"
mal=$BG_PID
# Fairness: while the attacker floods its channels, other guests' control
# requests (a whole ibv_devinfo: HELLO, queries) are still served promptly.
slow=0
for i in 1 2 3 4 5; do
	sleep $((SECS / 6 + 1))
	alive "$mal" || break
	t0=$(date +%s%N)
	timeout -k 2 10 ibv_devinfo -d xenib0 >/dev/null 2>&1 || slow=$((slow + 1))
	ms=$((($(date +%s%N) - t0) / 1000000))
	log "ibv_devinfo $i during the attack: $ms ms"
	[ "$ms" -lt 5000 ] || slow=$((slow + 1))
done
[ "$slow" -eq 0 ]
verdict "other guests' control requests served during the attack" $?
wait "$mal"
rc=$?
cat "$T_TMP/malicious.log" | grep -v '^xenib'
verdict "malicious guest ran, none of its attacks succeeded (exit $rc)" "$rc"

touch "$done_file"
wait "$vic"
rc=$?
cat "$T_TMP/victim.log"
verdict "victim's canaries unchanged, QP in RTS, no async event (exit $rc)" "$rc"
wait "$pp_loop"
read -r runs bad <"$pp_done" 2>/dev/null || { runs=0; bad=1; }
[ "$runs" -ge 1 ] && [ "$bad" -eq 0 ]
verdict "victim ibv_rc_pingpong -c passed through the attack ($runs pairs of 2000 round trips, $bad failed)" $?

xenibd_alive
verdict "xenibd still running" $?
wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "xenibctl stats all zero after every guest exited" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
