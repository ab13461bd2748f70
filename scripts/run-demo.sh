#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install dependencies, build, and
# run the demo (scripts/demo.sh).  Usage: bash scripts/run-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
exec bash scripts/demo.sh build
