// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed control messages, handles: destroy, query and modify requests
 * naming handles never allocated, a PD freed twice, and another guest's
 * PD, MR and region, which must be neither usable nor freeable and must
 * still work for their owner afterwards.
 *
 * Usage: test_ctrl_handles [RUN_DIR]     (default: $XENIB_EMU_DIR); run by
 * tests/test_ctrl_malformed.sh against a fresh xenibd.
 */
#include <stdio.h>
#include <string.h>

#include "tests/common/ctrl_guest.h"

static void cases_bad_handles(struct conn *a)
{
	static const struct {
		uint16_t op;
		const char *name;
	} ops[] = {
		{ XENIB_CMD_DEALLOC_PD, "DEALLOC_PD" },
		{ XENIB_CMD_DESTROY_QP, "DESTROY_QP" },
		{ XENIB_CMD_QUERY_QP, "QUERY_QP" },
		{ XENIB_CMD_DESTROY_CQ, "DESTROY_CQ" },
		{ XENIB_CMD_DEREG_MR, "DEREG_MR" },
		{ XENIB_CMD_UNMAP_REGION, "UNMAP_REGION" },
		{ XENIB_CMD_UNBIND_NOTIFY, "UNBIND_NOTIFY" },
		{ XENIB_CMD_CLOSE_XRCD, "CLOSE_XRCD" },
	};
	static const uint32_t handles[] = { BOGUS, XENIB_INVALID_HANDLE };
	struct xenib_handle_req req;
	struct xenib_modify_qp_req mq;
	char name[80];
	uint32_t pd;
	size_t i, j;
	int err;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		for (j = 0; j < 2; j++) {
			if (get_ctx(a))
				return;
			memset(&req, 0, sizeof(req));
			hdr_init(&req, ops[i].op, sizeof(req));
			req.handle = handles[j];
			snprintf(name, sizeof(name), "%s handle %u (never allocated)",
				 ops[i].name, handles[j]);
			refused(a, name, &req, sizeof(req), -1, ANY_ERR, 0);
		}
	}
	if (!get_ctx(a)) {
		memset(&mq, 0, sizeof(mq));
		hdr_init(&mq, XENIB_CMD_MODIFY_QP, sizeof(mq));
		mq.qpn = BOGUS;
		mq.attr_mask = 1;	/* IBV_QP_STATE */
		mq.attr.qp_state = 1;	/* IBV_QPS_INIT */
		refused(a, "MODIFY_QP qpn 12345 (never allocated)", &mq,
			sizeof(mq), -1, ANY_ERR, 0);
	}
	/* Use after free. */
	if (get_ctx(a))
		return;
	err = alloc_pd(a, &pd);
	if (err) {
		setup_failed("DEALLOC_PD twice", "ALLOC_PD", err);
		return;
	}
	err = handle_op(a, XENIB_CMD_DEALLOC_PD, pd);
	if (err) {
		setup_failed("DEALLOC_PD twice", "first DEALLOC_PD", err);
		return;
	}
	memset(&req, 0, sizeof(req));
	hdr_init(&req, XENIB_CMD_DEALLOC_PD, sizeof(req));
	req.handle = pd;
	refused(a, "DEALLOC_PD twice (second time)", &req, sizeof(req), -1,
		ANY_ERR, 0);
}

/*
 * Another guest's handles: guest B owns a PD, a region and an MR; guest A
 * (holding nothing but its context page, so numbers cannot collide with its
 * own objects) must not be able to use or free them, and B's objects must
 * still work for B afterwards.
 */
static void cases_cross_guest(struct conn *a, struct conn *b)
{
	static unsigned char buf[512];
	struct xenib_handle_req req;
	uint32_t bpd, breg, blkey, apd;
	size_t len;
	int err;

	if (conn_open(b, 1) || get_region(b) || get_pd(b)) {
		setup_failed("cross-guest cases", "guest B set-up", ENOTCONN);
		return;
	}
	bpd = b->pd;
	breg = b->region;
	len = build_reg_mr(buf, bpd, (uintptr_t)b->data_shm.va, 4096, 1, 1,
			   breg, 0, 4096);
	err = reg_mr(b, buf, len, &blkey);
	if (err) {
		setup_failed("cross-guest cases", "guest B REG_MR", err);
		return;
	}
	printf("      guest B owns pd %u, region %u, lkey 0x%x\n", bpd, breg, blkey);

	if (conn_open(a, 1) || get_ctx(a)) {
		setup_failed("cross-guest cases", "guest A reopen", ENOTCONN);
		return;
	}
#define FOREIGN(nm, op, h) do {						\
		if (get_ctx(a))						\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, (op), sizeof(req));			\
		req.handle = (h);					\
		refused(a, nm, &req, sizeof(req), -1, ANY_ERR, 0);	\
	} while (0)
	FOREIGN("guest A: DEALLOC_PD of guest B's PD", XENIB_CMD_DEALLOC_PD, bpd);
	FOREIGN("guest A: DEREG_MR of guest B's MR", XENIB_CMD_DEREG_MR, blkey);
	/* Per-guest handle spaces could give A's context page B's number. */
	if (breg == a->ctx_region)
		printf("      (region %u is also guest A's own context page: "
		       "region cases skipped)\n", breg);
	else
		FOREIGN("guest A: UNMAP_REGION of guest B's region",
			XENIB_CMD_UNMAP_REGION, breg);
#undef FOREIGN
	if (breg != a->ctx_region && !get_ctx(a)) {
		len = build_reg_mr(buf, bpd, 0x40000000ull, 4096, 1, 1, breg,
				   0, 4096);
		refused(a, "guest A: REG_MR with guest B's PD and region", buf,
			len, -1, ANY_ERR, 0);
	}
	if (breg != a->ctx_region && !get_ctx(a) && !alloc_pd(a, &apd)) {
		len = build_reg_mr(buf, apd, 0x40000000ull, 4096, 1, 1, breg,
				   0, 4096);
		refused(a, "guest A: REG_MR of guest B's region in its own PD",
			buf, len, -1, ANY_ERR, 0);
		if (a->g.sock >= 0)
			handle_op(a, XENIB_CMD_DEALLOC_PD, apd);
	}

	/* B's objects are intact and still B's. */
	err = handle_op(b, XENIB_CMD_DEREG_MR, blkey);
	report(!err, "guest B: DEREG_MR of its MR still works",
	       "%s", err ? errname(err) : "ok");
	err = handle_op(b, XENIB_CMD_UNMAP_REGION, breg);
	report(!err, "guest B: UNMAP_REGION of its region still works",
	       "%s", err ? errname(err) : "ok");
	if (!err)
		b->region = XENIB_INVALID_HANDLE;
	err = handle_op(b, XENIB_CMD_DEALLOC_PD, bpd);
	report(!err, "guest B: DEALLOC_PD of its PD still works",
	       "%s", err ? errname(err) : "ok");
	if (!err)
		b->pd = XENIB_INVALID_HANDLE;
}

/*
 * The cross-guest cases first, while guest A has had no context yet: its
 * context page then cannot have the number of B's region (which would skip
 * the region cases), as it can once a context of A that xenibd has not yet
 * torn down holds the first numbers.
 */
static void cases(struct conn *a, struct conn *b)
{
	cases_cross_guest(a, b);
	cases_bad_handles(a);
}

int main(int argc, char **argv)
{
	return ctrl_main(argc, argv, cases);
}
