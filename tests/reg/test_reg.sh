#!/usr/bin/env bash
# Memory registration through the whole stack (tests/reg/): every kind of
# memory keeps its address and contents and is what the backend reaches,
# threads writing next to it lose nothing, re-registration re-backs
# nothing, no libc memory call is made over the buffer, fork behaves as
# before; as an unprivileged user, SysV segments register and shared
# anonymous memory fails with EINVAL and a XENIB_DEBUG explanation.
# Usage: test_reg.sh BUILD_DIR TEST_REG_MEM TEST_REG_FORK
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init reg "${1:-}"
MEM=${2:?usage: test_reg.sh BUILD_DIR TEST_REG_MEM TEST_REG_FORK}
FORK=${3:?usage: test_reg.sh BUILD_DIR TEST_REG_MEM TEST_REG_FORK}
start_xenibd

timeout -k 5 120 "$MEM" all
verdict "test_reg_mem: kinds, threads, again, remap, hooks (exit $?)" $?
timeout -k 5 60 "$FORK"
verdict "test_reg_fork (exit $?)" $?

# An unprivileged guest: no /proc/self/map_files for it.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	chmod 755 "$T_TMP" "$XENIB_EMU_DIR"
	XENIB_DEBUG=1 timeout -k 5 60 setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$MEM" unpriv >"$T_TMP/unpriv.log" 2>&1
	rc=$?
	sed 's/^/    /' "$T_TMP/unpriv.log" | grep -v 'xenib\[[0-9]*\]: \(reg_mr\|shared\|releasing\|found\|xenib0\)'
	verdict "test_reg_mem unpriv as uid 65534 (exit $rc)" "$rc"
	grep -q 'cannot register .*: a shared mapping of /dev/zero' "$T_TMP/unpriv.log"
	verdict "XENIB_DEBUG says why shared anonymous memory cannot be registered" $?
else
	log "not root or no setpriv: unprivileged cases skipped"
fi

wait_stats 10 contexts=0 pds=0 mrs=0 mr_bytes=0 cqs=0 qps=0 regions=0
verdict "xenibctl stats all zero after the tests exited" $?
xenibd_alive
verdict "xenibd still running" $?
stop_xenibd
verdict "xenibd exits 0 on SIGTERM" $?
t_finish
