#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Build the libFuzzer harnesses with clang (ASan + UBSan) and run each for a
# bounded time on a scratch copy of its committed corpus.  Fails on any
# crash, leak, timeout or sanitizer report; the reproducer is kept in
# $FUZZ_OUT/<harness>/ (add it to fuzz/corpus/<harness>/ once fixed).
#
# Usage: fuzz/run.sh [SECONDS per harness, default 60] [HARNESS...]
# Environment: FUZZ_BUILD (build dir, default build-fuzz/, rebuilt each run),
# FUZZ_OUT (artifacts, logs), JOBS.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift $(($# > 0 ? 1 : 0))
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_ctrl fuzz_wqe fuzz_handshake fuzz_xen fuzz_fabric fuzz_snap fuzz_cm)
# A fresh build in the source tree: a build directory shared between
# checkouts would hold another tree's CMake cache.
build=${FUZZ_BUILD:-$src/build-fuzz}
out=${FUZZ_OUT:-/tmp/xenib-fuzz-out}

command -v clang >/dev/null || {
	echo "fuzz/run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 77
}
rm -rf "$build"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DXENIB_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build "$build" -j"${JOBS:-2}" --target "${harnesses[@]}" >/dev/null ||
	exit 1

fail=0
for h in "${harnesses[@]}"; do
	mkdir -p "$out/$h"
	work=$(mktemp -d "/tmp/xenib-fuzz-$h.XXXXXX")
	cp "$src/fuzz/corpus/$h/"* "$work/" 2>/dev/null
	log=$out/$h/log
	start=$(date +%s)
	timeout $((secs + 120)) "$build/bin/$h" -max_total_time="$secs" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/$h/" "$work" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	echo "$h: rc=$rc, ${runs:-?} executions in $(($(date +%s) - start)) s," \
		"${cov:-cov: ?}, corpus $(find "$work" -type f | wc -l) inputs"
	if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
		echo "$h: FAILED; see $log and $out/$h/" >&2
		grep -m5 -E 'ERROR|runtime error|SUMMARY' "$log" >&2
		fail=1
	fi
	rm -rf "$work"
done
exit $fail
