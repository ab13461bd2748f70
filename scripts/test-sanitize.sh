#!/usr/bin/env bash
# The whole ctest suite on an ASan + UBSan build: fresh build in
# build-asan/ (or $1) with -DXENIB_SANITIZE=ON, then ctest.  Debian's
# binaries get gcc's libasan preloaded by tests/lib.sh.
# Usage: bash scripts/test-sanitize.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-asan}
echo "+ rm -rf $build   (fresh sanitized build)"
rm -rf "$build"
cmake -S . -B "$build" -DXENIB_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	${XENIB_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}
echo "+ ctest --test-dir $build --output-on-failure"
ctest --test-dir "$build" --output-on-failure --timeout 600
