#!/bin/bash
# domU side of the test RPC (started by init.sh in domu1 and domu2).
# dom0 writes "ID|COMMAND" into our xenstore node data/xt/cmd; we
# acknowledge with data/xt/ack = ID, run COMMAND with sh -c in the
# background (its output goes to our console, hvc0, which xenconsoled logs
# in dom0, each line prefixed "[NAME #ID]") and write its exit status to
# data/xt/rc/ID.  All xenstore paths are relative to our home
# (/local/domain/DOMID), so the agent keeps working after xl restore or
# xl migrate gave the domain a new id.
set -o pipefail
name=$(xenstore-read name)
hostname "$name"
say() { echo "[$name] $*"; }
# xs CMD...: a xenstore tool under a time limit, so that one lost reply
# cannot stall the agent; says so when it happens.
xs() {
	local rc
	timeout -k 2 10 "$@"
	rc=$?
	case $rc in 124 | 137) say "$1 $2 timed out" ;; esac
	return $rc
}

for m in xen-evtchn xen-gntdev xen-netfront; do
	modprobe "$m" || say "modprobe $m FAILED"
done
# The grant-alloc limit: as a module parameter, then through sysfs.
modprobe xen-gntalloc limit=262144 || say "modprobe xen-gntalloc limit=262144 FAILED"
say "PROBE gntalloc limit after 'modprobe xen-gntalloc limit=262144': $(cat /sys/module/xen_gntalloc/parameters/limit 2>&1)"
if echo 131072 >/sys/module/xen_gntalloc/parameters/limit 2>/dev/null; then
	say "PROBE gntalloc limit after writing 131072 to sysfs: $(cat /sys/module/xen_gntalloc/parameters/limit)"
	echo 262144 >/sys/module/xen_gntalloc/parameters/limit
else
	say "PROBE gntalloc limit: sysfs parameter is not writable"
fi
say "PROBE gntdev parameters: $(grep -H . /sys/module/xen_gntdev/parameters/* 2>&1 | tr '\n' ' ')"

n=${name#domu}
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
if ! { ip link set eth0 up && ip addr add "10.77.0.$n/24" dev eth0; }; then
	say "eth0 setup FAILED"
fi
say "up: kernel $(uname -r), domid $(xenstore-read domid), 10.77.0.$n, /dev/xen: $(echo /dev/xen/*)"

# Create our nodes ourselves (we own them), then announce readiness.
xenstore-write data/xt/cmd "" data/xt/ack 0
xenstore-write data/xt/ready 1

# republish: after a restore or migration our xenstore home is new and
# empty; write back ready, the last ack and every exit status.
republish() {
	local f
	xenstore-write data/xt/ready 1 data/xt/ack "${last:-0}"
	for f in /tmp/xt-rc-*; do
		[ -e "$f" ] && xenstore-write "data/xt/rc/${f#/tmp/xt-rc-}" "$(cat "$f")"
	done
	say "domid is now $domid: xenstore nodes republished"
}

last=""
domid=$(xenstore-read domid)
say "agent ready, waiting for commands in data/xt/cmd"
loops=0
while :; do
	loops=$((loops + 1))
	[ $((loops % 100)) != 0 ] || say "agent alive, loop $loops, last job ${last:-none}"
	d=$(xs xenstore-read domid 2>/dev/null) || d=$domid
	if [ "$d" != "$domid" ]; then
		domid=$d
		republish
	fi
	c=$(xs xenstore-read data/xt/cmd 2>/dev/null) || c=""
	id=${c%%|*}
	if [ -n "$c" ] && [ "$id" != "$last" ]; then
		last=$id
		cmd=${c#*|}
		xs xenstore-write data/xt/ack "$id"
		(
			echo "[$name #$id] \$ $cmd"
			sh -c "$cmd" >"/tmp/xt-$id.log" 2>&1 </dev/null
			rc=$?
			sed "s/^/[$name #$id] /" "/tmp/xt-$id.log"
			echo "[$name #$id] exit $rc"
			echo "$rc" >"/tmp/xt-rc-$id"
			# Retry: the write fails while the domain is being
			# suspended or moved.
			until xs xenstore-write "data/xt/rc/$id" "$rc" 2>/dev/null; do
				sleep 1
			done
		) &
	fi
	# Block until data/xt/cmd changes (the watch fires once when set,
	# then on the change), at most 5 s: polling with a fork per read
	# loads the vCPU and disturbs what runs in the domU (perftest's
	# clock calibration).
	timeout -k 2 5 xenstore-watch -n 2 data/xt/cmd >/dev/null 2>&1
done
