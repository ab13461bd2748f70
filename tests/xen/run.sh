#!/usr/bin/env bash
# Boot the test machine built by build.sh: Xen 4.17 (multiboot through QEMU
# -kernel) with a PV Debian dom0, under QEMU TCG (software emulation; this
# machine's /dev/kvm cannot run Xen).  dom0's init runs
# /xentest/dom0-test.sh, which starts domu1 and domu2, runs the tests and
# powers off.
#   bash tests/xen/run.sh WORKDIR [TIMEOUT_SECS]      (default 2400)
# Serial log: WORKDIR/run.log; domU consoles, xenibd and xl logs are copied
# out of dom0.img into WORKDIR/logs/.  Exit status 0 only if the log ends
# with "xen-integration: N passed, 0 failed" (N >= 1).
# Env: XT_STEPS (letters of dom0-test.sh's steps to run, e.g. "ab"),
# XT_LONG_N (iterations of the long pingpong), XT_BENCH_N (repetitions of
# the benchmark, default 3), XT_CPU (QEMU -cpu),
# XT_XEN (bookworm: Xen 4.17.5, default; newest: 4.17.7), VM_MEM (MiB, default 1664),
# DOM0_MEM (default 512M), XEN_EXTRA / DOM0_EXTRA (more boot arguments),
# XT_DEV_SHARE (a host directory: boot the development loop of dev.sh,
# guest/dom0-dev.sh, with that directory as dom0's 9p share "xt").
set -uo pipefail
W=${1:?usage: run.sh WORKDIR [TIMEOUT_SECS]}
TMO=${2:-2400}
W=$(cd "$W" && pwd) || exit 1
LOG=$W/run.log
# Hypervisor: bookworm's 4.17.5 by default (it can live-migrate PV
# domains); XT_XEN=newest boots the installed 4.17.7 (no shadow paging:
# "xl migrate" fails there).
XEN_ELF=$W/xen-bookworm.elf
[ "${XT_XEN:-bookworm}" = bookworm ] || XEN_ELF=$W/xen.elf
for f in xen.elf xen-bookworm.elf vmlinux initrd.img dom0.img domu1.img domu2.img; do
	[ -s "$W/$f" ] || { echo "[run] $W/$f missing: run build.sh first" >&2; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "[run] qemu-system-x86_64 missing" >&2; exit 1; }
: >"$LOG"
rm -rf "$W/logs"
mkdir -p "$W/logs"
S=$(date +%s)

# tsc=reliable clocksource=tsc (dom0 and domUs): QEMU's TCG time stamp
# counter follows the host's monotonic clock, but the guest kernel's
# watchdog, itself delayed by the emulation, marks it unstable and falls
# back to the Xen clock without a vDSO; every gettimeofday() is then a slow,
# jittery trip through Xen and perftest's TSC calibration fails.
# mitigations=off (dom0 and domUs) and Xen's spec-ctrl=no xpti=no
# pv-l1tf=no: TCG executes nothing speculatively, so these protect nothing
# here, and they cost most of the run's time: XPTI flushes the (emulated)
# TLB on every PV kernel entry, and the guest kernel's return thunks, buffer
# clears and retpolines break up TCG's translated blocks.  Debian's 6.1.192
# kernel (2026-11) made the whole run about 3x slower than 6.1.1xx did.
dom0_args="root=/dev/vda rw console=hvc0 earlyprintk=xen init=/xentest/init.sh tsc=reliable clocksource=tsc mitigations=off"
[ -z "${XT_STEPS:-}" ] || dom0_args+=" xt_steps=$XT_STEPS"
[ -z "${XT_LONG_N:-}" ] || dom0_args+=" xt_long_n=$XT_LONG_N"
[ -z "${XT_BENCH_N:-}" ] || dom0_args+=" xt_bench_n=$XT_BENCH_N"
dev_args=()
if [ -n "${XT_DEV_SHARE:-}" ]; then
	dom0_args+=" xt_mode=dev"
	dev_args=(-virtfs "local,path=$XT_DEV_SHARE,mount_tag=xt,security_model=none")
fi
dom0_args+=" ${DOM0_EXTRA:-}"
xen_args="console=com1 com1=115200,8n1 dom0_mem=${DOM0_MEM:-512M},max:${DOM0_MEM:-512M}"
xen_args+=" dom0_max_vcpus=2 smap=0 smep=0 bootscrub=0 gnttab_max_frames=256"
xen_args+=" spec-ctrl=no xpti=no pv-l1tf=no"
xen_args+=" loglvl=all guest_loglvl=all noreboot ${XEN_EXTRA:-}"

