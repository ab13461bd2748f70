#!/usr/bin/env bash
# Mapping exhaustion (tests/hostile/map_flood): one guest registers MRs of
# 128 scattered one-page segments until refused.  Each segment is a mapping
# of its own in xenibd (a VMA here, a maptrack entry per page on Xen); the
# per-guest limit.mappings must refuse it long before vm.max_map_count, so
# that another guest can still share and register memory.
# Usage: test_map_flood.sh BUILD_DIR MAP_FLOOD_BIN
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init map_flood "${1:-}"
BIN=${2:?usage: test_map_flood.sh BUILD_DIR MAP_FLOOD_BIN}
start_xenibd
pid=$(child_of "$XENIBD_PID")
log "xenibd VMAs at start: $(wc -l <"/proc/$pid/maps")"

timeout -k 5 120 "$BIN" 2000
verdict "attacker refused, a second guest still maps and registers" $?
grep -q 'limit.mappings reached' "$XENIBD_LOG"
verdict "xenibd logs the refusal (limit.mappings)" $?
wait_stats 10 contexts=0 mrs=0 regions=0 mappings=0 map_pages=0
verdict "xenibctl stats all zero after the guests exited" $?
log "xenibd VMAs after: $(wc -l <"/proc/$pid/maps")"
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
rc=$?
verdict "xenibd exits 0 on SIGTERM (got $rc)" "$rc"
t_finish
