#!/usr/bin/env bash
# Migration between hosts (docs/migration.md) in the emulation: a guest's
# contexts move from one host's xenibd to another's (xenibctl migrate)
# while its connections carry traffic to guests on other hosts.
#   - Debian's ibv_rc_pingpong -c and ibv_ud_pingpong -c (data checked by
#     the tools) keep running while their guest moves A -> B -> A, and so
#     does a timed perftest ib_write_bw -D;
#   - the guest's LID and GID are the same before, between and after;
#   - A forgets the guest (xenibctl guests), and no second host may serve
#     it while another does;
#   - a guest with rdma_cm state or multicast attachments (not in the
#     snapshot) is refused with the reason and stays where it is;
#   - a guest with a memory window, or with its context imported
#     (ibv_import_device), is refused with the reason, before anything is
#     frozen: it stays at its source, window and import working;
#   - mig_count: 16 RC QPs to guests on two other hosts, numbered messages
#     both ways, the guest moved 20 times: every message arrives exactly
#     once, in order, and every send completes exactly once.
# Usage: test_migrate.sh BUILD_DIR
set -u
# shellcheck source=tests/fabric/cluster.sh
. "$(dirname "$0")/cluster.sh"
clu_start migrate "${1:?usage: test_migrate.sh BUILD_DIR}" 4

ctl() {	# ctl HOST ARGS...: xenibctl of host HOST's xenibd
	local i=$1
	shift
	fab_exec "$i" timeout 70 "$CLU_B/bin/xenibctl" -d "$FAB_TMP/run$i" "$@"
}

# migrate GUEST FROM TO: one move; its report into the log.
migrate() {
	local out rc
	out=$(ctl "$2" migrate "$1" "host$3" 2>&1)
	rc=$?
	printf '    %s -> host%s: %s\n' "$1" "$3" "$out"
	return "$rc"
}

# port_info HOST GUEST: "LID GID" as ibv_devinfo -v shows them.
port_info() {
	clu_guest "$1" "$2" ibv_devinfo -v -d xenib0 2>/dev/null |
		awk '/port_lid:/ { l = $2 } /GID\[ *0\]:/ { g = $3 }
		     END { print l, g }'
}

# --- Debian's pingpongs while their guest moves ------------------------
# Each must still run when its last move starts, and end inside its
# timeout: 50000 round trips last 1.75 s at the fastest seen (35 us each,
# an idle machine) against under 1 s of pauses and moves, and 2 minutes
# at the slowest (2.4 ms each: this machine shared with QEMU, fuzzers and
# a sanitized build).
PP_ITERS=50000
PP_TO=300
CLU_PORT=$((CLU_PORT + 1))
port=$CLU_PORT
before=$(port_info 2 mover)
clu_guest_bg 2 mover "$FAB_TMP/pp.srv.log" timeout "$PP_TO" ibv_rc_pingpong \
	-d xenib0 -i 1 -c -s 4096 -n "$PP_ITERS" -p "$port"
srv=$FAB_PID
clu_wait_port 2 "$port" 20 || fab_fail "rc_pingpong server did not listen"
clu_guest_bg 4 peer "$FAB_TMP/pp.cli.log" timeout "$PP_TO" ibv_rc_pingpong \
	-d xenib0 -i 1 -c -s 4096 -n "$PP_ITERS" -p "$port" "$(fab_ip 2)"
cli=$FAB_PID
sleep 0.5
migrate mover 2 3
clu_check "migrate a pingpong's guest host 2 -> host 3" $?
between=$(port_info 3 mover)
sleep 0.2
migrate mover 3 2
clu_check "migrate it back host 3 -> host 2" $?
fab_wait_pid "$srv" "$PP_TO"
s=$?
fab_wait_pid "$cli" "$PP_TO"
c=$?
[ "$s" -eq 0 ] && [ "$c" -eq 0 ]
clu_check "ibv_rc_pingpong -c across two moves (server $s, client $c)" $?
[ "$s" -eq 0 ] || tail -n 5 "$FAB_TMP/pp.srv.log" | sed 's/^/    /'
after=$(port_info 2 mover)
printf '    LID GID before: %s, on host 3: %s, after: %s\n' "$before" \
	"$between" "$after"
[ -n "$before" ] && [ "$before" = "$between" ] && [ "$before" = "$after" ]
clu_check "the same LID and GID on both hosts" $?

# perftest: a timed ib_write_bw (RDMA writes, -D) whose server's guest
# moves A -> B -> A while the writes run; both sides must end well.
BW_SECS=8
CLU_PORT=$((CLU_PORT + 1))
port=$CLU_PORT
clu_guest_bg 2 bwmover "$FAB_TMP/bw.srv.log" timeout 120 ib_write_bw \
	-d xenib0 -D "$BW_SECS" -p "$port"
