// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared receive queues.  An SRQ is a ring of receive WQEs in guest memory,
 * like a QP's RQ; the engine (engine.c) takes receives from it for every QP
 * created with it.  Its limit event is raised by the engine when a consume
 * leaves fewer than the armed number of WQEs posted.
 */
#include <errno.h>
#include <stdlib.h>

#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"

int xd_srq_create(struct xd_ctx *ctx, const struct xenib_create_srq_req *req,
		  uint32_t *handle)
{
	struct xd_xrcd *xrcd = NULL;
	struct xd_cq *cq = NULL;
	struct xd_srq *srq;
	struct xd_pd *pd;
	int err;

	if (req->srq_type == IBV_SRQT_TM)
		return EOPNOTSUPP;	/* basic and XRC SRQs only */
	if (req->srq_type == IBV_SRQT_BASIC) {
		if (req->xrcd != XENIB_INVALID_HANDLE ||
		    req->cq != XENIB_INVALID_HANDLE)
			return EINVAL;
	} else if (req->srq_type != IBV_SRQT_XRC) {
		return EINVAL;
	}
	if (req->max_sge > XENIB_MAX_SGE ||
	    req->ring.entries > XENIB_MAX_QP_WR ||
	    req->srq_limit >= req->ring.entries)
		return EINVAL;
	if (!ctx->page || !ctx->doorbell)
		return EPROTO;	/* context page and doorbell come first */
	pd = xd_pd_lookup(ctx, req->pd);
	if (!pd)
		return ENOENT;
	if (req->srq_type == IBV_SRQT_XRC) {
		xrcd = xd_xrcd_lookup(ctx, req->xrcd);
		cq = xd_cq_lookup(ctx, req->cq);
		if (!xrcd || !cq)
			return ENOENT;
	}
	err = xd_obj_check(ctx, XD_KIND_SRQ);
	if (err)
		return err;
	srq = calloc(1, sizeof(*srq));
	if (!srq)
		return ENOMEM;
	err = xd_ring_attach(ctx, &srq->ring, &req->ring,
			     sizeof(struct xenib_recv_wqe) +
			     req->max_sge * sizeof(struct xenib_sge));
	if (err)
		goto err_free;
	err = xd_obj_add(ctx, XD_KIND_SRQ, &srq->h, &srq->link);
	if (err)
		goto err_ring;
	srq->pd = pd;
	srq->max_sge = req->max_sge;
	srq->limit = req->srq_limit;
	srq->xrcd = xrcd;
	srq->cq = cq;
	pd->refs++;
	if (xrcd) {
		xrcd->refs++;
		cq->refs++;
	}
	*handle = srq->h.id;
	return 0;

err_ring:
	xd_ring_detach(&srq->ring);
err_free:
	free(srq);
	return err;
}

struct xd_srq *xd_srq_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	return xd_obj_lookup(ctx, XD_KIND_SRQ, handle);
}

int xd_srq_modify(struct xd_ctx *ctx, const struct xenib_modify_srq_req *req)
{
	struct xd_srq *srq = xd_srq_lookup(ctx, req->handle);

	if (!srq)
		return ENOENT;
	if (req->attr_mask & ~(IBV_SRQ_MAX_WR | IBV_SRQ_LIMIT))
		return EINVAL;
	if (req->attr_mask & IBV_SRQ_MAX_WR)
		return EOPNOTSUPP;	/* no resize in ABI 1 */
	if (req->attr_mask & IBV_SRQ_LIMIT) {
		if (req->srq_limit >= srq->ring.entries)
			return EINVAL;
		srq->limit = req->srq_limit;
	}
	return 0;
}

int xd_srq_query(struct xd_ctx *ctx, uint32_t handle,
		 struct xenib_query_srq_resp *resp)
{
	struct xd_srq *srq = xd_srq_lookup(ctx, handle);

	if (!srq)
		return ENOENT;
	resp->max_wr = srq->ring.entries;
	resp->max_sge = srq->max_sge;
	resp->srq_limit = srq->limit;
	return 0;
}

void xd_srq_free(struct xd_srq *srq)
{
	xd_engine_srq_gone(srq);
	xd_ring_detach(&srq->ring);
	srq->pd->refs--;
	if (srq->xrcd) {
		srq->xrcd->refs--;
		srq->cq->refs--;
	}
	xd_obj_del(XD_KIND_SRQ, &srq->h, &srq->link);
	free(srq);
}

int xd_srq_destroy(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_srq *srq = xd_srq_lookup(ctx, handle);

	if (!srq)
		return ENOENT;
	if (srq->refs)
		return EBUSY;
	xd_srq_free(srq);
	return 0;
}
