#!/bin/bash
# Shared by dom0-test.sh (the test plan) and dom0-dev.sh (the development
# loop of tests/xen/dev.sh): output helpers, the RPC to the domU agents over
# xenstore and the machine setup (Xen daemons, bridge, domu1 + domu2).
# Sourced; expects bash.

PASS=0
FAIL=0
CONS=/var/log/xen/console
ts() { echo "[dom0 $(cut -d' ' -f1 /proc/uptime)] $*"; }
ok() {
	if [ "$1" = 0 ]; then
		PASS=$((PASS + 1))
		echo "RESULT PASS: $2"
	else
		FAIL=$((FAIL + 1))
		echo "RESULT FAIL: $2 (rc=$1)"
	fi
}
probe() { echo "PROBE $*"; }
karg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1; }
section() { echo; ts "=== $* ==="; }

# ---------------------------------------------------------------- RPC
# domid NAME: current domain id (changes on restore and migrate).
domid() { xl domid "$1" 2>/dev/null; }
home() {
	local d
	d=$(domid "$1") || return 1
	echo "/local/domain/$d"
}
JOB=""
JOB_domu1="" # set by printf -v in domu_start, read by domu_wait
JOB_domu2=""
: "$JOB_domu1" "$JOB_domu2"
# next_job: a new job id in JOB.  From a counter file, so that ids stay
# unique across subshells ($(...)) and concurrent scripts (dev.sh).
next_job() {
	JOB=$({
		flock 9
		n=$(($(cat /run/xt-job 2>/dev/null || echo 0) + 1))
		echo "$n" >/run/xt-job
		echo "$n"
	} 9>>/run/xt-job.lock)
}
# domu_start NAME CMD: run CMD with sh -c in domain NAME, in the
# background; JOB is set to its id.  Returns once the agent picked it up,
# fails if it has not within 180 s: a domU whose one vCPU a polling
# pingpong keeps busy, just restored, has taken 50-70 s to pick up a job.
# CMD must not contain backslashes: xenstore-write expands escapes.
domu_start() {
	local name=$1 cmd=$2 h end
	case $cmd in *\\*)
		ts "domu_start: no backslashes in commands (xenstore-write eats them): $cmd"
		return 1 ;;
	esac
	next_job
	printf -v "JOB_$name" '%s' "$JOB"
	end=$(($(date +%s) + 180))
	while [ "$(date +%s)" -lt "$end" ]; do
		if h=$(home "$name"); then
			[ "$(xenstore-read "$h/data/xt/ack" 2>/dev/null)" = "$JOB" ] && return 0
			# (Re)write: a restore starts the domain with an empty home.
			[ "$(xenstore-read "$h/data/xt/cmd" 2>/dev/null)" = "$JOB|$cmd" ] ||
				xenstore-write "$h/data/xt/cmd" "$JOB|$cmd" 2>/dev/null
		fi
		sleep 0.5
	done
	ts "domu_start $name: the agent did not pick up job $JOB within 180 s; xenstore and console tail:"
	h=$(home "$name") && xenstore-ls "$h/data"
	tr -d '\r' <"$CONS/guest-$name.log" | tail -n 20
	return 1
}
# job_out NAME JOB: the job's output lines from the domain's console log.
job_out() {
	cat "$CONS"/guest-"$1"*.log 2>/dev/null | tr -d '\r' |
		sed -n "s/^\[$1 #$2\] //p"
}
# domu_done NAME [JOB]: has the job finished (its status is published)?
domu_done() {
	local name=$1 job=${2:-} h v
	[ -n "$job" ] || { v="JOB_$name"; job=${!v}; }
	h=$(home "$name") || return 1
	xenstore-read "$h/data/xt/rc/$job" >/dev/null 2>&1
}
# domu_wait NAME TIMEOUT [JOB]: wait for a job (default: NAME's last one),
# print its output, return its exit status (124 on timeout).
domu_wait() {
	local name=$1 to=$2 job=${3:-} h rc="" end v
	[ -n "$job" ] || { v="JOB_$name"; job=${!v}; }
	end=$(($(date +%s) + to))
	while [ "$(date +%s)" -lt "$end" ]; do
		rc=""
		if ! h=$(home "$name"); then
			sleep 1 # being saved, restored or migrated
			continue
		fi
		rc=$(xenstore-read "$h/data/xt/rc/$job" 2>/dev/null) && break
		rc=""
		# Until the status appears (the watch fires at once, then
		# on the write), at most 5 s: the home moves on a restore.
		timeout -k 2 5 xenstore-watch -n 2 "$h/data/xt/rc/$job" >/dev/null 2>&1 || true
	done
	sleep 1 # let xenconsoled write the output
	job_out "$name" "$job" | sed "s/^/  $name| /"
	if [ -z "$rc" ]; then
		ts "$name job $job: no exit status within $to s"
		return 124
	fi
	return "$rc"
}
# domu_run NAME TIMEOUT CMD: domu_start + domu_wait.
domu_run() {
	domu_start "$1" "$3" || return 125
	domu_wait "$1" "$2"
}
# wait_listen NAME PORT TIMEOUT SJOB: a TCP listener on PORT in domain
# NAME; fails early when job SJOB (the server) has ended.
wait_listen() {
	domu_run "$1" "$(($3 + 30))" "e=\$((\$(date +%s) + $3)); until ss -ltn | grep -q ':$2 '; do [ -e /tmp/xt-rc-$4 ] && exit 2; [ \$(date +%s) -lt \$e ] || exit 1; sleep 0.5; done" >/dev/null
}
# run_pair DESC TIMEOUT PORT SERVER_CMD CLIENT_CMD: server in domu2, client
# in domu1, each under timeout(1).  Returns 0 if both exit 0; PAIR_WHY says
# what failed, PAIR_SJOB/PAIR_CJOB are the jobs.
run_pair() {
	local desc=$1 to=$2 port=$3 srv=$4 cli=$5 src crc
	PAIR_WHY="" PAIR_SJOB="" PAIR_CJOB=""
	ts "$desc: server domu2: $srv"
	domu_start domu2 "timeout $to $srv" || { PAIR_WHY="server not started"; return 1; }
	PAIR_SJOB=$JOB
	if ! wait_listen domu2 "$port" 60 "$PAIR_SJOB"; then
		domu_wait domu2 10 "$PAIR_SJOB"
		PAIR_WHY="server not listening on $port"
		return 1
	fi
	ts "$desc: client domu1: $cli"
	domu_run domu1 "$((to + 30))" "timeout $to $cli"
	crc=$?
	PAIR_CJOB=$JOB
	domu_wait domu2 60 "$PAIR_SJOB"
	src=$?
	ts "$desc: client rc=$crc server rc=$src"
	[ "$crc" = 0 ] && [ "$src" = 0 ] && return 0
	PAIR_WHY="client rc=$crc, server rc=$src"
	return 1
}

