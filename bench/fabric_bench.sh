#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Verbs between guests of two hosts (the fabric: two xenibd in network
# namespaces, etcd beside them) against UCX over the same link in the same
# invocation: ucx_perftest pinned to UCX's tcp transport on the hosts'
# veth, as xenibd's wire is.  Debian's perftest as the verbs client, its
# server on host 2 and client on host 3.  Prints the median and spread of
# RUNS runs and the ratio of the medians:
#   ib_write_bw 64 KiB and 1 MiB (MB/s)   vs ucp_put_bw of the same size
#   ib_send_lat / ib_write_lat 8 B (typical us)  vs tag_lat 8 B
# Placement: nothing pinned; on 2 cores the two guests, the two xenibd
# and etcd share them, so latency includes scheduling.  Numbers, not a
# test; root.
#
#   bash bench/fabric_bench.sh [BUILD_DIR] [RUNS]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
RUNS=${2:-3}
command -v ucx_perftest >/dev/null ||
	{ echo "fabric_bench: ucx_perftest (ucx-utils) missing" >&2; exit 1; }
command -v ib_write_bw >/dev/null ||
	{ echo "fabric_bench: perftest missing" >&2; exit 1; }
# shellcheck source=tests/fabric/cluster.sh
. tests/fabric/cluster.sh
clu_start fabric-bench "$BUILD" 2 >/dev/null

PIN=(env UCX_TLS=tcp UCX_NET_DEVICES=fab0 UCX_SOCKADDR_TLS_PRIORITY=tcp)

median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR) printf "%s %s %s", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# verbs TOOL SIZE: one perftest run between hosts 2 and 3; BW average
# (MB/s) for *_bw, typical latency (us) for *_lat.
verbs() {
	local tool=$1 size=$2 port out col n=2000
	CLU_PORT=$((CLU_PORT + 1))
	port=$CLU_PORT
	[ "$size" -ge 1048576 ] && n=200
	clu_guest_bg 2 "s$port" "$FAB_TMP/$port.srv" timeout 120 "$tool" \
		-d xenib0 -F -s "$size" -n "$n" -p "$port"
	clu_wait_port 2 "$port" 20 || return 1
	out=$(clu_guest 3 "c$port" timeout 120 "$tool" -d xenib0 -F -s "$size" \
		-n "$n" -p "$port" "$(fab_ip 2)" 2>&1)
	fab_wait_pid "$FAB_PID" 30 >/dev/null
	case $tool in *_bw) col=4 ;; *) col=5 ;; esac
	awk -v s="$size" -v c="$col" '$1 == s && NF >= c { print $c }' \
		<<<"$out" | tail -n 1
}

# ucx TEST SIZE: ucx_perftest between the same hosts (MB/s, or us one way).
ucx() {
	local test=$1 size=$2 out n=2000
	[ "$size" -ge 1048576 ] && n=200
	CLU_PORT=$((CLU_PORT + 1))
	fab_bg 2 "$FAB_TMP/ucx.srv" "${PIN[@]}" ucx_perftest -p "$CLU_PORT"
	clu_wait_port 2 "$CLU_PORT" 20 || return 1
	out=$(fab_exec 3 "${PIN[@]}" timeout 120 ucx_perftest "$(fab_ip 2)" \
		-p "$CLU_PORT" -t "$test" -s "$size" -n "$n" -e -f 2>&1)
	fab_wait_pid "$FAB_PID" 10 >/dev/null
	awk -v t="$test" 'NF == 8 && $1 ~ /^[0-9]+$/ {
		print (t ~ /_lat$/) ? $2 : $6 }' <<<"$out" | tail -n 1
}

row() {	# row NAME UNIT "verbs args" "ucx args"
	local name=$1 unit=$2 v u i
	read -r -a va <<<"$3"
	read -r -a ua <<<"$4"
	v=$(for ((i = 0; i < RUNS; i++)); do verbs "${va[@]}"; done | median)
	u=$(for ((i = 0; i < RUNS; i++)); do ucx "${ua[@]}"; done | median)
	read -r vm vlo vhi <<<"$v"
	read -r um ulo uhi <<<"$u"
	printf '%-22s %10s (%s..%s) %s   ucx %s (%s..%s)   ratio %s\n' \
		"$name" "${vm:-?}" "${vlo:-?}" "${vhi:-?}" "$unit" "${um:-?}" \
		"${ulo:-?}" "${uhi:-?}" \
		"$(awk -v a="${vm:-0}" -v b="${um:-0}" \
			'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }')"
}

echo "fabric_bench: $RUNS runs each, host 3 -> host 2, medians (min..max)"
row "ib_write_bw 64 KiB" MB/s "ib_write_bw 65536" "ucp_put_bw 65536"
row "ib_write_bw 1 MiB" MB/s "ib_write_bw 1048576" "ucp_put_bw 1048576"
row "ib_send_lat 8 B" us "ib_send_lat 8" "tag_lat 8"
row "ib_write_lat 8 B" us "ib_write_lat 8" "tag_lat 8"
fab_finish >/dev/null
