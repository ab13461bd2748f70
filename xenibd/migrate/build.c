// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Recreate a context's objects from its snapshot (snap.h) at the
 * destination, once the guest has given its memory back (RESUME_DONE):
 * each record's request goes through the device model's own create
 * function, so it gets every check a guest's request gets, with the
 * object's old handle forced; then the state the object had at the source
 * is set (ring indices, CQ events, the SRQ limit, QP attributes and engine
 * state), each value checked where it can be.
 */
#include <errno.h>
#include <string.h>

#include "xenibd/dev/dev.h"
#include "xenibd/engine/eng.h"
#include "xenibd/migrate/snap.h"

int xm_tables_restore(struct xd_guest *g, const struct xm_snap *s)
{
	unsigned int k;
	int err;

	for (k = 0; k < XD_KIND_MAX; k++) {
		err = xd_table_restore(xd_obj_table(g, k), s->gens[k],
				       s->tables[k]->ngen,
				       s->tables[k]->hint);
		if (err)
			return err;
	}
	return 0;
}

/* Make the object with handle want; the create function's errno. */
#define FORCED(ctx, want, call)                                            \
	({                                                                 \
		int _err;                                                  \
		(ctx)->guest->forced_handle = (want);                      \
		_err = (call);                                             \
		(ctx)->guest->forced_handle = 0;                           \
		_err;                                                      \
	})

static int build_mr(struct xd_ctx *ctx, const struct xm_r_mr *m, size_t len)
{
	union {
		struct xenib_reg_mr_req r;
		char bytes[sizeof(struct xenib_reg_mr_req) +
			   XENIB_MAX_MR_SEGS * sizeof(struct xenib_mr_seg)];
	} req;
	uint32_t key = 0;

	memcpy(&req, &m->req, len - offsetof(struct xm_r_mr, req));
	return FORCED(ctx, m->handle,
		      xd_mr_reg(ctx, &req.r, len - offsetof(struct xm_r_mr, req),
				&key));
}

static int build_cq(struct xd_ctx *ctx, const struct xm_r_cq *c)
{
	uint32_t h = 0;
	struct xd_cq *cq;
	int err = FORCED(ctx, c->handle, xd_cq_create(ctx, &c->req, &h));

	if (err)
		return err;
	cq = xd_cq_lookup(ctx, h);
	cq->ring.idx = c->idx;
	cq->events = c->events;
	cq->overrun = c->overrun != 0;
	return 0;
}

static int build_srq(struct xd_ctx *ctx, const struct xm_r_srq *s)
{
	uint32_t h = 0;
	struct xd_srq *srq;
	int err = FORCED(ctx, s->handle, xd_srq_create(ctx, &s->req, &h));

	if (err)
		return err;
	srq = xd_srq_lookup(ctx, h);
	if (s->limit >= srq->ring.entries)
		return EINVAL;
	srq->ring.idx = s->idx;
	srq->ring.seen = s->idx;	/* the guest's prod: read at first use */
	srq->limit = s->limit;
	return 0;
}

/* The responder's receive in progress: its CQ and SRQ must be its own. */
static int build_rx(struct xd_qp *qp, const struct xm_qp_eng *m)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_ctx *ctx = qp->ctx;

	e->rx_active = false;
	if (!m->rx_active)
		return 0;
	if (m->rx_w.num_sge > XENIB_MAX_SGE)
		return EINVAL;
	e->rx_cq = xd_cq_lookup(ctx, m->rx_cq);
	e->rx_srq = m->rx_srq == XENIB_INVALID_HANDLE ? NULL :
		    xd_srq_lookup(ctx, m->rx_srq);
	if (!e->rx_cq || (m->rx_srq != XENIB_INVALID_HANDLE && !e->rx_srq))
		return EINVAL;
	if (qp->qp_type != IBV_QPT_XRC_RECV &&
	    (e->rx_cq != qp->recv_cq || e->rx_srq != qp->srq))
		return EINVAL;
	if (qp->qp_type == IBV_QPT_XRC_RECV &&
	    (!e->rx_srq || e->rx_srq->cq != e->rx_cq ||
	     e->rx_srq->xrcd->dom != qp->xrcd->dom))
		return EINVAL;
	e->rx_opcode = m->rx_opcode;
	e->rx_len = m->rx_len;
	e->rx_wqe.w = m->rx_w;
	memcpy(e->rx_wqe.sge, m->rx_sge, sizeof(e->rx_wqe.sge));
	e->rx_wqe.len = m->rx_wlen;
	e->rx_wqe.status = m->rx_status;
	e->rx_active = true;
	return 0;
}

