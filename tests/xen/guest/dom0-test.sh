#!/bin/bash
# xenib integration test on real Xen; runs in dom0 as part of PID 1
# (init.sh).  Output goes to hvc0 -> Xen console -> QEMU serial (run.log).
# It drives everything: starts domu1 and domu2 (whose init runs
# domu-agent.sh), runs commands in them through a small RPC over xenstore
# and prints "RESULT PASS|FAIL: ..." per check, "BENCH ..." numbers and
# finally "xen-integration: N passed, M failed".
#
# Steps (kernel argument xt_steps=LETTERS picks a subset, e.g. xt_steps=ab
# to stop after step b; default abcdefgh):
#   a  Xen, bridge xenbr0, domu1 + domu2, ping between them
#   b  xenibd -f -x domu1 -x domu2 (Xen mode) in dom0
#   c  ibv_devices / ibv_devinfo -v in each domU; xenstore permissions;
#      ENOSPC past the gntalloc limit; xenibctl detach / attach of domu2
#   d  ibv_rc_pingpong domu1 -> domu2 (-n 200; -s 65536 -n 50)
#   e  ib_write_bw, ib_send_lat domu1 -> domu2
#   f  long ibv_rc_pingpong across xl save / restore / migrate of domu1,
#      same LID and GID afterwards, no kernel BUG/WARNING in domu1
#   g  BENCH: ib_write_bw / ib_write_lat over Xen and over the emulated
#      hypervisor in dom0 (median and spread of xt_bench_n runs)
#   h  reclaim: kill -9 of a verbs process in domu2, then xl destroy of
#      domu2 with a context open; xenibd's counters must drop to 0
# Other kernel arguments: xt_long_n=N fixes the iteration count of step f,
# xt_bench_n=R the repetitions of step g (default 3).
set -uo pipefail

