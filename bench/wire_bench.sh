#!/usr/bin/env bash
# The inter-host wire against ucx_perftest, between two network namespaces
# on one bridge (tests/fabric/lib.sh), both pinned to UCX's tcp transport
# on the hosts' veth (ucx_perftest by UCX_TLS/UCX_NET_DEVICES, the wire by
# itself).  ucx_perftest runs with -e (peer error handling, as the wire's
# endpoints have) and its default number of outstanding sends (its -O 32
# cuts its bandwidth by half or more here); the wire keeps up to 1024 in
# flight.  Prints the median of RUNS runs of each measurement.
# Numbers, not a test; root.
#
#   bash bench/wire_bench.sh [BUILD_DIR] [RUNS]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
RUNS=${2:-5}
WB=$BUILD/bin/wire_bench
[ -x "$WB" ] || { echo "wire_bench: build $WB first" >&2; exit 1; }
command -v ucx_perftest >/dev/null ||
	{ echo "wire_bench: ucx_perftest (ucx-utils) missing" >&2; exit 1; }
# shellcheck source=tests/fabric/lib.sh
. tests/fabric/lib.sh

fab_init wire-bench 2
PIN=(env UCX_TLS=tcp UCX_NET_DEVICES=fab0 UCX_SOCKADDR_TLS_PRIORITY=tcp)
S=$(fab_ip 1)
PORT=13400

# listening PORT: host 1 has a TCP listener on PORT (bounded wait)
listening() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ -n "$(fab_exec 1 ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.05
	done
	return 1
}

# median, and the spread: "median (min..max)"
median() {
	sort -g | awk '{ v[NR] = $1 }
		END { if (NR) printf "%s (%s..%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# perftest TEST SIZE ITERS: one ucx_perftest run; prints its median latency
# (us, one way) for *_lat, its overall bandwidth (MB/s) for *_bw
perftest() {
	local test=$1 size=$2 iters=$3 out
	PORT=$((PORT + 1))
	fab_bg 1 "$FAB_TMP/pt-server.log" "${PIN[@]}" ucx_perftest -p "$PORT"
	# (its stdout is block-buffered: wait for the socket, not a line)
	listening "$PORT" ||
		{ echo "ucx_perftest server did not start" >&2; return 1; }
	out=$(fab_exec 2 "${PIN[@]}" timeout 120 ucx_perftest "$S" -p "$PORT" \
		-t "$test" -s "$size" -n "$iters" -e -f 2>&1)
	fab_wait_pid "$FAB_PID" 10 >/dev/null
	awk -v lat="${test%_lat}" -v t="$test" \
		'NF == 8 && $1 ~ /^[0-9]+$/ { print (lat != t) ? $2 : $6 }' <<<"$out"
}

wire() {
	local mode=$1
	shift
	fab_exec 2 timeout 120 "$WB" "$mode" 2 "$(fab_ip 2):7300" 1 "$S:7300" \
		"$@" 2>>"$FAB_TMP/wire-client.log" |
		sed -n 's/.*\(median_us\|MBps\)=\([0-9.]*\).*/\2/p'
}

fab_bg 1 "$FAB_TMP/wire-server.log" "$WB" server 1 "$S:7300"
WSERVER=$FAB_PID
fab_wait_log "$FAB_TMP/wire-server.log" LISTENING 10 ||
	{ echo "wire_bench server did not start" >&2; exit 1; }

row() {	# row WHAT UNIT CMD...: median of RUNS runs of CMD
	local what=$1 unit=$2 i v
	shift 2
	v=$(for ((i = 0; i < RUNS; i++)); do "$@"; done | median)
	printf '%-34s %s %s\n' "$what" "${v:-?}" "$unit"
}

echo "median of $RUNS runs, tcp over veth between namespaces, $(nproc) cores"
row "wire lat 8 B"              "us" wire lat 8 20000
row "ucx_perftest ucp_am_lat 8 B" "us" perftest ucp_am_lat 8 20000
row "wire lat 4 KiB"            "us" wire lat 4096 20000
row "ucx_perftest ucp_am_lat 4 KiB" "us" perftest ucp_am_lat 4096 20000
row "wire bw 64 KiB (1024 in flight)" "MB/s" wire bw 65536 16000 1024
row "ucx_perftest ucp_am_bw 64 KiB" "MB/s" perftest ucp_am_bw 65536 16000
row "wire bw 1 MiB (1024 in flight)" "MB/s" wire bw 1048576 1000 1024
row "ucx_perftest ucp_am_bw 1 MiB" "MB/s" perftest ucp_am_bw 1048576 1000

kill "$WSERVER" 2>/dev/null