# CPU model: TCG's AVX (new in QEMU 7.2) corrupts user-space state in the
# guests under Xen (random segfaults in bash and libc); a model without AVX
# does not.
qemu-system-x86_64 -accel tcg,thread=multi -cpu "${XT_CPU:-Nehalem}" -smp 2 -m "${VM_MEM:-1664}" \
	-display none -no-reboot -serial file:"$LOG" \
	-kernel "$XEN_ELF" -append "$xen_args" \
	-initrd "$W/vmlinux $dom0_args,$W/initrd.img" \
	-drive file="$W/dom0.img",if=virtio,format=raw \
	-drive file="$W/domu1.img",if=virtio,format=raw \
	-drive file="$W/domu2.img",if=virtio,format=raw \
	"${dev_args[@]}" >"$W/qemu.err" 2>&1 &
QP=$!
echo "[run] qemu pid $QP, timeout ${TMO}s, serial log $LOG, steps ${XT_STEPS:-all}, $(basename "$XEN_ELF")"
trap 'kill "$QP" 2>/dev/null' EXIT
trap 'exit 130' INT TERM

# Watchdog: overall timeout, fatal markers, or no power-off after the summary.
why=""
done_at=""
last_result=0
while kill -0 "$QP" 2>/dev/null; do
	sleep 2
	now=$(date +%s)
	if [ $((now - S)) -ge "$TMO" ]; then
		why="TIMEOUT after ${TMO}s"
		break
	fi
	if grep -a -q -E 'Panic on CPU|Kernel panic|kernel BUG at' "$LOG"; then
		sleep 5
		why="fatal marker in the serial log"
		break
	fi
	if [ -z "$done_at" ] && grep -a -q 'xen-integration: ' "$LOG"; then
		done_at=$now
	fi
	if [ -n "$done_at" ] && [ $((now - done_at)) -ge 120 ]; then
		why="no power-off within 120 s of the summary line"
		break
	fi
	# progress: echo RESULT lines as they come
	n=$(grep -a -c '^ *RESULT ' "$LOG")
	if [ "$n" -gt "$last_result" ]; then
		grep -a '^ *RESULT ' "$LOG" | tail -n $((n - last_result)) | sed 's/^ */[run] /'
		last_result=$n
	fi
done
if [ -n "$why" ]; then
	echo "[run] $why: killing qemu $QP"
	kill "$QP" 2>/dev/null
fi
wait "$QP"
rc=$?
trap - EXIT
cat "$W/qemu.err"
echo "[run] qemu exit $rc, wall $(($(date +%s) - S))s"

# Logs out of dom0's disk (no mount: debugfs).
img=$W/dom0.img
dfls() { debugfs -R "ls -p $1" "$img" 2>/dev/null | awk -F/ '$6 != "" && $6 != "." && $6 != ".." { print $6 }'; }
for f in $(dfls /var/log/xen/console); do
	debugfs -R "cat /var/log/xen/console/$f" "$img" 2>/dev/null | tr -d '\r' >"$W/logs/$f"
done
for f in $(dfls /var/log/xen); do
	case $f in *.log) debugfs -R "cat /var/log/xen/$f" "$img" 2>/dev/null >"$W/logs/xen-$f" ;; esac
done
for f in xenibd.log xenibd-emu.log xt-dmesg.log xt-ps.log; do
	debugfs -R "cat /var/log/$f" "$img" 2>/dev/null >"$W/logs/$f"
done
find "$W/logs" -type f -empty -delete

echo
echo "[run] ===== results ====="
tr -d '\r' <"$LOG" | grep -a -E '^ *(RESULT |BENCH |PROBE )' | sed 's/^ *//'
summary=$(tr -d '\r' <"$LOG" | grep -a '^xen-integration: ' | tail -n 1)
echo "${summary:-[run] no summary line (xen-integration: ...) in $LOG}"
echo "[run] logs: $LOG, $W/logs/ ($(cd "$W/logs" && echo *))"
if [[ $summary =~ ^xen-integration:\ ([0-9]+)\ passed,\ 0\ failed$ ]] &&
	[ "${BASH_REMATCH[1]}" -ge 1 ] && [ -z "$why" ]; then
	echo "[run] PASSED"
	exit 0
fi
for f in "$W"/logs/guest-*.log "$W"/logs/xenibd.log; do
	[ -s "$f" ] || continue
	echo "----- tail of $f"
	tail -n 25 "$f"
done
echo "----- tail of $LOG"
tr -d '\r' <"$LOG" | tail -n 30
echo "[run] FAILED"
exit 1