# pair DESC TIMEOUT PORT SERVER_CMD CLIENT_CMD: run_pair, one RESULT line.
pair() {
	run_pair "$@"
	ok $? "$1${PAIR_WHY:+ ($PAIR_WHY)}"
}

# perf_pair DESC TIMEOUT SERVER_CMD CLIENT_CMD: a perftest pair on port
# 18515.  perftest times with the TSC after calibrating it against
# gettimeofday; on a busy emulated CPU the calibration fails now and then
# ("Correlation coefficient r^2 < 0.9": no report, or "inf" figures), which
# says nothing about xenib, so such a run is repeated (3 tries).
perf_pair() {
	local desc=$1 try rc
	for try in 1 2 3; do
		run_pair "$desc" "$2" 18515 "$3" "$4"
		rc=$?
		if job_out domu1 "$PAIR_CJOB" | grep -q -e "Can't produce a report" -e '[[:space:]]inf[[:space:]]'; then
			ts "$desc: perftest could not calibrate its clock (try $try)"
			rc=1
			PAIR_WHY="perftest clock calibration failed 3 times"
			continue
		fi
		break
	done
	ok $rc "$desc${PAIR_WHY:+ ($PAIR_WHY)}"
	return $rc
}

# ---------------------------------------------------------------- setup
# xt_setup: kernel modules, Xen daemons (console logs in $CONS), bridge
# xenbr0 10.77.0.254/24 for the domUs' vifs.
xt_setup() {
	local m
	for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback xen-netback bridge; do
		modprobe "$m" || ts "modprobe $m FAILED"
	done
	echo /dev/xen/*
	# Start clean (an image may be reused with build.sh --scripts).
	rm -rf "$CONS" /var/log/xen/*.log /var/log/xenibd*.log /var/lib/xen/*.chk
	mkdir -p "$CONS" /var/lib/xen /var/log/xen
	export XENCONSOLED_ARGS="--log=guest --log-dir=$CONS"
	/etc/init.d/xen start
	ts "xen daemons started"
	xl info | grep -E 'xen_version|xen_commandline|total_memory|free_memory|nr_cpus'
	ip link add xenbr0 type bridge &&
		ip addr add 10.77.0.254/24 dev xenbr0 &&
		ip link set xenbr0 up
	ok $? "bridge xenbr0 10.77.0.254/24 up"
}

# domu_up NAME: wait (300 s) for NAME's agent to say it is ready.
domu_up() {
	local name=$1 i h
	for ((i = 0; i < 300; i++)); do
		h=$(home "$name") &&
			[ "$(xenstore-read "$h/data/xt/ready" 2>/dev/null)" = 1 ] && return 0
		sleep 1
	done
	return 1
}

# xt_domus: create domu1 and domu2, wait for their agents and network.
xt_domus() {
	local d v n
	for d in domu1 domu2; do
		ts "xl create $d"
		xl create "/xentest/$d.cfg"
		ok $? "xl create $d"
	done
	xl list
	for d in domu1 domu2; do
		domu_up "$d"
		ok $? "$d agent up (xenstore RPC ready)"
	done
	for d in domu1 domu2; do
		v=$(xenstore-list "/local/domain/0/backend/vif/$(domid $d)" 2>/dev/null | head -n 1)
		ts "$d vif: hotplug-status=$(xenstore-read "/local/domain/0/backend/vif/$(domid $d)/${v:-0}/hotplug-status" 2>&1)"
	done
	ip -br link show master xenbr0
	n=$(ip -br link show master xenbr0 | grep -c '^vif')
	[ "$n" = 2 ]
	ok $? "vif hotplug (vif-bridge): both vifs in xenbr0"
	if [ "$n" != 2 ]; then
		tail -n 30 /var/log/xen/xen-hotplug.log /var/log/xen/xl-domu*.log 2>/dev/null
	fi
	domu_run domu1 60 'ping -c 2 -W 5 10.77.0.2'
	ok $? "domu1 pings domu2 (10.77.0.2)"
	domu_run domu2 60 'ping -c 2 -W 5 10.77.0.1'
	ok $? "domu2 pings domu1 (10.77.0.1)"
}
