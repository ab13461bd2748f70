// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Queue pairs: creation, attributes, state changes, destruction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"

#define XD_QP_ACCESS_MASK (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | \
			   IBV_ACCESS_REMOTE_ATOMIC)

static uint32_t send_wqe_bytes(uint32_t max_sge, uint32_t max_inline)
{
	uint32_t body = max_sge * sizeof(struct xenib_sge);

	if (max_inline > body)
		body = max_inline;
	return sizeof(struct xenib_send_wqe) + body;
}

static bool ring_desc_zero(const struct xenib_ring_desc *d)
{
	return !d->entries && !d->region && !d->offset && !d->stride &&
	       !d->reserved;
}

static int qp_check_create(const struct xenib_create_qp_req *req)
{
	if (req->qp_type != IBV_QPT_RC && req->qp_type != IBV_QPT_UC &&
	    req->qp_type != IBV_QPT_UD && req->qp_type != IBV_QPT_XRC_SEND &&
	    req->qp_type != IBV_QPT_XRC_RECV)
		return EOPNOTSUPP;	/* RC, UC, UD, XRC (no raw) */
	if (req->qp_type == IBV_QPT_XRC_RECV) {
		/* Receive-only, nothing of its own but the domain. */
		if (req->pd != XENIB_INVALID_HANDLE ||
		    req->send_cq != XENIB_INVALID_HANDLE ||
		    req->recv_cq != XENIB_INVALID_HANDLE ||
		    req->srq != XENIB_INVALID_HANDLE || req->sq_sig_all ||
		    req->max_send_sge || req->max_recv_sge ||
		    req->max_inline || !ring_desc_zero(&req->sq) ||
		    !ring_desc_zero(&req->rq))
			return EINVAL;
		return 0;
	}
	if (req->xrcd)
		return EINVAL;
	/* XRC_SEND is send-only: no receive CQ, RQ or SRQ. */
	if (req->qp_type == IBV_QPT_XRC_SEND &&
	    (req->recv_cq != XENIB_INVALID_HANDLE ||
	     req->srq != XENIB_INVALID_HANDLE || req->max_recv_sge ||
	     !ring_desc_zero(&req->rq)))
		return EINVAL;
	/* With an SRQ the QP has no receive ring of its own. */
	if (req->srq != XENIB_INVALID_HANDLE &&
	    (req->rq.entries || req->rq.region || req->rq.offset ||
	     req->rq.stride || req->max_recv_sge))
		return EINVAL;
	if (req->max_send_sge > XENIB_MAX_SGE ||
	    req->max_recv_sge > XENIB_MAX_SGE ||
	    req->max_inline > XENIB_MAX_INLINE || req->sq_sig_all > 1)
		return EINVAL;
	if (req->sq.entries > XENIB_MAX_QP_WR || req->rq.entries > XENIB_MAX_QP_WR)
		return EINVAL;
	return 0;
}

static int xrc_recv_create(struct xd_ctx *ctx,
			   const struct xenib_create_qp_req *req,
			   uint32_t *qpn);

int xd_qp_create(struct xd_ctx *ctx, const struct xenib_create_qp_req *req,
		 uint32_t *qpn)
{
	struct xd_pd *pd;
	struct xd_cq *scq, *rcq;
	struct xd_srq *srq = NULL;
	struct xd_qp *qp;
	int err;

	err = qp_check_create(req);
	if (err)
		return err;
	if (!ctx->page || !ctx->doorbell)
		return EPROTO;	/* context page and doorbell come first */
	if (req->qp_type == IBV_QPT_XRC_RECV)
		return xrc_recv_create(ctx, req, qpn);
	pd = xd_pd_lookup(ctx, req->pd);
	scq = xd_cq_lookup(ctx, req->send_cq);
	rcq = req->qp_type == IBV_QPT_XRC_SEND ? NULL :
	      xd_cq_lookup(ctx, req->recv_cq);
	if (!pd || !scq || (!rcq && req->qp_type != IBV_QPT_XRC_SEND))
		return ENOENT;
	if (req->srq != XENIB_INVALID_HANDLE) {
		srq = xd_srq_lookup(ctx, req->srq);
		if (!srq)
			return ENOENT;
	}
	err = xd_obj_check(ctx, XD_KIND_QP);
	if (err)
		return err;
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return ENOMEM;
	err = xd_engine_qp_init(qp);
	if (err)
		goto err_free;
	err = xd_ring_attach(ctx, &qp->sq, &req->sq,
			     send_wqe_bytes(req->max_send_sge, req->max_inline));
	if (err)
		goto err_free;
	if (!srq && req->qp_type != IBV_QPT_XRC_SEND)
		err = xd_ring_attach(ctx, &qp->rq, &req->rq,
				     sizeof(struct xenib_recv_wqe) +
				     req->max_recv_sge * sizeof(struct xenib_sge));
	if (err)
		goto err_sq;
	/* QPNs are 24 bits; the table's limit keeps them there. */
	err = xd_obj_add(ctx, XD_KIND_QP, &qp->h, &qp->link);
	if (err)
		goto err_rq;
	qp->pd = pd;
	qp->send_cq = scq;
	qp->recv_cq = rcq;
	qp->srq = srq;
	qp->qp_type = req->qp_type;
	qp->sq_sig_all = req->sq_sig_all;
	qp->max_send_sge = req->max_send_sge;
	qp->max_recv_sge = req->max_recv_sge;
	qp->max_inline = req->max_inline;
	qp->attr.qp_state = IBV_QPS_RESET;
	qp->attr.port_num = 1;
	pd->refs++;
	scq->refs++;
	if (rcq)
		rcq->refs++;
	if (srq)
		srq->refs++;
	list_add_tail(&xd.qps, &qp->active);
	*qpn = qp->h.id;
	return 0;

err_rq:
	xd_ring_detach(&qp->rq);
err_sq:
	xd_ring_detach(&qp->sq);
err_free:
	xd_engine_qp_fini(qp);
	free(qp);
	return err;
}

