# shellcheck shell=bash
# Multi-host test harness: "hosts" are network namespaces on one bridge.
#
#   . tests/fabric/lib.sh
#   fab_init NAME N            # N hosts, cleanup trap; exits 77 if it cannot
#   fab_ip I                   # 10.77.0.I: host I's address
#   fab_exec I CMD...          # run CMD in host I (foreground)
#   fab_bg I LOG CMD...        # run CMD in host I in the background; sets
#                              # FAB_PID (recorded, killed at exit)
#   fab_kill PID...            # kill -9 what of PIDs still runs in our hosts
#   fab_running PID...         # all of PIDs still run in our hosts
#   fab_cut I / fab_restore I  # take host I's link down / up again
#   fab_wait_log LOG REGEX SECS  # wait until a line of LOG matches
#   fab_wait_pid PID SECS      # wait for a background command; its status
#                              # (its pid is then forgotten: not ours)
#   fab_finish                 # summary line, exit status
#
# Names carry the test's pid (xf<pid>...), so concurrent tests do not
# collide.  The bridge has no address in the root namespace: the hosts'
# 10.77.0.0/24 exists only inside their namespaces.  Cleanup (EXIT trap,
# also after a failure or a signal) kills every process still inside our
# namespaces by pid, then deletes the namespaces, veths and the bridge.
# A link cut is the root-side veth going down: the host keeps its address
# and its routes, packets just stop (as when a cable is pulled between the
# host and its switch).

FAB_NAME=fabric
FAB_P="xf$$"
FAB_N=0
FAB_TMP=
FAB_PIDS=()
FAB_PASSES=0
FAB_FAILS=0
FAB_PID=

fab_log()  { printf '[%s] %s\n' "$FAB_NAME" "$*"; }
fab_pass() { FAB_PASSES=$((FAB_PASSES + 1)); printf 'PASS: %s\n' "$*"; }
fab_fail() { FAB_FAILS=$((FAB_FAILS + 1)); printf 'FAIL: %s\n' "$*"; }
fab_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

fab_ns()   { printf '%sh%s' "$FAB_P" "$1"; }
fab_veth() { printf '%sv%s' "$FAB_P" "$1"; }	# root side of host I's link
fab_ip()   { printf '10.77.0.%s' "$1"; }

# fab_kill PID...: kill -9 those of the PIDs that run in one of our hosts.
# A command that ended has given its pid back to the system (bash reaps
# its children at once), and pids are reused: only a process inside our
# namespaces is still ours.
fab_kill() {
	local pid
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		case $(ip netns identify "$pid" 2>/dev/null) in
		"$FAB_P"h[0-9]*) kill -9 "$pid" 2>/dev/null ;;
		esac
	done
	return 0
}

# fab_running PID...: every PID runs in one of our hosts.
fab_running() {
	local pid
	for pid in "$@"; do
		case $(ip netns identify "$pid" 2>/dev/null) in
		"$FAB_P"h[0-9]*) ;;
		*) return 1 ;;
		esac
	done
}

