#!/usr/bin/env bash
# Device discovery and the port profile, through Debian's ibv_devices and
# ibv_devinfo on our stack.  Usage: test_devices.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init devices "${1:-}"
start_xenibd

out=$T_TMP/out.txt

# 1. ibv_devices: xenib0 with a non-zero 16-digit GUID.
timeout -k 2 20 ibv_devices >"$out" 2>&1
rc=$?
sed 's/^/    /' "$out"
check "ibv_devices exits 0 (got $rc)" [ "$rc" -eq 0 ]
guid=$(awk '$1 == "xenib0" { print $2; exit }' "$out")
check "ibv_devices lists xenib0" [ -n "$guid" ]
[[ $guid =~ ^[0-9a-f]{16}$ && $guid != 0000000000000000 ]]
verdict "xenib0 node GUID '$guid' is 16 hex digits, not zero" $?

# 2. ibv_devinfo -l and plain ibv_devinfo.
timeout -k 2 20 ibv_devinfo -l >"$out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && grep -qw xenib0 "$out"
verdict "ibv_devinfo -l exits 0 and lists xenib0 (exit $rc)" $?
timeout -k 2 20 ibv_devinfo -d xenib0 -i 1 >"$out" 2>&1
rc=$?
check "ibv_devinfo -d xenib0 -i 1 exits 0 (exit $rc)" [ "$rc" -eq 0 ]

# 3. ibv_devinfo -v: the port profile of DESIGN.md section 5.
timeout -k 2 20 ibv_devinfo -v -d xenib0 >"$out" 2>&1
rc=$?
sed 's/^/    /' "$out" | grep -E 'hca_id|transport|node_guid|sys_image_guid|phys_port_cnt|port:|state|mtu|lid|link_layer|GID\['
check "ibv_devinfo -v exits 0 (got $rc)" [ "$rc" -eq 0 ]
# field NAME: value after "NAME:" in the first port-1 section (or device part).
field() {
	awk -v n="$1:" '
		$1 == "port:" { port = $2 }
		$1 == n && (port == "" || port == 1) { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$out"
}
check "hca_id is xenib0" grep -qE '^hca_id:[[:space:]]+xenib0$' "$out"
tr=$(field transport)
[[ $tr == InfiniBand* ]]
verdict "transport InfiniBand (got '$tr')" $?
ng=$(field node_guid)
[[ $ng =~ ^[0-9a-f]{4}(:[0-9a-f]{4}){3}$ && $ng != 0000:0000:0000:0000 ]]
verdict "node_guid '$ng' non-zero" $?
check "port 1 present" grep -qE '^[[:space:]]+port:[[:space:]]+1$' "$out"
st=$(field state)
[[ $st == PORT_ACTIVE* ]]
verdict "port 1 state PORT_ACTIVE (got '$st')" $?
ps=$(field phys_state)
[[ $ps == LINK_UP* ]]
verdict "port 1 phys_state LINK_UP (got '$ps')" $?
ll=$(field link_layer)
check "link_layer InfiniBand (got '$ll')" [ "$ll" = InfiniBand ]
lid=$(field port_lid)
[[ $lid =~ ^[0-9]+$ ]] && ((lid != 0))
verdict "port_lid '$lid' is a non-zero number" $?
smlid=$(field sm_lid)
[[ $smlid =~ ^[0-9]+$ ]]
verdict "sm_lid '$smlid' is a number" $?
gid0=$(awk '/GID\[ *0\]:/ { sub(/^.*GID\[ *0\]:[ \t]*/, ""); print; exit }' "$out")
[[ $gid0 == fe80:0000:0000:0000:* || $gid0 == fe80::* ]]
verdict "GID[0] '$gid0' is fe80::/64" $?
# GID[0] = fe80::/64 + port GUID: its low 64 bits are not zero.
[[ -n $gid0 && ! $gid0 =~ 0000:0000:0000:0000$ && $gid0 != fe80:: ]]
verdict "GID[0] interface id non-zero" $?

# 4. The same device seen from a named guest, and everything released.
XENIB_EMU_GUEST=devtest-guest timeout -k 2 20 ibv_devices >"$out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && awk '$1 == "xenib0" { f = 1 } END { exit !f }' "$out"
verdict "ibv_devices as XENIB_EMU_GUEST=devtest-guest lists xenib0 (exit $rc)" $?
if wait_stats 10 contexts=0 pds=0 mrs=0 cqs=0 qps=0; then
	pass "xenibctl stats back to zero after the tools exited"
else
	fail "xenibctl stats back to zero after the tools exited"
fi

# 5. Clean exit on SIGTERM; afterwards the tools neither hang nor crash.
stop_xenibd
rc=$?
check "xenibd exits 0 on SIGTERM (got $rc)" [ "$rc" -eq 0 ]
timeout -k 2 20 ibv_devices >"$out" 2>&1
rc=$?
sed 's/^/    /' "$out"
[ "$rc" -ne 124 ] && [ "$rc" -lt 128 ]
verdict "ibv_devices without xenibd returns promptly without crashing (exit $rc)" $?

t_finish
