#!/usr/bin/env bash
# The benchmark command: xenib vs same-run baselines (see xenib_bench.py).
#   bash bench/run.sh [--repeats N] [--quick] [--plot DIR] [--build DIR]
# Needs a build (scripts/build.sh) and ucx-utils, gnuplot-nox, util-linux.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/xenib_bench.py "$@"