/* XRC_RECV: a QP number in a domain, no rings; the engine never runs it. */
static int xrc_recv_create(struct xd_ctx *ctx,
			   const struct xenib_create_qp_req *req,
			   uint32_t *qpn)
{
	struct xd_xrcd *xrcd = xd_xrcd_lookup(ctx, req->xrcd);
	struct xd_qp *qp;
	int err;

	if (!xrcd)
		return ENOENT;
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return ENOMEM;
	err = xd_engine_qp_init(qp);	/* its receive in progress */
	if (!err)
		err = xd_obj_add(ctx, XD_KIND_QP, &qp->h, &qp->link);
	if (err) {
		xd_engine_qp_fini(qp);
		free(qp);
		return err;
	}
	qp->xrcd = xrcd;
	qp->qp_type = IBV_QPT_XRC_RECV;
	qp->attr.qp_state = IBV_QPS_RESET;
	qp->attr.port_num = 1;
	list_init(&qp->active);	/* not on xd.qps: nothing to run */
	xrcd->refs++;
	*qpn = qp->h.id;
	return 0;
}

struct xd_qp *xd_qp_find(uint16_t lid, uint32_t qpn)
{
	struct xd_guest *g = xd_guest_by_lid(lid);

	if (!g)
		return NULL;
	return (struct xd_qp *)xd_table_get(&g->qps, qpn);
}

static struct xd_qp *qp_lookup(struct xd_ctx *ctx, uint32_t qpn)
{
	return xd_obj_lookup(ctx, XD_KIND_QP, qpn);
}

/* Values of the attributes named in mask must be in range. */
static int qp_check_values(const struct xd_qp *qp,
			   const struct xenib_qp_attr *a, uint32_t mask)
{
	const struct xenib_ah_attr *ah = &a->ah;

	if ((mask & IBV_QP_PORT) && a->port_num != 1)
		return EINVAL;
	if ((mask & IBV_QP_PKEY_INDEX) && a->pkey_index != 0)
		return EINVAL;
	if ((mask & IBV_QP_ACCESS_FLAGS) &&
	    (a->qp_access_flags & ~(XD_QP_ACCESS_MASK | IBV_ACCESS_LOCAL_WRITE)))
		return EINVAL;
	if ((mask & IBV_QP_PATH_MTU) &&
	    (a->path_mtu < IBV_MTU_256 || a->path_mtu > IBV_MTU_4096))
		return EINVAL;
	if ((mask & IBV_QP_DEST_QPN) && a->dest_qp_num > 0xffffff)
		return EINVAL;
	if ((mask & IBV_QP_RQ_PSN) && a->rq_psn > 0xffffff)
		return EINVAL;
	if ((mask & IBV_QP_SQ_PSN) && a->sq_psn > 0xffffff)
		return EINVAL;
	if ((mask & IBV_QP_TIMEOUT) && a->timeout > 31)
		return EINVAL;
	if ((mask & IBV_QP_RETRY_CNT) && a->retry_cnt > 7)
		return EINVAL;
	if ((mask & IBV_QP_RNR_RETRY) && a->rnr_retry > 7)
		return EINVAL;
	if ((mask & IBV_QP_MIN_RNR_TIMER) && a->min_rnr_timer > 31)
		return EINVAL;
	if ((mask & IBV_QP_MAX_QP_RD_ATOMIC) && a->max_rd_atomic > 16)
		return EINVAL;
	if ((mask & IBV_QP_MAX_DEST_RD_ATOMIC) && a->max_dest_rd_atomic > 16)
		return EINVAL;
	if (mask & IBV_QP_AV) {
		if (ah->port_num > 1 || ah->sl > 15)
			return EINVAL;
		if (ah->is_global && ah->sgid_index != 0)
			return EINVAL;
		if (!ah->dlid && !ah->is_global)
			return EINVAL;
	}
	if (mask & (IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE))
		return EOPNOTSUPP;	/* no alternate paths on a virtual port */
	return 0;
}

