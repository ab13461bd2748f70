// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The notification protocol's backend half: CQEs and ring releases
 * published once per engine turn (dev/batch.c), completion events once
 * per batch, CQEs before an async event; receive rings' post_kick (ERR,
 * a sender waiting for receives after an RNR NAK) against the guest's
 * half (xr_guest_claim_kick); an RNR stall that ends as soon as the
 * receives are there, and early looks that spend no rnr_retry.
 */
#include <string.h>

#include "tests/common/sides.h"
#include "xenibd/engine/eng.h"

static const uint64_t base = 0x10000000;

/* A SEND's CQE pair in one turn: one publish for both CQs. */
static void test_turn_batch(struct side *a, struct side *b)
{
	long long pubs = xd.stats.cq_publishes, cqes = xd.stats.cqes;
	struct xenib_cqe cqe;
	int i, got = 0;

	for (i = 0; i < 4; i++)
		post_recv(b, 200 + i, base + 64 * i, 64, b->lkey);
	for (i = 0; i < 4; i++)
		post_send(a, 100 + i, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	run_engine();
	CHECK(xd.stats.cqes - cqes == 8 && xd.stats.cq_publishes - pubs == 1,
	      "4 SENDs in one turn: 8 CQEs, one publish (%lld, %lld)",
	      xd.stats.cqes - cqes, xd.stats.cq_publishes - pubs);
	for (i = 0; i < 4; i++)
		got += poll_one(b, &cqe) && cqe.wr_id == 200u + i &&
		       cqe.status == IBV_WC_SUCCESS;
	CHECK(got == 4 && !poll_one(b, &cqe), "receives complete in order");
	for (got = 0, i = 0; i < 4; i++)
		got += poll_one(a, &cqe) && cqe.wr_id == 100u + i;
	CHECK(got == 4 && !poll_one(a, &cqe), "sends complete in order");
	CHECK(rings_drained(a) && rings_drained(b),
	      "SQ and RQ slots released with the batch");
}

/* Inside a batch nothing shows; at its end all of it, one event. */
static void test_manual_batch(struct side *b)
{
	struct xd_cq *cq = xd_cq_lookup(b->ctx, b->cq);
	struct xenib_cqe c = { .status = IBV_WC_SUCCESS, .qp_num = b->qpn };
	uint32_t prod = xr_load_acquire(&b->cqh->prod);
	uint32_t events = xr_load_acquire(&b->cqh->events);
	struct xenib_cqe cqe;
	uint32_t t, h;
	int i;

	xr_store_release(&b->cqh->armed, XENIB_CQ_ARM_NEXT);
	xd_batch_begin();
	for (i = 0; i < 3; i++) {
		c.wr_id = 300 + i;
		CHECK(xd_cq_push(cq, &c, false), "push %d", i);
	}
	CHECK(xr_load_acquire(&b->cqh->prod) == prod &&
	      xr_load_acquire(&b->cqh->armed) == XENIB_CQ_ARM_NEXT,
	      "inside a batch: CQ prod and arm untouched");
	xd_batch_end();
	CHECK(xr_load_acquire(&b->cqh->prod) == prod + 3,
	      "batch end: three CQEs published at once");
	CHECK(xr_load_acquire(&b->cqh->events) == events + 1 &&
	      xr_load_acquire(&b->cqh->armed) == XENIB_CQ_ARM_NONE,
	      "one completion event for the batch");
	drain(b);

	/* Solicited-only arm: successes raise nothing, an error does. */
	xr_store_release(&b->cqh->armed, XENIB_CQ_ARM_SOLICITED);
	xd_batch_begin();
	CHECK(xd_cq_push(cq, &c, false), "unsolicited success");
	xd_batch_end();
	CHECK(xr_load_acquire(&b->cqh->events) == events + 1 &&
	      xr_load_acquire(&b->cqh->armed) == XENIB_CQ_ARM_SOLICITED,
	      "solicited arm: a plain success raises no event");
	xd_batch_begin();
	CHECK(xd_cq_push(cq, &c, false), "success");
	c.status = IBV_WC_LOC_PROT_ERR;
	CHECK(xd_cq_push(cq, &c, false), "error");
	c.status = IBV_WC_SUCCESS;
	CHECK(xd_cq_push(cq, &c, false), "success");
	xd_batch_end();
	CHECK(xr_load_acquire(&b->cqh->events) == events + 2,
	      "solicited arm: an error CQE in the batch raises one event");
	drain(b);

	/* An async event shows only after the CQEs that led to it. */
	t = xr_load_acquire(&b->cqh->prod);
	xd_batch_begin();
	CHECK(xd_cq_push(cq, &c, false), "push before an async event");
	xd_ctx_post_async(b->ctx, IBV_EVENT_QP_LAST_WQE_REACHED, b->qpn);
	CHECK(xr_load_acquire(&b->cqh->prod) == t + 1,
	      "the async event published the batch's CQE first");
	xd_batch_end();
	CHECK(async_event(b, &h) == IBV_EVENT_QP_LAST_WQE_REACHED &&
	      h == b->qpn && poll_one(b, &cqe) && !poll_one(b, &cqe),
	      "event and CQE both there, the CQE once");
}

/* The guest's half: would a post on rqh after publishing kick? */
static bool guest_kicks(struct side *s, struct xenib_ring_hdr *rqh)
{
	struct xenib_ctx_page *page = s->page.va;

	xr_store_release(&page->backend_sleeping, 1);
	return xr_guest_claim_kick(page, rqh);
}

/* post_kick: receives kick only where something waits for them. */
static void test_recv_kicks(struct side *b)
{
	struct xenib_ctx_page *page = b->page.va;
	struct xd_qp *qp = tb_qp(b->ctx, b->qpn);

	CHECK(xr_load_acquire(&page->backend_features) &
	      XENIB_BACKEND_LAZY_RECV_KICK, "backend advertises lazy kicks");
	CHECK(guest_kicks(b, NULL), "a send queue post kicks a sleeper");
	CHECK(!xr_load_acquire(&page->backend_sleeping),
	      "the kicker cleared the flag (one kick per sleep)");
	CHECK(!guest_kicks(b, b->rqh), "a receive post on an RTS QP does not");
	xd_qp_to_error(qp, 0);
	CHECK(b->rqh->post_kick & XENIB_POST_KICK_ALWAYS,
	      "QP in ERR: its receive ring asks for kicks");
	CHECK(guest_kicks(b, b->rqh), "a receive post in ERR kicks");
	xr_store_release(&page->backend_sleeping, 0);
}

/*
 * An RNR stall ends once the receives are there, long before its timer;
 * the guest is asked to kick when it has posted as many as wait.
 */
static void test_rnr_early(struct side *a, struct side *b)
{
	struct xd_qp *qa = tb_qp(a->ctx, a->qpn), *qb = tb_qp(b->ctx, b->qpn);
	struct xenib_cqe cqe;
	uint32_t idx = qb->rq.idx;
	int i, got = 0;

	qa->attr.rnr_retry = 7;
	qb->attr.min_rnr_timer = 0;	/* 655.36 ms */
	post_send(a, 400, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	post_send(a, 401, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	run_engine();
	CHECK(!poll_one(a, &cqe) && qa->eng->stall == XD_STALL_RNR,
	      "no receive: RNR stall");
	run_engine();	/* the stalled requester looks at the RQ */
	CHECK((b->rqh->post_kick & XENIB_POST_KICK_AT) &&
	      b->rqh->kick_idx == idx + 2,
	      "the RQ asks for a kick once 2 receives are posted (%u, %u)",
	      b->rqh->post_kick, b->rqh->kick_idx - idx);
	post_recv(b, 500, base, 64, b->lkey);
	CHECK(!guest_kicks(b, b->rqh), "the first receive does not kick");
	run_engine();
	CHECK(!poll_one(a, &cqe) && !poll_one(b, &cqe),
	      "one receive for two waiting sends: still waiting");
	post_recv(b, 501, base + 64, 64, b->lkey);
	CHECK(guest_kicks(b, b->rqh), "the second receive kicks");
	xr_store_release(&((struct xenib_ctx_page *)b->page.va)->backend_sleeping,
			 0);
	CHECK(xd.now_ns < qa->eng->stall_until_ns && xd_engine_has_work(),
	      "before the RNR timer, the stalled QP counts as work");
	run_engine();
	for (i = 0; i < 2; i++)
		got += poll_one(a, &cqe) && cqe.wr_id == 400u + i &&
		       cqe.status == IBV_WC_SUCCESS;
	CHECK(got == 2, "both sends done before the RNR timer (%d)", got);
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 500 && poll_one(b, &cqe) &&
	      cqe.wr_id == 501, "both receives used");
	CHECK(!(b->rqh->post_kick & XENIB_POST_KICK_AT),
	      "the sender is back: no more kicks asked");

	/* Fewer receives than waiting: the timer decides, as before. */
	post_send(a, 402, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	post_send(a, 403, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	run_engine();
	post_recv(b, 502, base, 64, b->lkey);
	run_engine();
	CHECK(!poll_one(a, &cqe) && qa->eng->stall == XD_STALL_RNR,
	      "one receive for two sends: no early retry");
	qa->eng->stall_until_ns = 0;	/* the RNR timer ran out */
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 402 && !poll_one(a, &cqe) &&
	      poll_one(b, &cqe) && cqe.wr_id == 502,
	      "the timer's retry takes the receive there is");
	post_recv(b, 503, base, 64, b->lkey);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 403 &&
	      cqe.status == IBV_WC_SUCCESS && poll_one(b, &cqe) &&
	      cqe.wr_id == 503, "the last send goes once its receive is there");
}

static uint32_t make_srq(struct side *b, struct hv_shm *mem)
{
	struct xenib_create_srq_req req = { 0 };
	uint32_t srq = 0;

	hv_shm_alloc(mem, xr_ring_bytes(ENTRIES, 64), "xenib-test");
	req.pd = b->pd;
	req.srq_type = IBV_SRQT_BASIC;
	req.max_sge = 1;
	req.xrcd = req.cq = XENIB_INVALID_HANDLE;
	req.ring = (struct xenib_ring_desc){ side_map(b, mem, 0), ENTRIES, 0,
					     64, 0 };
	CHECK(!xd_srq_create(b->ctx, &req, &srq), "create SRQ");
	return srq;
}

/*
 * Two senders stalled on one SRQ (rnr_retry 1, spent by their first NAK),
 * one receive posted: the first to look takes it at once, the other finds
 * the SRQ empty again and keeps waiting for its timer, without failing.
 */
static void test_rnr_early_uncounted(struct side *c, struct side *d)
{
	struct tqp c1, c2, d1, d2;
	struct xenib_cqe cqe;
	struct hv_shm mem;
	uint32_t srq, prod = 0;
	int ok = 0, waiting = 0;

	srq = make_srq(d, &mem);
	CHECK(!tqp_create(&c1, c, IBV_QPT_RC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&c2, c, IBV_QPT_RC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&d1, d, IBV_QPT_RC, srq) &&
	      !tqp_create(&d2, d, IBV_QPT_RC, srq), "QPs, two on the SRQ");
	conn_up(&c1, &d1, IBV_QPT_RC);
	conn_up(&d1, &c1, IBV_QPT_RC);
	conn_up(&c2, &d2, IBV_QPT_RC);
	conn_up(&d2, &c2, IBV_QPT_RC);
	tb_qp(c->ctx, c1.qpn)->attr.rnr_retry = 1;
	tb_qp(c->ctx, c2.qpn)->attr.rnr_retry = 1;
	tb_qp(d->ctx, d1.qpn)->attr.min_rnr_timer = 0;
	tb_qp(d->ctx, d2.qpn)->attr.min_rnr_timer = 0;
	tqp_wqe(&c1, 600, IBV_WR_SEND, base, 8);
	tqp_send_go(&c1);
	tqp_wqe(&c2, 601, IBV_WR_SEND, base, 8);
	tqp_send_go(&c2);
	run_engine();
	CHECK(!poll_one(c, &cqe), "empty SRQ: both senders NAKed RNR");
	ring_recv(mem.va, &prod, 64, 700, base, 64, d->lkey);
	run_engine();
	run_engine();
	while (poll_one(c, &cqe)) {
		ok += cqe.status == IBV_WC_SUCCESS;
		waiting -= cqe.status != IBV_WC_SUCCESS;
	}
	CHECK(ok == 1 && waiting == 0,
	      "one sender got the receive, the other still waits (%d, %d)",
	      ok, waiting);
	CHECK(poll_one(d, &cqe) && cqe.wr_id == 700 && !poll_one(d, &cqe),
	      "the receive used once");
	tqp_destroy(&d2);
	tqp_destroy(&d1);
	tqp_destroy(&c2);
	tqp_destroy(&c1);
	CHECK(!xd_srq_destroy(d->ctx, srq), "destroy SRQ");
	drain(c);
	drain(d);
}

int main(void)
{
	struct side a, b, c, d;

	sides_cast(&a, &b, NULL);
	connect_qp(&a, &b, 0, 0);
	connect_qp(&b, &a, 0, 0);
	test_turn_batch(&a, &b);
	test_manual_batch(&b);
	test_rnr_early(&a, &b);
	test_recv_kicks(&b);
	side_init(&c, "carol");
	side_init(&d, "dave");
	test_rnr_early_uncounted(&c, &d);
	return sides_end((struct side *[]){ &a, &b, &c, &d }, 4);
}
