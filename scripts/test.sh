#!/usr/bin/env bash
# The test command: install dependencies, build from scratch in build/, run
# every test.  Usage: bash scripts/test.sh   (XENIB_CMAKE_ARGS passes through)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "+ rm -rf build   (fresh build)"
rm -rf build
bash scripts/build.sh build
echo "+ ctest --test-dir build --output-on-failure"
ctest --test-dir build --output-on-failure
