// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Snapshot of a frozen guest (snap.h): what the destination needs to
 * recreate every object of every context with its handle and its state.
 * Each object is written as the request that made it, rebuilt from what
 * the object is now (a CQ that was resized is written with its current
 * ring), in the order the objects depend on each other.
 */
#include <errno.h>
#include <string.h>

#include "xenibd/dev/dev.h"
#include "xenibd/engine/eng.h"
#include "xenibd/migrate/snap.h"

static void pad8(struct xm_buf *b)
{
	xm_put(b, NULL, (8 - (b->len & 7)) & 7);
}

static void rec(struct xm_buf *b, uint16_t tag, const void *body, size_t len,
		const void *tail, size_t tail_len, uint32_t *nrec)
{
	struct xm_rec r = { .tag = tag, .len = len + tail_len };

	xm_put(b, &r, sizeof(r));
	xm_put(b, body, len);
	if (tail_len)
		xm_put(b, tail, tail_len);
	pad8(b);
	(*nrec)++;
}

static struct xenib_ring_desc ring_desc(const struct xd_ring *r)
{
	struct xenib_ring_desc d = { 0 };

	if (!r->region)
		return d;
	d.region = r->region->h.id;
	d.entries = r->entries;
	d.stride = r->stride;
	d.offset = (uint64_t)((const char *)r->hdr - (const char *)r->region->va);
	return d;
}

static uint32_t handle_of(const void *obj)
{
	return obj ? ((const struct xd_handle *)obj)->id : XENIB_INVALID_HANDLE;
}

static void save_mr(struct xm_buf *b, const struct xd_mr *mr, uint32_t *n)
{
	struct xenib_mr_seg segs[XENIB_MAX_MR_SEGS];
	struct xm_r_mr m = { .handle = mr->h.id };
	uint32_t i;

	m.req.pd = mr->pd->h.id;
	m.req.access = mr->access;
	m.req.iova = mr->iova;
	m.req.length = mr->length;
	m.req.nsegs = mr->nsegs;
	for (i = 0; i < mr->nsegs && i < XENIB_MAX_MR_SEGS; i++)
		segs[i] = (struct xenib_mr_seg){
			.region = mr->segs[i].r->h.id,
			.offset = mr->segs[i].offset,
			.length = mr->segs[i].length,
		};
	rec(b, XM_R_MR, &m, sizeof(m), segs, i * sizeof(segs[0]), n);
}

static void save_cq(struct xm_buf *b, const struct xd_cq *cq, uint32_t *n)
{
	struct xm_r_cq c = {
		.handle = cq->h.id, .idx = cq->ring.idx, .events = cq->events,
		.overrun = cq->overrun,
	};

	c.req.ring = ring_desc(&cq->ring);
	c.req.notify = handle_of(cq->notify);
	rec(b, XM_R_CQ, &c, sizeof(c), NULL, 0, n);
}

static void save_srq(struct xm_buf *b, const struct xd_srq *srq, uint32_t *n)
{
	struct xm_r_srq s = {
		.handle = srq->h.id, .idx = srq->ring.idx, .limit = srq->limit,
	};

	s.req.pd = srq->pd->h.id;
	s.req.srq_type = srq->xrcd ? IBV_SRQT_XRC : IBV_SRQT_BASIC;
	s.req.max_sge = srq->max_sge;
	s.req.xrcd = handle_of(srq->xrcd);
	s.req.cq = handle_of(srq->cq);
	s.req.ring = ring_desc(&srq->ring);
	rec(b, XM_R_SRQ, &s, sizeof(s), NULL, 0, n);
}

static void save_eng(const struct xd_qp *qp, struct xm_qp_eng *m)
{
	const struct xd_qp_eng *e = qp->eng;
	struct xd_req_place p;
	unsigned int i;

	xd_req_place_get(qp, &p);
	m->seq0 = p.seq0;
	m->acked = p.acked;
	m->max_seq = p.max_seq;
	m->stall = p.stall;
	m->stall_count = p.stall_count;
	m->stall_left_ns = p.stall_left_ns;
	m->drain_notify = e->drain_notify;
	m->rx_expected = e->rx_expected;
	m->next_atomic = e->next_atomic;
	for (i = 0; i < XD_ATOMIC_CACHE; i++) {
		m->atomics[i].seq = e->atomics[i].seq;
		m->atomics[i].valid = e->atomics[i].valid;
		m->atomics[i].orig = e->atomics[i].orig;
	}
	m->rx_active = e->rx_active;
	m->rx_cq = m->rx_srq = XENIB_INVALID_HANDLE;
	if (!e->rx_active)
		return;
	m->rx_opcode = e->rx_opcode;
	m->rx_len = e->rx_len;
	m->rx_cq = handle_of(e->rx_cq);
	m->rx_srq = handle_of(e->rx_srq);
	m->rx_w = e->rx_wqe.w;
	memcpy(m->rx_sge, e->rx_wqe.sge, sizeof(m->rx_sge));
	m->rx_wlen = e->rx_wqe.len;
	m->rx_status = e->rx_wqe.status;
}

