#!/usr/bin/env bash
# The emulated device's character node (xenib(7), "DEVICE NODE"): xenibd
# makes <node.dir>/xenibN with node.mode and node.group, names it in the
# run directory, removes it on exit; the number is the first no running
# xenibd holds (a killed one's is taken over).  Its mode gates the device:
# a user who may not read and write it cannot open xenib0 (the provider
# says why) and xenibd refuses that user's HELLO even from a process whose
# library skips the check.  UCX lists rc_verbs and ud_verbs on it.
# The nodes go to a directory of this test's (node.dir), except for the
# UCX check, which needs /dev/infiniband.
# Usage: test_devnode.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init devnode "${1:-}"

if [ "$(id -u)" -ne 0 ]; then
	echo "not root: xenibd cannot mknod here: skipping"
	exit 77
fi
if ! command -v setpriv >/dev/null 2>&1; then
	echo "no setpriv (util-linux): skipping"
	exit 77
fi
NOBODY=65534
# The unprivileged user must reach the run directory and the build.
chmod 755 "$T_TMP"
DEV=$T_TMP/dev
mkdir -p "$DEV"
conf() { # conf FILE MODE [GROUP]
	{
		echo "node.dir = $DEV"
		echo "node.mode = $2"
		[ -z "${3:-}" ] || echo "node.group = $3"
	} >"$1"
}
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }
node_of() { readlink "$1/xenib0.node"; }

conf "$T_TMP/a.conf" 0660
start_xenibd -c "$T_TMP/a.conf"
chmod 755 "$XENIB_EMU_DIR"
A=$(node_of "$XENIB_EMU_DIR")
[ "$A" = "$DEV/xenib0" ] && [ -c "$A" ] &&
	[ "$(stat -c '%a %t %u:%g' "$A")" = "660 78 0:0" ]
verdict "xenibd made $DEV/xenib0: char 120:0, mode 0660, root:root (node.*)" $?

ibv_devinfo -d xenib0 >"$T_TMP/root.log" 2>&1
verdict "root opens xenib0" $?

as_nobody ibv_devinfo -d xenib0 >"$T_TMP/nobody.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "permission denied: this user may not read and write $A" "$T_TMP/nobody.log"
verdict "uid $NOBODY cannot open xenib0; the provider names the node" $?

as_nobody ibv_devices >"$T_TMP/devices.log" 2>&1 && grep -q xenib0 "$T_TMP/devices.log"
verdict "uid $NOBODY still sees xenib0 listed (as with a kernel device)" $?

# A library that skips the check: its own node link says 0666.  xenibd
# checks its own node, so the HELLO is refused all the same.
FAKE=$T_TMP/fake
mkdir -p "$FAKE"
chmod 755 "$FAKE"
ln -s "$XENIB_EMU_DIR/xenib0.sock" "$FAKE/xenib0.sock"
mknod "$FAKE/dummy" c 120 255
chmod 666 "$FAKE/dummy"
ln -s "$FAKE/dummy" "$FAKE/xenib0.node"
XENIB_EMU_DIR=$FAKE as_nobody ibv_devinfo -d xenib0 >"$T_TMP/fake.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "permission denied by xenibd" "$T_TMP/fake.log" &&
	grep -q "HELLO refused: uid $NOBODY may not read and write $A" "$XENIBD_LOG"
verdict "xenibd refuses the HELLO of a uid the node does not admit" $?

# The administrator grants the device to a group: chgrp at run time.
chgrp $NOBODY "$A"
as_nobody ibv_devinfo -d xenib0 >"$T_TMP/nobody2.log" 2>&1
verdict "after chgrp $NOBODY: uid $NOBODY opens xenib0" $?
free_port
bg_start "$T_TMP/pps.log" 60 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
	ibv_rc_pingpong -d xenib0 -i 1 -c -n 50 -p "$PORT"
srv=$BG_PID
wait_listen "$PORT" "$srv"
timeout 60 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
	ibv_rc_pingpong -d xenib0 -i 1 -c -n 50 -p "$PORT" 127.0.0.1 >"$T_TMP/ppc.log" 2>&1
rc=$?
wait "$srv"
rs=$?
[ "$rc" -eq 0 ] && [ "$rs" -eq 0 ] && grep -q 'iters in' "$T_TMP/ppc.log"
verdict "uid $NOBODY runs a data-checked ibv_rc_pingpong on it" $?
chgrp 0 "$A"
as_nobody ibv_devinfo -d xenib0 >/dev/null 2>&1
[ $? -ne 0 ]
verdict "chgrp back: refused again (checked at each open)" $?

