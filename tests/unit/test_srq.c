// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Basic SRQs: creation checks, RC and UC QPs on one SRQ, the limit event,
 * LAST_WQE_REACHED, no flush of shared WQEs by one QP's error.
 */
#include <errno.h>
#include <string.h>

#include "tests/common/sides.h"

static void test_srq(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_create_srq_req req = { 0 };
	struct xenib_modify_srq_req mod = { 0 };
	struct xenib_query_srq_resp q;
	struct xenib_ring_hdr *sh;
	struct xenib_cqe cqe;
	struct hv_shm mem;
	struct tqp a1, a2, b1, b2, bad;
	uint32_t srq, h, prod = 0, cons;
	long srqs = xd.stats.srqs;
	int i;

	hv_shm_alloc(&mem, xr_ring_bytes(ENTRIES, 64), "xenib-test");
	req.pd = b->pd;
	req.srq_type = IBV_SRQT_BASIC;
	req.max_sge = 1;
	req.xrcd = req.cq = XENIB_INVALID_HANDLE;
	req.ring = (struct xenib_ring_desc){ side_map(b, &mem, 0), ENTRIES, 0, 64,
					     0 };
	req.srq_type = IBV_SRQT_XRC;
	CHECK(xd_srq_create(b->ctx, &req, &srq) == ENOENT,
	      "XRC SRQ without an XRC domain: ENOENT");
	req.srq_type = IBV_SRQT_BASIC;
	req.srq_limit = ENTRIES;
	CHECK(xd_srq_create(b->ctx, &req, &srq) == EINVAL,
	      "srq_limit >= entries");
	req.srq_limit = 0;
	CHECK(!xd_srq_create(b->ctx, &req, &srq), "create SRQ");
	CHECK(xd.stats.srqs == srqs + 1, "stats count SRQs");
	sh = mem.va;

	CHECK(tqp_create(&bad, a, IBV_QPT_RC, srq) == ENOENT,
	      "another guest's SRQ");
	CHECK(!tqp_create(&a1, a, IBV_QPT_RC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&a2, a, IBV_QPT_UC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&b1, b, IBV_QPT_RC, srq) &&
	      !tqp_create(&b2, b, IBV_QPT_UC, srq), "QPs on the SRQ");
	conn_up(&a1, &b1, IBV_QPT_RC);
	conn_up(&b1, &a1, IBV_QPT_RC);
	conn_up(&a2, &b2, IBV_QPT_UC);
	conn_up(&b2, &a2, IBV_QPT_UC);
	CHECK(xd_srq_destroy(b->ctx, srq) == EBUSY, "SRQ in use: EBUSY");

	for (i = 0; i < 3; i++)
		ring_recv(sh, &prod, 64, 100 + i, base + 256 * i, 64, b->lkey);
	mod.handle = srq;
	mod.attr_mask = IBV_SRQ_MAX_WR;
	mod.max_wr = 16;
	CHECK(xd_srq_modify(b->ctx, &mod) == EOPNOTSUPP, "SRQ resize");
	mod.attr_mask = IBV_SRQ_LIMIT;
	mod.srq_limit = 2;
	CHECK(!xd_srq_modify(b->ctx, &mod), "arm SRQ limit 2");

	memcpy(a->buf.va, "via srq", 8);
	tqp_wqe(&a1, 110, IBV_WR_SEND, base, 8);
	tqp_send_go(&a1);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 100 && cqe.qp_num == b1.qpn,
	      "RC receive from the SRQ");
	CHECK(!async_event(b, NULL), "2 WQEs left: limit not reached");
	tqp_wqe(&a2, 111, IBV_WR_SEND, base, 8);
	tqp_send_go(&a2);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 101 && cqe.qp_num == b2.qpn &&
	      !memcmp((char *)b->buf.va + 256, "via srq", 8),
	      "UC receive from the same SRQ");
	CHECK(async_event(b, &h) == IBV_EVENT_SRQ_LIMIT_REACHED && h == srq,
	      "SRQ_LIMIT_REACHED with the SRQ handle");
	CHECK(!xd_srq_query(b->ctx, srq, &q) && q.srq_limit == 0 &&
	      q.max_wr == ENTRIES && q.max_sge == 1, "limit disarmed");
	drain(a);

	/* A QP on the SRQ going to ERR does not flush the shared WQEs. */
	cons = xr_load_acquire(&sh->cons);
	xd_qp_to_error(tb_qp(b2.s->ctx, b2.qpn), 0);
	CHECK(async_event(b, &h) == IBV_EVENT_QP_LAST_WQE_REACHED &&
	      h == b2.qpn, "LAST_WQE_REACHED");
	CHECK(xr_load_acquire(&sh->cons) == cons && !poll_one(b, &cqe),
	      "SRQ not flushed by a QP error");
	tqp_wqe(&a1, 112, IBV_WR_SEND, base, 8);
	tqp_send_go(&a1);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 102 && cqe.qp_num == b1.qpn,
	      "the other QP still receives from the SRQ");
	drain(a);
	drain(b);

	tqp_destroy(&a1);
	tqp_destroy(&a2);
	tqp_destroy(&b1);
	tqp_destroy(&b2);
	CHECK(!xd_srq_destroy(b->ctx, srq), "destroy SRQ");
	CHECK(xd.stats.srqs == srqs, "SRQ stats back");
	hv_shm_release(&mem, 1);
}

int main(void)
{
	struct side a, b;

	sides_cast(&a, &b, NULL);
	test_srq(&a, &b);
	return sides_end((struct side *[]){ &a, &b }, 2);
}
