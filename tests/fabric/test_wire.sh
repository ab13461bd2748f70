#!/usr/bin/env bash
# The inter-host wire (xenibd/fabric/wire.h) between hosts that are network
# namespaces: HELLO/auth and a refused host, eager and rendezvous traffic in
# order, 1 and 64 MiB into receiver buffers, many in flight, a hostile host,
# a killed peer, a cut link and reconnects, a simultaneous connect.  The
# environment tries to move the wire onto shared memory and loopback; the
# wire must stay on TCP over the hosts' link.
#
#   test_wire.sh WIRE_TEST WIRE_HOSTILE      (root; 77 = skipped)
set -uo pipefail

WT=${1:?usage: test_wire.sh WIRE_TEST WIRE_HOSTILE}
WH=${2:?usage: test_wire.sh WIRE_TEST WIRE_HOSTILE}
# shellcheck source=tests/fabric/lib.sh
. "$(dirname "$0")/lib.sh"

fab_init wire 3
L=$FAB_TMP

KA=250		# keepalive interval (ms)
# silent intervals before an endpoint is declared dead: 4 s, so a process
# starved of CPU on a loaded machine is not taken for a dead one
MISSES=16
HELLO=2000	# HELLO deadline (ms)
PENDING=8	# unauthenticated inbound endpoints the server allows
DEAD_MS=$((KA * MISSES))
COMMON=(--ka "$KA" --misses "$MISSES" --hello "$HELLO")
# What an operator's environment might say; the wire must ignore it.
HOSTILE_ENV=(env "UCX_TLS=posix,sysv,cma,self" UCX_NET_DEVICES=lo
	     UCX_SOCKADDR_TLS_PRIORITY=rdmacm UCX_KEEPALIVE_INTERVAL=3600s
	     UCX_TCP_KEEPIDLE=3600s UCX_WARN_UNUSED_ENV_VARS=n)
S1=$(fab_ip 1):7000

# run_client NAME HOST ID MODE [opts]: a client to the server on host 1,
# in the foreground, bounded; pass if it exits 0 and said no FAIL.
run_client() {
	local name=$1 host=$2 id=$3 mode=$4 rc
	shift 4
	fab_bg "$host" "$L/$name.log" "${HOSTILE_ENV[@]}" "$WT" client "$id" \
		"$(fab_ip "$host"):7000" 1 "$S1" "$mode" "${COMMON[@]}" "$@"
	fab_wait_pid "$FAB_PID" 60
	rc=$?
	grep -E '^(PASS|FAIL)' "$L/$name.log"
	if [ "$rc" -eq 0 ] && ! grep -q '^FAIL' "$L/$name.log"; then
		fab_pass "$name"
	else
		fab_fail "$name (exit $rc, log $L/$name.log)"
		tail -n 20 "$L/$name.log"
	fi
}

# elapsed_ok WHAT T0 LOG REGEX BOUND_MS: the LOG line appears within BOUND
elapsed_ok() {
	local what=$1 t0=$2 log=$3 re=$4 bound=$5 dt
	if fab_wait_log "$log" "$re" $((bound / 1000 + 10)); then
		dt=$(($(fab_now_ms) - t0))
		if [ "$dt" -le "$bound" ]; then
			fab_pass "$what after $dt ms (bound $bound ms)"
		else
			fab_fail "$what after $dt ms (bound $bound ms)"
		fi
	else
		fab_fail "$what: never ($log)"
	fi
}

# --- the server on host 1: refuses host 3, checks every message ---------
fab_bg 1 "$L/server.log" "${HOSTILE_ENV[@]}" "$WT" serve 1 "$S1" \
	"${COMMON[@]}" --refuse 3 --max-pending "$PENDING"
SERVER=$FAB_PID
fab_wait_log "$L/server.log" '^LISTENING' 15 ||
	{ cat "$L/server.log"; fab_fail "server did not start"; fab_finish; exit; }

# --- traffic: auth, eager/rndv order, large payloads, many in flight ----
run_client basic 2 2 basic
if grep -q 'UCX resources: tcp/fab0$' "$L/server.log" &&
   grep -q 'UCX resources: tcp/fab0$' "$L/basic.log"; then
	fab_pass "pinned to tcp/fab0 although UCX_TLS/UCX_NET_DEVICES say shm/lo"
else
	fab_fail "transport not pinned: $(grep 'UCX resources' "$L"/*.log)"
fi

# --- a host the directory does not know -----------------------------------
run_client refused 3 3 refused

# --- a hostile host: garbage HELLOs, early data, floods -----------------
fab_bg 2 "$L/hostile.log" "$WH" 2 fab0 1 "$S1" 99 "$PENDING"
fab_wait_pid "$FAB_PID" 60
rc=$?
grep -E '^(PASS|FAIL)' "$L/hostile.log"
if [ "$rc" -eq 0 ]; then fab_pass "hostile host"; else
	fab_fail "hostile host (exit $rc)"; tail -n 20 "$L/hostile.log"; fi
if grep -E 'EVENT down host=2 epoch=99 .* rx_msgs=[1-9]' "$L/server.log"; then
	fab_fail "the server delivered a hostile host's message"
fi

# --- a peer killed (kill -9): the server sees it go -----------------------
fab_bg 2 "$L/killed.log" "$WT" client 2 "$(fab_ip 2):7000" 1 "$S1" stream \
	"${COMMON[@]}" --epoch 2
KILLED=$FAB_PID
if fab_wait_log "$L/server.log" 'EVENT up host=2 epoch=2' 15; then
	t0=$(fab_now_ms)
	kill -9 "$KILLED"
	elapsed_ok "killed peer: server's peer_down" "$t0" "$L/server.log" \
		'EVENT down host=2 epoch=2 ' "$DEAD_MS"
