#!/usr/bin/env bash
# IB errors between hosts (network namespaces, one xenibd each, etcd in its
# own; tests/fabric/cluster.sh):
#   - UD datagrams to a host not connected yet or a guest just started
#     are not lost;
#   - the error cases of tests/neg with the requester and the responder on
#     different hosts (xh_errors), both directions;
#   - three hosts with an ibv_rc_pingpong pair crossing each pair of hosts
#     at once;
#   - RETRY_EXC_ERR within the QP's budget when the responder's host is cut
#     off (its link down) or its xenibd is killed, and after that a pair
#     between the same hosts works again; a cut shorter than the budget
#     loses and duplicates nothing;
#   - a xenibd restarted at once: what happens (a restarted xenibd has lost
#     its guests' objects, it does not recover them): its guests see their
#     device die with a clear error, the peer's next SEND ends in
#     RETRY_EXC_ERR within its budget, nothing hangs unbounded, and a new
#     pair works;
#   - etcd killed mid-run: running pingpongs finish; a new guest's
#     ibv_devinfo fails saying the cluster directory has no identity for
#     it, until etcd is back; then it works.
# Usage: test_fabric_errors.sh BUILD_DIR XH_ERRORS
set -u
# shellcheck source=tests/fabric/cluster.sh
. "$(dirname "$0")/cluster.sh"
XH=${2:?usage: test_fabric_errors.sh BUILD_DIR XH_ERRORS}
XH_PORT=18600
T_START=$SECONDS
declare -a TIMES

clu_start fabric_errors "${1:?usage: test_fabric_errors.sh BUILD_DIR XH_ERRORS}" 3

section() {
	TIMES+=("$(printf '%-44s %4d s' "$1" $((SECONDS - T_SECTION)))")
	T_SECTION=$SECONDS
}
T_SECTION=$SECONDS

# show LOG...: a log's lines, indented.
show() { sed 's/^/    /' "$@"; }

# xh_pair SRV CLI ARGS...: xh_errors' server on host SRV, its client on
# host CLI (the client's ARGS); both must exit 0.
xh_pair() {
	local srv=$1 cli=$2 s rc sv
	shift 2
	XH_PORT=$((XH_PORT + 1))
	clu_guest_bg "$srv" "xs$XH_PORT" "$FAB_TMP/xh$XH_PORT.srv.log" \
		timeout 300 "$XH" -p "$XH_PORT"
	s=$FAB_PID
	clu_guest "$cli" "xc$XH_PORT" timeout 300 "$XH" -p "$XH_PORT" "$@" \
		"$(fab_ip "$srv")" >"$FAB_TMP/xh$XH_PORT.cli.log" 2>&1
	rc=$?
	fab_wait_pid "$s" 60
	sv=$?
	grep -h '^FAIL' "$FAB_TMP/xh$XH_PORT.cli.log" \
		"$FAB_TMP/xh$XH_PORT.srv.log" | sed 's/^/    /'
	printf '    requester (host %s): %s; responder (host %s): %s\n' \
		"$cli" "$(tail -n 1 "$FAB_TMP/xh$XH_PORT.cli.log")" \
		"$srv" "$(tail -n 1 "$FAB_TMP/xh$XH_PORT.srv.log")"
	[ "$rc" -eq 0 ] && [ "$sv" -eq 0 ]
}

# ---- UD datagrams to a host or a guest just met ---------------------------
# First traffic between hosts 3 and 4: the wire is not connected yet when
# the client's first datagram leaves; then fresh guests each time, whose
# LID the sending host's directory cache may not have heard of yet.  A
# datagram lost there hangs ibv_ud_pingpong (it never sends again).
clu_pair "UD, hosts 3 and 4 never talked before" 60 3 4 ibv_ud_pingpong \
	-d xenib0 -i 1 -c -s 2048 -n 50
for ((i = 1; i <= 6; i++)); do
	clu_pair "UD to a guest just started on host 2 ($i of 6)" 60 2 3 \
		ibv_ud_pingpong -d xenib0 -i 1 -c -s 2048 -n 20
done
section "UD to hosts and guests just met"

