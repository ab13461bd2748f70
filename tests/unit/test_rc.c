// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The engine on RC QPs: SEND/RECV, RDMA WRITE and READ with their
 * completions; RNR NAKs (retries exhausted, rnr_retry 0), flushes in ERR,
 * a QP connected to itself, the transport retry budget per WQE, and an
 * error completion that overruns a full CQ.
 */
#include <string.h>
#include <unistd.h>

#include "tests/common/sides.h"

static void test_send_recv(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;

	memcpy(a->buf.va, "hello, xenib", 13);
	post_recv(b, 77, base + 100, 64, b->lkey);
	post_send(a, 42, IBV_WR_SEND, base, 13, a->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RECV && cqe.wr_id == 77 &&
	      cqe.byte_len == 13 && cqe.qp_num == b->qpn &&
	      cqe.src_qp == a->qpn && cqe.slid == a->ctx->guest->lid,
	      "receive completion fields");
	CHECK(!memcmp((char *)b->buf.va + 100, "hello, xenib", 13),
	      "payload landed in the receiver's pages");
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_SEND && cqe.wr_id == 42,
	      "send completion");

	/* RDMA write into B, then read it back. */
	memcpy(a->buf.va, "written!", 8);
	post_send(a, 43, IBV_WR_RDMA_WRITE, base, 8, a->lkey, base + 4096,
		  b->lkey);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RDMA_WRITE, "rdma write completion");
	CHECK(!memcmp((char *)b->buf.va + 4096, "written!", 8),
	      "rdma write data");
	post_send(a, 44, IBV_WR_RDMA_READ, base + 2048, 8, a->lkey,
		  base + 4096, b->lkey);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RDMA_READ && cqe.byte_len == 8 &&
	      !memcmp((char *)a->buf.va + 2048, "written!", 8), "rdma read");
	CHECK(!poll_one(b, &cqe), "one-sided ops leave no responder CQE");
}

static void test_errors(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;

	/* RNR: no receive posted, rnr_retry 1 -> one RNR timer, then
	 * RNR_RETRY_EXC_ERR. */
	tb_qp(a->ctx, a->qpn)->attr.rnr_retry = 1;
	post_send(a, 50, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	run_engine();
	CHECK(!poll_one(a, &cqe), "RNR NAK: nothing completes at once");
	usleep(100);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_RNR_RETRY_EXC_ERR &&
	      cqe.wr_id == 50, "RNR retries exhausted (status %u)",
	      cqe.status);
	CHECK(tb_qp(a->ctx, a->qpn)->attr.qp_state == IBV_QPS_ERR,
	      "requester QP in ERR");
	post_send(a, 51, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_WR_FLUSH_ERR &&
	      cqe.wr_id == 51, "WR posted in ERR is flushed");
	CHECK(!poll_one(a, &cqe), "no duplicate completion");
}

/* A QP connected to itself fails as responder and requester at once. */
static void test_loopback_error(struct side *d)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;
	int sends = 0, recvs = 0;

	post_recv(d, 80, base, 64, d->lkey ^ 0x100);	/* bad lkey */
	post_send(d, 81, IBV_WR_SEND, base, 8, d->lkey, 0, 0);
	run_engine();
	while (poll_one(d, &cqe)) {
		if (cqe.wr_id == 80)
			recvs += cqe.status == IBV_WC_LOC_PROT_ERR;
		else if (cqe.wr_id == 81)
			sends++;
	}
	CHECK(recvs == 1 && sends == 1,
	      "loopback QP: one LOC_PROT_ERR receive, one send completion (%d, %d)",
	      recvs, sends);
	CHECK(rings_drained(d), "loopback QP: ring indices sane after error");
	post_send(d, 82, IBV_WR_SEND, base, 8, d->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(d, &cqe) && cqe.wr_id == 82 &&
	      cqe.status == IBV_WC_WR_FLUSH_ERR && !poll_one(d, &cqe) &&
	      rings_drained(d), "loopback QP: later WR flushed once");
}

/* rnr_retry 0: the first RNR NAK fails the WQE, without waiting. */
static void test_rnr_zero(struct side *i, struct side *j)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;

	post_send(i, 95, IBV_WR_SEND, base, 8, i->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(i, &cqe) && cqe.wr_id == 95 &&
	      cqe.status == IBV_WC_RNR_RETRY_EXC_ERR,
	      "rnr_retry 0: RNR_RETRY_EXC_ERR at the first RNR NAK");
	CHECK(tb_qp(j->ctx, j->qpn)->attr.qp_state == IBV_QPS_RTS,
	      "RNR leaves the responder alone");
}

