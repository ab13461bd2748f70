#!/bin/sh
# PID 1 of dom0 and of both domUs (kernel argument init=/xentest/init.sh).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sys /sys 2>/dev/null
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
mount -t xenfs xenfs /proc/xen
ip link set lo up
if grep -q control_d /proc/xen/capabilities 2>/dev/null; then
	hostname dom0
	if grep -q 'xt_mode=dev' /proc/cmdline; then
		/xentest/dom0-dev.sh
	else
		/xentest/dom0-test.sh
	fi
	sync
	echo "=== DOM0 TEST SCRIPT FINISHED, powering off ==="
	echo o >/proc/sysrq-trigger
else
	/xentest/domu-agent.sh
fi
while :; do sleep 3600; done