else
	fab_fail "stream client (epoch 2) never came up"
fi
fab_wait_pid "$KILLED" 5 >/dev/null 2>&1
# the host restarts with a new epoch and reconnects
run_client restarted 2 2 basic --epoch 3

# --- a cut link: both sides see silence, reconnect after restore ----------
fab_bg 2 "$L/cut.log" "$WT" client 2 "$(fab_ip 2):7000" 1 "$S1" stream \
	"${COMMON[@]}" --epoch 4 --cycles 1
CUT=$FAB_PID
if fab_wait_log "$L/server.log" 'EVENT up host=2 epoch=4' 15 &&
   fab_wait_log "$L/cut.log" 'EVENT up host=1' 15; then
	t0=$(fab_now_ms)
	fab_cut 2
	# detection: DEAD_MS of silence, noticed on the next tick, plus slack
	# for a loaded machine
	elapsed_ok "link cut: server's peer_down" "$t0" "$L/server.log" \
		'EVENT down host=2 epoch=4 ' $((DEAD_MS * 2))
	elapsed_ok "link cut: client's peer_down" "$t0" "$L/cut.log" \
		'EVENT down host=1 ' $((DEAD_MS * 2))
	fab_restore 2 || fab_fail "link did not come back"
	fab_wait_pid "$CUT" 60
	rc=$?
	grep -E '^(PASS|FAIL)' "$L/cut.log"
	if [ "$rc" -eq 0 ] &&
	   [ "$(grep -c 'EVENT up host=1' "$L/cut.log")" -ge 2 ]; then
		fab_pass "reconnected after the link came back"
	else
		fab_fail "reconnect after link restore (exit $rc)"
		tail -n 20 "$L/cut.log"
	fi
else
	fab_fail "stream client (epoch 4) never came up"
fi

# --- both hosts connect to each other at once -----------------------------
fab_bg 2 "$L/simul2.log" "$WT" simul 2 "$(fab_ip 2):7100" 3 \
	"$(fab_ip 3):7100" "${COMMON[@]}"
SIM2=$FAB_PID
fab_bg 3 "$L/simul3.log" "$WT" simul 3 "$(fab_ip 3):7100" 2 \
	"$(fab_ip 2):7100" "${COMMON[@]}"
SIM3=$FAB_PID
if fab_wait_log "$L/simul2.log" '^READY' 15 &&
   fab_wait_log "$L/simul3.log" '^READY' 15; then
	kill -USR1 "$SIM2" "$SIM3"
fi
for h in 2 3; do
	pid=SIM$h
	fab_wait_pid "${!pid}" 60
	rc=$?
	grep -E '^(PASS|FAIL)' "$L/simul$h.log"
	if [ "$rc" -eq 0 ] && ! grep -q '^FAIL' "$L/simul$h.log"; then
		fab_pass "simultaneous connect, host $h"
	else
		fab_fail "simultaneous connect, host $h (exit $rc)"
		tail -n 20 "$L/simul$h.log"
	fi
done

# --- the server's verdict and counters ------------------------------------
kill -TERM "$SERVER"
fab_wait_pid "$SERVER" 15
rc=$?
grep -E '^(FAIL|STATS)' "$L/server.log"
if [ "$rc" -eq 0 ]; then fab_pass "server checked everything it got"; else
	fab_fail "server (exit $rc)"; fi
stats=$(grep '^STATS' "$L/server.log")
# stat NAME MIN: the server's counter NAME is at least MIN
stat() {
	local v
	v=$(sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$stats")
	if [ -n "$v" ] && [ "$v" -ge "$2" ]; then
		fab_pass "server $1=$v (>= $2)"
	else
		fab_fail "server $1=${v:-?} (want >= $2)"
	fi
}
stat auth_refused 1	# host 3
stat proto_errors 12	# the hostile host's broken endpoints
stat unattributed 1	# its message without a reply endpoint
stat rejected 1		# its flood beyond max_pending
stat timeouts 2		# its silent endpoints, the cut link

# --- a server killed with a peer connected comes back at once -------------
# Their connections wait out TIME_WAIT / FIN_WAIT on their ports; a
# restarted backend must listen on the same address at once, not a minute
# later (both do: the server, and the client on its own listen address).
fab_bg 1 "$L/server2.log" "$WT" serve 1 "$S1" "${COMMON[@]}"
SERVER2=$FAB_PID
fab_bg 2 "$L/held.log" "$WT" client 2 "$(fab_ip 2):7000" 1 "$S1" stream \
	"${COMMON[@]}" --epoch 5
HELD=$FAB_PID
if fab_wait_log "$L/server2.log" '^LISTENING' 15 &&
   fab_wait_log "$L/server2.log" 'EVENT up host=2 epoch=5' 15; then
	fab_kill "$SERVER2" "$HELD"
	fab_wait_pid "$SERVER2" 5 >/dev/null 2>&1
	fab_wait_pid "$HELD" 5 >/dev/null 2>&1
	fab_bg 1 "$L/server3.log" "$WT" serve 1 "$S1" "${COMMON[@]}"
	SERVER3=$FAB_PID
	if fab_wait_log "$L/server3.log" '^LISTENING' 15; then
		fab_pass "a killed server listens again at once on $S1"
		run_client after_restart 2 2 basic --epoch 6
	else
		fab_fail "restarted server cannot listen on $S1"
		tail -n 5 "$L/server3.log"
	fi
	kill -TERM "$SERVER3"
	fab_wait_pid "$SERVER3" 15 >/dev/null 2>&1
else
	fab_fail "server with a held peer did not come up"
	fab_kill "$HELD"
fi

fab_finish
