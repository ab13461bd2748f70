// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed control messages, CREATE_CQ: entry counts that are no power
 * of two, zero or too many, rings larger than or outside their region or
 * unaligned, a bad stride, an unknown region or notifier.
 *
 * Usage: test_ctrl_cq [RUN_DIR]     (default: $XENIB_EMU_DIR); run by
 * tests/test_ctrl_malformed.sh against a fresh xenibd.
 */
#include <string.h>

#include "tests/common/ctrl_guest.h"

static void cases_create_cq(struct conn *a)
{
	struct xenib_create_cq_req req;
	int err;

	err = get_region(a);
	if (err) {
		setup_failed("CREATE_CQ cases", "data region", err);
		return;
	}
#define CQ_CASE(nm, reg, ent, off, strd, ntf) do {			\
		if (get_region(a))					\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_CREATE_CQ, sizeof(req));	\
		req.ring.region = (reg);				\
		req.ring.entries = (ent);				\
		req.ring.offset = (off);				\
		req.ring.stride = (strd);				\
		req.notify = (ntf);					\
		refused(a, nm, &req, sizeof(req), -1, ANY_ERR, 0);	\
	} while (0)
	CQ_CASE("CREATE_CQ entries 3 (not a power of two)", a->region, 3, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 100 (not a power of two)", a->region, 100, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 0", a->region, 0, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 2^17 (> XENIB_MAX_CQE)", a->region, 1u << 17, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 2^31", a->region, 1u << 31, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring larger than its region", a->region, 32768, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring offset beyond region", a->region, 64, 1ull << 30, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring offset near 2^64", a->region, 64, ~0ull & ~4095ull, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring offset 100 (unaligned)", a->region, 64, 100, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ stride 32", a->region, 64, 0, 32, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ region 12345", BOGUS, 64, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ notify handle 12345", a->region, 64, 0, 64, BOGUS);
#undef CQ_CASE
}

static void cases(struct conn *a, struct conn *b)
{
	cases_create_cq(a);
}

int main(int argc, char **argv)
{
	return ctrl_main(argc, argv, cases);
}
