#!/usr/bin/env bash
# xenib demo: xenibd on the embedded emulated hypervisor, and Debian's
# unmodified ibv_devices, ibv_devinfo and ibv_rc_pingpong as guest processes.
# Usage: scripts/demo.sh [BUILD_DIR]   (default build; build it first)
# Exit status 0 only if every step worked.
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
t_init demo "${1:-$XENIB_SRC_DIR/build}"

step() { printf '\n=== %s\n' "$*"; }

step "1. Start the backend: xenibd -d $XENIB_EMU_DIR -f (dom0's role; the guests reach it through $XENIB_EMU_DIR/xenib0.sock)"
start_xenibd
echo "Guests run with:"
echo "  LD_LIBRARY_PATH=$B/lib  (our libibverbs.so.1)"
echo "  IBV_CONFIG_DIR=$IBV_CONFIG_DIR  IBV_PROVIDER_DIR=$IBV_PROVIDER_DIR"
echo "  XENIB_EMU_DIR=$XENIB_EMU_DIR"
echo "Each process below is a separate guest; binaries are Debian's: $(command -v ibv_devices), ..."

step "2. ibv_devices"
out=$(timeout -k 2 20 ibv_devices 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] && printf '%s\n' "$out" | awk '$1 == "xenib0" && $2 !~ /^0+$/ { f = 1 } END { exit !f }'
verdict "ibv_devices lists xenib0 with a non-zero GUID" $?

step "3. ibv_devinfo -v -d xenib0 (trimmed)"
out=$(timeout -k 2 20 ibv_devinfo -v -d xenib0 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E 'hca_id|transport:|fw_ver|node_guid|vendor_id|phys_port_cnt|max_qp:|max_cqe|max_mr_size|port:|[[:space:]]state:|phys_state|active_mtu|sm_lid|port_lid|link_layer|GID\['
[ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q PORT_ACTIVE
verdict "ibv_devinfo -v exits 0, port 1 PORT_ACTIVE" $?

step "4. ibv_rc_pingpong: a server guest and a client guest over xenib0, received data checked (-c)"
n=0
for args in "-s 4096 -n 1000" "-s 65536 -n 200" "-s 1048576 -n 50" "-s 64 -n 500 -e"; do
	echo "--- ibv_rc_pingpong -d xenib0 -i 1 -c $args  (server, then client to 127.0.0.1)"
	# shellcheck disable=SC2086
	pp_run "pp$((++n))" 120 -c $args
	verdict "ibv_rc_pingpong -c $args" $?
done

step "5. Backend accounting after the guests exited (xenibctl stats)"
wait_stats 10 contexts=0 qps=0 mrs=0
verdict "xenibd released every guest resource" $?
printf '%s\n' "$STATS" | sed 's/^/  /'

step "6. Stop xenibd (SIGTERM)"
stop_xenibd
rc=$?
verdict "xenibd exited cleanly (status $rc)" "$rc"

echo
if [ "$T_FAILS" -eq 0 ]; then
	echo "DEMO PASSED: $T_PASSES steps ok"
else
	echo "DEMO FAILED: $T_FAILS of $((T_PASSES + T_FAILS)) steps failed"
	echo "(logs of the failing processes follow)"
fi
t_finish
