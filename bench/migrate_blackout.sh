#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# RDMA blackout of a migration between hosts, per QP, from the guests'
# side: a guest with Q RC QPs to a guest on another host (mig_count:
# numbered SENDs both ways, DEPTH 16 per QP) is moved MOVES times between
# two hosts while the traffic runs.  Each QP's blackout is the longest
# time it went without a completion; printed: median, p99 and max over the
# QPs of the run (the moves' worst), and the handover times xenibctl
# reported (freeze to moved, median and max over the moves), for Q = 1,
# 16 and 256.  Emulation, 4 xenibd hosts in network namespaces + etcd on
# this machine; nothing pinned (2 cores: the guests poll, the xenibds
# poll, etcd runs beside them), so figures include scheduling delays.
#
# Usage: bench/migrate_blackout.sh BUILD_DIR [MOVES] [QPs...]   (root)
set -u
build=${1:?usage: migrate_blackout.sh BUILD_DIR [MOVES] [QPs...]}
moves=${2:-10}
shift $(($# > 1 ? 2 : 1))
qps=("$@")
[ ${#qps[@]} -gt 0 ] || qps=(1 16 256)
# shellcheck source=tests/fabric/cluster.sh
. "$(dirname "$0")/../tests/fabric/cluster.sh"
clu_start blackout "$build" 3

ctl() {
	local i=$1
	shift
	fab_exec "$i" timeout 70 "$CLU_B/bin/xenibctl" -d "$FAB_TMP/run$i" "$@"
}

printf '%-6s %-28s %-26s\n' QPs "per-QP blackout ms (med/p99/max)" \
	"handover ms (med/max)"
for q in "${qps[@]}"; do
	CLU_PORT=$((CLU_PORT + 1))
	port=$CLU_PORT
	secs=$((moves + 6))
	clu_guest_bg 4 "peer$q" "$FAB_TMP/peer$q.log" timeout 300 \
		"$CLU_B/bin/mig_count" -l "$port" -q "$q" -s "$secs"
	p=$FAB_PID
	clu_wait_port 4 "$port" 20 || { echo "peer did not listen"; exit 1; }
	clu_guest_bg 2 "mover$q" "$FAB_TMP/mover$q.log" timeout 300 \
		"$CLU_B/bin/mig_count" -c "$(fab_ip 4):$port" -q "$q" \
		-s "$secs"
	m=$FAB_PID
	sleep 3
	at=2
	: >"$FAB_TMP/moves$q.log"
	for ((k = 0; k < moves; k++)); do
		to=$((at == 2 ? 3 : 2))
		ctl "$at" migrate "mover$q" "host$to" >>"$FAB_TMP/moves$q.log" &&
			at=$to
		sleep 0.5
	done
	fab_wait_pid "$m" 300
	rm_=$?
	fab_wait_pid "$p" 300
	rp=$?
	gap=$(sed -n 's/.*median \([0-9.]*\) p99 \([0-9.]*\) max \([0-9.]*\).*/\1\/\2\/\3/p' \
		"$FAB_TMP/mover$q.log")
	hand=$(sed -n 's/.*total \([0-9.]*\) ms.*/\1/p' "$FAB_TMP/moves$q.log" |
		sort -n | awk '{ v[NR] = $1 } END { if (NR)
			printf "%s/%s (%d moves)", v[int((NR + 1) / 2)], v[NR], NR }')
	ok=ok
	[ "$rm_" -eq 0 ] && [ "$rp" -eq 0 ] || ok="FAILED (see $FAB_TMP)"
	printf '%-6s %-28s %-26s %s\n' "$q" "${gap:-?}" "${hand:-?}" "$ok"
done
FAB_KEEP=${FAB_KEEP:-0} fab_finish >/dev/null
