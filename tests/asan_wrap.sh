# shellcheck shell=bash
# asan_wrap BUILD_DIR DIR: in a build configured with -DXENIB_SANITIZE=ON,
# Debian's unsanitized RDMA binaries load our ASan-built libibverbs, so the
# ASan runtime must come first.  Each /usr/bin/ibv_*, ib_* and rdmacm-utils
# tool is reached through a wrapper in DIR/asan-bin (put first in PATH) that
# preloads gcc's libasan for it alone; preloading it into everything
# deadlocks some tools (pgrep).  Leak checks are off (the fuzzers check xenibd's core for
# leaks); UBSan reports are fatal.  Sets ASAN_LIB.  Returns 0 when it set
# the wrappers up, 1 for an unsanitized build, 2 if libasan.so is missing.
# Used by tests/lib.sh (one host) and tests/fabric/cluster.sh (several).
asan_wrap() {
	local b=$1 dir=$2 f w
	grep -q '^XENIB_SANITIZE:BOOL=ON' "$b/CMakeCache.txt" 2>/dev/null ||
		return 1
	ASAN_LIB=$(gcc -print-file-name=libasan.so 2>/dev/null)
	[ -e "$ASAN_LIB" ] || return 2
	mkdir -p "$dir/asan-bin"
	for f in /usr/bin/ibv_* /usr/bin/ib_* /usr/bin/rping /usr/bin/ucmatose \
		 /usr/bin/udaddy /usr/bin/mckey /usr/bin/rdma_* /usr/bin/cmtime \
		 /usr/bin/rstream /usr/bin/riostream /usr/bin/rcopy \
		 /usr/bin/udpong /usr/bin/qperf /usr/bin/fi_info \
		 /usr/bin/fi_pingpong; do
		[ -x "$f" ] || continue
		w=$dir/asan-bin/${f##*/}
		printf '#!/bin/sh\nLD_PRELOAD=%s${LD_PRELOAD:+:$LD_PRELOAD} exec %s "$@"\n' \
			"$ASAN_LIB" "$f" >"$w"
		chmod +x "$w"
	done
	export PATH=$dir/asan-bin:$PATH
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
	return 0
}
