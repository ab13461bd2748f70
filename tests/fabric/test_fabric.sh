#!/usr/bin/env bash
# Guests on different hosts (network namespaces, one xenibd each, etcd in
# its own namespace): Debian's unmodified ibverbs-utils and perftest between
# guests of two hosts, data checked where the tools check it.
# Usage: test_fabric.sh BUILD_DIR
set -u
# shellcheck source=tests/fabric/cluster.sh
. "$(dirname "$0")/cluster.sh"
clu_start fabric "${1:?usage: test_fabric.sh BUILD_DIR}" 2

for s in ${FAB_SIZES:-1 4096 65536 1048576}; do
	clu_pair "ibv_rc_pingpong -c -s $s" 120 2 3 ibv_rc_pingpong \
		-d xenib0 -i 1 -c -s "$s" -n 50
done
clu_pair "ibv_rc_pingpong -e -c" 120 3 2 ibv_rc_pingpong -d xenib0 -i 1 \
	-e -c -s 4096 -n 200
clu_pair "ibv_uc_pingpong -c" 120 2 3 ibv_uc_pingpong -d xenib0 -i 1 -c \
	-s 4096 -n 200
clu_pair "ibv_ud_pingpong -c" 120 2 3 ibv_ud_pingpong -d xenib0 -i 1 -c \
	-s 2048 -n 200
clu_pair "ibv_srq_pingpong -c" 120 2 3 ibv_srq_pingpong -d xenib0 -i 1 -c \
	-s 4096 -n 100 -q 4
# XRC: the server sends to the client's XRC SRQ through its XRC_RECV QP.
clu_pair "ibv_xsrq_pingpong" 120 2 3 ibv_xsrq_pingpong -d xenib0 -i 1 \
	-s 4096 -n 100

# Memory windows are virtual rkeys too: bound on host 2, used from host 3.
clu_pair "memory windows across hosts" 60 2 3 "$CLU_B/bin/mw_peer"

for t in ib_write_bw ib_read_bw ib_send_bw ib_atomic_bw; do
	clu_pair "$t" 120 2 3 "$t" -d xenib0 -F -n 200
done
clu_pair "ib_write_bw -a" 180 2 3 ib_write_bw -d xenib0 -F -a -n 20
clu_pair "ib_write_bw -q 4 -b" 120 2 3 ib_write_bw -d xenib0 -F -q 4 -b \
	-n 200
for t in ib_write_lat ib_read_lat ib_send_lat ib_atomic_lat; do
	clu_pair "$t" 120 3 2 "$t" -d xenib0 -F -n 200
done

out=$(fab_exec 2 "$CLU_B/bin/xenibctl" -d "$FAB_TMP/run2" hosts 2>&1)
printf '%s\n' "$out" | sed 's/^/    /'
printf '%s\n' "$out" | grep -q 'host host3 .* up'
clu_check "xenibctl hosts on host 2 shows host 3 up" $?
fab_finish
