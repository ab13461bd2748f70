#!/usr/bin/env bash
# UCX on xenib0: UCP's client/server over sockaddr (UCX's own example
# ucp_client_server, built from libucx-dev's source; its connection
# manager is rdmacm, i.e. our librdmacm and xenibd's CM), in stream, tag
# and am modes, with rc_verbs and ud_verbs on xenib0:1 as the transports;
# and Debian's ucx_perftest (tag_lat, tag_bw) on the same transports.
#
# UCX 1.13 takes an IB device only if /dev/infiniband/<dev_name> is a
# character device the user may read and write: xenibd makes xenib0's
# (xenib(7), "DEVICE NODE"; tests/test_devnode.sh tests the node itself).
# Usage: test_ucx_sockaddr.sh BUILD_DIR UCP_CLIENT_SERVER
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init ucx_sockaddr "${1:-}"
UCS=${2:?usage: test_ucx_sockaddr.sh BUILD_DIR UCP_CLIENT_SERVER}

if ! command -v ucx_perftest >/dev/null 2>&1; then
	echo "ucx-utils is not installed: skipping"
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "not root: xenibd cannot make /dev/infiniband/xenibN: skipping"
	exit 77
fi
# Debian's ucx_perftest loads our ASan-built libibverbs in a sanitized build.
ASAN_PRE=
if [ "$T_SANITIZED" = 1 ]; then
	ASAN_PRE=$(gcc -print-file-name=libasan.so)
fi

start_xenibd
TO=${XENIB_CM_TIMEOUT:-60}
export UCX_NET_DEVICES=xenib0:1 UCX_WARN_UNUSED_ENV_VARS=n
export UCX_TLS=rc_verbs,ud_verbs,self

NODE=$(readlink "$XENIB_EMU_DIR/xenib0.node")
env ${ASAN_PRE:+LD_PRELOAD=$ASAN_PRE} ucx_info -d >"$T_TMP/ucx_info.log" 2>&1
grep -q 'Transport: rc_verbs' "$T_TMP/ucx_info.log" &&
	grep -q 'Transport: ud_verbs' "$T_TMP/ucx_info.log" &&
	grep -q 'Device: xenib0:1' "$T_TMP/ucx_info.log" &&
	grep -q 'Connection manager: rdmacm' "$T_TMP/ucx_info.log"
verdict "ucx_info: rc_verbs and ud_verbs on xenib0:1 (node $NODE), the rdmacm CM" $?

P=$((20000 + ($$ % 20000)))
n=0
for mode in stream tag am; do
	n=$((n + 1))
	before=$(stat_val "$(xstats)" cm_msgs)
	bg_start "$T_TMP/ucs$n.srv.log" "$TO" "$UCS" -p $((P + n)) -c $mode
	srv=$BG_PID
	wait_stats 10 cm_listeners=1 >/dev/null
	bg_start "$T_TMP/ucs$n.cli.log" "$TO" "$UCS" -a 127.0.0.1 \
		-p $((P + n)) -c $mode -i 10
	wait "$BG_PID"
	rc=$?
	sleep 0.5
	kill_tree "$srv"
	after=$(stat_val "$(xstats)" cm_msgs)
	[ "$rc" -eq 0 ] &&
		grep -q 'Client: iteration #10' "$T_TMP/ucs$n.cli.log" &&
		grep -q 'ABCDEFGHIJKLMNO' "$T_TMP/ucs$n.cli.log" &&
		[ "$after" -gt "$before" ]
	ok=$?
	[ "$ok" -eq 0 ] || { sed 's/^/      /' "$T_TMP/ucs$n.cli.log" | tail -n 12; }
	verdict "ucp_client_server -c $mode over sockaddr (rdmacm CM, $((after - before)) CM messages)" $ok
	wait_stats 10 cm_listeners=0 >/dev/null
done

for t in "tag_lat -n 20000" "tag_bw -s 65536 -n 5000" "ucp_put_bw -s 65536 -n 5000"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	bg_start "$T_TMP/pt$n.srv.log" "$TO" env ${ASAN_PRE:+LD_PRELOAD=$ASAN_PRE} \
		ucx_perftest -p $((P + n))
	srv=$BG_PID
	sleep 1
	# shellcheck disable=SC2086
	bg_start "$T_TMP/pt$n.cli.log" "$TO" env ${ASAN_PRE:+LD_PRELOAD=$ASAN_PRE} \
		ucx_perftest 127.0.0.1 -p $((P + n)) -t $t
	wait "$BG_PID"
	rc=$?
	wait "$srv"
	rc_s=$?
	[ "$rc" -eq 0 ] && [ "$rc_s" -eq 0 ] && grep -q '^Final:' "$T_TMP/pt$n.cli.log"
	ok=$?
	[ "$ok" -eq 0 ] || { sed 's/^/      /' "$T_TMP/pt$n.cli.log" | tail -n 8; }
	verdict "ucx_perftest -t $t (rc_verbs on xenib0)" $ok
done

wait_stats 20 cm_ids=0 cm_listeners=0 cm_connections=0 cm_channels=0 \
	contexts=0 qps=0 cqs=0 mrs=0 pds=0
verdict "xenibctl stats: nothing left" $?
stop_xenibd
verdict "xenibd exits 0 on SIGTERM" $?
t_finish
