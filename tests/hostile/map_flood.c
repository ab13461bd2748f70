// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One guest tries to use up xenibd's memory mappings (VMAs in the
 * emulation, dom0 maptrack entries on Xen): it shares one region of 128
 * pages and registers it again and again as MRs of 128 one-page segments
 * in reverse order, so that no two segments of a view can merge into one
 * mapping.  Without a per-guest mapping limit every MR costs xenibd 128
 * VMAs and about 512 of them exhaust vm.max_map_count (65530); the few
 * left are then taken by one-page MRs, after which any other guest's
 * MAP_REGION fails.  With the limits, the attacker is
 * refused long before, and a second guest still maps and registers.
 *
 * Usage: map_flood [MAX_MRS]   (XENIB_EMU_DIR names the xenibd)
 * Prints what the attacker got; exits 0 if it was refused with ENOMEM or
 * EDQUOT and the victim could then open, map and register.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/wire_guest.h"

#define SEGS	XENIB_MAX_MR_SEGS
#define PAGES	SEGS

/* REG_MR of all PAGES pages of region, one segment each, reversed. */
static int reg_scattered(struct wg *g, uint32_t pd, uint32_t region)
{
	union {
		struct xenib_reg_mr_req r;
		char b[sizeof(struct xenib_reg_mr_req) +
		       SEGS * sizeof(struct xenib_mr_seg)];
	} mr;
	struct xenib_reg_mr_resp resp;
	uint32_t i;

	memset(&mr, 0, sizeof(mr));
	mr.r.hdr.opcode = XENIB_CMD_REG_MR;
	mr.r.pd = pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE;
	mr.r.iova = 0x100000000ull;
	mr.r.length = (uint64_t)PAGES * XENIB_PAGE_SIZE;
	mr.r.nsegs = SEGS;
	for (i = 0; i < SEGS; i++)
		mr.r.segs[i] = (struct xenib_mr_seg){
			.region = region,
			.offset = (uint64_t)(PAGES - 1 - i) * XENIB_PAGE_SIZE,
			.length = XENIB_PAGE_SIZE,
		};
	return wg_cmd(g, &mr, sizeof(mr.b), -1, &resp, sizeof(resp));
}

/* An honest guest's first steps: open, share 4 pages, register them. */
static int victim(void)
{
	struct hv_shm mem;
	struct wg v;
	uint32_t pd, region, key;

	if (wg_open(&v, "mapflood-victim")) {
		printf("victim: cannot open a context (HELLO, context page or "
		       "notifiers refused)\n");
		return -1;
	}
	pd = wg_alloc_pd(&v);
	if (hv_shm_alloc(&mem, 4 * XENIB_PAGE_SIZE, "xenib-victim"))
		return -1;
	region = wg_map_region(&v, &mem, 0);
	key = region == XENIB_INVALID_HANDLE ? XENIB_INVALID_HANDLE :
	      wg_reg_mr(&v, pd, region, 0x1000, 4 * XENIB_PAGE_SIZE,
			IBV_ACCESS_LOCAL_WRITE);
	printf("victim: MAP_REGION %s, REG_MR %s\n",
	       region == XENIB_INVALID_HANDLE ? "failed" : "ok",
	       key == XENIB_INVALID_HANDLE ? "failed" : "ok");
	wg_close(&v);
	hv_shm_release(&mem, 1);
	return key == XENIB_INVALID_HANDLE ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long max = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000;
	unsigned long n, n1 = 0;
	struct hv_shm mem;
	struct wg a;
	uint32_t pd, region;
	int st = 0, st1 = 0, vic;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (wg_open(&a, "mapflood-attacker") ||
	    hv_shm_alloc(&mem, PAGES * XENIB_PAGE_SIZE, "xenib-flood")) {
		printf("attacker: cannot open\n");
		return 2;
	}
	pd = wg_alloc_pd(&a);
	region = wg_map_region(&a, &mem, 0);
	if (pd == XENIB_INVALID_HANDLE || region == XENIB_INVALID_HANDLE) {
		printf("attacker: no PD or region\n");
		return 2;
	}
	for (n = 0; n < max; n++) {
		st = reg_scattered(&a, pd, region);
		if (st)
			break;
	}
	printf("attacker: %lu MRs of %u segments (%lu segment mappings) "
	       "registered, then %s\n", n, SEGS, n * SEGS,
	       st ? strerror(st) : "stopped (no refusal)");
	/* Then what is left, one page at a time. */
	for (n1 = 0; st && n1 < max * SEGS; n1++) {
		st1 = wg_reg_mr(&a, pd, region, 0x1000, XENIB_PAGE_SIZE,
				IBV_ACCESS_LOCAL_WRITE) == XENIB_INVALID_HANDLE;
		if (st1)
			break;
	}
	printf("attacker: then %lu one-page MRs\n", n1);
	/* The attacker keeps everything while the victim tries. */
	vic = victim();
	wg_close(&a);
	hv_shm_release(&mem, 1);
	if (st != ENOMEM && st != EDQUOT) {
		printf("FAIL: the attacker was not refused with ENOMEM/EDQUOT\n");
		return 1;
	}
	if (vic) {
		printf("FAIL: another guest could not map or register while "
		       "the attacker held its mappings\n");
		return 1;
	}
	printf("PASS: attacker refused, victim served\n");
	return 0;
}
