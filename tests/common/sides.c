// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Guests of an in-process xenibd (sides.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/sides.h"

void sides_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	xd.cfg.max_guests = 16;
	if (xd_state_init())
		exit(1);
}

int sides_end(struct side *const *s, unsigned int n)
{
	while (n)
		side_teardown(s[--n]);
	CHECK(!xd.stats.qps && !xd.stats.mrs && !xd.stats.cqs &&
	      !xd.stats.regions && !xd.stats.notifiers && !xd.stats.pds &&
	      !xd.stats.srqs && !xd.stats.xrcds,
	      "all resources reclaimed");
	return check_summary();
}

uint32_t side_map(struct side *s, struct hv_shm *m, uint32_t flags)
{
	uint32_t h = 0;
	int err = tb_region_map(s->ctx, m->fd, 0, m->len / 4096, flags, &h);

	CHECK(!err, "map region: %s", strerror(err));
	return h;
}

uint32_t foreign(const struct side *self, const struct side *other,
		 enum xd_kind k)
{
	const struct xd_table *ot = xd_obj_table(other->ctx->guest, k);
	const struct xd_table *st = xd_obj_table(self->ctx->guest, k);
	uint32_t i;

	for (i = 1; i < ot->size; i++)
		if (ot->slot[i] && !xd_table_get(st, ot->slot[i]->id))
			return ot->slot[i]->id;
	/*
	 * No such handle: every check made with one would pass for the wrong
	 * reason (0 is never a handle), so the fixture itself fails.
	 */
	CHECK(0, "no handle of kind %d that only the other guest has", k);
	return 0;
}

/*
 * A QP of type on s's PD and CQ, its rings in region reg: the SQ, then the
 * RQ unless it takes its receives from srq.
 */
static void qp_req(struct xenib_create_qp_req *req, const struct side *s,
		   uint32_t type, uint32_t srq, uint32_t reg)
{
	req->pd = s->pd;
	req->qp_type = type;
	req->send_cq = req->recv_cq = s->cq;
	req->srq = srq;
	req->max_send_sge = 2;
	req->max_inline = 64;
	req->sq = (struct xenib_ring_desc){ reg, ENTRIES, 0, 128, 0 };
	if (srq == XENIB_INVALID_HANDLE) {
		req->max_recv_sge = 2;
		req->rq = (struct xenib_ring_desc){ reg, ENTRIES,
			xr_ring_bytes(ENTRIES, 128), 128, 0 };
	}
}

void side_init(struct side *s, const char *name)
{
	struct xenib_create_cq_req cq = { 0 };
	struct xenib_create_qp_req qp = { 0 };
	struct {
		struct xenib_reg_mr_req r;
		struct xenib_mr_seg seg;
	} mr = { 0 };
	uint32_t h, cqreg, qpreg;
	int bfd;

	memset(s, 0, sizeof(*s));
	s->ctx = tb_ctx_new(NULL);
	s->ctx->guest = xd_guest_get(name);

	hv_shm_alloc(&s->page, 4096, "xenib-test");
	side_map(s, &s->page, XENIB_REGION_CTX_PAGE);
	hv_notify_pair(&s->notify_guest_fd, &bfd);
	CHECK(!tb_notify_bind(s->ctx, bfd, XENIB_NOTIFY_DOORBELL, &h), "doorbell");
	hv_notify_pair(&s->notify_guest_fd, &bfd);
	CHECK(!tb_notify_bind(s->ctx, bfd, XENIB_NOTIFY_ASYNC, &h), "async");
	CHECK(!xd_pd_alloc(s->ctx, &s->pd), "pd");

	hv_shm_alloc(&s->cqmem, xr_ring_bytes(ENTRIES, 64), "xenib-test");
	cqreg = side_map(s, &s->cqmem, 0);
	cq.ring = (struct xenib_ring_desc){ cqreg, ENTRIES, 0, 64, 0 };
	cq.notify = XENIB_INVALID_HANDLE;
	CHECK(!xd_cq_create(s->ctx, &cq, &s->cq), "cq");
	s->cqh = s->cqmem.va;

	hv_shm_alloc(&s->qpmem, 2 * xr_ring_bytes(ENTRIES, 128), "xenib-test");
	qpreg = side_map(s, &s->qpmem, 0);
	qp_req(&qp, s, IBV_QPT_RC, XENIB_INVALID_HANDLE, qpreg);
	CHECK(!xd_qp_create(s->ctx, &qp, &s->qpn), "qp");
	CHECK(s->qpn > 1 && s->qpn <= 0xffffff, "qpn 0x%x is a 24-bit QPN",
	      s->qpn);
	s->sqh = s->qpmem.va;
	s->rqh = (void *)((char *)s->qpmem.va + xr_ring_bytes(ENTRIES, 128));

	hv_shm_alloc(&s->buf, BUF_SIZE, "xenib-test");
	s->region_buf = side_map(s, &s->buf, 0);
	mr.r.hdr.length = sizeof(mr);
	mr.r.pd = s->pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		      IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	mr.r.iova = 0x10000000;
	mr.r.length = BUF_SIZE;
	mr.r.nsegs = 1;
	mr.seg = (struct xenib_mr_seg){ s->region_buf, 0, 0, BUF_SIZE };
	CHECK(!xd_mr_reg(s->ctx, &mr.r, sizeof(mr), &s->lkey), "reg mr");
}