# ---- the error cases of tests/neg between two hosts ----------------------
xh_pair 2 3
clu_check "IB error cases, requester on host 3, responder on host 2" $?
xh_pair 3 2
clu_check "IB error cases, requester on host 2, responder on host 3" $?
section "error cases (both directions)"

# ---- three hosts, a pair across each pair of hosts at once ---------------
# pp_bg SRV CLI LOGNAME ARGS...: an ibv_rc_pingpong -c pair in the
# background (PP_SRV, PP_CLI: their pids; line-buffered, so that their
# "remote address" shows they exchange); ports from CLU_PORT as clu_pair's.
pp_bg() {
	local srv=$1 cli=$2 name=$3
	shift 3
	PP_SRV=
	PP_CLI=
	CLU_PORT=$((CLU_PORT + 1))
	clu_guest_bg "$srv" "s$CLU_PORT" "$FAB_TMP/$name.srv.log" \
		timeout 300 stdbuf -oL ibv_rc_pingpong -d xenib0 -i 1 -c \
		-p "$CLU_PORT" "$@"
	PP_SRV=$FAB_PID
	clu_wait_port "$srv" "$CLU_PORT" 20 || return 1
	clu_guest_bg "$cli" "c$CLU_PORT" "$FAB_TMP/$name.cli.log" \
		timeout 300 stdbuf -oL ibv_rc_pingpong -d xenib0 -i 1 -c \
		-p "$CLU_PORT" "$@" "$(fab_ip "$srv")"
	PP_CLI=$FAB_PID
}

declare -A P3
for hp in "2 3" "3 4" "4 2"; do
	read -r a b <<<"$hp"
	pp_bg "$a" "$b" "three$a$b" -s 16384 -n 4000 ||
		fab_fail "three hosts: server on host $a did not listen"
	P3[$a$b]="$PP_SRV $PP_CLI"
done
# At once: each pair has connected its QPs while all six are running.
all=0
for hp in 23 34 42; do
	fab_wait_log "$FAB_TMP/three$hp.cli.log" 'remote address' 30 || all=1
done
# shellcheck disable=SC2086
fab_running ${P3[23]} ${P3[34]} ${P3[42]} || all=1
clu_check "three hosts: the three pairs exchange at the same time" $all
for hp in 23 34 42; do
	read -r s c <<<"${P3[$hp]}"
	fab_wait_pid "$c" 300
	rc=$?
	fab_wait_pid "$s" 60
	sv=$?
	[ "$rc" -eq 0 ] && [ "$sv" -eq 0 ]
	clu_check "three hosts at once: ibv_rc_pingpong -c host ${hp:0:1} <- host ${hp:1:1} (client $rc, server $sv)" $?
	[ "$rc" -eq 0 ] || show "$FAB_TMP/three$hp.cli.log"
done
clu_pair "after them, a pair host 4 <- host 3" 120 4 3 ibv_rc_pingpong \
	-d xenib0 -i 1 -c -s 4096 -n 100
section "three hosts at once"