static void qp_apply(struct xd_qp *qp, const struct xenib_qp_attr *a,
		     uint32_t mask)
{
	struct xenib_qp_attr *c = &qp->attr;

	if (mask & IBV_QP_PKEY_INDEX)
		c->pkey_index = a->pkey_index;
	if (mask & IBV_QP_PORT)
		c->port_num = a->port_num;
	if (mask & IBV_QP_ACCESS_FLAGS)
		c->qp_access_flags = a->qp_access_flags;
	if (mask & IBV_QP_QKEY)
		c->qkey = a->qkey;
	if (mask & IBV_QP_AV)
		c->ah = a->ah;
	if (mask & IBV_QP_PATH_MTU)
		c->path_mtu = a->path_mtu;
	if (mask & IBV_QP_DEST_QPN)
		c->dest_qp_num = a->dest_qp_num;
	if (mask & IBV_QP_RQ_PSN)
		c->rq_psn = a->rq_psn;
	if (mask & IBV_QP_SQ_PSN)
		c->sq_psn = a->sq_psn;
	if (mask & IBV_QP_MAX_DEST_RD_ATOMIC)
		c->max_dest_rd_atomic = a->max_dest_rd_atomic;
	if (mask & IBV_QP_MAX_QP_RD_ATOMIC)
		c->max_rd_atomic = a->max_rd_atomic;
	if (mask & IBV_QP_MIN_RNR_TIMER)
		c->min_rnr_timer = a->min_rnr_timer;
	if (mask & IBV_QP_TIMEOUT)
		c->timeout = a->timeout;
	if (mask & IBV_QP_RETRY_CNT)
		c->retry_cnt = a->retry_cnt;
	if (mask & IBV_QP_RNR_RETRY)
		c->rnr_retry = a->rnr_retry;
	if (mask & IBV_QP_EN_SQD_ASYNC_NOTIFY)
		c->en_sqd_async_notify = a->en_sqd_async_notify;
}

/*
 * Attribute groups by the state that set them (what RESET->INIT,
 * INIT->RTR and RTR->RTS take, ibv_modify_qp(3)).
 */
#define INIT_ATTRS (IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS | \
		    IBV_QP_QKEY)
#define RTR_ATTRS (IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | \
		   IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | \
		   IBV_QP_MIN_RNR_TIMER)
#define RTS_ATTRS (IBV_QP_SQ_PSN | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | \
		   IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC)

int xd_qp_set_attr(struct xd_qp *qp, const struct xenib_qp_attr *a)
{
	uint32_t st = a->qp_state, mask = INIT_ATTRS;
	struct xenib_qp_attr c = *a;

	if (st > IBV_QPS_ERR || st == IBV_QPS_RESET)
		return EINVAL;
	if (st == IBV_QPS_RTR || st == IBV_QPS_RTS || st == IBV_QPS_SQD ||
	    st == IBV_QPS_SQE)
		mask |= RTR_ATTRS;
	if (st == IBV_QPS_RTS || st == IBV_QPS_SQD || st == IBV_QPS_SQE)
		mask |= RTS_ATTRS;
	/* An ERR QP may never have been connected: check what it has. */
	if (st == IBV_QPS_ERR && (a->ah.dlid || a->ah.is_global))
		mask |= RTR_ATTRS | RTS_ATTRS;
	else if (st == IBV_QPS_ERR)
		mask |= (RTR_ATTRS | RTS_ATTRS) & ~IBV_QP_AV;
	if (qp->qp_type == IBV_QPT_UD)	/* a Q_Key and PSNs, no path */
		mask &= IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_SQ_PSN |
			IBV_QP_RQ_PSN;
	if (qp_check_values(qp, &c, mask) || c.port_num != 1)
		return EINVAL;
	if (qp->qp_type == IBV_QPT_UD && (c.ah.dlid || c.dest_qp_num))
		return EINVAL;
	c.cur_qp_state = 0;
	c.sq_draining = 0;
	c.en_sqd_async_notify = !!c.en_sqd_async_notify;
	c.reserved = 0;
	qp->attr = c;
	return 0;
}

