#!/usr/bin/env bash
# Build the Xen-in-QEMU test machine: a Debian 12 rootfs with Xen 4.17, the
# dom0/domU kernel, Debian's RDMA tools and OUR packages, as three ext4
# images (dom0, domu1, domu2) plus the boot files run.sh needs.
#   bash tests/xen/build.sh WORKDIR             (root)
#   bash tests/xen/build.sh WORKDIR --scripts   only refresh /xentest/* in
#                                               the existing images
# The base rootfs (debootstrap + Debian packages) is cached in WORKDIR as a
# pristine tarball and rebuilt only when the base part of this script (the
# part between the ">>> base" and "<<< base" markers, package list
# included) changes.  Our .debs are built from this tree
# (tests/packaging/build-debs.sh) and installed into a per-run copy.
# Env: MIRROR (Debian mirror), XENIB_XEN_DEB_FALLBACK=0 to fail instead of
# building HEAD (a clone of the repository) when this tree does not build.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
W=${1:?usage: build.sh WORKDIR [--scripts]}
MODE=${2:-}
mkdir -p "$W"
W=$(cd "$W" && pwd)
export DEBIAN_FRONTEND=noninteractive
S=$(date +%s)
T=$S
t() { echo "[xen-build $(date +%T)] $*"; }
# step NAME: print the time the previous step took, start the next one.
step() {
	local now
	now=$(date +%s)
	[ -z "${STEP:-}" ] || t "  $STEP: $((now - T)) s"
	STEP=$1
	T=$now
	[ -z "$STEP" ] || t "$STEP"
}

[ "$(id -u)" = 0 ] || { echo "build.sh: run as root" >&2; exit 1; }

# --scripts: replace /xentest/* in the three images (debugfs, no mount).
if [ "$MODE" = --scripts ]; then
	for img in dom0 domu1 domu2; do
		[ -f "$W/$img.img" ] || { echo "no $W/$img.img: run a full build" >&2; exit 1; }
		# Replay the journal first: the guest would replay it over
		# our changes at its next mount.
		e2fsck -fy "$W/$img.img" >/dev/null 2>&1 || true
		for f in "$HERE"/guest/*; do
			b=$(basename "$f")
			debugfs -w -R "rm /xentest/$b" "$W/$img.img" >/dev/null 2>&1 || true
			debugfs -w -R "write $f /xentest/$b" "$W/$img.img" >/dev/null 2>&1
			debugfs -w -R "sif /xentest/$b mode 0100755" "$W/$img.img" >/dev/null 2>&1
		done
	done
	t "guest scripts refreshed in $W/{dom0,domu1,domu2}.img"
	exit 0
fi

step "host packages"
need=()
for p in qemu-system-x86 debootstrap e2fsprogs python3 git; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
	apt-get update -q >/dev/null
	apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}" >/dev/null
fi

# >>> base (everything up to "<<< base" is hashed into the cache key)
BASE_PKGS=(linux-image-amd64 initramfs-tools xen-hypervisor-4.17-amd64
	xen-utils-4.17 xenstore-utils kmod procps iproute2 bridge-utils
	iputils-ping ibverbs-utils perftest ibverbs-providers librdmacm1
	util-linux libibverbs1 libxengnttab1 libxenevtchn1 libxenstore4
	libxenmisc4.17 libxentoolcore1 libnl-3-200 libnl-route-3-200
	libucx0 ucx-utils libcurl4 libjson-c5 strace gdb-minimal python3)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
build_base() {
	local r=$1
	rm -rf "$r"
	debootstrap --variant=minbase bookworm "$r" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
		{ tail -20 "$W/debootstrap.log"; return 1; }
	# debootstrap writes only "bookworm main": the newest Xen and kernel
	# are in the updates and security suites.
	cat >"$r/etc/apt/sources.list" <<-EOF
		deb $MIRROR bookworm main
		deb $MIRROR bookworm-updates main
		deb http://deb.debian.org/debian-security bookworm-security main
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod +x "$r/usr/sbin/policy-rc.d"
	mount -t proc proc "$r/proc"
	if ! { chroot "$r" apt-get update -q &&
		chroot "$r" apt-get install -y -q --no-install-recommends "${BASE_PKGS[@]}"; } \
		>"$W/chroot-apt.log" 2>&1; then
		umount "$r/proc"
		tail -20 "$W/chroot-apt.log"
		return 1
	fi
	# A small initrd (listed modules only) unpacks fast under TCG.
	sed -i 's/^MODULES=.*/MODULES=list/' "$r/etc/initramfs-tools/initramfs.conf"
	printf '%s\n' virtio_pci virtio_blk xen-blkfront ext4 crc32c_generic \
		>>"$r/etc/initramfs-tools/modules"
	chroot "$r" update-initramfs -u -k all >>"$W/chroot-apt.log" 2>&1 ||
		{ umount "$r/proc"; return 1; }
	# Debian's newest Xen (bookworm-security, 4.17.7+13-...-deb12u1) is
	# built without CONFIG_SHADOW_PAGING, so it cannot put a PV domain in
	# log-dirty mode and "xl migrate" fails ("Failed to enable logdirty").
	# Keep bookworm's own hypervisor (4.17.5, shadow paging on) beside it
	# as /boot/xen-bookworm.gz; run.sh boots that one unless told not to.
	if ! chroot "$r" sh -c 'cd /tmp && apt-get download -q xen-hypervisor-4.17-amd64/bookworm' \
		>>"$W/chroot-apt.log" 2>&1; then
		umount "$r/proc"
		tail -5 "$W/chroot-apt.log"
		return 1
	fi
	dpkg-deb --fsys-tarfile "$r"/tmp/xen-hypervisor-4.17-amd64_*.deb |
		tar -xO ./boot/xen-4.17-amd64.gz >"$r/boot/xen-bookworm.gz"
	rm -f "$r"/tmp/xen-hypervisor-4.17-amd64_*.deb
	chroot "$r" apt-get clean
	umount "$r/proc"
}
# <<< base
KEY=$(sed -n '/^# >>> base/,/^# <<< base/p' "$HERE/build.sh" | sha256sum | cut -c1-16)

