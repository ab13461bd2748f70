#!/usr/bin/env bash
# Configure and build xenib.  Usage: scripts/build.sh [BUILD_DIR] (default build)
# XENIB_CMAKE_ARGS adds configure options, e.g. XENIB_CMAKE_ARGS=-DXENIB_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
read -r -a extra <<<"${XENIB_CMAKE_ARGS:-}"
echo "+ cmake -S . -B $build -DCMAKE_BUILD_TYPE=RelWithDebInfo ${extra[*]}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra[@]}"
echo "+ cmake --build $build -j$(nproc)"
cmake --build "$build" -j"$(nproc)"