srv=$FAB_PID
clu_wait_port 2 "$port" 20 || fab_fail "ib_write_bw server did not listen"
clu_guest_bg 4 bwpeer "$FAB_TMP/bw.cli.log" timeout 120 ib_write_bw \
	-d xenib0 -D "$BW_SECS" -p "$port" "$(fab_ip 2)"
cli=$FAB_PID
sleep 2
migrate bwmover 2 3
clu_check "migrate an ib_write_bw -D server's guest host 2 -> host 3" $?
sleep 1
migrate bwmover 3 2
clu_check "and back host 3 -> host 2" $?
fab_wait_pid "$srv" 120
s=$?
fab_wait_pid "$cli" 120
c=$?
[ "$s" -eq 0 ] && [ "$c" -eq 0 ] &&
	grep -qE '^ +65536 +[0-9]+ +[0-9.]+ +[0-9.]+' "$FAB_TMP/bw.cli.log"
clu_check "ib_write_bw -D $BW_SECS across two moves (server $s, client $c)" $?
[ "$c" -eq 0 ] || tail -n 5 "$FAB_TMP/bw.cli.log" | sed 's/^/    /'
grep -E '^ +65536 ' "$FAB_TMP/bw.cli.log" | sed 's/^/    /'

# UD: datagrams of a pingpong whose server moves.
CLU_PORT=$((CLU_PORT + 1))
port=$CLU_PORT
clu_guest_bg 2 udmover "$FAB_TMP/ud.srv.log" timeout "$PP_TO" ibv_ud_pingpong \
	-d xenib0 -i 1 -c -s 1024 -n "$PP_ITERS" -p "$port"
srv=$FAB_PID
clu_wait_port 2 "$port" 20 || fab_fail "ud_pingpong server did not listen"
clu_guest_bg 5 udpeer "$FAB_TMP/ud.cli.log" timeout "$PP_TO" ibv_ud_pingpong \
	-d xenib0 -i 1 -c -s 1024 -n "$PP_ITERS" -p "$port" "$(fab_ip 2)"
cli=$FAB_PID
sleep 0.5
migrate udmover 2 3
clu_check "migrate a UD pingpong's guest" $?
fab_wait_pid "$srv" "$PP_TO"
s=$?
fab_wait_pid "$cli" "$PP_TO"
c=$?
[ "$s" -eq 0 ] && [ "$c" -eq 0 ]
clu_check "ibv_ud_pingpong -c across a move (server $s, client $c)" $?

# The source forgets a guest that moved; nobody else may serve it.
! ctl 2 guests | grep -qw udmover
clu_check "host 2 no longer lists the guest that moved" $?
! clu_guest 2 udmover ibv_devinfo -d xenib0 >/dev/null 2>&1
clu_check "host 2 refuses a context of a guest host 3 serves" $?

# --- guests a snapshot cannot carry stay, and say why -------------------
# rdma_cm ids and listeners (xenibd/cm/) and multicast attachments are not
# in a migration's snapshot: xenibctl migrate refuses such a guest with the
# reason, and it keeps running where it is.
if command -v rping >/dev/null 2>&1 && command -v mckey >/dev/null 2>&1; then
	CLU_PORT=$((CLU_PORT + 1))
	port=$CLU_PORT
	clu_guest_bg 2 cmguest "$FAB_TMP/rping.srv.log" timeout 120 \
		rping -s -a "$(fab_ip 2)" -p "$port" -C 5
	srv=$FAB_PID
	for _ in $(seq 100); do
		clu_stats 2 | grep -qx 'cm_listeners 1' && break
		sleep 0.1
	done
	out=$(ctl 2 migrate cmguest host3 2>&1)
	rc=$?
	printf '    cmguest -> host3: %s\n' "$out"
	[ "$rc" -ne 0 ] && [[ $out == *"rdma_cm event channel"* ]]
	clu_check "a guest with an rdma_cm listener is not moved, and says why" $?
	ctl 2 guests | grep -qw cmguest
	clu_check "it stays on host 2" $?
	clu_guest 2 cmpeer timeout 60 rping -c -a "$(fab_ip 2)" -p "$port" \
		-C 5 >"$FAB_TMP/rping.cli.log" 2>&1
	c=$?
	fab_wait_pid "$srv" 60
	s=$?
	[ "$c" -eq 0 ] && [ "$s" -eq 0 ]
	clu_check "its listener still serves there: rping (server $s, client $c)" $?

	# A multicast receiver: refused for its attachment once it has one.
	clu_guest_bg 2 mcguest "$FAB_TMP/mckey.log" timeout 60 \
		mckey -m 224.1.2.3 -b "$(fab_ip 2)"
	mc=$FAB_PID
	for _ in $(seq 100); do
		out=$(ctl 2 migrate mcguest host3 2>&1)
		[[ $out == *"multicast group"* ]] && break
		sleep 0.1
	done
	printf '    mcguest -> host3: %s\n' "$out"
	[[ $out == *"multicast group"* ]] && ctl 2 guests | grep -qw mcguest
	clu_check "a guest attached to a multicast group is not moved, and stays" $?
	kill "$mc" 2>/dev/null
	fab_wait_pid "$mc" 10