# ---- RETRY_EXC_ERR: the responder's host cut off / its xenibd killed -----
# retry_case WHAT ACTION UNDO DEVICE: xh_errors' retry mode, server on
# host 2, client on host 3; ACTION (a function) takes host 2 away once the
# client has proved the path, UNDO runs once the client has its verdict
# (it judges its RETRY_EXC_ERR against the budget).  DEVICE: what the
# server's guest must see of its device, "fatal" (its xenibd died:
# DEVICE_FATAL) or "none" (no async event).
retry_case() {
	local what=$1 action=$2 undo=$3 device=$4 s c rc line log
	XH_PORT=$((XH_PORT + 1))
	log=$FAB_TMP/xh$XH_PORT
	rm -f "$FAB_TMP/go$XH_PORT"
	clu_guest_bg 2 "rs$XH_PORT" "$log.srv.log" "$XH" -p "$XH_PORT"
	s=$FAB_PID
	clu_guest_bg 3 "rc$XH_PORT" "$log.cli.log" "$XH" -m retry -T 16 -R 3 \
		-w "$FAB_TMP/go$XH_PORT" -p "$XH_PORT" "$(fab_ip 2)"
	c=$FAB_PID
	if ! fab_wait_log "$log.cli.log" '^READY' 60; then
		fab_fail "$what: the path was never proved"
		show "$log.cli.log" "$log.srv.log"
		fab_kill "$s" "$c"
		return 1
	fi
	"$action"
	touch "$FAB_TMP/go$XH_PORT"
	fab_wait_pid "$c" 60
	rc=$?
	"$undo"
	line=$(grep -h 'XH_ELAPSED_MS' "$log.cli.log")
	grep -h -E '^(FAIL|PASS: transport)' "$log.cli.log" | sed 's/^/    /'
	[ "$rc" -eq 0 ]
	clu_check "$what: RETRY_EXC_ERR within the budget (${line:-no result})" $?
	# The server's end: the side channel closes once the link is back.
	fab_wait_pid "$s" 60 >/dev/null
	grep -h '^XH_ASYNC\|xenibd went away' "$log.srv.log" | sed 's/^/    /'
	if [ "$device" = fatal ]; then
		grep -q 'XH_ASYNC .*(DEVICE_FATAL)' "$log.srv.log" &&
			grep -q 'xenibd went away' "$log.srv.log"
		clu_check "$what: the responder's guest is told its xenibd went away (DEVICE_FATAL)" $?
	else
		grep -q 'XH_ASYNC none' "$log.srv.log"
		clu_check "$what: the responder's guest keeps its device (no async event)" $?
	fi
}

nothing() { :; }
cut_host2() { fab_cut 2; }
restore_host2() { fab_restore 2 || fab_fail "host 2's link did not come back"; }
# partition_case SECS: host 2 cut off for SECS while the client's work
# (SENDs, a WRITE, a READ) waits, inside a budget of 4.096 us x 2^18 x 8
# = 8.6 s; it must all complete once, in order, with its data.
partition_case() {
	local secs=$1 s c rc sv line log
	XH_PORT=$((XH_PORT + 1))
	log=$FAB_TMP/xh$XH_PORT
	rm -f "$FAB_TMP/go$XH_PORT"
	clu_guest_bg 2 "ps$XH_PORT" "$log.srv.log" "$XH" -p "$XH_PORT"
	s=$FAB_PID
	clu_guest_bg 3 "pc$XH_PORT" "$log.cli.log" "$XH" -m partition \
		-T 18 -R 7 -w "$FAB_TMP/go$XH_PORT" -p "$XH_PORT" "$(fab_ip 2)"
	c=$FAB_PID
	if ! fab_wait_log "$log.cli.log" '^READY' 60; then
		fab_fail "partition of $secs s: the path was never proved"
		show "$log.cli.log" "$log.srv.log"
		fab_kill "$s" "$c"
		return 1
	fi
	fab_cut 2
	touch "$FAB_TMP/go$XH_PORT"
	sleep "$secs"
	restore_host2
	fab_wait_pid "$c" 90
	rc=$?
	fab_wait_pid "$s" 60
	sv=$?
	line=$(grep -h 'XH_ELAPSED_MS' "$log.cli.log")
	grep -h '^FAIL' "$log.cli.log" "$log.srv.log" | sed 's/^/    /'
	[ "$rc" -eq 0 ] && [ "$sv" -eq 0 ]
	clu_check "host 2 cut off for $secs s, inside the budget: nothing lost or delivered twice (${line:-no result}; client $rc, server $sv)" $?
}

# 1 s: TCP holds the connections; 4 s: longer than the wire's 2.5 s of
# silence (keepalive_ms 500 x 5), so its endpoints close and reconnect
# and the requester replays what they lost.
partition_case 1
partition_case 4
section "partitions inside the budget"

kill_xenibd2() {
	fab_kill "${CLU_XPID[2]}"
	fab_wait_pid "${CLU_XPID[2]}" 15 >/dev/null
}

retry_case "host 2 cut off (ip link set down)" cut_host2 restore_host2 none
# The link is back: the hosts find each other again (UCX reconnects).
clu_pair "after the cut, a pair host 2 <- host 3" 120 2 3 ibv_rc_pingpong \
	-d xenib0 -i 1 -c -s 4096 -n 100