static int modify(struct side *s, uint32_t mask, struct xenib_qp_attr *a)
{
	struct xenib_modify_qp_req req = { .qpn = s->qpn, .attr_mask = mask };

	req.attr = *a;
	return xd_qp_modify(s->ctx, &req);
}

void connect_qp(struct side *s, struct side *peer, uint8_t rnr_retry,
		uint32_t access)
{
	struct xenib_qp_attr a = { 0 };

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = access;
	CHECK(!modify(s, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		      IBV_QP_ACCESS_FLAGS, &a), "RESET->INIT");
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = peer->qpn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	a.ah.dlid = peer->ctx->guest->lid;
	a.ah.port_num = 1;
	CHECK(!modify(s, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, &a),
	      "INIT->RTR");
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 2;
	a.rnr_retry = rnr_retry;
	a.max_rd_atomic = 1;
	CHECK(!modify(s, IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		      IBV_QP_MAX_QP_RD_ATOMIC, &a), "RTR->RTS");
}

/* A zeroed, signaled send WQE with one SGE at index prod of sq. */
static struct xenib_send_wqe *send_wqe(struct xenib_ring_hdr *sq,
				       uint32_t prod, uint64_t wr_id,
				       uint32_t opcode, uint64_t addr,
				       uint32_t len, uint32_t lkey)
{
	char *e = xr_entry(sq, prod, ENTRIES, 128);
	struct xenib_send_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));

	memset(e, 0, 128);
	w->wr_id = wr_id;
	w->opcode = opcode;
	w->send_flags = IBV_SEND_SIGNALED;
	w->num_sge = 1;
	sge->addr = addr;
	sge->length = len;
	sge->lkey = lkey;
	return w;
}

void post_send(struct side *s, uint64_t wr_id, uint32_t opcode,
	       uint64_t addr, uint32_t len, uint32_t lkey, uint64_t raddr,
	       uint32_t rkey)
{
	struct xenib_send_wqe *w = send_wqe(s->sqh, s->sq_prod, wr_id, opcode,
					    addr, len, lkey);

	w->remote_addr = raddr;
	w->rkey = rkey;
	xr_store_release(&s->sqh->prod, ++s->sq_prod);
}

void post_recv(struct side *s, uint64_t wr_id, uint64_t addr, uint32_t len,
	       uint32_t lkey)
{
	ring_recv(s->rqh, &s->rq_prod, 128, wr_id, addr, len, lkey);
}

bool poll_one(struct side *s, struct xenib_cqe *cqe)
{
	if (xr_load_acquire(&s->cqh->prod) == s->cq_cons)
		return false;
	memcpy(cqe, xr_entry(s->cqh, s->cq_cons, ENTRIES, 64), sizeof(*cqe));
	xr_store_release(&s->cqh->cons, ++s->cq_cons);
	return true;
}

void drain(struct side *s)
{
	struct xenib_cqe cqe;

	while (poll_one(s, &cqe))
		;
}

void run_engine(void)
{
	uint64_t next = UINT64_MAX;

	xd.now_ns = xd_now_ns();
	xd_engine_poll(&next);
}

uint32_t async_event(struct side *s, uint32_t *handle)
{
	struct xenib_ctx_page *p = s->page.va;
	uint32_t cons = xr_load_relaxed(&p->async_cons);
	struct xenib_async_event ev;

	if (xr_load_acquire(&p->async_prod) == cons)
		return 0;
	ev = p->async_ev[cons & (XENIB_ASYNC_RING - 1)];
	xr_store_release(&p->async_cons, cons + 1);
	if (handle)
		*handle = ev.handle;
	return ev.event_type;
}

bool rings_drained(const struct side *s)
{
	return xr_load_acquire(&s->sqh->cons) == s->sq_prod &&
	       xr_load_acquire(&s->rqh->cons) == s->rq_prod;
}

static long list_len(const struct list_node *h)
{
	const struct list_node *n;
	long len = 0;

	for (n = h->next; n != h; n = n->next)
		len++;
	return len;
}

void side_teardown(struct side *s)
{
	long qps = xd.stats.qps - list_len(&s->ctx->qps);
	long mrs = xd.stats.mrs - list_len(&s->ctx->mrs);

	xd_ctx_destroy(s->ctx);
	CHECK(xd.stats.qps == qps && xd.stats.mrs == mrs,
	      "context teardown frees its QPs and MRs");
}