static int build_eng(struct xd_qp *qp, const struct xm_qp_eng *m)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_req_place p = {
		.seq0 = m->seq0, .acked = m->acked, .max_seq = m->max_seq,
		.stall = m->stall, .stall_count = m->stall_count,
		.stall_left_ns = m->stall_left_ns,
	};
	unsigned int i;

	if (m->stall_left_ns > 60 * 1000000000ull || m->stall > XD_STALL_BUSY)
		return EINVAL;
	xd_req_place_set(qp, &p);
	e->drain_notify = m->drain_notify != 0;
	e->rx_expected = m->rx_expected;
	e->next_atomic = m->next_atomic;
	for (i = 0; i < XD_ATOMIC_CACHE; i++) {
		e->atomics[i].seq = m->atomics[i].seq;
		e->atomics[i].valid = m->atomics[i].valid != 0;
		e->atomics[i].orig = m->atomics[i].orig;
	}
	return build_rx(qp, m);
}

static int build_qp(struct xd_ctx *ctx, const struct xm_r_qp *q)
{
	uint32_t h = 0;
	struct xd_qp *qp;
	int err = FORCED(ctx, q->handle, xd_qp_create(ctx, &q->req, &h));

	if (err)
		return err;
	qp = xd_obj_lookup(ctx, XD_KIND_QP, h);
	/* Indices first: a QP in ERR flushes from them. */
	qp->sq.idx = q->sq_idx;
	qp->rq.idx = q->rq_idx;
	qp->rq.seen = q->rq_idx;	/* as for the SRQ */
	if (q->attr.qp_state == IBV_QPS_RESET)
		return 0;
	err = xd_qp_set_attr(qp, &q->attr);
	if (err || !qp->eng)
		return err;
	return build_eng(qp, &q->eng);
}

int xm_build(struct xd_ctx *ctx, const struct xm_snap_ctx *c)
{
	const struct xm_rec *r;
	const void *b;
	size_t off = 0;
	uint32_t h;
	int err = 0;

	ctx->adopting = true;
	while (!err && xm_snap_next(c, &off, &r, &b)) {
		switch (r->tag) {
		case XM_R_REGION:
		case XM_R_NOTIFY:
			break;		/* back already (RESUME_*) */
		case XM_R_PD:
			err = FORCED(ctx, ((const struct xm_r_pd *)b)->handle,
				     xd_pd_alloc(ctx, &h));
			break;
		case XM_R_XRCD: {
			const struct xm_r_xrcd *x = b;

			err = FORCED(ctx, x->handle,
				     xd_xrcd_open(ctx, &x->req, &h));
			break;
		}
		case XM_R_MR:
			err = build_mr(ctx, b, r->len);
			break;
		case XM_R_CQ:
			err = build_cq(ctx, b);
			break;
		case XM_R_SRQ:
			err = build_srq(ctx, b);
			break;
		case XM_R_AH: {
			const struct xm_r_ah *a = b;

			err = FORCED(ctx, a->handle,
				     xd_ah_create(ctx, &a->req, &h));
			break;
		}
		case XM_R_QP:
			err = build_qp(ctx, b);
			break;
		default:
			err = EBADMSG;
		}
	}
	ctx->async_prod = c->hdr->async_prod;
	ctx->adopting = false;
	return err;
}
