#!/usr/bin/env bash
# MPI in the guests over xenib0 (xenib(7), "MPI AND UCX"), with Debian's
# unmodified UCX 1.13, Open MPI 4.1 and MPICH 4.0, on one host:
#  - ucx_perftest tag_lat, tag_bw, ucp_put_bw, ucp_am_bw on rc_verbs (with
#    ud_verbs for wire-up, as UCX needs) and on ud_verbs alone;
#  - Debian's hpcc (HPC Challenge) under Open MPI's pml ucx, 4 ranks in 2
#    guests: its own verification (HPL residual, PTRANS, RandomAccess,
#    STREAM, "Success=1") is checked;
#  - our data-checked mpi_check built with Open MPI's mpicc and with
#    MPICH's mpicc.mpich, run by mpirun and by mpiexec.mpich, 4 ranks in 2
#    guests (ranks 0,1 in one, 2,3 in the other; pairs cross guests);
#  - a 1 MiB ping-pong registers its buffer once: xenibd's mr_regs grows by
#    the same amount for 20 and for 400 round trips (UCX's registration
#    cache keeps the region because registration is invisible to its
#    memory hooks).
# UCX_TLS leaves out shared memory, so every message goes through xenib0
# (xenibd's wqes counter says so).  Usage: test_mpi.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init mpi "${1:-}"
SRC=$(cd "$(dirname "$0")" && pwd)

for c in ucx_perftest mpirun.openmpi mpicc.openmpi hpcc; do
	command -v "$c" >/dev/null 2>&1 ||
		{ echo "$c is not installed: skipping"; exit 77; }
done
if [ "$(id -u)" -ne 0 ]; then
	echo "not root: xenibd cannot make /dev/infiniband/xenibN: skipping"
	exit 77
fi
if [ "$T_SANITIZED" = 1 ]; then
	# MPI's own libraries under our ASan-built libibverbs: leaks of
	# theirs and preload order make that a test of them, not of us.
	echo "sanitized build: skipping (the plain ctest runs it)"
	exit 77
fi

start_xenibd
TO=${XENIB_MPI_TIMEOUT:-300}
export UCX_NET_DEVICES=xenib0:1 UCX_WARN_UNUSED_ENV_VARS=n
RC_TLS=rc_verbs,ud_verbs,self
export UCX_TLS=$RC_TLS

# The guest a rank belongs to: two ranks per guest.
GUEST=$T_TMP/guest.sh
cat >"$GUEST" <<'EOF'
#!/bin/sh
XENIB_EMU_GUEST=mpiguest$(( ${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}} / 2 ))
export XENIB_EMU_GUEST
exec "$@"
EOF
chmod +x "$GUEST"
OMPI=(timeout -k 5 "$TO" mpirun.openmpi --allow-run-as-root --oversubscribe
      --mca pml ucx --mca btl '^openib,uct'
      -x LD_LIBRARY_PATH -x IBV_CONFIG_DIR -x IBV_PROVIDER_DIR
      -x XENIB_EMU_DIR -x UCX_NET_DEVICES -x UCX_TLS)
wqes() { stat_val "$(xstats)" wqes; }
regs() { stat_val "$(xstats)" mr_regs; }

# --- ucx_perftest ---------------------------------------------------------
P=$((20000 + ($$ % 20000)))
n=0
for tls in "$RC_TLS" ud_verbs,self; do
	for t in "tag_lat -n 5000" "tag_bw -s 65536 -n 2000" \
		 "ucp_put_bw -s 65536 -n 2000" "ucp_am_bw -s 65536 -n 2000"; do
		n=$((n + 1))
		bg_start "$T_TMP/pt$n.srv.log" 60 env UCX_TLS="$tls" \
			ucx_perftest -p $((P + n))
		srv=$BG_PID
		sleep 0.5
		# shellcheck disable=SC2086
		UCX_TLS=$tls timeout 60 ucx_perftest 127.0.0.1 -p $((P + n)) \
			-t $t >"$T_TMP/pt$n.cli.log" 2>&1
		rc=$?
		wait "$srv"
		rs=$?
		[ "$rc" -eq 0 ] && [ "$rs" -eq 0 ] && grep -q '^Final:' "$T_TMP/pt$n.cli.log"
		ok=$?
		[ "$ok" -eq 0 ] || sed 's/^/      /' "$T_TMP/pt$n.cli.log" | tail -n 8
		verdict "ucx_perftest -t ${t%% *} on ${tls%%,*} (xenib0:1)" $ok
	done
done