fi

# --- state a snapshot does not carry: refused, the guest stays ----------
# hold MODE GUEST WHY: mig_hold -MODE on host 2; migrate must answer an
# error naming WHY, and the guest keep working on host 2.
hold() {
	local go="$FAB_TMP/go.$2" log="$FAB_TMP/$2.log" out pid rc=0 i
	clu_guest_bg 2 "$2" "$log" timeout 120 "$CLU_B/bin/mig_hold" "-$1" \
		-f "$go"
	pid=$FAB_PID
	for ((i = 0; i < 200; i++)); do
		grep -q '^ready' "$log" 2>/dev/null && break
		sleep 0.1
	done
	out=$(ctl 2 migrate "$2" host3 2>&1)
	printf '    %s -> host3: %s\n' "$2" "$out"
	case $out in error*"$3"*) ;; *) rc=1 ;; esac
	ctl 2 guests | grep -qw "$2" || rc=1
	touch "$go"
	fab_wait_pid "$pid" 120 || rc=1
	[ "$rc" -eq 0 ] || sed 's/^/    /' "$log"
	return "$rc"
}
hold w holdmw "memory windows"
clu_check "a guest with a memory window is refused, stays and works" $?
hold i holdimp "ibv_import_device"
clu_check "a guest with an imported context is refused, stays and works" $?

# --- mig_count: 16 QPs, 20 moves ----------------------------------------
CLU_PORT=$((CLU_PORT + 1))
p1=$CLU_PORT
CLU_PORT=$((CLU_PORT + 1))
p2=$CLU_PORT
secs=${MIG_SECS:-30}
clu_guest_bg 4 cnt4 "$FAB_TMP/cnt4.log" timeout 200 \
	"$CLU_B/bin/mig_count" -l "$p1" -q 8 -s "$secs"
l1=$FAB_PID
clu_guest_bg 5 cnt5 "$FAB_TMP/cnt5.log" timeout 200 \
	"$CLU_B/bin/mig_count" -l "$p2" -q 8 -s "$secs"
l2=$FAB_PID
clu_wait_port 4 "$p1" 20 && clu_wait_port 5 "$p2" 20 ||
	fab_fail "mig_count peers did not listen"
clu_guest_bg 2 counted "$FAB_TMP/cnt2a.log" timeout 200 \
	"$CLU_B/bin/mig_count" -c "$(fab_ip 4):$p1" -q 8 -s "$secs"
m1=$FAB_PID
clu_guest_bg 2 counted "$FAB_TMP/cnt2b.log" timeout 200 \
	"$CLU_B/bin/mig_count" -c "$(fab_ip 5):$p2" -q 8 -s "$secs"
m2=$FAB_PID
sleep 2
moves=0
at=2
for ((k = 0; k < ${MIG_MOVES:-20}; k++)); do
	to=$((at == 2 ? 3 : 2))
	if migrate counted "$at" "$to" >>"$FAB_TMP/moves.log"; then
		moves=$((moves + 1))
		at=$to
	fi
	sleep 0.3
done
tail -n 3 "$FAB_TMP/moves.log"
[ "$moves" -eq "${MIG_MOVES:-20}" ]
clu_check "$moves of ${MIG_MOVES:-20} moves of a guest with 16 busy QPs" $?
rc=0
for p in $m1 $m2 $l1 $l2; do
	fab_wait_pid "$p" 200 || rc=1
done
cat "$FAB_TMP"/cnt*.log | grep -h 'mig_count' | sed 's/^/    /'
[ "$rc" -eq 0 ]
clu_check "every message exactly once, in order; every send completed once" $?
grep -h 'total' "$FAB_TMP/moves.log" |
	sed -n 's/.*total \([0-9.]*\) ms.*/\1/p' | sort -n |
	awk '{ v[NR] = $1 } END { if (NR) printf "    handover ms: min %s median %s max %s (%d moves)\n", v[1], v[int((NR + 1) / 2)], v[NR], NR }'
fab_finish
