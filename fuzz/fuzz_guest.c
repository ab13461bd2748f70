// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A guest whose rings an engine harness writes (fuzz_guest.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz_guest.h"
#include "tests/common/backend.h"

static uint32_t map(struct fz_guest *g, struct hv_shm *m, uint32_t flags)
{
	uint32_t h = XENIB_INVALID_HANDLE;

	if (tb_region_map(g->c.ctx, m->fd, 0, m->len / XENIB_PAGE_SIZE,
			  flags, &h))
		abort();
	return h;
}

/* The receive ring after the SQ: an SRQ's (XRC, RC_SRQ) or the QP's RQ. */
static struct xenib_ring_desc rq_desc(struct fz_guest *g)
{
	return (struct xenib_ring_desc){ g->region_qp, FZG_ENTRIES,
		xr_ring_bytes(FZG_ENTRIES, FZG_STRIDE), FZG_STRIDE, 0 };
}

static int create_srq(struct fz_guest *g, bool xrc)
{
	struct xenib_create_srq_req r = { 0 };

	r.pd = g->pd;
	r.srq_type = xrc ? IBV_SRQT_XRC : IBV_SRQT_BASIC;
	r.max_sge = XENIB_MAX_SGE;
	r.xrcd = xrc ? g->xrcd : XENIB_INVALID_HANDLE;
	r.cq = xrc ? g->cq : XENIB_INVALID_HANDLE;
	r.ring = rq_desc(g);
	return xd_srq_create(g->c.ctx, &r, &g->srq);
}

/* The QP (and its SRQ, XRC domain, XRC_RECV QP as the type has them). */
static int create_qp(struct fz_guest *g, enum fzg_type type, bool sig_all)
{
	static const uint32_t types[FZG_TYPES] = {
		IBV_QPT_RC, IBV_QPT_UC, IBV_QPT_UD, IBV_QPT_XRC_SEND,
		IBV_QPT_RC,
	};
	struct xenib_create_qp_req qp = { 0 };
	struct xenib_open_xrcd_req x = { .flags = XENIB_XRCD_CREAT };
	bool xrc = type == FZG_XRC;
	int err = 0;

	g->srq = g->xrecv = g->ah = XENIB_INVALID_HANDLE;
	if (xrc)
		err |= xd_xrcd_open(g->c.ctx, &x, &g->xrcd);
	if (xrc || type == FZG_RC_SRQ)
		err |= create_srq(g, xrc);
	if (xrc) {
		qp.qp_type = IBV_QPT_XRC_RECV;
		qp.pd = qp.send_cq = qp.recv_cq = XENIB_INVALID_HANDLE;
		qp.srq = XENIB_INVALID_HANDLE;
		qp.xrcd = g->xrcd;
		err |= xd_qp_create(g->c.ctx, &qp, &g->xrecv);
		memset(&qp, 0, sizeof(qp));
	}
	qp.pd = g->pd;
	qp.qp_type = types[type];
	qp.send_cq = qp.recv_cq = g->cq;
	qp.srq = type == FZG_RC_SRQ ? g->srq : XENIB_INVALID_HANDLE;
	qp.max_send_sge = XENIB_MAX_SGE;
	qp.max_inline = FZG_MAX_INLINE;
	qp.sq_sig_all = sig_all;
	qp.sq = (struct xenib_ring_desc){ g->region_qp, FZG_ENTRIES, 0,
					  FZG_STRIDE, 0 };
	if (xrc) {
		qp.recv_cq = XENIB_INVALID_HANDLE;
	} else if (type != FZG_RC_SRQ) {
		qp.max_recv_sge = XENIB_MAX_SGE;
		qp.rq = rq_desc(g);
	}
	return err | xd_qp_create(g->c.ctx, &qp, &g->qpn);
}

void fz_guest_open(struct fz_guest *g, const char *name, enum fzg_type type,
		   bool sig_all, uint32_t cq_entries, uint32_t buf_bytes)
{
	struct xenib_create_cq_req cq = { 0 };
	union {
		struct xenib_reg_mr_req r;
		char b[sizeof(struct xenib_reg_mr_req) +
		       sizeof(struct xenib_mr_seg)];
	} mr = { 0 };
	uint32_t h;
	int bfd, err = 0;

	memset(g, 0, sizeof(*g));
	fz_ctx_open(&g->c);
	g->c.ctx->guest = xd_guest_get(name);
	g->c.ctx->hello = true;
	if (!g->c.ctx->guest)
		abort();
	if (hv_shm_alloc(&g->page, 4096, "xenib-fuzz") ||
	    hv_shm_alloc(&g->cqmem, xr_ring_bytes(cq_entries, 64),
			 "xenib-fuzz") ||
	    hv_shm_alloc(&g->qpmem, 2 * xr_ring_bytes(FZG_ENTRIES, FZG_STRIDE),
			 "xenib-fuzz") ||
	    hv_shm_alloc(&g->buf, buf_bytes, "xenib-fuzz"))
		abort();
	map(g, &g->page, XENIB_REGION_CTX_PAGE);
	hv_notify_pair(&g->guest_fds[0], &bfd);
	err |= tb_notify_bind(g->c.ctx, bfd, XENIB_NOTIFY_DOORBELL, &h);
	hv_notify_pair(&g->guest_fds[1], &bfd);
	err |= tb_notify_bind(g->c.ctx, bfd, XENIB_NOTIFY_ASYNC, &h);
	hv_notify_pair(&g->guest_fds[2], &bfd);
	err |= tb_notify_bind(g->c.ctx, bfd, XENIB_NOTIFY_COMP, &g->comp);
	err |= xd_pd_alloc(g->c.ctx, &g->pd);
	cq.ring = (struct xenib_ring_desc){ map(g, &g->cqmem, 0), cq_entries,
					    0, 64, 0 };
	cq.notify = g->comp;
	err |= xd_cq_create(g->c.ctx, &cq, &g->cq);
	g->cqh = g->cqmem.va;
	g->region_qp = map(g, &g->qpmem, 0);
	g->sqh = g->qpmem.va;
	g->rqh = (void *)((char *)g->qpmem.va +
			  xr_ring_bytes(FZG_ENTRIES, FZG_STRIDE));
	err |= create_qp(g, type, sig_all);
	g->region_buf = map(g, &g->buf, 0);
	mr.r.hdr.length = sizeof(mr.b);
	mr.r.pd = g->pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		      IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	mr.r.iova = FZG_IOVA;
	mr.r.length = buf_bytes;
	mr.r.nsegs = 1;
	mr.r.segs[0] = (struct xenib_mr_seg){ g->region_buf, 0, 0, buf_bytes };
	err |= xd_mr_reg(g->c.ctx, &mr.r, sizeof(mr.b), &g->lkey);
	if (err)
		abort();
}

void fz_guest_close(struct fz_guest *g)
{
	int i;

	fz_ctx_close(&g->c);
	hv_shm_release(&g->page, 1);
	hv_shm_release(&g->cqmem, 1);
	hv_shm_release(&g->qpmem, 1);
	hv_shm_release(&g->buf, 1);
	for (i = 0; i < 3; i++)
		close(g->guest_fds[i]);
}

int fz_guest_modify(struct fz_guest *g, uint32_t qpn, uint32_t mask,
		    const struct xenib_qp_attr *a)
{
	struct xenib_modify_qp_req req = { .qpn = qpn, .attr_mask = mask };

	req.attr = *a;
	return xd_qp_modify(g->c.ctx, &req);
}
