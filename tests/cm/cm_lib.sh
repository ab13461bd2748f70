# Helpers of the tests in tests/cm that run server/client pairs of
# programs against xenibd (sourced after tests/lib.sh and start_xenibd;
# TO is each program's timeout in seconds).
# shellcheck shell=bash

n=0

# listeners N: wait (10 s) until xenibd counts N listening ids.
listeners() {
	wait_stats 10 "cm_listeners=$1" >/dev/null
}

# show LOG: a log's lines that report a problem (unbuffered stderr lands
# anywhere inside buffered stdout), then its last lines, indented.
show() {
	grep -inE "$ERR_RE|mismatch|wait for" "$1" | head -n 8 | sed 's/^/      ! /'
	sed 's/^/      /' "$1" | tail -n 12
}
ERR_RE="error|fail|invalid|unable|couldn't|unhandled"


# pair DESC CHECK SERVER_CMD -- CLIENT_CMD: the server (waited for until it
# listens), then the client; both must exit 0 and pass CHECK LOG SIDE.
pair() {
	local desc=$1 chk=$2 srv cli rc_s rc_c ok=0 side lg rc
	local -a scmd=() ccmd=()
	shift 2
	while [ "$1" != -- ]; do scmd+=("$1"); shift; done
	shift
	ccmd=("$@")
	n=$((n + 1))
	log "pair $n: ${scmd[*]}  |  ${ccmd[*]}"
	bg_start "$T_TMP/t$n.srv.log" "$TO" "${scmd[@]}"
	srv=$BG_PID
	if ! listeners 1; then
		echo "  server did not listen"
		kill_tree "$srv"
		show "$T_TMP/t$n.srv.log"
		fail "$desc"
		return 1
	fi
	bg_start "$T_TMP/t$n.cli.log" "$TO" "${ccmd[@]}"
	cli=$BG_PID
	wait "$cli" 2>/dev/null
	rc_c=$?
	# A failed client: its server may wait for it until the timeout.
	if [ "$rc_c" -ne 0 ]; then
		for _ in $(seq 50); do alive "$srv" || break; sleep 0.1; done
		kill_tree "$srv"
	fi
	wait "$srv" 2>/dev/null
	rc_s=$?
	for side in srv cli; do
		lg=$T_TMP/t$n.$side.log
		rc=$rc_s
		[ "$side" = cli ] && rc=$rc_c
		if [ "$rc" -ne 0 ] || ! "$chk" "$lg" "$side"; then
			echo "  $side: exit $rc$([ "$rc" = 124 ] && echo ' (timed out)'); output:"
			show "$lg"
			ok=1
		fi
	done
	listeners 0 || echo "  a listener is left over"
	verdict "$desc" $ok
	return $ok
}

no_errors() { ! grep -qiE "$ERR_RE" "$1"; }

# run_and_drain DESC PROGRAM: run a test program (XENIB_CM_TIMEOUT, default
# 120 s), then xenibd must hold no CM or verbs object, still run, and exit
# 0 on SIGTERM.
run_and_drain() {
	timeout -k 5 "${XENIB_CM_TIMEOUT:-120}" "$2"
	verdict "$1 (exit $?)" $?
	wait_stats 10 cm_channels=0 cm_ids=0 cm_listeners=0 cm_connections=0 \
		contexts=0 qps=0 cqs=0 pds=0
	verdict "xenibctl stats: nothing left" $?
	xenibd_alive
	verdict "xenibd still running" $?
	stop_xenibd
	verdict "xenibd exits 0 on SIGTERM" $?
}