# A second xenibd takes the next number; a killed one's number is reused.
RUN_A=$XENIB_EMU_DIR
conf "$T_TMP/b.conf" 0666
XENIB_EMU_DIR=$T_TMP/runb
mkdir -p "$XENIB_EMU_DIR"
bg_start "$T_TMP/b.log" 600 "$B/bin/xenibd" -d "$XENIB_EMU_DIR" -f -c "$T_TMP/b.conf"
PB=$BG_PID
for _ in $(seq 100); do [ -S "$XENIB_EMU_DIR/xenib0.sock" ] && break; sleep 0.1; done
[ "$(node_of "$XENIB_EMU_DIR")" = "$DEV/xenib1" ] && [ -c "$DEV/xenib1" ]
verdict "a second xenibd on the machine gets xenib1" $?
ibv_devinfo -d xenib0 >/dev/null 2>&1
verdict "its guest opens its device" $?
kill -9 "$(child_of "$PB")" 2>/dev/null
wait "$PB" 2>/dev/null
[ -c "$DEV/xenib1" ]
verdict "killed with -9: its node stays behind" $?
rm -f "$XENIB_EMU_DIR/xenib0.sock"
bg_start "$T_TMP/c.log" 600 "$B/bin/xenibd" -d "$XENIB_EMU_DIR" -f -c "$T_TMP/b.conf"
PC=$BG_PID
for _ in $(seq 100); do [ -S "$XENIB_EMU_DIR/xenib0.sock" ] && break; sleep 0.1; done
[ "$(node_of "$XENIB_EMU_DIR")" = "$DEV/xenib1" ] &&
	[ "$(stat -c %a "$DEV/xenib1")" = 666 ]
verdict "the next xenibd takes the dead one's number over" $?
kill "$(child_of "$PC")"
wait "$PC"
rc=$?
[ "$rc" -eq 0 ] && [ ! -e "$DEV/xenib1" ] && [ ! -L "$XENIB_EMU_DIR/xenib0.node" ]
verdict "SIGTERM: xenibd exits 0, its node and link are gone" $?
XENIB_EMU_DIR=$RUN_A

# A group that does not exist is a configuration error, not a silent 0666.
conf "$T_TMP/bad.conf" 0660 no-such-group-xenib
timeout 10 "$B/bin/xenibd" -d "$T_TMP/runbad" -f -c "$T_TMP/bad.conf" >"$T_TMP/bad.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && grep -q "no such group" "$T_TMP/bad.log"
verdict "node.group naming no group: xenibd refuses to start" $?

# UCX takes xenib0 through a node in /dev/infiniband (the default node.dir).
if command -v ucx_info >/dev/null 2>&1; then
	XENIB_EMU_DIR=$T_TMP/rund
	mkdir -p "$XENIB_EMU_DIR"
	bg_start "$T_TMP/d.log" 600 "$B/bin/xenibd" -d "$XENIB_EMU_DIR" -f
	PD=$BG_PID
	for _ in $(seq 100); do [ -S "$XENIB_EMU_DIR/xenib0.sock" ] && break; sleep 0.1; done
	N=$(node_of "$XENIB_EMU_DIR")
	# ucx_info loads our ASan-built libibverbs in a sanitized build.
	pre=
	[ "$T_SANITIZED" = 1 ] && pre=$(gcc -print-file-name=libasan.so)
	env ${pre:+LD_PRELOAD=$pre} UCX_NET_DEVICES=xenib0:1 ucx_info -d >"$T_TMP/ucx.log" 2>&1
	case $N in /dev/infiniband/xenib*) true ;; *) false ;; esac &&
		grep -q 'Transport: rc_verbs' "$T_TMP/ucx.log" &&
		grep -q 'Transport: ud_verbs' "$T_TMP/ucx.log" &&
		grep -q 'Device: xenib0:1' "$T_TMP/ucx.log"
	verdict "ucx_info -d lists rc_verbs and ud_verbs on xenib0:1 (node $N)" $?
	kill "$(child_of "$PD")"
	wait "$PD"
	[ ! -e "$N" ]
	verdict "and its node is removed at exit" $?
	XENIB_EMU_DIR=$RUN_A
fi

stop_xenibd
[ $? -eq 0 ] && [ ! -e "$A" ]
verdict "xenibd exits 0 on SIGTERM and removes $A" $?
t_finish
