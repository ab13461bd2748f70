#!/usr/bin/env bash
# The test command: install dependencies, then run every suite from a fresh
# build and print one closing line "suites: N passed, N failed".
#   1. ctest on a fresh build in build/ (unit, Debian's binaries end to end,
#      hostile guests, faults, soak)
#   2. the same ctest suite on an ASan + UBSan build (scripts/test-sanitize.sh)
#   3. the libFuzzer harnesses for a bounded time (fuzz/run.sh)
#   4. the distro packages: build, install beside Debian's RDMA stack, use,
#      remove (tests/packaging/test_packages.sh; root, restores the system)
#   5. xen: our packages on real Xen 4.17 in QEMU (TCG), two domUs talking
#      through xenibd in dom0, save/restore/migrate (tests/xen/ci.sh; root,
#      caches its base image in $XENIB_XEN_DIR, default /var/tmp/xenib-xen;
#      XENIB_TEST_XEN=0 skips it)
# XENIB_TEST_QUICK=1 runs only suite 1; XENIB_FUZZ_SECONDS sets suite 3's
# time per harness (default 30: seven harnesses keep CI within its hour;
# longer runs: bash fuzz/run.sh 600).  XENIB_CMAKE_ARGS passes through to
# cmake.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bash scripts/install-deps.sh || { echo "suites: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0
failures=()
times=()
suite() {
	local name=$1 t0 dt
	shift
	echo
	echo "=== suite: $name: $*"
	t0=$(date +%s)
	if "$@"; then
		passed=$((passed + 1))
		dt=$(($(date +%s) - t0))
		echo "=== suite $name: PASSED (${dt} s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		dt=$(($(date +%s) - t0))
		echo "=== suite $name: FAILED (${dt} s)"
	fi
	times+=("$name ${dt}s")
}

build_and_ctest() {
	echo "+ rm -rf build   (fresh build)"
	rm -rf build
	bash scripts/build.sh build &&
		ctest --test-dir build --output-on-failure
}

suite ctest build_and_ctest
if [ "${XENIB_TEST_QUICK:-0}" != 1 ]; then
	suite sanitize bash scripts/test-sanitize.sh build-asan
	suite fuzz bash fuzz/run.sh "${XENIB_FUZZ_SECONDS:-30}"
	suite packaging bash tests/packaging/test_packages.sh
	if [ "${XENIB_TEST_XEN:-1}" != 0 ]; then
		suite xen bash tests/xen/ci.sh
	else
		echo
		echo "=== suite xen: skipped (XENIB_TEST_XEN=0)"
	fi
fi

echo
echo "suite times: ${times[*]}"
[ "$failed" -eq 0 ] || echo "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
