// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guests against each other: another guest's lkey, a corrupt producer
 * index (only the guest's own QP breaks), another guest's PD, QP and MR
 * handles, a region an MR still uses.
 */
#include <errno.h>

#include "tests/common/sides.h"

static void test_hostile(struct side *a, struct side *b, struct side *c)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;
	uint32_t h;

	/* Another guest's lkey is not ours. */
	post_recv(c, 60, base, 64, c->lkey);
	post_send(b, 61, IBV_WR_SEND, base, 8, foreign(b, c, XD_KIND_MR), 0, 0);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_LOC_PROT_ERR,
	      "foreign lkey -> LOC_PROT_ERR (got %u)", cqe.status);

	/* A corrupt producer index breaks only the guest's own QP. */
	xr_store_release(&c->sqh->prod, c->sq_prod + 1000);
	run_engine();
	CHECK(tb_qp(c->ctx, c->qpn)->attr.qp_state == IBV_QPS_ERR,
	      "corrupt SQ index puts the QP in ERR");
	CHECK(async_event(c, &h) == IBV_EVENT_QP_FATAL && h == c->qpn,
	      "QP_FATAL async event");

	/* Handles of another guest are not found. */
	CHECK(xd_pd_dealloc(a->ctx, foreign(a, c, XD_KIND_PD)) == ENOENT,
	      "foreign PD");
	CHECK(xd_qp_destroy(a->ctx, foreign(a, c, XD_KIND_QP)) == ENOENT,
	      "foreign QP");
	CHECK(xd_mr_dereg(a->ctx, foreign(a, c, XD_KIND_MR)) == ENOENT,
	      "foreign MR");
	CHECK(xd_region_unmap(c->ctx, c->region_buf) == EBUSY,
	      "region in use by an MR cannot be unmapped");
}

int main(void)
{
	struct side a, b, c;

	sides_cast(&a, &b, &c);
	connect_qp(&a, &b, 0, IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	connect_qp(&b, &a, 0, IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	connect_qp(&c, &b, 0, 0);
	test_hostile(&a, &b, &c);
	return sides_end((struct side *[]){ &a, &b, &c }, 3);
}