section "link cut"

retry_case "xenibd of host 2 killed (kill -9)" kill_xenibd2 nothing fatal
clu_xenibd_start 2 || fab_fail "xenibd on host 2 did not come back"
clu_pair "xenibd 2 back: a pair host 2 <- host 3" 120 2 3 ibv_rc_pingpong \
	-d xenib0 -i 1 -c -s 4096 -n 100
section "xenibd killed"

# ---- a xenibd restarted at once ------------------------------------------
# ibv_rc_pingpong's QPs: timeout 14, retry_cnt 7: a budget of
# 4.096 us x 2^14 x 8 = 537 ms.  The restart is timed against it.
restart_xenibd2() {
	local t0
	t0=$(fab_now_ms)
	fab_kill "${CLU_XPID[2]}"
	fab_wait_pid "${CLU_XPID[2]}" 15 >/dev/null
	clu_xenibd_start 2 || fab_fail "xenibd on host 2 did not come back"
	RESTART_MS=$(($(fab_now_ms) - t0))
	fab_log "xenibd on host 2 killed and listening again after ${RESTART_MS} ms"
}
pp_bg 2 3 restart -s 4096 -n 100000000 ||
	fab_fail "restart: pingpong server did not listen"
if fab_wait_log "$FAB_TMP/restart.cli.log" 'remote address' 30 &&
   fab_wait_log "$FAB_TMP/restart.srv.log" 'remote address' 30; then
	sleep 1		# exchanging for a while
	fab_running "$PP_CLI" "$PP_SRV"
	clu_check "restart: ibv_rc_pingpong host 2 <- host 3 running" $?
	restart_xenibd2
	# The guest of the restarted host: its context died with its xenibd.
	fab_wait_pid "$PP_SRV" 20
	sv=$?
	[ "$sv" -ne 0 ] && [ "$sv" -ne 124 ] &&
		grep -q 'xenibd went away' "$FAB_TMP/restart.srv.log"
	clu_check "restart: host 2's pingpong fails at once, saying its xenibd went away (exit $sv)" $?
	show "$FAB_TMP/restart.srv.log"
	# Its peer: RETRY_EXC_ERR if it had a SEND outstanding; if it only
	# waited for a receive, it waits on (an HCA's QP does too: with
	# nothing to send, nothing tells it the peer is gone).
	fab_wait_pid "$PP_CLI" 10
	rc=$?
	if [ "$rc" -eq 124 ]; then
		fab_pass "restart: host 3's pingpong waits for a receive that will not come (no WR outstanding; stopped after 10 s)"
	else
		[ "$rc" -ne 0 ] && grep -q 'transport retry counter exceeded' \
			"$FAB_TMP/restart.cli.log"
		clu_check "restart: host 3's pingpong fails with RETRY_EXC_ERR (exit $rc)" $?
	fi
	show "$FAB_TMP/restart.cli.log"
else
	fab_fail "restart: the pingpong never started"
fi
fab_kill "$PP_SRV" "$PP_CLI"
# The deterministic half: a SEND posted after the restart, to a QP the
# new xenibd does not have.
retry_case "xenibd of host 2 restarted at once" restart_xenibd2 nothing fatal
clu_pair "restarted xenibd 2: a pair host 2 <- host 3" 120 2 3 \
	ibv_rc_pingpong -d xenib0 -i 1 -c -s 4096 -n 100
section "xenibd restarted"

# ---- etcd killed mid-run --------------------------------------------------
# dir_ups I: how often host I's xenibd has said its directory is up.
dir_ups() { grep -c 'fabric: directory up' "$FAB_TMP/xenibd$1.log"; }
# wqes I: work requests host I's xenibd has executed so far.
wqes() { clu_stats "$1" | sed -n 's/^wqes \([0-9]*\)$/\1/p'; }
# exchanging I WHAT: host I's xenibd executes work requests (over 1 s).
exchanging() {
	local a b
	a=$(wqes "$1")
	sleep 1
	b=$(wqes "$1")
	[ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]
	clu_check "$2 (host $1's xenibd: wqes $a -> $b)" $?
}

