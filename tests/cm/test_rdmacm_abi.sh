#!/usr/bin/env bash
# ABI of our librdmacm.so.1 against Debian 12's librdmacm1 44.0-2: SONAME,
# the version nodes RDMACM_1.0 -> 1.3 with their parents, exactly Debian's
# 68 default symbol versions and nothing else exported; and Debian's
# rdmacm-utils and perftest resolve every symbol against ours
# (LD_BIND_NOW=1 ldd -r) with librdmacm.so.1 and libibverbs.so.1 ours.
# Usage: test_rdmacm_abi.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init rdmacm_abi "${1:-}"

LIB=$B/lib/librdmacm.so.1
[ -e "$LIB" ] || die "$LIB missing"
ours=$(readlink -f "$LIB")
verbs=$(readlink -f "$B/lib/libibverbs.so.1")

soname=$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
check "SONAME is librdmacm.so.1 (got '$soname')" [ "$soname" = librdmacm.so.1 ]
[ "$(basename "$ours")" = librdmacm.so.1.3.44.0 ]
verdict "file name librdmacm.so.1.3.44.0, as Debian's" $?

nodes=$(readelf -V "$LIB" | awk '
	/^Version definition section/ { ind = 1; next }
	/^Version (needs|symbols) section/ { ind = 0 }
	ind && /Name:/ { if (name != "") print name, (par == "" ? "-" : par); name = $NF; par = ""; next }
	ind && /Parent 1:/ { par = $NF }
	END { if (name != "") print name, (par == "" ? "-" : par) }' | grep RDMACM)
want_nodes=$'RDMACM_1.0 -\nRDMACM_1.1 RDMACM_1.0\nRDMACM_1.2 RDMACM_1.1\nRDMACM_1.3 RDMACM_1.2'
[ "$nodes" = "$want_nodes" ]
verdict "version nodes RDMACM_1.0 -> 1.1 -> 1.2 -> 1.3" $?

exports=$(objdump -T "$LIB" | awk '
	NF < 6 || $0 ~ /\*UND\*/ || $0 ~ /\*ABS\*/ { next }
	{ print $(NF - 1), $NF }' | sort)
want=$(grep -v '^#' "$XENIB_SRC_DIR/tests/data/rdmacm-default-symbols.txt" | sort)
if [ "$exports" = "$want" ]; then
	pass "exactly Debian's $(printf '%s\n' "$want" | grep -c .) default exports"
else
	fail "exports differ from Debian's (< Debian, > ours):"
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$exports") |
		grep '^[<>]' | sed 's/^/    /' | head -n 40
fi
# (A sanitized build also needs its sanitizer runtimes.)
needed=$(readelf -d "$LIB" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	grep -vE '^lib(asan|ubsan)\.' | sort | tr '\n' ' ')
[ "$needed" = "libc.so.6 libibverbs.so.1 " ]
verdict "NEEDED: libibverbs.so.1 and libc only (got $needed)" $?

# ldd_check PATH: every symbol resolves; both libraries are ours.
ldd_check() {
	local out rc bad r v
	out=$(LD_BIND_NOW=1 timeout 30 ldd -r "$1" 2>&1)
	rc=$?
	bad=$(printf '%s\n' "$out" | grep -E "undefined symbol|not found")
	r=$(printf '%s\n' "$out" | awk '$1 == "librdmacm.so.1" { print $3 }')
	v=$(printf '%s\n' "$out" | awk '$1 == "libibverbs.so.1" { print $3 }')
	[ "$rc" -eq 0 ] && [ -z "$bad" ] &&
		[ "$(readlink -f "$r")" = "$ours" ] &&
		[ "$(readlink -f "$v")" = "$verbs" ] && return 0
	printf '%s\n' "$out" | head -n 12 | sed 's/^/    /'
	return 1
}
for b in rping ucmatose udaddy mckey rdma_server rdma_client rdma_xserver \
	 rdma_xclient cmtime rstream riostream rcopy udpong ib_send_bw \
	 ib_write_lat; do
	p=$(real_bin "$b") || { log "$b not installed"; continue; }
	check "ldd -r $b: resolves against our librdmacm and libibverbs" \
		ldd_check "$p"
done
t_finish