int tqp_create(struct tqp *q, struct side *s, uint32_t type, uint32_t srq)
{
	struct xenib_create_qp_req req = { 0 };
	uint32_t reg;
	int err;

	memset(q, 0, sizeof(*q));
	q->s = s;
	hv_shm_alloc(&q->mem, 2 * xr_ring_bytes(ENTRIES, 128), "xenib-test");
	reg = side_map(s, &q->mem, 0);
	qp_req(&req, s, type, srq, reg);
	err = xd_qp_create(s->ctx, &req, &q->qpn);
	q->sqh = q->mem.va;
	q->rqh = (void *)((char *)q->mem.va + xr_ring_bytes(ENTRIES, 128));
	return err;
}

void tqp_destroy(struct tqp *q)
{
	CHECK(!xd_qp_destroy(q->s->ctx, q->qpn), "destroy test QP 0x%x",
	      q->qpn);
}

int tqp_modify(struct tqp *q, uint32_t mask, struct xenib_qp_attr *a)
{
	struct xenib_modify_qp_req req = { .qpn = q->qpn, .attr_mask = mask };

	req.attr = *a;
	return xd_qp_modify(q->s->ctx, &req);
}

struct xenib_send_wqe *tqp_wqe(struct tqp *q, uint64_t wr_id,
			       uint32_t opcode, uint64_t addr, uint32_t len)
{
	return send_wqe(q->sqh, q->sq_prod, wr_id, opcode, addr, len,
			q->s->lkey);
}

void tqp_send_go(struct tqp *q)
{
	xr_store_release(&q->sqh->prod, ++q->sq_prod);
}

void ring_recv(struct xenib_ring_hdr *h, uint32_t *prod, uint32_t stride,
	       uint64_t wr_id, uint64_t addr, uint32_t len, uint32_t lkey)
{
	char *e = xr_entry(h, *prod, ENTRIES, stride);
	struct xenib_recv_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));

	w->wr_id = wr_id;
	w->num_sge = 1;
	sge->addr = addr;
	sge->length = len;
	sge->lkey = lkey;
	xr_store_release(&h->prod, ++*prod);
}

void tqp_rtr_attr(struct xenib_qp_attr *a, const struct tqp *peer)
{
	a->qp_state = IBV_QPS_RTR;
	a->path_mtu = IBV_MTU_1024;
	a->dest_qp_num = peer->qpn;
	a->min_rnr_timer = 1;
	a->ah.dlid = peer->s->ctx->guest->lid;
	a->ah.port_num = 1;
}

void conn_up(struct tqp *q, struct tqp *peer, uint32_t type)
{
	struct xenib_qp_attr a = { 0 };
	uint32_t rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	uint32_t rts = IBV_QP_STATE | IBV_QP_SQ_PSN;

	if (type == IBV_QPT_RC) {
		rtr |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
		rts |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC;
	}
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			  IBV_QP_ACCESS_FLAGS, &a), "RESET->INIT (type %u)",
	      type);
	tqp_rtr_attr(&a, peer);
	CHECK(!tqp_modify(q, rtr, &a), "INIT->RTR (type %u)", type);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 1;
	CHECK(!tqp_modify(q, rts, &a), "RTR->RTS (type %u)", type);
}

void sides_cast(struct side *a, struct side *b, struct side *c)
{
	sides_start();
	side_init(a, "alice");
	side_init(b, "bob");
	if (c) {
		side_init(c, "carol");
		make_distinct(c);
	}
}

void make_distinct(struct side *s)
{
	struct {
		struct xenib_reg_mr_req r;
		struct xenib_mr_seg seg;
	} mr = { 0 };
	struct xenib_open_xrcd_req x = { .flags = XENIB_XRCD_CREAT };
	static struct tqp extra[2];
	uint32_t h;
	int i;

	for (i = 0; i < 4; i++) {
		CHECK(!xd_pd_alloc(s->ctx, &h), "extra PD");
		CHECK(!xd_xrcd_open(s->ctx, &x, &h), "extra XRC domain");
	}
	mr.r.pd = s->pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE;
	mr.r.iova = 0x20000000;
	mr.r.length = BUF_SIZE;
	mr.r.nsegs = 1;
	mr.seg = (struct xenib_mr_seg){ s->region_buf, 0, 0, BUF_SIZE };
	for (i = 0; i < 3; i++)
		CHECK(!xd_mr_reg(s->ctx, &mr.r, sizeof(mr), &h), "extra MR");
	for (i = 0; i < 2; i++)
		CHECK(!tqp_create(&extra[i], s, IBV_QPT_RC,
				  XENIB_INVALID_HANDLE), "extra QP");
}
