// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UC: SEND (dropped without a receive WQE, no RNR), RDMA WRITE, and RDMA
 * READ refused.
 */
#include <string.h>

#include "tests/common/sides.h"

static void test_uc(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_send_wqe *w;
	struct xenib_cqe cqe;
	struct tqp ua, ub;

	CHECK(!tqp_create(&ua, a, IBV_QPT_UC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&ub, b, IBV_QPT_UC, XENIB_INVALID_HANDLE),
	      "UC QPs");
	conn_up(&ua, &ub, IBV_QPT_UC);
	conn_up(&ub, &ua, IBV_QPT_UC);

	memcpy(a->buf.va, "uc send", 8);
	ring_recv(ub.rqh, &ub.rq_prod, 128, 90, base + 512, 64, b->lkey);
	tqp_wqe(&ua, 91, IBV_WR_SEND, base, 8);
	tqp_send_go(&ua);
	/* A second SEND finds no receive WQE: dropped, no RNR. */
	tqp_wqe(&ua, 92, IBV_WR_SEND, base, 8);
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 90 &&
	      cqe.status == IBV_WC_SUCCESS && cqe.byte_len == 8 &&
	      !memcmp((char *)b->buf.va + 512, "uc send", 8), "UC send");
	CHECK(!poll_one(b, &cqe), "UC: second send dropped");
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 91 && poll_one(a, &cqe) &&
	      cqe.wr_id == 92 && cqe.status == IBV_WC_SUCCESS,
	      "UC: both sends complete successfully");

	memcpy(a->buf.va, "uc write", 9);
	w = tqp_wqe(&ua, 93, IBV_WR_RDMA_WRITE, base, 9);
	w->remote_addr = base + 6000;
	w->rkey = b->lkey;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 93 &&
	      cqe.status == IBV_WC_SUCCESS &&
	      !memcmp((char *)b->buf.va + 6000, "uc write", 9), "UC write");

	w = tqp_wqe(&ua, 94, IBV_WR_RDMA_READ, base, 8);
	w->remote_addr = base;
	w->rkey = b->lkey;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 94 &&
	      cqe.status == IBV_WC_LOC_QP_OP_ERR, "UC RDMA read rejected (%u)",
	      cqe.status);
	drain(a);
	drain(b);
	tqp_destroy(&ua);
	tqp_destroy(&ub);
}

int main(void)
{
	struct side a, b;

	sides_cast(&a, &b, NULL);
	test_uc(&a, &b);
	return sides_end((struct side *[]){ &a, &b }, 2);
}
