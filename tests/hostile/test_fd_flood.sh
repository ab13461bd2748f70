#!/usr/bin/env bash
# File-descriptor exhaustion (tests/hostile/fd_flood; emulation): xenibd
# raises its soft fd limit to the hard one, bounds each guest's contexts
# (limit.contexts) and fds (limit.fds), keeps a reserve of the process's
# fds, and never spins when it cannot accept: a guest holding all the fds
# xenibd gives guests, plus connections waiting in its backlog, must not
# keep its loop awake.
# Usage: test_fd_flood.sh BUILD_DIR FD_FLOOD_BIN
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init fd_flood "${1:-}"
BIN=${2:?usage: test_fd_flood.sh BUILD_DIR FD_FLOOD_BIN}
command -v prlimit >/dev/null || { echo "SKIP: prlimit missing"; exit 77; }
ulimit -n 4096 2>/dev/null

# nofile_of PID: "soft hard" of its open-files limit.
nofile_of() {
	awk '/^Max open files/ { print $4, $5 }' "/proc/$1/limits"
}

# start_limited SOFT:HARD LOG [ARGS...]: xenibd under prlimit(1).
start_limited() {
	local nofile=$1
	XENIBD_LOG=$2
	shift 2
	bg_start "$XENIBD_LOG" 150 prlimit --nofile="$nofile" "$B/bin/xenibd" \
		-d "$XENIB_EMU_DIR" -f "$@"
	XENIBD_PID=$BG_PID
	for _ in $(seq 100); do
		[ -S "$XENIB_EMU_DIR/xenib0.sock" ] && return 0
		sleep 0.1
	done
	die "xenibd did not start: $(tail -n 3 "$XENIBD_LOG")"
}

cat >"$T_TMP/small.conf" <<CONF
limit.contexts = 8
limit.fds = 40
CONF
start_limited 256:1024 "$T_TMP/xenibd.log" -c "$T_TMP/small.conf"
pid=$(child_of "$XENIBD_PID")
lim=$(nofile_of "$pid")
log "xenibd started with nofile 256:1024, runs with: $lim"
[ "$lim" = "1024 1024" ]
verdict "xenibd raised its soft fd limit to the hard one ($lim)" $?

timeout -k 5 60 "$BIN" contexts one-guest
verdict "contexts of one guest refused past limit.contexts 8 with EDQUOT" $?
timeout -k 5 60 "$BIN" regions fd-guest
verdict "regions of one guest refused past limit.fds 40 with EDQUOT" $?
grep -q 'limit.contexts reached' "$XENIBD_LOG" && grep -q 'limit.fds reached' "$XENIBD_LOG"
verdict "xenibd logs both refusals" $?
timeout -k 5 60 "$BIN" victim
verdict "another guest is served" $?
wait_stats 10 contexts=0 regions=0 notifiers=0
verdict "everything given back" $?
stop_xenibd >/dev/null

# Now xenibd cannot raise its limit: 128 fds in all.  Guests take what
# they are given, 16 more connections wait without HELLO.
start_limited 128:128 "$T_TMP/xenibd.2.log"
stop=$T_TMP/stop
bg_start "$T_TMP/hold.log" 150 "$BIN" hold 200 "$stop"
hold=$BG_PID
for _ in $(seq 100); do grep -q '^result' "$T_TMP/hold.log" && break; sleep 0.1; done
cat "$T_TMP/hold.log"
sleep 1
s1=$(stat_val "$(xstats 2>&1)" sleeps)
sleep 2
s2=$(stat_val "$(xstats 2>&1)" sleeps)
log "loop sleeps while out of fds for guests: ${s1:-?} -> ${s2:-?} in 2 s"
# An idle loop sleeps a few times a second; a loop that a level-triggered
# listener keeps waking counts thousands.
[ -n "$s1" ] && [ -n "$s2" ] && [ $((s2 - s1)) -lt 1000 ]
verdict "xenibd is not woken again and again while out of fds (admin socket answers)" $?
grep -q 'cannot accept guests' "$XENIBD_LOG"
verdict "xenibd logs that it cannot accept guests" $?
touch "$stop"
wait "$hold"
wait_stats 10 contexts=0 regions=0 notifiers=0
verdict "the held fds are given back" $?
timeout -k 5 60 "$BIN" victim
verdict "a guest is served again afterwards" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
