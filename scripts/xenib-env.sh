# shellcheck shell=bash
# Environment for running Debian's unmodified verbs binaries on a xenib build
# tree (the build tree is laid out like an install prefix).
#
# Usage (sourced):
#   . scripts/xenib-env.sh [BUILD_DIR [RUN_DIR]]
#   xenib_env BUILD_DIR RUN_DIR          # same, as a function
#
# BUILD_DIR defaults to <repo>/build; RUN_DIR (the run directory of the
# xenibd to talk to) defaults to $XENIB_EMU_DIR, else /run/xenib.
# Sets LD_LIBRARY_PATH (prepended), IBV_CONFIG_DIR, IBV_PROVIDER_DIR and
# XENIB_EMU_DIR, and XENIB_BUILD_DIR for scripts.  XENIB_EMU_GUEST and
# XENIB_DEBUG are left as they are.

xenib_env() {
	local src build run
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	build=${1:-$src/build}
	run=${2:-${XENIB_EMU_DIR:-/run/xenib}}
	if [ ! -d "$build" ]; then
		echo "xenib-env: build directory '$build' does not exist" >&2
		return 1
	fi
	build=$(cd "$build" && pwd)
	case $run in
	/*) ;;
	*) run=$PWD/$run ;;
	esac
	export XENIB_BUILD_DIR=$build
	export LD_LIBRARY_PATH=$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export IBV_CONFIG_DIR=$build/etc/libibverbs.d
	export IBV_PROVIDER_DIR=$build/lib
	export XENIB_EMU_DIR=$run
}

if [ "$#" -gt 0 ]; then
	xenib_env "$@"
fi