# --- hpcc under Open MPI ----------------------------------------------------
HP=$T_TMP/hpcc
mkdir -p "$HP"
cp /usr/share/doc/hpcc/examples/_hpccinf.txt "$HP/hpccinf.txt"
w0=$(wqes)
(cd "$HP" && "${OMPI[@]}" -np 4 "$GUEST" hpcc) >"$T_TMP/hpcc.log" 2>&1
rc=$?
w1=$(wqes)
out=$HP/hpccoutf.txt
ra=$(grep -cE 'Found [0-9]+ errors in .* \(passed\)' "$out" 2>/dev/null)
pt=$(grep -cE '^(WALL|CPU) .* PASSED ' "$out" 2>/dev/null)
[ "$rc" -eq 0 ] && grep -q '^Success=1$' "$out" &&
	grep -q 'PASSED$' "$out" &&
	[ "${ra:-0}" -ge 4 ] && [ "${pt:-0}" -ge 2 ] &&
	! grep -qE 'FAILED|\(failed\)' "$out" &&
	grep -q 'Solution Validates' "$out"
ok=$?
[ "$ok" -eq 0 ] && [ "$rc" -eq 0 ] || tail -n 15 "$T_TMP/hpcc.log" | sed 's/^/      /'
verdict "hpcc, 4 ranks in 2 guests: Success=1, HPL and PTRANS ($pt) PASSED, RandomAccess passed ($ra; hpcc allows 1% of the table wrong), STREAM validates" $ok
[ $((w1 - w0)) -gt 10000 ]
verdict "hpcc's traffic went through xenib0 ($((w1 - w0)) WQEs)" $?

# --- mpi_check under Open MPI and MPICH ------------------------------------
# mc_run WHAT LOG CMD...: a 4-rank mpi_check run; passes if it says OK and
# its traffic went through xenib0.
mc_run() {
	local what=$1 log=$T_TMP/$2.log w0 w1 rc ok
	shift 2
	w0=$(wqes)
	"$@" >"$log" 2>&1
	rc=$?
	w1=$(wqes)
	[ "$rc" -eq 0 ] && grep -q 'mpi_check: OK (4 ranks)' "$log" &&
		[ $((w1 - w0)) -gt 600 ]
	ok=$?
	[ "$ok" -eq 0 ] || tail -n 10 "$log" | sed 's/^/      /'
	verdict "mpi_check under $what, 4 ranks in 2 guests, data checked ($((w1 - w0)) WQEs)" $ok
}
mpicc.openmpi -O2 -std=c11 -o "$T_TMP/mc_ompi" "$SRC/mpi_check.c"
verdict "mpi_check builds with Open MPI's mpicc" $?
mc_run "mpirun (Open MPI, pml ucx)" mc_ompi "${OMPI[@]}" -np 4 "$GUEST" \
	"$T_TMP/mc_ompi" 100

# A 1 MiB ping-pong registers its buffer once, however long it runs.
r0=$(regs)
"${OMPI[@]}" -np 2 "$GUEST" "$T_TMP/mc_ompi" 20 1048576 >"$T_TMP/reg20.log" 2>&1
r1=$(regs)
"${OMPI[@]}" -np 2 "$GUEST" "$T_TMP/mc_ompi" 400 1048576 >"$T_TMP/reg400.log" 2>&1
r2=$(regs)
grep -q 'mpi_check: OK' "$T_TMP/reg20.log" && grep -q 'mpi_check: OK' "$T_TMP/reg400.log" &&
	[ $((r2 - r1)) -eq $((r1 - r0)) ] && [ $((r1 - r0)) -gt 0 ]
verdict "1 MiB ping-pong: $((r1 - r0)) registrations for 20 round trips, $((r2 - r1)) for 400 (the cache keeps the buffer)" $?
# The control: without UCX's cache the count does grow with the traffic.
r0=$(regs)
UCX_IB_REG_METHODS=direct "${OMPI[@]}" -x UCX_IB_REG_METHODS -np 2 "$GUEST" \
	"$T_TMP/mc_ompi" 100 1048576 >"$T_TMP/regd.log" 2>&1
r1=$(regs)
grep -q 'mpi_check: OK' "$T_TMP/regd.log" && [ $((r1 - r0)) -ge 200 ]
verdict "control: UCX_IB_REG_METHODS=direct registers per message ($((r1 - r0)) for 100 round trips)" $?

if command -v mpicc.mpich >/dev/null 2>&1 && command -v mpiexec.mpich >/dev/null 2>&1; then
	mpicc.mpich -O2 -std=c11 -o "$T_TMP/mc_mpich" "$SRC/mpi_check.c"
	verdict "mpi_check builds with MPICH's mpicc.mpich" $?
	mc_run "mpiexec.mpich (MPICH ch4:ucx)" mc_mpich timeout -k 5 "$TO" \
		mpiexec.mpich -n 4 "$GUEST" "$T_TMP/mc_mpich" 100
else
	echo "MPICH (mpich, libmpich-dev) is not installed: its run is skipped"
fi

wait_stats 20 contexts=0 qps=0 cqs=0 mrs=0 pds=0
verdict "xenibctl stats: nothing left" $?
stop_xenibd
verdict "xenibd exits 0 on SIGTERM" $?
t_finish
