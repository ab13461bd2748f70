// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed control messages, REG_MR: segment counts that lie or are too
 * many, lengths and offsets outside the region, unknown PD or region,
 * sizes and address ranges that overflow; afterwards the same channel
 * must still accept a correct registration.
 *
 * Usage: test_ctrl_mr [RUN_DIR]     (default: $XENIB_EMU_DIR); run by
 * tests/test_ctrl_malformed.sh against a fresh xenibd.
 */
#include <stdint.h>

#include "tests/common/ctrl_guest.h"

static void cases_reg_mr(struct conn *a)
{
	static unsigned char buf[XENIB_CTRL_MAX_MSG];
	const uint32_t room_max = (XENIB_CTRL_MAX_MSG - sizeof(struct xenib_reg_mr_req)) /
				  sizeof(struct xenib_mr_seg);
	struct xenib_reg_mr_req *r = (void *)buf;
	uint32_t lkey;
	uint64_t va;
	size_t len;
	int err;

	err = get_region(a);
	if (!err)
		err = get_pd(a);
	if (err) {
		setup_failed("REG_MR cases", "PD and data region", err);
		return;
	}
	va = (uintptr_t)a->data_shm.va;
#define MR_CASE(nm, ...) do {						\
		if (get_region(a) || get_pd(a))				\
			break;						\
		len = build_reg_mr(buf, __VA_ARGS__);			\
		refused(a, nm, buf, len, -1, ANY_ERR, 0);		\
	} while (0)
	MR_CASE("REG_MR nsegs 0", a->pd, va, 4096, 0, 0, a->region, 0, 4096);
	MR_CASE("REG_MR nsegs 0x7fffffff, 1 segment sent", a->pd, va, 4096,
		0x7fffffffu, 1, a->region, 0, 4096);
	MR_CASE("REG_MR nsegs 2, 1 segment sent", a->pd, va, 8192, 2, 1,
		a->region, 0, 4096);
	if (room_max > XENIB_MAX_MR_SEGS)
		MR_CASE("REG_MR nsegs XENIB_MAX_MR_SEGS+1 (all sent)", a->pd, va,
			(uint64_t)(XENIB_MAX_MR_SEGS + 1) * 4096,
			XENIB_MAX_MR_SEGS + 1, XENIB_MAX_MR_SEGS + 1,
			a->region, 0, 4096);
	if (!get_region(a) && !get_pd(a)) {
		len = build_reg_mr(buf, a->pd, va, 4096, 1, 2, a->region, 0, 4096);
		r->hdr.length = sizeof(*r) + sizeof(r->segs[0]);
		refused(a, "REG_MR length field 72, 96 bytes sent", buf, len, -1,
			ANY_ERR, 0);
	}
	MR_CASE("REG_MR pd 12345", BOGUS, va, 4096, 1, 1, a->region, 0, 4096);
	MR_CASE("REG_MR segment in region 12345", a->pd, va, 4096, 1, 1, BOGUS,
		0, 4096);
	MR_CASE("REG_MR segment beyond its region", a->pd, va, 4 * 4096, 1, 1,
		a->region, (DATA_PAGES - 1) * 4096ull, 4 * 4096);
	MR_CASE("REG_MR segment offset 100 (unaligned)", a->pd, va, 4096, 1, 1,
		a->region, 100, 4096);
	MR_CASE("REG_MR segment length 100 (not page multiple)", a->pd, va, 100,
		1, 1, a->region, 0, 100);
	MR_CASE("REG_MR segments short of the page span", a->pd, va, 8192, 1,
		1, a->region, 0, 4096);
	MR_CASE("REG_MR length > XENIB_MAX_MR_SIZE", a->pd, va,
		XENIB_MAX_MR_SIZE + 4096, 1, 1, a->region, 0, 4096);
	MR_CASE("REG_MR iova + length wraps around 2^64", a->pd,
		0xfffffffffffff000ull, 8192, 2, 2, a->region, 0, 4096);
#undef MR_CASE

	/* The same channel still accepts a correct registration. */
	if (get_region(a) || get_pd(a))
		return;
	len = build_reg_mr(buf, a->pd, va + 100, 4096, 1, 1, a->region, 0, 8192);
	err = reg_mr(a, buf, len, &lkey);
	if (err) {
		report(0, "REG_MR valid (unaligned iova, 2-page span)",
		       "refused: %s (%d)", errname(err), err);
		return;
	}
	err = handle_op(a, XENIB_CMD_DEREG_MR, lkey);
	if (err)
		report(0, "valid REG_MR (unaligned iova), then DEREG_MR",
		       "DEREG_MR lkey 0x%x: %s", lkey, errname(err));
	else
		report(1, "valid REG_MR (unaligned iova), then DEREG_MR",
		       "ok (lkey 0x%x)", lkey);
}

static void cases(struct conn *a, struct conn *b)
{
	cases_reg_mr(a);
}

int main(int argc, char **argv)
{
	return ctrl_main(argc, argv, cases);
}
