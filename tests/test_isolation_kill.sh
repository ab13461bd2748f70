#!/usr/bin/env bash
# Two ibv_rc_pingpong pairs on one xenibd at once stay isolated; kill -9 of
# one guest mid-run leaves xenibd serving the other pair, and xenibd frees the
# dead guest's resources (checked through `xenibctl stats`).
# Usage: test_isolation_kill.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init isolation_kill "${1:-}"
start_xenibd

SIZE_A=4096	# different sizes: a message crossing pairs would be caught
SIZE_B=8192	# (length error / data check)

# 1. Calibrate: iterations that keep pair A busy ~6 s when alone.
pp_run cal 60 -s "$SIZE_A" -n 2000 -c
verdict "calibration pair" $?
usec=$(sed -n 's/.* = \([0-9.]*\) usec\/iter.*/\1/p' "$T_TMP/cal.cli.log" | head -n 1)
iters_a=$(awk -v u="${usec:-0}" 'BEGIN {
	n = (u > 0) ? int(6e6 / u) : 200000
	if (n < 5000) n = 5000
	if (n > 3000000) n = 3000000
	print n }')
log "calibration: ${usec:-?} usec/iter -> pair A runs $iters_a iterations"
wait_stats 10 contexts=0 qps=0
verdict "stats back to zero after calibration" $?

# pp_pid NAME srv|cli: pid of the ibv_rc_pingpong process itself.
pp_pid() {
	local v=PP_${2^^}_$1
	child_of "${!v}"
}

# 2. Pair B (to be killed) runs "forever"; pair A runs a bounded exchange.
pp_start B 600 -s "$SIZE_B" -n 1000000000 -c
verdict "pair B started" $?
wait_stats 15 contexts=2 qps=2
verdict "pair B has its QPs (contexts=2 qps=2)" $?
pp_start A 300 -s "$SIZE_A" -n "$iters_a" -c
verdict "pair A started" $?
wait_stats 15 contexts=4 pds=4 mrs=4 cqs=4 qps=4 \
	mr_bytes=$((2 * SIZE_A + 2 * SIZE_B))
verdict "both pairs accounted: 4 contexts, PDs, MRs, CQs, QPs" $?
sleep 1
S4=$STATS
a_srv=$(pp_pid A srv); a_cli=$(pp_pid A cli)
b_srv=$(pp_pid B srv); b_cli=$(pp_pid B cli)
log "pids: A $a_srv/$a_cli, B $b_srv/$b_cli"
alive "$b_cli" && alive "$b_srv"
verdict "pair B still running before the kill" $?
alive "$a_cli" && alive "$a_srv"
verdict "pair A still running at the time of the kill (mid-run)" $?

# 3. kill -9 the client of pair B.
kill -KILL "$b_cli"
log "killed pair B's client (pid $b_cli) with SIGKILL"

# Poll until the accounting equals what the still-live processes own.  Pair A
# may finish meanwhile; each process is one guest with one context, PD, MR,
# CQ and QP of its pair's size.  ("guests" is not checked: xenibd keeps a
# guest's slot, and so its virtual LID/GUID, after its last context closes.)
ok=1
for _ in $(seq 50); do
	STATS=$(xstats 2>&1)
	live=0 bytes=0
	alive "$a_srv" && { live=$((live + 1)); bytes=$((bytes + SIZE_A)); }
	alive "$a_cli" && { live=$((live + 1)); bytes=$((bytes + SIZE_A)); }
	alive "$b_srv" && { live=$((live + 1)); bytes=$((bytes + SIZE_B)); }
	ok=0
	for k in contexts pds mrs cqs qps; do
		[ "$(stat_val "$STATS" "$k")" = "$live" ] || ok=1
	done
	[ "$(stat_val "$STATS" mr_bytes)" = "$bytes" ] || ok=1
	[ "$ok" = 0 ] && break
	sleep 0.2
done
printf '%s\n' "$STATS" | sed 's/^/    /'
verdict "killed guest's contexts/PDs/MRs/CQs/QPs/mr_bytes freed ($live guest processes left)" $ok
for k in regions notifiers; do
	before=$(stat_val "$S4" "$k") after=$(stat_val "$STATS" "$k")
	[[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ ]] && ((after < before))
	verdict "killed guest's $k freed ($before -> $after)" $?
done
xenibd_alive
verdict "xenibd survived the kill" $?

# 4. Pair A completes its exchange with data checking.
pp_wait A
verdict "pair A completed successfully after pair B's client was killed" $?

# 5. Pair B's server lost its peer; kill it too (a second dead guest).
if alive "$b_srv"; then
	kill -KILL "$b_srv"
	log "killed pair B's server (pid $b_srv) with SIGKILL"
else
	log "pair B's server had exited: $(tail -n 2 "$T_TMP/B.srv.log" | tr '\n' ' ')"
fi
wait "$PP_SRV_B" "$PP_CLI_B" 2>/dev/null
wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
verdict "all resources freed once every guest is gone (xenibctl stats all zero)" $?

# 6. xenibd still serves new guests.
xenibd_alive
verdict "xenibd still running" $?
out=$(timeout -k 2 20 ibv_devices 2>&1)
rc=$?
[ "$rc" -eq 0 ] && printf '%s\n' "$out" | awk '$1 == "xenib0" { f = 1 } END { exit !f }'
verdict "fresh ibv_devices lists xenib0 (exit $rc)" $?
pp_run after 60 -s 4096 -n 200 -c
verdict "fresh pingpong pair after the kill" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"

t_finish