static void save_qp(struct xm_buf *b, const struct xd_qp *qp, uint32_t *n)
{
	struct xm_r_qp q = {
		.handle = qp->h.id, .sq_idx = qp->sq.idx, .rq_idx = qp->rq.idx,
		.attr = qp->attr,
	};

	q.req.qp_type = qp->qp_type;
	q.req.pd = q.req.send_cq = q.req.recv_cq = q.req.srq =
		XENIB_INVALID_HANDLE;
	if (qp->qp_type == IBV_QPT_XRC_RECV) {
		q.req.xrcd = qp->xrcd->h.id;
	} else {
		q.req.pd = qp->pd->h.id;
		q.req.send_cq = qp->send_cq->h.id;
		q.req.recv_cq = handle_of(qp->recv_cq);
		q.req.srq = handle_of(qp->srq);
		q.req.sq_sig_all = qp->sq_sig_all;
		q.req.max_send_sge = qp->max_send_sge;
		q.req.max_recv_sge = qp->max_recv_sge;
		q.req.max_inline = qp->max_inline;
		q.req.sq = ring_desc(&qp->sq);
		q.req.rq = ring_desc(&qp->rq);
	}
	if (qp->eng)
		save_eng(qp, &q.eng);
	rec(b, XM_R_QP, &q, sizeof(q), NULL, 0, n);
}

#define EACH(list, type, pos, tmp)                                         \
	list_for_each_safe(pos, tmp, list)                                 \
		for (const type *o = list_entry(pos, type, link); o; o = NULL)

static int save_ctx(struct xm_buf *b, const struct xd_ctx *ctx,
		    const char *token)
{
	size_t at = b->len;
	struct xm_ctx_hdr h = { .async_prod = ctx->async_prod };
	struct list_node *pos, *tmp;
	uint32_t n = 0;

	memcpy(h.token, token, sizeof(h.token));
	xm_put(b, &h, sizeof(h));
	EACH(&ctx->regions, struct xd_region, pos, tmp) {
		struct xm_r_region r = {
			.handle = o->h.id,
			.npages = (uint32_t)(o->len / XENIB_PAGE_SIZE),
			.flags = o->ctx_page ? XENIB_REGION_CTX_PAGE : 0,
			.offset = o->offset,
		};

		rec(b, XM_R_REGION, &r, sizeof(r), NULL, 0, &n);
	}
	EACH(&ctx->notifiers, struct xd_notify, pos, tmp) {
		struct xm_r_notify r = { .handle = o->h.id, .kind = o->kind };

		rec(b, XM_R_NOTIFY, &r, sizeof(r), NULL, 0, &n);
	}
	EACH(&ctx->pds, struct xd_pd, pos, tmp) {
		struct xm_r_pd r = { .handle = o->h.id };

		rec(b, XM_R_PD, &r, sizeof(r), NULL, 0, &n);
	}
	EACH(&ctx->xrcds, struct xd_xrcd, pos, tmp) {
		struct xm_r_xrcd r = { .handle = o->h.id };

		r.req.flags = XENIB_XRCD_CREAT;
		if (o->dom->keyed) {
			r.req.flags |= XENIB_XRCD_KEYED;
			r.req.dev = o->dom->dev;
			r.req.ino = o->dom->ino;
		}
		rec(b, XM_R_XRCD, &r, sizeof(r), NULL, 0, &n);
	}
	EACH(&ctx->mrs, struct xd_mr, pos, tmp)
		save_mr(b, o, &n);
	EACH(&ctx->cqs, struct xd_cq, pos, tmp)
		save_cq(b, o, &n);
	EACH(&ctx->srqs, struct xd_srq, pos, tmp)
		save_srq(b, o, &n);
	EACH(&ctx->ahs, struct xd_ah, pos, tmp) {
		struct xm_r_ah r = { .handle = o->h.id };

		r.req.pd = o->pd->h.id;
		r.req.ah = o->attr;
		rec(b, XM_R_AH, &r, sizeof(r), NULL, 0, &n);
	}
	EACH(&ctx->qps, struct xd_qp, pos, tmp)
		save_qp(b, o, &n);
	if (b->err)
		return ENOMEM;
	((struct xm_ctx_hdr *)(b->p + at))->nrec = n;
	return 0;
}

int xm_snap_save(const struct xd_guest *g, char tokens[][XENIB_TOKEN_LEN],
		 unsigned int ntok, struct xm_buf *b)
{
	struct xm_snap_hdr h = {
		.magic = XM_SNAP_MAGIC, .version = XM_SNAP_VERSION,
		.arch = XM_SNAP_ARCH, .lid = g->lid, .guid = g->guid,
	};
	struct list_node *pos, *tmp;
	unsigned int k, i = 0;
	int err;

	memcpy(h.name, g->name, sizeof(h.name));
	list_for_each_safe(pos, tmp, &xd.ctxs)
		if (list_entry(pos, struct xd_ctx, link)->guest == g)
			h.nctx++;
	if (h.nctx > ntok || h.nctx > XM_MAX_CTX)
		return E2BIG;
	b->max = XM_SNAP_MAX;
	xm_put(b, &h, sizeof(h));
	for (k = 0; k < XD_KIND_MAX; k++) {
		const struct xd_table *t = xd_obj_table(g, k);
		struct xm_table_hdr th = {
			.kind = k, .ngen = t->size, .hint = t->hint,
		};

		xm_put(b, &th, sizeof(th));
		xm_put(b, t->gen, t->size);
		pad8(b);
	}
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		const struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->guest != g)
			continue;
		err = save_ctx(b, ctx, tokens[i++]);
		if (err)
			return err;
	}
	return b->err ? EMSGSIZE : 0;
}