# A long pair (3 <- 4) runs through the outage and etcd's return; a short
# one (4 <- 2) finishes while etcd is down, or soon after.
pp_bg 3 4 etcd_long -s 4096 -n 100000000 ||
	fab_fail "etcd: long pingpong server did not listen"
PP_L_SRV=$PP_SRV
PP_L_CLI=$PP_CLI
KNOWN="s$CLU_PORT"	# its server's guest, on host 3
pp_bg 4 2 etcd_short -s 4096 -n 3000 ||
	fab_fail "etcd: short pingpong server did not listen"
if fab_wait_log "$FAB_TMP/etcd_long.cli.log" 'remote address' 30 &&
   fab_wait_log "$FAB_TMP/etcd_short.cli.log" 'remote address' 30; then
	clu_etcd_stop
	fab_running "$PP_L_CLI" "$PP_L_SRV" "$PP_CLI" "$PP_SRV"
	clu_check "etcd killed while two pingpongs run (3 <- 4, 4 <- 2)" $?
	t0=$(fab_now_ms)
	clu_guest 2 newguest timeout 60 ibv_devinfo -d xenib0 \
		>"$FAB_TMP/devinfo1.log" 2>&1
	rc=$?
	dt=$(($(fab_now_ms) - t0))
	show "$FAB_TMP/devinfo1.log"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
		grep -q 'cluster directory (etcd' "$FAB_TMP/devinfo1.log"
	clu_check "etcd down: a new guest's ibv_devinfo fails (exit $rc after $dt ms) saying the directory has no identity for it" $?
	clu_guest 3 "$KNOWN" timeout 60 ibv_devinfo -d xenib0 \
		>"$FAB_TMP/devinfo_known.log" 2>&1
	clu_check "etcd down: a guest xenibd knows still opens its device" $?
	exchanging 3 "etcd down: the long pingpong still exchanges"
	fab_wait_pid "$PP_CLI" 300
	rc=$?
	fab_wait_pid "$PP_SRV" 60
	sv=$?
	[ "$rc" -eq 0 ] && [ "$sv" -eq 0 ]
	clu_check "etcd down: the short pingpong (4 <- 2) finished (client $rc, server $sv)" $?
	ups3=$(dir_ups 3)
	ups4=$(dir_ups 4)
	clu_etcd_start || fab_fail "etcd did not come back"
	# etcd back: a new guest gets its identity (the directory client
	# reconnects within its backoff; bounded tries).
	ok=1
	for ((i = 1; i <= 20; i++)); do
		if clu_guest 2 newguest timeout 60 ibv_devinfo -d xenib0 \
			>"$FAB_TMP/devinfo2.log" 2>&1; then
			ok=0
			break
		fi
		sleep 1
	done
	grep -E 'port_lid' "$FAB_TMP/devinfo2.log" | sed 's/^/    /'
	clu_check "etcd back: the new guest's ibv_devinfo works (try $i)" $ok
	# Both hosts of the long pair back on the directory, the pair goes on.
	deadline=$((SECONDS + 30))
	while [ "$(dir_ups 3)" -le "$ups3" ] || [ "$(dir_ups 4)" -le "$ups4" ]; do
		[ "$SECONDS" -gt "$deadline" ] && break
		sleep 0.2
	done
	[ "$(dir_ups 3)" -gt "$ups3" ] && [ "$(dir_ups 4)" -gt "$ups4" ]
	clu_check "etcd back: hosts 3 and 4 say their directory is up again" $?
	exchanging 3 "etcd back: the long pingpong still exchanges"
	fab_running "$PP_L_CLI" "$PP_L_SRV"
	clu_check "etcd back: the long pingpong never failed" $?
else
	fab_fail "etcd: the pingpongs never started"
fi
fab_kill "$PP_L_SRV" "$PP_L_CLI"
section "etcd killed"

printf '%s\n' "${TIMES[@]}" | sed 's/^/    time: /'
fab_log "total $((SECONDS - T_START)) s"
fab_finish
