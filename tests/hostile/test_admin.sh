#!/usr/bin/env bash
# The admin socket never blocks the data path: xenibctl clients that connect
# and say nothing, or send half a line, or send a command and never read,
# hold a connection slot each (until xenibd drops them after 5 s) while a
# pingpong pair and other xenibctl calls are served as usual.
# Usage: test_admin.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init admin "${1:-}"
start_xenibd

ctl=$XENIB_EMU_DIR/xenibd.ctl
# Three stuck clients for 8 s: silent, half a line, a command never read.
bg_start "$T_TMP/stuck.log" 30 python3 -c '
import socket, sys, time
socks = []
for msg in (b"", b"sta", b"stats\n"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.sendall(msg)
    socks.append(s)
print("stuck clients connected", flush=True)
time.sleep(8)
' "$ctl"
stuck=$BG_PID
for _ in $(seq 50); do
	grep -q connected "$T_TMP/stuck.log" && break
	sleep 0.1
done
grep -q connected "$T_TMP/stuck.log"
verdict "three stuck admin clients connected" $?

t0=$(date +%s%N)
xstats >"$T_TMP/stats" 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
log "xenibctl stats beside the stuck clients: $ms ms"
[ "$rc" -eq 0 ] && grep -q '^contexts ' "$T_TMP/stats"
verdict "xenibctl stats answered beside stuck clients (exit $rc, $ms ms)" $?

# The pingpong starts while the stuck clients hold their slots (xenibd
# drops them 5 s after they connected; on a loaded machine the pingpong
# may well outlast that).
alive "$stuck"
verdict "stuck clients still connected when the pingpong starts" $?
pp_run admin_pp 60 -s 64 -n 20000 -c
verdict "ibv_rc_pingpong -c passed beside the stuck clients" $?

wait "$stuck" 2>/dev/null
grep -q 'admin: client timed out' "$XENIBD_LOG"
verdict "xenibd dropped the silent clients after its timeout" $?
xstats >/dev/null
verdict "xenibctl works after the stuck clients left" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