/* Forget everything on the rings: RESET discards outstanding work. */
static void qp_reset(struct xd_qp *qp)
{
	if (qp->sq.hdr) {	/* XRC_RECV has no rings */
		qp->sq.idx = xr_load_acquire(&qp->sq.hdr->prod);
		xr_store_release(&qp->sq.hdr->cons, qp->sq.idx);
	}
	if (!qp->srq && qp->rq.hdr) {	/* a shared SRQ keeps its WQEs */
		qp->rq.idx = xr_load_acquire(&qp->rq.hdr->prod);
		xr_store_release(&qp->rq.hdr->cons, qp->rq.idx);
	}
	xd_engine_reset_qp(qp);
	memset(&qp->attr, 0, sizeof(qp->attr));
	qp->attr.qp_state = IBV_QPS_RESET;
	qp->attr.port_num = 1;
}

int xd_qp_modify(struct xd_ctx *ctx, const struct xenib_modify_qp_req *req)
{
	struct xd_qp *qp = qp_lookup(ctx, req->qpn);
	uint32_t cur, next, mask = req->attr_mask;
	int err;

	if (!qp)
		return ENOENT;
	cur = qp->attr.qp_state;
	next = (mask & IBV_QP_STATE) ? req->attr.qp_state : cur;
	if ((mask & IBV_QP_CUR_STATE) && req->attr.cur_qp_state != cur)
		return EINVAL;
	err = xd_qp_check_transition(qp->qp_type, cur, next, mask);
	if (!err)
		err = qp_check_values(qp, &req->attr, mask);
	if (err)
		return err;
	if (next == IBV_QPS_RESET) {
		qp_reset(qp);
		return 0;
	}
	qp_apply(qp, &req->attr, mask);
	qp->attr.qp_state = next;
	if (next == IBV_QPS_RTR && cur == IBV_QPS_INIT)
		xd_engine_ready_qp(qp);
	if (next == IBV_QPS_RTS && cur == IBV_QPS_RTR)
		xd_engine_start_qp(qp);
	if (next == IBV_QPS_ERR && cur != IBV_QPS_ERR)
		xd_engine_flush_qp(qp);
	/* SQD: the WQE in progress completes, then the SQ is drained. */
	if (next == IBV_QPS_SQD && cur != IBV_QPS_SQD)
		xd_engine_drain_qp(qp, qp->attr.en_sqd_async_notify);
	return 0;
}

int xd_qp_query(struct xd_ctx *ctx, uint32_t qpn, struct xenib_qp_attr *attr)
{
	struct xd_qp *qp = qp_lookup(ctx, qpn);

	if (!qp)
		return ENOENT;
	*attr = qp->attr;
	attr->cur_qp_state = qp->attr.qp_state;
	attr->sq_draining = 0;
	return 0;
}

void xd_qp_to_error(struct xd_qp *qp, uint32_t async_event)
{
	if (qp->attr.qp_state == IBV_QPS_ERR)
		return;
	qp->attr.qp_state = IBV_QPS_ERR;
	if (async_event)
		xd_ctx_post_async(qp->ctx, async_event, qp->h.id);
	xd_engine_flush_qp(qp);
}

void xd_qp_free(struct xd_qp *qp)
{
	if (qp->mcast)
		xd_mcast_qp_free(qp);
	list_del(&qp->active);
	xd_ring_detach(&qp->sq);
	xd_ring_detach(&qp->rq);
	if (qp->qp_type == IBV_QPT_XRC_RECV) {
		qp->xrcd->refs--;	/* srq/recv_cq/pd: only during a send */
	} else {
		qp->pd->refs--;
		qp->send_cq->refs--;
		if (qp->recv_cq)
			qp->recv_cq->refs--;
		if (qp->srq)
			qp->srq->refs--;
	}
	xd_obj_del(XD_KIND_QP, &qp->h, &qp->link);
	xd_engine_qp_fini(qp);
	free(qp);
}

int xd_qp_destroy(struct xd_ctx *ctx, uint32_t qpn)
{
	struct xd_qp *qp = qp_lookup(ctx, qpn);

	if (!qp)
		return ENOENT;
	xd_qp_free(qp);
	return 0;
}
