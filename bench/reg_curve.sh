#!/usr/bin/env bash
# Registration curve (size -> s/GiB) beside touch and memcpy: see
# bench/reg_curve.py.
#   bash bench/reg_curve.sh [--build DIR] [--repeats N] [--kinds K,...]
#                           [--quick] [--plot DIR] [--baseline BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/reg_curve.py "$@"
