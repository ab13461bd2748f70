// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XRC: domains (private, keyed, per guest), hostile field combinations,
 * XRC SRQs, XRC_SEND -> XRC_RECV into the named SRQ, an SRQ of another
 * domain.
 */
#include <errno.h>
#include <string.h>

#include "tests/common/sides.h"

static int xrcd_open(struct side *s, uint32_t flags, uint64_t dev,
		     uint64_t ino, uint32_t *h)
{
	struct xenib_open_xrcd_req req = { .flags = flags, .dev = dev,
					   .ino = ino };

	return xd_xrcd_open(s->ctx, &req, h);
}

static int xrc_srq(struct side *s, struct hv_shm *mem, uint32_t xrcd,
		   uint32_t *srq)
{
	struct xenib_create_srq_req req = { 0 };

	hv_shm_alloc(mem, xr_ring_bytes(ENTRIES, 64), "xenib-test");
	req.pd = s->pd;
	req.srq_type = IBV_SRQT_XRC;
	req.max_sge = 1;
	req.xrcd = xrcd;
	req.cq = s->cq;
	req.ring = (struct xenib_ring_desc){ side_map(s, mem, 0), ENTRIES, 0, 64,
					     0 };
	return xd_srq_create(s->ctx, &req, srq);
}

static int xrc_recv_qp(struct side *s, uint32_t xrcd, struct tqp *q)
{
	struct xenib_create_qp_req req = { 0 };

	memset(q, 0, sizeof(*q));
	q->s = s;
	req.qp_type = IBV_QPT_XRC_RECV;
	req.pd = req.send_cq = req.recv_cq = req.srq = XENIB_INVALID_HANDLE;
	req.xrcd = xrcd;
	return xd_qp_create(s->ctx, &req, &q->qpn);
}

static int xrc_send_qp(struct side *s, struct tqp *q)
{
	struct xenib_create_qp_req req = { 0 };

	memset(q, 0, sizeof(*q));
	q->s = s;
	hv_shm_alloc(&q->mem, xr_ring_bytes(ENTRIES, 128), "xenib-test");
	req.pd = s->pd;
	req.qp_type = IBV_QPT_XRC_SEND;
	req.send_cq = s->cq;
	req.recv_cq = req.srq = XENIB_INVALID_HANDLE;
	req.max_send_sge = 2;
	req.max_inline = 64;
	req.sq = (struct xenib_ring_desc){ side_map(s, &q->mem, 0), ENTRIES, 0,
					   128, 0 };
	q->sqh = q->mem.va;
	return xd_qp_create(s->ctx, &req, &q->qpn);
}

/* The kernel's XRC_INI / XRC_TGT attribute sets (ibv_modify_qp(3)). */
static void xrc_up(struct tqp *q, struct tqp *peer, bool send)
{
	struct xenib_qp_attr a = { 0 };
	uint32_t rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	uint32_t rts = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT;
	uint32_t rd = IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			  IBV_QP_ACCESS_FLAGS, &a), "XRC %s RESET->INIT",
	      send ? "send" : "recv");
	tqp_rtr_attr(&a, peer);
	CHECK(tqp_modify(q, send ? rtr | rd : rtr, &a) == EINVAL,
	      "XRC %s INIT->RTR attribute set enforced",
	      send ? "send" : "recv");
	CHECK(!tqp_modify(q, send ? rtr : rtr | rd, &a), "XRC %s INIT->RTR",
	      send ? "send" : "recv");
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 1;
	if (send)
		rts |= IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC;
	CHECK(!tqp_modify(q, rts, &a), "XRC %s RTR->RTS",
	      send ? "send" : "recv");
}

