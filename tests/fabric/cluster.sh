# shellcheck shell=bash
# A cluster on one machine, on top of tests/fabric/lib.sh: host 1 runs etcd
# (its own ports and data directory), hosts 2..N+1 one xenibd each, joined
# through it; guests are processes inside a host's namespace using that
# host's xenibd.
#
#   . tests/fabric/cluster.sh
#   clu_start NAME BUILD_DIR N      # N xenibd hosts (2..N+1) and etcd (1)
#   clu_guest I NAME CMD...         # run CMD as guest NAME on host I
#   clu_guest_bg I NAME LOG CMD...  # ... in the background (FAB_PID)
#   clu_pair WHAT TO SRV CLI TOOL ARGS...  # TOOL server on host SRV, client
#                                   # on host CLI; verdict on both
#   clu_xenibd_start I / clu_xenibd_stop I  # (re)start / SIGTERM a host's xenibd
#   clu_stats I                     # xenibctl stats of host I
#   clu_etcd_stop / clu_etcd_start  # kill -9 etcd / start it again (same data)
#   clu_check WHAT STATUS           # pass/fail line
#
# Ports: etcd 23790/23800 inside host 1's namespace (no clash with a system
# etcd: the namespace has its own stack); the wire 7400 inside each host.
# shellcheck source=tests/fabric/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLU_B=
CLU_N=0
CLU_PORT=18700
declare -a CLU_XPID

clu_check() {
	if [ "$2" -eq 0 ]; then fab_pass "$1"; else fab_fail "$1"; fi
}

clu_etcd_url() { printf 'http://%s:23790' "$(fab_ip 1)"; }

clu_etcd_start() {
	fab_bg 1 "$FAB_TMP/etcd.log" etcd --name e1 \
		--data-dir "$FAB_TMP/etcd" \
		--listen-client-urls "$(clu_etcd_url)" \
		--advertise-client-urls "$(clu_etcd_url)" \
		--listen-peer-urls "http://$(fab_ip 1):23800" \
		--initial-advertise-peer-urls "http://$(fab_ip 1):23800" \
		--initial-cluster "e1=http://$(fab_ip 1):23800"
	CLU_ETCD_PID=$FAB_PID
	fab_wait_log "$FAB_TMP/etcd.log" "ready to serve client requests" 30
}

clu_etcd_stop() {
	fab_kill "$CLU_ETCD_PID"
	fab_wait_pid "$CLU_ETCD_PID" 10
	: >"$FAB_TMP/etcd.log"
}

clu_xenibd_start() {
	local i=$1 log
	log=$FAB_TMP/xenibd$i.log
	cat >"$FAB_TMP/xenibd$i.conf" <<CONF
fabric.etcd = $(clu_etcd_url)
fabric.host = host$i
fabric.listen = $(fab_ip "$i"):7400
fabric.keepalive_ms = 500
CONF
	mkdir -p "$FAB_TMP/run$i"
	# The previous run's lines go to .all, and the log is empty before
	# the wait below reads it: fab_bg's redirection happens in the
	# background, and a restart must not be taken for up on the old
	# instance's "listening" line.
	[ -s "$log" ] && cat "$log" >>"$log.all"
	: >"$log"
	echo "---- start $(date +%T.%N)" >>"$log.all"
	fab_bg "$i" "$log" "$CLU_B/bin/xenibd" -c "$FAB_TMP/xenibd$i.conf" \
		-d "$FAB_TMP/run$i" -f
	CLU_XPID[i]=$FAB_PID
	fab_wait_log "$log" "fabric: listening on" 30
}

clu_xenibd_stop() {
	local i=$1
	kill -TERM "${CLU_XPID[i]}" 2>/dev/null
	fab_wait_pid "${CLU_XPID[i]}" 15
}

# clu_start NAME BUILD_DIR N
# clu_sanitizer_env: Debian's binaries through libasan-preloading wrappers
# in a sanitized build (tests/asan_wrap.sh), as the one-host suites do.
# shellcheck source=tests/asan_wrap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../asan_wrap.sh"
clu_sanitizer_env() {
	asan_wrap "$CLU_B" "$FAB_TMP"
	case $? in
	1) return 0 ;;
	2) fab_fail "sanitized build, no libasan.so"; exit 1 ;;
	esac
	fab_log "sanitized build: Debian's RDMA binaries run with $ASAN_LIB preloaded"
}

clu_start() {
	local i
	CLU_B=$(cd "$2" && pwd)
	CLU_N=$3
	command -v etcd >/dev/null || fab_skip "etcd (etcd-server) not installed"
	fab_init "$1" $((CLU_N + 1))
	clu_sanitizer_env
	clu_etcd_start || { fab_fail "etcd did not start"; exit 1; }
	for ((i = 2; i <= CLU_N + 1; i++)); do
		clu_xenibd_start "$i" ||
			{ fab_fail "xenibd on host $i did not join"; exit 1; }
	done
	fab_log "etcd on host 1, xenibd on hosts 2..$((CLU_N + 1))"
}

clu_env() {
	printf '%s\n' "LD_LIBRARY_PATH=$CLU_B/lib" \
		"IBV_CONFIG_DIR=$CLU_B/etc/libibverbs.d" \
		"IBV_PROVIDER_DIR=$CLU_B/lib" "XENIB_EMU_DIR=$FAB_TMP/run$1" \
		"XENIB_EMU_GUEST=$2"
}

clu_guest() {
	local i=$1 name=$2
	shift 2
	# shellcheck disable=SC2046
	fab_exec "$i" env $(clu_env "$i" "$name") "$@"
}

clu_guest_bg() {
	local i=$1 name=$2 log=$3
	shift 3
	# shellcheck disable=SC2046
	fab_bg "$i" "$log" env $(clu_env "$i" "$name") "$@"
}

# clu_wait_port I PORT SECS: something listens on TCP PORT in host I.
clu_wait_port() {
	local deadline=$((SECONDS + $3))
	while [ "$SECONDS" -le "$deadline" ]; do
		fab_exec "$1" ss -Hltn "( sport = :$2 )" 2>/dev/null |
			grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# clu_pair WHAT TIMEOUT SRV CLI TOOL ARGS...: the tool's server on host SRV,
# its client on host CLI; passes if both exit 0.
clu_pair() {
	local what=$1 to=$2 srv=$3 cli=$4 tool=$5 port rc s
	shift 5
	CLU_PORT=$((CLU_PORT + 1))
	port=$CLU_PORT
	clu_guest_bg "$srv" "s$port" "$FAB_TMP/$port.srv.log" \
		timeout "$to" "$tool" -p "$port" "$@"
	s=$FAB_PID
	if ! clu_wait_port "$srv" "$port" 20; then
		fab_fail "$what: server did not listen"
		fab_kill "$s"
		return 1
	fi
	clu_guest "$cli" "c$port" timeout "$to" "$tool" -p "$port" "$@" \
		"$(fab_ip "$srv")" >"$FAB_TMP/$port.cli.log" 2>&1
	rc=$?
	fab_wait_pid "$s" "$to"
	s=$?
	if [ "$rc" -eq 0 ] && [ "$s" -eq 0 ]; then
		fab_pass "$what (host $srv <- host $cli)"
		return 0
	fi
	fab_fail "$what (host $srv <- host $cli): client $rc, server $s"
	tail -n 4 "$FAB_TMP/$port.cli.log" "$FAB_TMP/$port.srv.log" |
		sed 's/^/    /'
	return 1
}

clu_stats() {
	fab_exec "$1" timeout 5 "$CLU_B/bin/xenibctl" -d "$FAB_TMP/run$1" stats
}