/* A retry that ended well leaves no count behind for the next WQE. */
static void test_retry_fresh(struct side *e, struct side *f)
{
	const uint64_t base = 0x10000000;
	struct xd_qp *fq = tb_qp(f->ctx, f->qpn);
	struct xenib_cqe cqe;
	int i;

	fq->attr.qp_state = IBV_QPS_INIT;	/* not ready: requester retries */
	post_send(e, 90, IBV_WR_RDMA_READ, base, 8, e->lkey, base, f->lkey);
	run_engine();
	for (i = 0; i < 2; i++) {	/* two of retry_cnt 2 retries spent */
		usleep(20);
		run_engine();
	}
	CHECK(!poll_one(e, &cqe), "READ still retrying");
	fq->attr.qp_state = IBV_QPS_RTS;
	usleep(20);	/* past the retry timer */
	run_engine();
	CHECK(poll_one(e, &cqe) && cqe.wr_id == 90 &&
	      cqe.status == IBV_WC_SUCCESS, "READ succeeds once peer is ready");
	fq->attr.qp_state = IBV_QPS_ERR;
	post_send(e, 91, IBV_WR_SEND, base, 8, e->lkey, 0, 0);
	run_engine();
	CHECK(!poll_one(e, &cqe),
	      "next WQE gets a fresh retry budget (got status %u at once)",
	      cqe.status);
	for (i = 0; i < 50 && !poll_one(e, &cqe); i++) {
		usleep(20);
		run_engine();
	}
	CHECK(cqe.wr_id == 91 && cqe.status == IBV_WC_RETRY_EXC_ERR,
	      "RETRY_EXC_ERR after the retries (status %u)", cqe.status);
}

/* An error completion that finds the CQ full. */
static void test_cq_full_error(struct side *g, struct side *h)
{
	const uint64_t base = 0x10000000;
	uint32_t handle = 0;
	int i;

	for (i = 0; i < ENTRIES; i++)
		post_send(g, 100 + i, IBV_WR_RDMA_WRITE, base, 8, g->lkey,
			  base, h->lkey);
	run_engine();
	CHECK(xr_load_acquire(&g->cqh->prod) - g->cq_cons == ENTRIES,
	      "CQ full, not yet overrun");
	post_send(g, 200, IBV_WR_RDMA_WRITE, base, 8, g->lkey ^ 0x100, base,
		  h->lkey);
	run_engine();
	CHECK(async_event(g, &handle) == IBV_EVENT_CQ_ERR && handle == g->cq,
	      "error CQE into a full CQ: CQ_ERR");
	CHECK(tb_qp(g->ctx, g->qpn)->attr.qp_state == IBV_QPS_ERR,
	      "QP in ERR after the overrun");
	CHECK(rings_drained(g), "SQ index sane after an overrun on error (cons %u, prod %u)",
	      xr_load_acquire(&g->sqh->cons), g->sq_prod);
}

int main(void)
{
	struct side a, b, d, e, f, g, h, i, j;

	/* Each case on fresh guests, made when it starts, as it connects. */
	sides_cast(&a, &b, NULL);
	connect_qp(&a, &b, 0, IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	connect_qp(&b, &a, 0, IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	test_send_recv(&a, &b);
	test_errors(&a, &b);
	side_init(&d, "dave");
	connect_qp(&d, &d, 0, IBV_ACCESS_REMOTE_WRITE);
	test_loopback_error(&d);
	side_init(&e, "erin");
	side_init(&f, "frank");
	connect_qp(&e, &f, 0, IBV_ACCESS_REMOTE_READ);
	connect_qp(&f, &e, 0, IBV_ACCESS_REMOTE_READ);
	test_retry_fresh(&e, &f);
	side_init(&g, "grace");
	side_init(&h, "heidi");
	connect_qp(&g, &h, 0, IBV_ACCESS_REMOTE_WRITE);
	connect_qp(&h, &g, 0, IBV_ACCESS_REMOTE_WRITE);
	test_cq_full_error(&g, &h);
	side_init(&i, "ivan");
	side_init(&j, "judy");
	connect_qp(&i, &j, 0, 0);
	connect_qp(&j, &i, 0, 0);
	test_rnr_zero(&i, &j);
	return sides_end((struct side *[]){ &a, &b, &d, &e, &f, &g, &h, &i,
					    &j }, 9);
}