fab_cleanup() {
	local i pid
	trap - EXIT
	fab_kill "${FAB_PIDS[@]}"
	for ((i = 1; i <= FAB_N; i++)); do
		# anything else still running in our namespace is ours too
		for pid in $(ip netns pids "$(fab_ns "$i")" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$(fab_ns "$i")" 2>/dev/null
		ip link del "$(fab_veth "$i")" 2>/dev/null
	done
	ip link del "${FAB_P}br" 2>/dev/null
	if [ -n "$FAB_TMP" ]; then
		if [ "${XENIB_KEEP_TMP:-0}" = 1 ] || [ "$FAB_FAILS" -ne 0 ]; then
			fab_log "logs kept in $FAB_TMP"
		else
			rm -rf "$FAB_TMP"
		fi
	fi
}

# fab_init NAME N
fab_init() {
	local i ns veth
	FAB_NAME=$1
	[ "$(id -u)" -eq 0 ] || fab_skip "network namespaces need root"
	command -v ip >/dev/null || fab_skip "iproute2 (ip) not installed"
	FAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xenib-$FAB_NAME.XXXXXX") ||
		{ echo "mktemp failed" >&2; exit 1; }
	trap fab_cleanup EXIT
	trap 'exit 130' INT TERM
	# probe: can this machine make a namespace and a bridge at all?
	if ! ip netns add "$(fab_ns 0)" 2>/dev/null; then
		fab_skip "cannot create network namespaces here"
	fi
	ip netns del "$(fab_ns 0)"
	ip link add "${FAB_P}br" type bridge 2>/dev/null ||
		fab_skip "cannot create a bridge here"
	ip link set "${FAB_P}br" up
	FAB_N=$2
	for ((i = 1; i <= FAB_N; i++)); do
		ns=$(fab_ns "$i")
		veth=$(fab_veth "$i")
		ip netns add "$ns" &&
		ip link add "$veth" type veth peer name fab0 netns "$ns" &&
		ip link set "$veth" master "${FAB_P}br" &&
		ip link set "$veth" up &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" addr add "$(fab_ip "$i")/24" dev fab0 &&
		ip -n "$ns" link set fab0 up ||
			{ echo "fab_init: host $i setup failed" >&2; exit 1; }
	done
	# The bridge forwards once its ports are up and forwarding (no STP:
	# at once, but bounded anyway); ping is not assumed installed.
	for ((i = 1; i <= FAB_N; i++)); do
		fab_link_ready "$i" 10 ||
			{ echo "fab_init: host $i's link is not up" >&2; exit 1; }
	done
	fab_log "$FAB_N hosts: $(fab_ns 1)..$(fab_ns "$FAB_N") on bridge ${FAB_P}br"
}

fab_exec() {
	local i=$1
	shift
	ip netns exec "$(fab_ns "$i")" "$@"
}

# fab_bg I LOG CMD...: sets FAB_PID.  ip netns exec execs the command, so
# the pid is the command's own (kill -9 hits it, not a wrapper).
fab_bg() {
	local i=$1 log=$2
	shift 2
	ip netns exec "$(fab_ns "$i")" "$@" >"$log" 2>&1 &
	FAB_PID=$!
	FAB_PIDS+=("$FAB_PID")
}

# fab_link_ready I SECS: host I's link carries traffic (both veth ends up,
# the bridge port forwarding).
fab_link_ready() {
	local v deadline=$((SECONDS + $2))
	v=$(fab_veth "$1")
	while [ "$SECONDS" -le "$deadline" ]; do
		if [ "$(cat "/sys/class/net/$v/operstate" 2>/dev/null)" = up ] &&
		   [ "$(cat "/sys/class/net/$v/brport/state" 2>/dev/null)" = 3 ] &&
		   ip -n "$(fab_ns "$1")" link show fab0 2>/dev/null |
			grep -q 'state UP'; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

fab_cut()     { ip link set "$(fab_veth "$1")" down; }
fab_restore() { ip link set "$(fab_veth "$1")" up && fab_link_ready "$1" 10; }

# fab_wait_log LOG REGEX SECS: 0 once a line matches, 1 on timeout.
fab_wait_log() {
	local log=$1 re=$2 deadline=$((SECONDS + $3))
	while [ "$SECONDS" -le "$deadline" ]; do
		grep -Eq -- "$re" "$log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# fab_wait_pid PID SECS: the command's exit status, or 124 on timeout
# (then it is killed).
fab_wait_pid() {
	local pid=$1 deadline=$((SECONDS + $2)) rc
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -gt "$deadline" ]; then
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			fab_forget_pid "$pid"
			return 124
		fi
		sleep 0.05
	done
	wait "$pid"
	rc=$?
	fab_forget_pid "$pid"
	return "$rc"
}

# fab_forget_pid PID: a reaped command's pid is no longer ours (the system
# may give it to any process): the cleanup must not kill it.
fab_forget_pid() {
	local i
	for i in "${!FAB_PIDS[@]}"; do
		[ "${FAB_PIDS[i]}" = "$1" ] && unset 'FAB_PIDS[i]'
	done
	return 0
}

# fab_now_ms: monotonic-enough wall clock in milliseconds.
fab_now_ms() { echo $(($(date +%s%N) / 1000000)); }

fab_finish() {
	printf '%s: %d passed, %d failed\n' "$FAB_NAME" "$FAB_PASSES" "$FAB_FAILS"
	[ "$FAB_FAILS" -eq 0 ]
}