if [ "$(cat "$W/base.key" 2>/dev/null)" != "$KEY" ] || [ ! -s "$W/base.tar" ]; then
	step "base rootfs: cache miss ($KEY): debootstrap + apt in the chroot"
	rm -f "$W/base.key" "$W/base.tar"
	build_base "$W/base-rootfs"
	tar -C "$W/base-rootfs" -cf "$W/base.tar.new" .
	mv "$W/base.tar.new" "$W/base.tar"
	rm -rf "$W/base-rootfs"
	echo "$KEY" >"$W/base.key"
else
	step "base rootfs: cache hit ($KEY)"
fi

step "our packages (tests/packaging/build-debs.sh) from $SRC"
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-nocheck parallel=2}
DEB_SRC=$SRC
if ! bash "$SRC/tests/packaging/build-debs.sh" "$W/debs" >"$W/debs.log" 2>&1; then
	tail -30 "$W/debs.log"
	if [ "${XENIB_XEN_DEB_FALLBACK:-1}" = 0 ]; then
		echo "build.sh: building the packages from $SRC failed" >&2
		exit 1
	fi
	echo "WARNING: this tree does not build; using HEAD of $SRC (a fresh clone)"
	rm -rf "$W/src-clone"
	git clone -q "$SRC" "$W/src-clone"
	DEB_SRC="$W/src-clone ($(git -C "$W/src-clone" rev-parse --short HEAD))"
	bash "$W/src-clone/tests/packaging/build-debs.sh" "$W/debs" >"$W/debs.log" 2>&1 ||
		{ tail -30 "$W/debs.log"; exit 1; }
fi
ls "$W"/debs/*.deb

step "per-run rootfs: unpack the cached base, dpkg -i our packages"
R=$W/rootfs
rm -rf "$R"
mkdir -p "$R"
tar -C "$R" -xf "$W/base.tar"
cp "$W"/debs/xenib-guest_*.deb "$W"/debs/xenibd_*.deb "$R/tmp/"
mount -t proc proc "$R/proc"
trap 'umount "$R/proc" 2>/dev/null || true' EXIT
if ! chroot "$R" sh -c 'dpkg -i /tmp/*.deb' >"$W/dpkg.log" 2>&1; then
	# A dependency the base list lacks: fetch it, and say so (add it to
	# BASE_PKGS so the cached base has it).
	echo "WARNING: our packages need more than the base has; apt-get -f install:"
	grep -i 'depends on' "$W/dpkg.log" || true
	chroot "$R" sh -c 'apt-get update -q && apt-get install -f -y -q --no-install-recommends' \
		>>"$W/dpkg.log" 2>&1 || { tail -20 "$W/dpkg.log"; exit 1; }
	chroot "$R" apt-get clean
fi
umount "$R/proc"
trap - EXIT
rm -f "$R"/tmp/*.deb
chroot "$R" dpkg-query -W xenib-guest xenibd
chroot "$R" dpkg-divert --list | grep -i libibverbs || true
echo "source: $DEB_SRC" >"$R/xenib-source"
mkdir -p "$R/xentest"
cp "$HERE"/guest/* "$R/xentest/"
chmod +x "$R"/xentest/*.sh

step "boot files: xen.elf, vmlinux (uncompressed), initrd.img"
KV=$(basename "$(find "$R/boot" -name 'vmlinuz-*' | sort -V | tail -1)")
KV=${KV#vmlinuz-}
ln -sf "vmlinuz-$KV" "$R/boot/vmlinuz"
ln -sf "initrd.img-$KV" "$R/boot/initrd.img"
# QEMU -kernel wants Xen's uncompressed multiboot ELF.  xen.elf: the
# installed (newest) hypervisor; xen-bookworm.elf: bookworm's 4.17.5, which
# can live-migrate PV domains (see the base part).
zcat "$R"/boot/xen-4.17-amd64.gz >"$W/xen.elf"
zcat "$R"/boot/xen-bookworm.gz >"$W/xen-bookworm.elf"
cp "$R/boot/initrd.img-$KV" "$W/initrd.img"
# dom0 boots an uncompressed vmlinux: Xen's own xz decompression is slow
# under TCG.
python3 - "$R/boot/vmlinuz-$KV" "$W/vmlinux" <<'PY'
import sys, lzma
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(d[i:]))
PY

step "ext4 images (mkfs.ext4 -d, sparse 4G)"
rm -f "$W"/dom0.img "$W"/domu1.img "$W"/domu2.img
truncate -s 4G "$W/dom0.img"
mkfs.ext4 -q -F -L root -d "$R" "$W/dom0.img"
cp --sparse=always "$W/dom0.img" "$W/domu1.img"
cp --sparse=always "$W/dom0.img" "$W/domu2.img"
rm -rf "$R"
step ""
t "build total $(($(date +%s) - S)) s (kernel $KV, packages from $DEB_SRC)"
