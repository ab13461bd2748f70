#!/usr/bin/env bash
# ABI acceptance: Debian's unmodified verbs consumers resolve every symbol and
# symbol version against our libibverbs.so.1 (LD_BIND_NOW=1 ldd -r), and our
# library defines the same version nodes and default symbol versions as
# Debian 12's (rdma-core 44).  Usage: test_abi_ldd.sh BUILD_DIR
set -uo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
t_init abi_ldd "${1:-}"

DATA=$XENIB_SRC_DIR/tests/data
LIB=$B/lib/libibverbs.so.1
ours=$(readlink -f "$LIB")

# libpath NAME: where the dynamic linker finds a system library.
libpath() {
	ldconfig -p | awk -v n="$1" '$1 == n { print $NF }' |
		while read -r p; do [ -e "$p" ] && { echo "$p"; break; }; done
}

# ldd_check PATH: no undefined symbol, no missing library or version, and
# libibverbs.so.1 resolves to ours.
ldd_check() {
	local obj=$1 out rc bad lib
	out=$(LD_BIND_NOW=1 timeout 30 ldd -r "$obj" 2>&1)
	rc=$?
	bad=$(printf '%s\n' "$out" | grep -E "undefined symbol|not found|version .* not found")
	if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
		echo "ldd -r $obj: exit $rc"
		printf '%s\n' "${bad:-$out}" | head -n 20 | sed 's/^/    /'
		return 1
	fi
	lib=$(printf '%s\n' "$out" | awk '$1 == "libibverbs.so.1" && $2 == "=>" { print $3 }')
	if [ -n "$lib" ] && [ "$(readlink -f "$lib")" != "$ours" ]; then
		echo "$obj: libibverbs.so.1 resolves to $lib, not $LIB"
		return 1
	fi
	[ "$obj" = "$ours" ] || [ -n "$lib" ] || {
		echo "$obj: does not load libibverbs.so.1 at all"
		return 1
	}
	return 0
}

# 1. The acceptance set, then every other Debian verbs tool installed.
required_bins="ib_write_bw ibv_devinfo ibv_rc_pingpong ibv_devices"
required_libs="libmlx5.so.1 libefa.so.1 librdmacm.so.1"
for b in $required_bins; do
	p=$(real_bin "$b") || { fail "$b not installed (ibverbs-utils/perftest)"; continue; }
	check "ldd -r $b" ldd_check "$p"
done
for l in $required_libs; do
	p=$(libpath "$l")
	[ -n "$p" ] || { fail "$l not installed (ibverbs-providers/librdmacm1)"; continue; }
	check "ldd -r $l ($p)" ldd_check "$p"
done
for b in ibv_uc_pingpong ibv_ud_pingpong ibv_srq_pingpong ibv_xsrq_pingpong \
	 ibv_asyncwatch ib_write_lat ib_read_bw ib_read_lat ib_send_bw ib_send_lat \
	 ib_atomic_bw ib_atomic_lat; do
	p=$(real_bin "$b") || continue
	check "ldd -r $b" ldd_check "$p"
done
check "ldd -r libxenib-rdmav34.so (our provider)" ldd_check "$B/lib/libxenib-rdmav34.so"

# 2. SONAME and version definitions (14 = base + 13 nodes, with parents).
soname=$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
check "SONAME is libibverbs.so.1 (got '$soname')" [ "$soname" = libibverbs.so.1 ]

nodes=$(readelf -V "$LIB" | awk '
	/^Version definition section/ { ind = 1; next }
	/^Version (needs|symbols) section/ { ind = 0 }
	ind && /Name:/ { if (name != "") print name, (par == "" ? "-" : par); name = $NF; par = ""; next }
	ind && /Parent 1:/ { par = $NF }
	END { if (name != "") print name, (par == "" ? "-" : par) }' | sort)
want_nodes=$(grep -v '^#' "$DATA/verbs-version-nodes.txt" | sort)
ndef=$(readelf -V "$LIB" | sed -n "s/^Version definition section '.gnu.version_d' contains \([0-9]*\) entr.*/\1/p")
check "readelf -V: version_d has 14 entries (got ${ndef:-none})" [ "${ndef:-0}" = 14 ]
if [ "$nodes" = "$want_nodes" ]; then
	pass "version nodes and parents match Debian's"
else
	fail "version nodes differ from Debian's (< expected, > ours):"
	diff <(printf '%s\n' "$want_nodes") <(printf '%s\n' "$nodes") | grep '^[<>]' | sed 's/^/    /'
fi

# 3. Default (@@) exports: exactly Debian's 146 symbol versions.
#    objdump -T prints non-default versions in parentheses.
exports=$(objdump -T "$LIB" | awk '
	NF < 6 || $0 ~ /\*UND\*/ || $0 ~ /\*ABS\*/ { next }
	$(NF - 1) ~ /^IBVERBS_/ { print $(NF - 1), $NF }' | sort)
want=$(grep -v '^#' "$DATA/verbs-default-symbols.txt" | sort)
nexp=$(printf '%s\n' "$exports" | grep -c .)
nwant=$(printf '%s\n' "$want" | grep -c .)
check "default IBVERBS exports: $nexp, expected $nwant" [ "$nexp" = "$nwant" ]
missing=$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$exports"))
extra=$(comm -13 <(printf '%s\n' "$want") <(printf '%s\n' "$exports"))
if [ -z "$missing" ]; then
	pass "every Debian default symbol version is exported"
else
	fail "missing default symbol versions ($(printf '%s\n' "$missing" | grep -c .)):"
	printf '%s\n' "$missing" | head -n 40 | sed 's/^/    /'
fi
if [ -z "$extra" ]; then
	pass "no symbol versions beyond Debian's in IBVERBS nodes"
else
	fail "extra symbol versions in IBVERBS nodes:"
	printf '%s\n' "$extra" | sed 's/^/    /'
fi
other=$(objdump -T "$LIB" | awk '
	NF < 6 || $0 ~ /\*UND\*/ || $0 ~ /\*ABS\*/ { next }
	/^[0-9a-f]+ / && $(NF - 1) !~ /IBVERBS_/ { print $(NF - 1), $NF }')
if [ -z "$other" ]; then
	pass "no exports outside the IBVERBS nodes"
else
	fail "exports outside the IBVERBS nodes (version script should say local: *):"
	printf '%s\n' "$other" | head -n 20 | sed 's/^/    /'
fi
compat=$(objdump -T "$LIB" | grep -c '(IBVERBS_')
log "non-default (compat @) symbol versions: $compat (Debian: 34, optional)"
dtype=$(objdump -T "$LIB" | awk '$NF == "verbs_allow_disassociate_destroy" && $0 !~ /\*UND\*/ { print $3 }')
check "verbs_allow_disassociate_destroy is a data object (got '${dtype:-absent}')" [ "$dtype" = DO ]

t_finish
