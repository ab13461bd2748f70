#!/usr/bin/env bash
# Install what building xenib and running its demo and tests needs on Debian 12.
# Idempotent: packages already installed are left alone (and if all are, apt
# is not touched at all; XENIB_DEPS_FORCE=1 updates and installs anyway).
set -euo pipefail

PKGS=(
	build-essential cmake pkg-config	# toolchain
	libibverbs-dev				# <infiniband/verbs.h> we build against
	libxen-dev				# Xen hypervisor layer: gnttab, evtchn, xenstore, xenctrl
	libnl-3-dev libnl-route-3-dev
	libucx-dev				# xenibd's inter-host wire (UCP)
	ibverbs-utils perftest			# Debian's unmodified clients (tests, demo)
	ibverbs-providers librdmacm1		# libmlx5/libefa/librdmacm: ABI load checks
	librdmacm-dev rdmacm-utils		# <rdma/rdma_cma.h> we build against; rping & co. (tests)
	qperf libfabric-bin			# rdma_cm clients: qperf -cm1, fi_pingpong (tests); UCX: libucx-dev above
	clang libclang-rt-14-dev		# sanitizer and fuzzing builds
	python3 procps iproute2			# test helpers: pgrep, ss
	ucx-utils gnuplot-nox util-linux	# bench/: UCX baseline, plots, taskset
	libcurl4-openssl-dev libjson-c-dev etcd-server etcd-client	# fabric/: directory on etcd
	openmpi-bin libopenmpi-dev mpich libmpich-dev hpcc	# tests/mpi: MPI over UCX on xenib0
)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: run as root (no sudo found)" >&2; exit 1; }
	SUDO=(sudo)
fi

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ] && [ "${XENIB_DEPS_FORCE:-0}" != 1 ]; then
	echo "install-deps: all ${#PKGS[@]} packages already installed: ${PKGS[*]}"
	exit 0
fi
[ "${XENIB_DEPS_FORCE:-0}" = 1 ] && missing=("${PKGS[@]}")

echo "install-deps: installing: ${missing[*]}"
echo "+ apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
echo "+ apt-get install -y --no-install-recommends ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}"
echo "install-deps: done"
