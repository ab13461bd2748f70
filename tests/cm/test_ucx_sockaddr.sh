#!/usr/bin/env bash
# UCX on xenib0: UCP's client/server over sockaddr (UCX's own example
# ucp_client_server, built from libucx-dev's source; its connection
# manager is rdmacm, i.e. our librdmacm and xenibd's CM), in stream, tag
# and am modes, with rc_verbs and ud_verbs on xenib0:1 as the transports;
# and Debian's ucx_perftest (tag_lat, tag_bw) on the same transports.
#
# UCX 1.13 takes an IB device only if /dev/infiniband/<dev_name> is a
# character device it may open for reading and writing (it never opens it;
# uct_ib_device_is_accessible stats it).  xenib0 has no such node (its
# verbs go to xenibd, not to a kernel driver), so these run in a private
# mount namespace whose /dev has one: /dev/infiniband/xenib0 as char 1:3
# (/dev/null's).  The host's /dev is not touched.  Without the node UCX
# lists no transport on xenib0: checked too.
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
if ! unshare -m --propagation private true 2>/dev/null; then
	echo "no private mount namespace here (unshare -m): skipping"
	exit 77
fi
# Debian's ucx_perftest loads our ASan-built libibverbs in a sanitized build.
ASAN_PRE=
if [ "$T_SANITIZED" = 1 ]; then
	ASAN_PRE=$(gcc -print-file-name=libasan.so)
fi

NS=$T_TMP/ns.sh
cat >"$NS" <<EOF
#!/bin/sh
# "\$@" in this mount namespace, its /dev with /dev/infiniband/xenib0.
set -e
mkdir -p "$T_TMP/olddev"
mount --bind /dev "$T_TMP/olddev"
mount -t tmpfs tmpfs /dev
for f in "$T_TMP"/olddev/*; do ln -s "\$f" "/dev/\${f##*/}"; done
mkdir /dev/infiniband
mknod /dev/infiniband/xenib0 c 1 3
chmod 666 /dev/infiniband/xenib0
exec "\$@"
EOF
chmod +x "$NS"
NSRUN=(unshare -m --propagation private "$NS")

start_xenibd
TO=${XENIB_CM_TIMEOUT:-60}
export UCX_NET_DEVICES=xenib0:1 UCX_WARN_UNUSED_ENV_VARS=n
export UCX_TLS=rc_verbs,ud_verbs,self

if [ ! -e /dev/infiniband/xenib0 ]; then
	! env ${ASAN_PRE:+LD_PRELOAD=$ASAN_PRE} ucx_info -d 2>&1 | grep -q 'Device: xenib0'
	verdict "without /dev/infiniband/xenib0 UCX takes no xenib0 transport" $?
fi
"${NSRUN[@]}" env ${ASAN_PRE:+LD_PRELOAD=$ASAN_PRE} ucx_info -d \
	>"$T_TMP/ucx_info.log" 2>&1
grep -q 'Transport: rc_verbs' "$T_TMP/ucx_info.log" &&
	grep -q 'Device: xenib0:1' "$T_TMP/ucx_info.log" &&
	grep -q 'Connection manager: rdmacm' "$T_TMP/ucx_info.log"
verdict "with it: rc_verbs and ud_verbs on xenib0:1, the rdmacm CM" $?

P=$((20000 + ($$ % 20000)))
n=0
for mode in stream tag am; do
	n=$((n + 1))
	before=$(stat_val "$(xstats)" cm_msgs)
	bg_start "$T_TMP/ucs$n.srv.log" "$TO" "${NSRUN[@]}" "$UCS" -p $((P + n)) -c $mode
	srv=$BG_PID
	wait_stats 10 cm_listeners=1 >/dev/null
	bg_start "$T_TMP/ucs$n.cli.log" "$TO" "${NSRUN[@]}" "$UCS" -a 127.0.0.1 \
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
	bg_start "$T_TMP/pt$n.srv.log" "$TO" "${NSRUN[@]}" env ${ASAN_PRE:+LD_PRELOAD=$ASAN_PRE} \
		ucx_perftest -p $((P + n))
	srv=$BG_PID
	sleep 1
	# shellcheck disable=SC2086
	bg_start "$T_TMP/pt$n.cli.log" "$TO" "${NSRUN[@]}" env ${ASAN_PRE:+LD_PRELOAD=$ASAN_PRE} \
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