static void test_xrc(struct side *a, struct side *b, struct side *c)
{
	const uint64_t base = 0x10000000;
	struct hv_shm m1, m2;
	struct tqp snd, rcv, rcv_c, bad;
	struct xenib_cqe cqe;
	uint32_t x1, x1b, x2, xc, srq1, srq2, h, prod1 = 0;
	long xrcds = xd.stats.xrcds, srqs = xd.stats.srqs;

	/* Domains: private, keyed (shared inside a guest), flags checked. */
	CHECK(xrcd_open(b, 0, 0, 0, &h) == EINVAL,
	      "private XRC domain without CREAT: EINVAL");
	CHECK(xrcd_open(b, XENIB_XRCD_KEYED, 1, 2, &h) == ENOENT,
	      "keyed XRC domain that does not exist, no CREAT: ENOENT");
	CHECK(!xrcd_open(b, XENIB_XRCD_KEYED | XENIB_XRCD_CREAT, 1, 2, &x1),
	      "open keyed XRC domain");
	CHECK(xrcd_open(b, XENIB_XRCD_KEYED | XENIB_XRCD_CREAT |
			XENIB_XRCD_EXCL, 1, 2, &h) == EEXIST,
	      "O_EXCL on an existing domain: EEXIST");
	CHECK(!xrcd_open(b, XENIB_XRCD_KEYED, 1, 2, &x1b) && x1b != x1 &&
	      xd_xrcd_lookup(b->ctx, x1)->dom ==
	      xd_xrcd_lookup(b->ctx, x1b)->dom,
	      "same key, same guest: same domain, new handle");
	CHECK(!xrcd_open(b, XENIB_XRCD_CREAT, 0, 0, &x2), "private domain");
	CHECK(!xrcd_open(c, XENIB_XRCD_KEYED | XENIB_XRCD_CREAT, 1, 2, &xc) &&
	      xd_xrcd_lookup(c->ctx, xc)->dom !=
	      xd_xrcd_lookup(b->ctx, x1)->dom,
	      "same key in another guest: another domain");
	CHECK(xd_xrcd_close(a->ctx, x1) == ENOENT,
	      "another guest's XRC domain handle: ENOENT");

	/* Hostile field combinations. */
	{
		struct xenib_create_qp_req r = { 0 };
		struct xenib_create_srq_req sr = { 0 };
		uint32_t qpn;

		r.qp_type = IBV_QPT_XRC_RECV;
		r.pd = b->pd;	/* XRC_RECV has no PD of its own */
		r.send_cq = r.recv_cq = r.srq = XENIB_INVALID_HANDLE;
		r.xrcd = x1;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "XRC_RECV with a PD: EINVAL");
		r.pd = XENIB_INVALID_HANDLE;
		r.max_send_sge = 1;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "XRC_RECV with send capabilities: EINVAL");
		r.max_send_sge = 0;
		r.xrcd = 0xdead;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == ENOENT,
		      "XRC_RECV with an unknown domain: ENOENT");
		r.qp_type = IBV_QPT_XRC_SEND;
		r.pd = b->pd;
		r.send_cq = r.recv_cq = b->cq;
		r.xrcd = 0;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "XRC_SEND with a receive CQ: EINVAL");
		r.qp_type = IBV_QPT_RC;
		r.xrcd = x1;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "RC QP naming an XRC domain: EINVAL");
		sr.pd = b->pd;
		sr.srq_type = IBV_SRQT_XRC;
		sr.max_sge = 1;
		sr.xrcd = x1;
		sr.cq = a->cq;	/* another guest's CQ */
		sr.ring = (struct xenib_ring_desc){ 0, ENTRIES, 0, 64, 0 };
		CHECK(xd_srq_create(b->ctx, &sr, &h) == ENOENT,
		      "XRC SRQ on another guest's CQ: ENOENT");
		sr.srq_type = IBV_SRQT_BASIC;
		sr.cq = b->cq;
		CHECK(xd_srq_create(b->ctx, &sr, &h) == EINVAL,
		      "basic SRQ naming an XRC domain and CQ: EINVAL");
	}
	CHECK(!xrc_srq(b, &m1, x1, &srq1), "XRC SRQ in the keyed domain");
	CHECK(!xrc_srq(b, &m2, x2, &srq2), "XRC SRQ in the private domain");
	CHECK(xrc_recv_qp(b, foreign(b, c, XD_KIND_XRCD), &bad) == ENOENT,
	      "XRC_RECV QP in another guest's domain: ENOENT");
	CHECK(!xrc_recv_qp(b, x1b, &rcv), "XRC_RECV QP (through 2nd handle)");
	CHECK(!xrc_recv_qp(c, xc, &rcv_c), "XRC_RECV QP of another guest");
	CHECK(!xrc_send_qp(a, &snd), "XRC_SEND QP");
	CHECK(xd_xrcd_close(b->ctx, x1) == EBUSY &&
	      xd_xrcd_close(b->ctx, x1b) == EBUSY,
	      "XRC domain handles in use: EBUSY");
	xrc_up(&snd, &rcv, true);
	xrc_up(&rcv, &snd, false);

	/* Data: into the named SRQ, completion on its CQ, XRC_RECV's QPN. */
	ring_recv(m1.va, &prod1, 64, 300, base + 1024, 64, b->lkey);
	memcpy(a->buf.va, "xrc payload", 12);
	tqp_wqe(&snd, 310, IBV_WR_SEND, base, 12)->remote_srqn = srq1;
	tqp_send_go(&snd);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 300 && !cqe.status &&
	      cqe.opcode == IBV_WC_RECV && cqe.byte_len == 12 &&
	      cqe.qp_num == rcv.qpn && cqe.src_qp == snd.qpn &&
	      !memcmp((char *)b->buf.va + 1024, "xrc payload", 12),
	      "XRC send lands in the named SRQ (qp_num = XRC_RECV QP)");
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 310 && !cqe.status &&
	      cqe.qp_num == snd.qpn, "XRC send completes");

	/* An SRQ outside the XRC_RECV QP's domain: invalid request. */
	tqp_wqe(&snd, 311, IBV_WR_SEND, base, 12)->remote_srqn = srq2;
	tqp_send_go(&snd);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 311 &&
	      cqe.status == IBV_WC_REM_INV_REQ_ERR,
	      "SRQ of another domain: REM_INV_REQ_ERR");
	CHECK(tb_qp(snd.s->ctx, snd.qpn)->attr.qp_state == IBV_QPS_ERR,
	      "requester in ERR");
	CHECK(tb_qp(rcv.s->ctx, rcv.qpn)->attr.qp_state == IBV_QPS_RTS &&
	      !poll_one(b, &cqe), "responder untouched");
	drain(a);

	tqp_destroy(&snd);
	tqp_destroy(&rcv);
	tqp_destroy(&rcv_c);
	CHECK(!xd_srq_destroy(b->ctx, srq1) && !xd_srq_destroy(b->ctx, srq2),
	      "destroy XRC SRQs");
	CHECK(!xd_xrcd_close(b->ctx, x1) && !xd_xrcd_close(b->ctx, x1b) &&
	      !xd_xrcd_close(b->ctx, x2) && !xd_xrcd_close(c->ctx, xc),
	      "close XRC domains");
	CHECK(xd.stats.xrcds == xrcds && xd.stats.srqs == srqs,
	      "XRC stats back");
	hv_shm_release(&snd.mem, 1);
	hv_shm_release(&m1, 1);
	hv_shm_release(&m2, 1);
}

int main(void)
{
	struct side a, b, c;

	sides_cast(&a, &b, &c);
	test_xrc(&a, &b, &c);
	return sides_end((struct side *[]){ &a, &b, &c }, 3);
}