. /xentest/lib.sh
STEPS=$(karg xt_steps)
STEPS=${STEPS:-abcdefgh}
want() { case $STEPS in *"$1"*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------- setup
# Keep dom0's disk current: run.sh reads the logs out of it, also after
# killing a hung run.
(while :; do
	sleep 15
	dmesg >/var/log/xt-dmesg.log
	ps -eo pid,ppid,stat,etime,time,args >/var/log/xt-ps.log
	sync
done) &
ts "DOM0 UP: kernel $(uname -r), caps='$(cat /proc/xen/capabilities)', steps=$STEPS"
cat /xenib-source 2>/dev/null
dpkg-query -W xenib-guest xenibd 2>&1
xt_setup

# ---------------------------------------------------------------- a
section "a: xl create domu1 domu2, network"
xt_domus

# ---------------------------------------------------------------- b
XENIBD_PID=""
if want b; then
	section "b: xenibd -f -x domu1 -x domu2 (Xen mode)"
	xenibd -f -x domu1 -x domu2 >/var/log/xenibd.log 2>&1 &
	XENIBD_PID=$!
	sleep 8
	kill -0 "$XENIBD_PID" 2>/dev/null
	ok $? "xenibd running (Xen mode, domu1 + domu2 attached)"
	tail -n 20 /var/log/xenibd.log
	xenstore-ls -f /local/domain/0/backend 2>/dev/null | grep -i xenib | head -20
fi

# ---------------------------------------------------------------- c
if want c; then
	section "c: ibv_devices, ibv_devinfo -v in each domU"
	for d in domu1 domu2; do
		domu_run "$d" 60 'ibv_devices; ibv_devices | grep -qw xenib0'
		ok $? "$d: ibv_devices lists xenib0"
		# shellcheck disable=SC2016 # expands in the domU
		domu_run "$d" 60 'ibv_devinfo -v -d xenib0 >/tmp/di 2>&1; rc=$?; grep -E "hca_id|transport|node_guid|max_qp:|max_mr_size|port:|state:|active_mtu|link_layer|GID" /tmp/di; [ $rc = 0 ] && grep -q PORT_ACTIVE /tmp/di'
		ok $? "$d: ibv_devinfo -v exits 0, xenib0 PORT_ACTIVE"
		# The device's node (xenib(7), "DEVICE NODE"), from xenstore.
		domu_run "$d" 60 'xenib-node; stat -c "%F %t:%T %a" /dev/infiniband/xenib0 | grep -qx "character special file 78:0 666" && ibv_devinfo -d xenib0 >/dev/null'
		ok $? "$d: xenib-node makes /dev/infiniband/xenib0 (char 120:0, 0666); the device opens"
		domu_run "$d" 60 'ucx_info -d >/tmp/ucx 2>&1; grep -q "Transport: rc_verbs" /tmp/ucx && grep -q "Transport: ud_verbs" /tmp/ucx && grep -q "Device: xenib0:1" /tmp/ucx'
		ok $? "$d: ucx_info -d lists rc_verbs and ud_verbs on xenib0:1"
	done
	# The nodes are for their guest only.
	D1=$(domid domu1)
	domu_run domu1 30 "xenstore-read device/xenib/0/backend-id && xenstore-read /local/domain/0/backend/xenib/$D1/0/state"
	ok $? "domu1 reads its xenib nodes (frontend and backend directory)"
	domu_run domu2 30 "! xenstore-read /local/domain/$D1/device/xenib/0/backend-id && ! xenstore-read /local/domain/0/backend/xenib/$D1/0/state"
	ok $? "domu2 cannot read domu1's xenib nodes"
	# Past the guest's gntalloc limit: a clear error, nothing broken.
	domu_run domu1 60 'echo 200 >/sys/module/xen_gntalloc/parameters/limit; ibv_rc_pingpong -d xenib0 -g 0 -s 2097152 -p 18700 >/tmp/gl.log 2>&1; rc=$?; echo 262144 >/sys/module/xen_gntalloc/parameters/limit; cat /tmp/gl.log; [ $rc != 0 ] && grep -q "No space left on device (gntalloc limit: /sys/module/xen_gntalloc/parameters/limit; grant table: xl.cfg max_grant_frames)" /tmp/gl.log'
	ok $? "domu1: registering 2 MiB past a gntalloc limit of 200 pages fails with ENOSPC naming both limits"
	# Run-time detach and attach.
	xenibctl -d /run/xenib detach domu2
	ok $? "xenibctl detach domu2"
	domu_run domu2 60 '! ibv_devices | grep -w xenib0'
	ok $? "domu2: no xenib0 after the detach"
	domu_run domu2 60 'xenib-node; [ ! -e /dev/infiniband/xenib0 ]'
	ok $? "domu2: xenib-node removes the detached device's node"
	xenibctl -d /run/xenib attach domu2
	ok $? "xenibctl attach domu2"
	domu_run domu2 60 'ibv_devices | grep -w xenib0'
	ok $? "domu2: xenib0 back after the attach"
	domu_run domu2 60 'xenib-node; [ -c /dev/infiniband/xenib0 ]'
	ok $? "domu2: xenib-node makes its node again"
fi

# ---------------------------------------------------------------- d
PP_USEC=""
if want d; then
	section "d: ibv_rc_pingpong domu1 -> domu2"
	pair "ibv_rc_pingpong -g 0 -c -n 200" 300 18515 \
		"ibv_rc_pingpong -d xenib0 -g 0 -c -n 200" \
		"ibv_rc_pingpong -d xenib0 -g 0 -c -n 200 10.77.0.2"
	PP_USEC=$(job_out domu1 "$PAIR_CJOB" | sed -n 's/.* seconds = \([0-9.]*\) usec\/iter.*/\1/p' | tail -n 1)
	ts "pingpong -n 200: ${PP_USEC:-?} usec/iter"
	pair "ibv_rc_pingpong -g 0 -c -s 65536 -n 50" 300 18515 \
		"ibv_rc_pingpong -d xenib0 -g 0 -c -s 65536 -n 50" \
		"ibv_rc_pingpong -d xenib0 -g 0 -c -s 65536 -n 50 10.77.0.2"
fi

# ---------------------------------------------------------------- e
if want e; then
	section "e: perftest domu1 -> domu2"
	perf_pair "ib_write_bw -n 500" 300 \
		"ib_write_bw -d xenib0 -n 500" "ib_write_bw -d xenib0 -n 500 10.77.0.2"
	perf_pair "ib_send_lat -n 500" 300 \
		"ib_send_lat -d xenib0 -n 500" "ib_send_lat -d xenib0 -n 500 10.77.0.2"
	# UCP over xenib0 between the domUs (UCX's own TCP wire for setup).
	UCXE="env UCX_NET_DEVICES=xenib0:1 UCX_TLS=rc_verbs,ud_verbs,self"
	pair "ucx_perftest tag_lat (rc_verbs)" 300 18515 \
		"$UCXE ucx_perftest -p 18515" \
		"$UCXE ucx_perftest 10.77.0.2 -p 18515 -t tag_lat -n 500"
	pair "ucx_perftest tag_bw 64 KiB (rc_verbs)" 300 18515 \
		"$UCXE ucx_perftest -p 18515" \
		"$UCXE ucx_perftest 10.77.0.2 -p 18515 -t tag_bw -s 65536 -n 200"
fi

# ---------------------------------------------------------------- f
# port_id NAME: "LID GID" of xenib0 port 1 in domain NAME.
port_id() {
	domu_run "$1" 60 'ibv_devinfo -v -d xenib0 | grep -e port_lid: -e "GID.*fe80"' |
		awk '/port_lid:/ { l = $NF } /GID/ { g = $NF } END { if (l != "" && g != "") print l, g }'
}
if want f; then
	section "f: long ibv_rc_pingpong across xl save/restore/migrate of domu1"
	N=$(karg xt_long_n)
	if [ -z "$N" ]; then
		# About 150 s of pingpong at step d's rate, at least 5000: it
		# must still run when xl migrate suspends domu1, after 15 s
		# before the save, the wait for the agent after the restore,
		# 5 s, and the migration's pre-copy rounds (suspended time does
		# not count).  Step f runs it about 2x slower than step d does
		# (dom0 is busy saving and copying); with 90 s worth (4121
		# iterations at 47 ms) it once ended during the pre-copy.
		N=$(awk -v u="${PP_USEC:-0}" 'BEGIN { n = (u > 0) ? int(150e6 / u) : 8000; if (n < 5000) n = 5000; print n }')
	fi
	ID0=$(port_id domu1)
	ts "domu1 xenib0 port: LID GID = ${ID0:-?}; long pingpong: -n $N (step d: ${PP_USEC:-?} usec/iter)"
	domu_start domu2 "timeout 1500 ibv_rc_pingpong -d xenib0 -g 0 -c -n $N"
	SJ=$JOB
	if wait_listen domu2 18515 60 "$SJ"; then
		domu_start domu1 "timeout 1500 ibv_rc_pingpong -d xenib0 -g 0 -c -n $N 10.77.0.2"
		CJ=$JOB
		sleep 15
		! domu_done domu1 "$CJ"
		ok $? "long pingpong still running before xl save"
		ts "xl save domu1"
		xl save domu1 /var/lib/xen/domu1.chk
		ok $? "xl save domu1 during pingpong"
		ts "xl restore domu1"
		xl restore /var/lib/xen/domu1.chk
		ok $? "xl restore domu1 during pingpong"
		rm -f /var/lib/xen/domu1.chk
		ts "domu1 is now domid $(domid domu1)"
		domu_run domu1 60 'echo agent alive after restore'
		ok $? "domu1 agent answers after restore"
		sleep 5
		! domu_done domu1 "$CJ"
		ok $? "long pingpong still running before xl migrate"
		ts "xl migrate domu1 (localhost)"
		timeout 600 xl migrate -s "" domu1 "xl migrate-receive"
		ok $? "xl migrate domu1 during pingpong"
		ts "domu1 is now domid $(domid domu1)"
		domu_wait domu1 1500 "$CJ"
		ok $? "long pingpong client (domu1, saved/restored/migrated) exit 0, data checked"
		domu_wait domu2 120 "$SJ"
		ok $? "long pingpong server (domu2) exit 0, data checked"
		job_out domu1 "$CJ" | grep -q 'domain resumed as .*: reconnecting' &&
			[ "$(job_out domu1 "$CJ" | grep -c 'context reconnected')" = 2 ]
		ok $? "domu1's context reconnected after the restore and after the migration"
		ID1=$(port_id domu1)
		ts "domu1 xenib0 port after migration: LID GID = ${ID1:-?}"
		[ -n "$ID0" ] && [ "$ID0" = "$ID1" ]
		ok $? "domu1 keeps its LID and GID across save/restore and migration"
	else
		domu_wait domu2 10 "$SJ"
		ok 1 "long pingpong: server not listening"
	fi
	domu_run domu1 30 'ps -eo pid,args | grep "[x]enib-evtchn-keeper"; ! dmesg | grep -E "kernel BUG|WARNING:"'
	ok $? "domu1's kernel logged no BUG or WARNING (pre-suspend event channels kept by xenib-evtchn-keeper)"
fi

# ---------------------------------------------------------------- g
# Numbers, not pass/fail: each figure R times (kernel argument
# xt_bench_n, default 3), interleaved, median and spread.  Xen: domu1 ->
# domu2 through xenibd in dom0.  Emulated: two dom0 processes through a
# second xenibd in dom0 (the same code above the hypervisor layer).
# perf_col SIZE COL: column COL of perftest's result line for SIZE bytes.
perf_col() { awk -v c="$2" -v b="$1" '$1 == b && NF >= c && $2 ~ /^[0-9]+$/ && $c ~ /^[0-9.]+$/ { v = $c } END { print v }'; }
# counters DIR: "doorbells wqes" of the xenibd with its admin socket in DIR.
counters() {
	xenibctl -d "$1" stats | awk '$1 == "doorbells" { d = $2 } $1 == "wqes" { w = $2 } END { print d + 0, w + 0 }'
}
# kicks TAG BEFORE: append "doorbells wqes" since BEFORE (counters) to
# /tmp/b-TAG-kicks.
kicks() {
	echo "$2 $(counters "$3")" | awk '{ print $3 - $1, $4 - $2 }' >>"/tmp/b-$1-kicks"
}
# xen_sample TAG SIZE COL CMD: one Xen figure appended to /tmp/b-TAG (3
# tries on a failed calibration).
xen_sample() {
	local v c0
	for _ in 1 2 3; do
		c0=$(counters /run/xenib)
		run_pair "bench $4 (xen)" 600 18515 "$4" "$4 10.77.0.2" >&2 || continue
		v=$(job_out domu1 "$PAIR_CJOB" | perf_col "$2" "$3")
		if [ -n "$v" ]; then
			echo "$v" >>"/tmp/b-$1"
			kicks "$1" "$c0" /run/xenib
			return 0
		fi
	done
	return 1
}
# emu_sample TAG SIZE COL CMD: the same over the emulated hypervisor.
emu_sample() {
	local tag=$1 v s c r i c0
	shift
	for _ in 1 2 3; do
		c0=$(counters $E)
		# shellcheck disable=SC2086 # CMD is words
		XENIB_EMU_DIR=$E timeout 300 $3 >/tmp/emu-srv.log 2>&1 &
		s=$!
		for ((i = 0; i < 60; i++)); do ss -ltn | grep -q ':18515 ' && break; sleep 0.5; done
		# shellcheck disable=SC2086
		XENIB_EMU_DIR=$E timeout 300 $3 127.0.0.1 >/tmp/emu-cli.log 2>&1
		c=$?
		wait $s
		r=$?
		[ $c = 0 ] && [ $r = 0 ] || { sed 's/^/  emu| /' /tmp/emu-cli.log /tmp/emu-srv.log >&2; continue; }
		v=$(perf_col "$1" "$2" </tmp/emu-cli.log)
		if [ -n "$v" ]; then
			echo "$v" >>"/tmp/b-$tag"
			kicks "$tag" "$c0" $E
			return 0
		fi
	done
	return 1
}
# stats FILE: "median (min-max, n=N)" of the numbers in FILE.
stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (!NR) { print "n/a"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%g (%g-%g, n=%d)\n", m, v[1], v[NR], NR }'
}
median() { stats "$1" | awk '{ print $1 }'; }
if want g; then
	section "g: BENCH ib_write_bw / ib_write_lat, Xen vs emulated hypervisor"
	R=$(karg xt_bench_n)
	R=${R:-3}
	E=/tmp/xenib-emu
	mkdir -p $E
	# In dom0 xenibd picks Xen by itself: force the emulation.
	echo "hypervisor = emulated" >$E/emu.conf
	xenibd -f -c $E/emu.conf -d $E >/var/log/xenibd-emu.log 2>&1 &
	EP=$!
	for ((i = 0; i < 40; i++)); do [ -S $E/xenib0.sock ] && break; sleep 0.5; done
	rm -f /tmp/b-*
	BW="ib_write_bw -d xenib0 -s 65536 -n 300"
	LAT="ib_write_lat -d xenib0 -s 8 -n 300"
	for ((r = 1; r <= R; r++)); do
		ts "bench round $r/$R"
		xen_sample xbw 65536 4 "$BW"
		emu_sample ebw 65536 4 "$BW"
		xen_sample xlat 8 5 "$LAT"
		emu_sample elat 8 5 "$LAT"
	done
	kill "$EP" 2>/dev/null
	wait "$EP" 2>/dev/null
	for f in xbw ebw xlat elat; do touch /tmp/b-$f /tmp/b-$f-kicks; done
	ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
	# per_wqe TAG: guest kicks (doorbells) per work request executed.
	per_wqe() { awk '{ d += $1; w += $2 } END { if (w) printf "%.3f", d / w; else print "n/a" }' "/tmp/b-$1-kicks"; }
	echo "BENCH $BW: BW average MB/s: xen $(stats /tmp/b-xbw); emulated $(stats /tmp/b-ebw); xen/emulated $(ratio /tmp/b-xbw /tmp/b-ebw); doorbells per WQE: xen $(per_wqe xbw), emulated $(per_wqe ebw)"
	echo "BENCH $LAT: t_typical usec: xen $(stats /tmp/b-xlat); emulated $(stats /tmp/b-elat); xen/emulated $(ratio /tmp/b-xlat /tmp/b-elat); doorbells per WQE: xen $(per_wqe xlat), emulated $(per_wqe elat)"
	[ -s /tmp/b-xbw ] && [ -s /tmp/b-xlat ] && [ -s /tmp/b-ebw ] && [ -s /tmp/b-elat ]
	ok $? "bench: every figure measured at least once"
fi

# ---------------------------------------------------------------- h
# stat NAME: one counter of xenibd (Xen mode, admin socket in /run/xenib).
stat() { xenibctl -d /run/xenib stats | awk -v n="$1" '$1 == n { print $2 }'; }
# wait_stat NAME VALUE SECS: until counter NAME is VALUE.
wait_stat() {
	local i
	for ((i = 0; i < $3 * 2; i++)); do
		[ "$(stat "$1")" = "$2" ] && return 0
		sleep 0.5
	done
	ts "xenibd $1 is $(stat "$1"), not $2, after $3 s"
	return 1
}
if want h; then
	section "h: reclaim: kill -9 of a guest process, xl destroy of a guest"
	wait_stat contexts 0 10
	ok $? "no contexts left from the steps before"
	# A server pingpong holds a context, a PD, an MR, a CQ and a QP
	# while it waits for its client.
	domu_start domu2 'ibv_rc_pingpong -d xenib0 -g 0 -p 18600 & echo $! >/tmp/pp.pid; wait'
	J=$JOB
	wait_stat qps 1 60
	ok $? "domu2 process holds a QP"
	xenibctl -d /run/xenib stats | grep -E '^(contexts|pds|mrs|cqs|qps|regions|notifiers) ' | tr '\n' ' '
	echo
	# shellcheck disable=SC2016 # expands in the domU
	domu_run domu2 30 'kill -9 $(cat /tmp/pp.pid)' >/dev/null
	wait_stat contexts 0 10 && wait_stat qps 0 1 && wait_stat mrs 0 1 &&
		wait_stat regions 0 1 && wait_stat notifiers 0 1
	ok $? "kill -9 in domu2: xenibd reclaims the context and its objects"
	domu_wait domu2 30 "$J" >/dev/null
	domu_start domu2 'ibv_rc_pingpong -d xenib0 -g 0 -p 18601'
	wait_stat qps 1 60
	ok $? "domu2 process holds a QP again"
	ts "xl destroy domu2"
	xl destroy domu2
	wait_stat contexts 0 10 && wait_stat qps 0 1 && wait_stat regions 0 1
	ok $? "xl destroy domu2: xenibd reclaims its contexts"
	grep 'domu2' /var/log/xenibd.log | tail -n 3
	xenstore-ls /local/domain/0/backend/xenib 2>/dev/null | grep -q "^$(domid domu1 2>/dev/null || echo x) "
	ok $? "domu1 stays attached"
fi

# ---------------------------------------------------------------- end
section "end"
if [ -n "$XENIBD_PID" ]; then
	kill -0 "$XENIBD_PID" 2>/dev/null
	ok $? "xenibd still running at the end"
	kill "$XENIBD_PID" 2>/dev/null
	wait "$XENIBD_PID"
	ts "xenibd exit status $? (SIGTERM)"
	ts "xenibd log tail:"
	tail -n 40 /var/log/xenibd.log
fi
xl list
ts "xl dmesg tail:"
xl dmesg | tail -n 15
for d in domu1 domu2; do xl destroy "$d" 2>/dev/null; done
sync
ts "ALL DONE"
echo "xen-integration: $PASS passed, $FAIL failed"
