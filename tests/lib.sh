# shellcheck shell=bash
# Common helpers for xenib's end-to-end tests and scripts/demo.sh.
#
#   . tests/lib.sh
#   t_init NAME BUILD_DIR      # temp dir, cleanup trap, environment
#   start_xenibd [ARGS...]     # xenibd on the emulated hypervisor
#   pp_run NAME TIMEOUT ARGS... # an ibv_rc_pingpong server+client pair
#   stop_xenibd                # SIGTERM, bounded wait, returns its status
#   t_finish                   # summary line, exit status
#
# Every wait is bounded; every process started here is recorded by pid and
# killed (by pid) on exit.  Set XENIB_KEEP_TMP=1 to keep the temp dir.

XENIB_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/xenib-env.sh
. "$XENIB_SRC_DIR/scripts/xenib-env.sh"

PP_BIN=${XENIB_PP_BIN:-ibv_rc_pingpong}
PP_DEV=${XENIB_PP_DEV:-xenib0}

T_NAME=xenib
T_TMP=
T_PASSES=0
T_FAILS=0
T_PIDS=()
XENIBD_PID=
XENIBD_LOG=
B=
_T_NEXT_PORT=

log()  { printf '[%s] %s\n' "$T_NAME" "$*"; }
pass() { T_PASSES=$((T_PASSES + 1)); printf 'PASS: %s\n' "$*"; }
fail() { T_FAILS=$((T_FAILS + 1)); printf 'FAIL: %s\n' "$*"; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# verdict DESCRIPTION STATUS: pass if STATUS is 0.  Use as: COND; verdict "..." $?
verdict() {
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1"; fi
}

# check DESCRIPTION COMMAND...: pass/fail on the command's status.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

t_init() {
	T_NAME=$1
	local build=${2:-$XENIB_SRC_DIR/build} f
	[ -d "$build" ] || die "build directory '$build' not found (build first)"
	B=$(cd "$build" && pwd)
	for f in lib/libibverbs.so.1 lib/libxenib-rdmav34.so \
		 etc/libibverbs.d/xenib.driver bin/xenibd bin/xenibctl; do
		[ -e "$B/$f" ] || die "$B/$f missing (is the tree built?)"
	done
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xenib-$T_NAME.XXXXXX") ||
		die "mktemp failed"
	trap t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	xenib_env "$B" "$T_TMP/run" || die "environment setup failed"
	unset XENIB_EMU_GUEST
	t_sanitizer_env
	# Spread concurrent runs over the port space; free_port skips used ones.
	_T_NEXT_PORT=$((20000 + ($$ * 37) % 20000))
	log "build $B, temp $T_TMP"
}

# bg_start LOG TIMEOUT CMD...: run CMD in the background under timeout(1),
# output to LOG; sets BG_PID (the timeout process; the command is its child).
bg_start() {
	local out=$1 to=$2
	shift 2
	timeout -k 5 "$to" "$@" >"$out" 2>&1 &
	BG_PID=$!
	T_PIDS+=("$BG_PID")
}

# child_of PID: the command run by a timeout(1) process (empty if gone).
child_of() { pgrep -P "$1" 2>/dev/null | head -n 1; }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# kill_tree PID: SIGTERM a timeout process and its command, then SIGKILL
# whatever is left after 3 s.  Only the given pid and its children.
kill_tree() {
	local p=$1 kids i
	alive "$p" || return 0
	kids=$(pgrep -P "$p" 2>/dev/null || true)
	# shellcheck disable=SC2086
	kill -TERM "$p" $kids 2>/dev/null
	for i in $(seq 30); do
		alive "$p" || break
		sleep 0.1
	done
	if alive "$p"; then
		kids=$(pgrep -P "$p" 2>/dev/null || true)
		# shellcheck disable=SC2086
		kill -KILL $kids "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	return 0
}

t_cleanup() {
	local rc=$? i f
	trap - EXIT INT TERM HUP
	# Newest first: guests before the xenibd they talk to.
	for ((i = ${#T_PIDS[@]} - 1; i >= 0; i--)); do
		kill_tree "${T_PIDS[i]}"
	done
	if alive "$XENIBD_PID"; then
		stop_xenibd >/dev/null 2>&1
	fi
	if [ -n "$T_TMP" ] && [ -d "$T_TMP" ]; then
		if [ "$rc" -ne 0 ]; then
			for f in "$T_TMP"/*.log; do
				[ -s "$f" ] || continue
				echo "----- last lines of $(basename "$f") -----"
				tail -n 40 "$f"
			done
		fi
		if [ "${XENIB_KEEP_TMP:-0}" = 1 ]; then
			echo "kept $T_TMP"
		else
			rm -rf "$T_TMP"
		fi
	fi
	exit "$rc"
}

# t_sanitizer_env: Debian's binaries through libasan-preloading wrappers
# in a sanitized build (tests/asan_wrap.sh).  XENIB_LSAN_XENIBD=1 turns
# leak checks on for xenibd, whose exit then may outlast stop_xenibd's
# wait on a loaded machine.
# shellcheck source=tests/asan_wrap.sh
. "$(dirname "${BASH_SOURCE[0]}")/asan_wrap.sh"
export T_SANITIZED=0
t_sanitizer_env() {
	asan_wrap "$B" "$T_TMP"
	case $? in
	1) return 0 ;;
	2) die "sanitized build but gcc's libasan.so not found" ;;
	esac
	T_SANITIZED=1
	log "sanitized build: Debian's RDMA binaries run with $ASAN_LIB preloaded"
}

# real_bin NAME: path of an installed binary, past the sanitizer wrappers.
real_bin() {
	PATH=${PATH#"$T_TMP/asan-bin:"} command -v "$1"
}

t_finish() {
	printf '%s: %d passed, %d failed\n' "$T_NAME" "$T_PASSES" "$T_FAILS"
	[ "$T_FAILS" -eq 0 ]
	exit $?
}

# ---------------------------------------------------------------- xenibd

# start_xenibd [ARGS...]: start xenibd -d $XENIB_EMU_DIR -f, wait (10 s max)
# for DIR/xenib0.sock.  Log in $XENIBD_LOG.
start_xenibd() {
	local i
	XENIBD_LOG=$T_TMP/xenibd.log
	bg_start "$XENIBD_LOG" "${XENIBD_MAX_LIFETIME:-3600}" \
		env ${XENIB_LSAN_XENIBD:+ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=0/detect_leaks=1}} \
		"$B/bin/xenibd" -d "$XENIB_EMU_DIR" -f "$@"
	XENIBD_PID=$BG_PID
	# Its "serving" line, not the socket: one left by a killed xenibd
	# exists before the new one is bound.
	for i in $(seq 100); do
		grep -q '^xenibd: serving ' "$XENIBD_LOG" 2>/dev/null && break
		alive "$XENIBD_PID" || break
		sleep 0.1
	done
	if ! alive "$XENIBD_PID"; then
		wait "$XENIBD_PID" 2>/dev/null
		die "xenibd exited during start-up (status $?); log: $(tail -n 5 "$XENIBD_LOG")"
	fi
	[ -S "$XENIB_EMU_DIR/xenib0.sock" ] ||
		die "xenibd did not create $XENIB_EMU_DIR/xenib0.sock within 10 s"
	log "xenibd running (pid $(child_of "$XENIBD_PID")), run dir $XENIB_EMU_DIR"
}

# xenibd_alive: the daemon itself (not just its timeout wrapper) is running.
xenibd_alive() {
	local c
	alive "$XENIBD_PID" || return 1
	c=$(child_of "$XENIBD_PID")
	[ -n "$c" ] && kill -0 "$c" 2>/dev/null
}

# stop_xenibd: SIGTERM, wait 10 s, SIGKILL if needed.  Returns xenibd's exit
# status (0 = clean), 124/137 if it had to be killed.
stop_xenibd() {
	local i rc
	[ -n "$XENIBD_PID" ] || return 0
	kill -TERM "$XENIBD_PID" 2>/dev/null
	for i in $(seq 100); do
		alive "$XENIBD_PID" || break
		sleep 0.1
	done
	if alive "$XENIBD_PID"; then
		echo "xenibd did not exit within 10 s of SIGTERM; killing it" >&2
		kill_tree "$XENIBD_PID"
		XENIBD_PID=
		return 137
	fi
	wait "$XENIBD_PID" 2>/dev/null
	rc=$?
	XENIBD_PID=
	return "$rc"
}

# xstats: xenibctl stats (name value lines) on stdout; bounded.
xstats() {
	timeout -k 2 5 "$B/bin/xenibctl" -d "$XENIB_EMU_DIR" stats
}

# stat_val SNAPSHOT NAME: value of NAME in a stats snapshot (empty if absent).
stat_val() {
	printf '%s\n' "$1" | awk -v n="$2" '$1 == n { print $2; exit }'
}

# wait_stats TIMEOUT_S NAME=VALUE...: poll xenibctl stats until every
# NAME equals VALUE.  On timeout print the last snapshot and return 1.
# The last snapshot is left in STATS.
wait_stats() {
	local to=$1 i kv ok
	shift
	STATS=
	for i in $(seq $((to * 5))); do
		STATS=$(xstats 2>&1)
		ok=1
		for kv in "$@"; do
			[ "$(stat_val "$STATS" "${kv%%=*}")" = "${kv#*=}" ] || { ok=0; break; }
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.2
	done
	echo "xenibctl stats did not reach: $* (after ${to} s); last:"
	printf '%s\n' "$STATS" | sed 's/^/    /'
	return 1
}

# ---------------------------------------------------------------- pingpong

port_in_use() { [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]; }

# free_port: next unused TCP port of this run (sets PORT).
free_port() {
	local i
	for i in $(seq 200); do
		PORT=$_T_NEXT_PORT
		_T_NEXT_PORT=$((_T_NEXT_PORT + 1))
		[ "$_T_NEXT_PORT" -gt 60000 ] && _T_NEXT_PORT=20000
		port_in_use "$PORT" || return 0
	done
	die "no free TCP port found"
}

# wait_listen PORT PID: wait (10 s max) until something listens on PORT;
# fails early if PID exits.
wait_listen() {
	local i
	for i in $(seq 100); do
		[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ] && return 0
		alive "$2" || return 1
		sleep 0.1
	done
	return 1
}

# pp_start NAME TIMEOUT ARGS...: ibv_rc_pingpong server, then (once it
# listens) the client to 127.0.0.1, on a fresh port.  Sets PP_SRV_<NAME>,
# PP_CLI_<NAME> (timeout pids) and logs $T_TMP/NAME.{srv,cli}.log.
pp_start() {
	local name=$1 to=$2 srv
	shift 2
	free_port
	bg_start "$T_TMP/$name.srv.log" "$to" "$PP_BIN" -d "$PP_DEV" -i 1 -p "$PORT" "$@"
	srv=$BG_PID
	printf -v "PP_SRV_$name" '%s' "$srv"
	printf -v "PP_CLI_$name" '%s' ""
	if ! wait_listen "$PORT" "$srv"; then
		echo "$name: server did not listen on port $PORT"
		kill_tree "$srv"
		return 1
	fi
	bg_start "$T_TMP/$name.cli.log" "$to" "$PP_BIN" -d "$PP_DEV" -i 1 -p "$PORT" "$@" 127.0.0.1
	printf -v "PP_CLI_$name" '%s' "$BG_PID"
}

# pp_check_log LOG: the log of a successful pingpong side.
pp_check_log() {
	grep -q 'bytes in' "$1" && grep -q 'iters in' "$1" &&
		! grep -qE "invalid data|Couldn't|Failed|failed" "$1"
}

# pp_wait NAME: wait for both sides; 0 if both exited 0 with a clean log.
# Prints one line per side.
pp_wait() {
	local name=$1 side pid rc ok=0 lg
	for side in srv cli; do
		pid=PP_${side^^}_$name
		pid=${!pid}
		lg=$T_TMP/$name.$side.log
		if [ -z "$pid" ]; then
			echo "  $name $side: not started"
			ok=1
			continue
		fi
		wait "$pid" 2>/dev/null
		rc=$?
		if [ "$rc" -eq 0 ] && pp_check_log "$lg"; then
			echo "  $name $side: ok: $(grep 'bytes in' "$lg" | head -n 1)"
		else
			echo "  $name $side: exit $rc$([ "$rc" = 124 ] && echo ' (timed out)'); output:"
			sed 's/^/      /' "$lg" | tail -n 15
			ok=1
		fi
	done
	return $ok
}

# pp_run NAME TIMEOUT ARGS...: a whole pair; 0 on success.
pp_run() {
	local name=$1
	pp_start "$@" || { pp_wait "$name"; return 1; }
	pp_wait "$name"
}
