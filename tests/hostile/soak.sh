#!/usr/bin/env bash
# Soak: rounds of mixed traffic from several guests at once (RC pingpong
# with data checks and events, UD and SRQ pingpongs, a guest killed -9
# mid-transfer, and the malicious guest when given) for SECONDS on one
# xenibd; best on a sanitized build (-DXENIB_SANITIZE=ON, where ASan/UBSan
# abort xenibd on the first error).  Prints `xenibctl stats` and xenibd's
# RSS before and after; fails if an object count grew, a pair failed or
# xenibd died.
# Usage: soak.sh BUILD_DIR [SECONDS] [MALICIOUS_BIN VICTIM_INFO_UNUSED]
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init soak "${1:-}"
SECS=${2:-30}
MAL=${3:-}
start_xenibd

rss() { awk '/^VmRSS/ { print $2 " kB" }' "/proc/$(child_of "$XENIBD_PID")/status"; }
OBJS="contexts pds mrs mr_bytes cqs qps regions notifiers srqs ahs"

before=$(xstats)
rss0=$(rss)
echo "---- xenibctl stats before (xenibd RSS $rss0)"
printf '%s\n' "$before" | sed 's/^/    /'

# A victim for the malicious guest: the fault peer in target role.
end=$(($(date +%s) + SECS))
round=0
bad=0
while [ "$(date +%s)" -lt "$end" ]; do
	round=$((round + 1))
	size=$(((RANDOM % 8192) + 1))
	pp_start rc$round 120 -s "$size" -n 2000 -c || bad=$((bad + 1))
	PP_BIN=ibv_rc_pingpong pp_start ev$round 120 -e -s 64 -n 1000 -c ||
		bad=$((bad + 1))
	PP_BIN=ibv_ud_pingpong pp_start ud$round 120 -s 1024 -n 1000 -c ||
		bad=$((bad + 1))
	PP_BIN=ibv_srq_pingpong pp_start srq$round 120 -q 4 -n 500 -c ||
		bad=$((bad + 1))
	# A guest dies mid-transfer: its peer fails, nobody else does.
	pp_start kill$round 60 -s 4096 -n 1000000 || bad=$((bad + 1))
	if [ -n "$MAL" ] && [ -x "$MAL" ]; then
		echo "0 0 0 0 0" >"$T_TMP/none.info"
		timeout -k 5 60 "$MAL" "$T_TMP/none.info" 3 >"$T_TMP/mal$round.log" 2>&1 ||
			{ echo "round $round: malicious guest: $(tail -n 2 "$T_TMP/mal$round.log")"; bad=$((bad + 1)); }
	fi
	sleep 1
	v=PP_SRV_kill$round
	kill -KILL "$(child_of "${!v}")" 2>/dev/null
	for p in rc ev ud srq; do
		pp_wait "$p$round" >"$T_TMP/wait.$p$round.log" 2>&1 ||
			{ echo "round $round: $p pair failed:"; cat "$T_TMP/wait.$p$round.log"; bad=$((bad + 1)); }
	done
	# Its peer fails with a retry error, or (waiting only for a receive,
	# as on a real fabric) never hears again: give it 3 s, then end it.
	v=PP_CLI_kill$round
	for _ in $(seq 30); do alive "${!v}" || break; sleep 0.1; done
	kill_tree "${!v}"
	v=PP_SRV_kill$round
	wait "${!v}" 2>/dev/null
	xenibd_alive || { echo "round $round: xenibd died"; bad=$((bad + 1)); break; }
done
[ "$bad" -eq 0 ]
verdict "$round rounds of mixed traffic in $SECS s, every pair passed" $?

wait_stats 20 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0 notifiers=0
after=$(xstats)
echo "---- xenibctl stats after (xenibd RSS $(rss), was $rss0)"
printf '%s\n' "$after" | sed 's/^/    /'
grown=
for k in $OBJS; do
	b=$(stat_val "$before" "$k")
	a=$(stat_val "$after" "$k")
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -gt "$b" ] && grown="$grown $k:$b->$a"
done
[ -z "$grown" ]
verdict "no object count grew${grown:+ (grew:$grown)}" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
