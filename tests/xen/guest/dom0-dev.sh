#!/bin/bash
# dom0 side of the development loop (tests/xen/dev.sh; kernel argument
# xt_mode=dev): the same machine setup as the test plan, then it runs every
# script the host drops into the 9p share as in/N.sh (with lib.sh's helpers,
# e.g. domu_run) and writes out/N.log and out/N.rc.  The share also holds
# what dev.sh pushes; dom0 serves it to the domUs on 10.77.0.254:8000.
set -uo pipefail
. /xentest/lib.sh
X=/mnt/xt
modprobe 9pnet_virtio && modprobe 9p
mkdir -p $X
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 xt $X || { ts "9p mount FAILED"; exit 1; }
mkdir -p $X/in $X/out
ts "DOM0 UP (dev mode): kernel $(uname -r)"
xt_setup
xt_domus
(cd $X && exec python3 -m http.server --bind 10.77.0.254 8000) >/var/log/xt-http.log 2>&1 &
echo "$PASS passed, $FAIL failed" >$X/ready
ts "dev loop ready"
while :; do
	for f in $X/in/*.sh; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .sh)
		[ -e "$X/out/$n.started" ] && continue
		: >"$X/out/$n.started"
		(
			bash -c ". /xentest/lib.sh; . $f" >"$X/out/$n.log" 2>&1
			echo $? >"$X/out/$n.rc.tmp"
			mv "$X/out/$n.rc.tmp" "$X/out/$n.rc"
		) &
	done
	sleep 1
done
