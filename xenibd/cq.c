// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Completion queues: the backend produces CQEs into guest memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"

int xd_cq_create(struct xd_ctx *ctx, const struct xenib_create_cq_req *req,
		 uint32_t *handle)
{
	struct xd_notify *n = NULL;
	struct xd_cq *cq;
	int err;

	if (req->ring.stride != sizeof(struct xenib_cqe) ||
	    req->ring.entries > XENIB_MAX_CQE)
		return EINVAL;
	if (req->notify != XENIB_INVALID_HANDLE) {
		n = xd_notify_lookup(ctx, req->notify);
		if (!n || n->kind != XENIB_NOTIFY_COMP)
			return ENOENT;
	}
	err = xd_quota_check(ctx, XD_Q_CQS, 1);
	if (err)
		return err;
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return ENOMEM;
	err = xd_ring_attach(ctx, &cq->ring, &req->ring, sizeof(struct xenib_cqe));
	if (err) {
		free(cq);
		return err;
	}
	/* We produce on this ring: our index is the producer index. */
	cq->ring.idx = xr_load_relaxed(&cq->ring.hdr->cons);
	xr_store_release(&cq->ring.hdr->prod, cq->ring.idx);
	cq->events = xr_load_relaxed(&cq->ring.hdr->events);
	err = xd_table_add(&xd.cqs, &cq->h);
	if (err) {
		xd_ring_detach(&cq->ring);
		free(cq);
		return err;
	}
	cq->ctx = ctx;
	cq->notify = n;
	if (n)
		n->refs++;
	ctx->nobj++;
	xd_quota_charge(ctx, XD_Q_CQS, 1);
	xd.stats.cqs++;
	*handle = cq->h.id;
	return 0;
}

struct xd_cq *xd_cq_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_cq *cq = (struct xd_cq *)xd_table_get(&xd.cqs, handle);

	return (cq && cq->ctx == ctx) ? cq : NULL;
}

void xd_cq_free(struct xd_cq *cq)
{
	if (cq->notify)
		cq->notify->refs--;
	xd_ring_detach(&cq->ring);
	cq->ctx->nobj--;
	xd_quota_uncharge(cq->ctx, XD_Q_CQS, 1);
	xd_table_del(&xd.cqs, &cq->h);
	xd.stats.cqs--;
	free(cq);
}

int xd_cq_destroy(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_cq *cq = xd_cq_lookup(ctx, handle);

	if (!cq)
		return ENOENT;
	if (cq->refs)
		return EBUSY;
	xd_cq_free(cq);
	return 0;
}

/* Raise a completion event if the guest armed the CQ for this CQE. */
static void cq_maybe_event(struct xd_cq *cq, bool solicited)
{
	uint32_t armed;

	xr_full_fence();	/* CQE publish before reading the arm flag */
	armed = xr_load_acquire(&cq->ring.hdr->armed);
	if (armed != XENIB_CQ_ARM_NEXT &&
	    !(armed == XENIB_CQ_ARM_SOLICITED && solicited))
		return;
	/* The guest may re-arm concurrently: claim exactly the arm we saw. */
	if (!atomic_compare_exchange_strong_explicit(
		    (_Atomic uint32_t *)&cq->ring.hdr->armed, &armed,
		    XENIB_CQ_ARM_NONE, memory_order_acq_rel,
		    memory_order_relaxed))
		return;
	/* Guest consumes events; we are the only writer of the counter. */
	xr_store_release(&cq->ring.hdr->events, ++cq->events);
	if (cq->notify)
		xd_notify_signal(cq->notify);
}

bool xd_cq_push(struct xd_cq *cq, const struct xenib_cqe *cqe, bool solicited)
{
	struct xd_ring *r = &cq->ring;
	uint32_t cons;

	if (cq->overrun)
		return false;
	/* cons is written by the guest: any value is possible. */
	cons = xr_load_acquire(&r->hdr->cons);
	if (r->idx - cons >= r->entries) {
		cq->overrun = true;
		xd_ctx_log(cq->ctx, "CQ 0x%x overrun (%u entries)", cq->h.id,
			   r->entries);
		xd_ctx_post_async(cq->ctx, IBV_EVENT_CQ_ERR, cq->h.id);
		return false;
	}
	memcpy(xr_entry(r->hdr, r->idx, r->entries, r->stride), cqe,
	       sizeof(*cqe));
	/* Completion timestamp (ibv_wc_read_completion_ts), ns. */
	((struct xenib_cqe *)xr_entry(r->hdr, r->idx, r->entries,
				      r->stride))->timestamp = xd_now_ns();
	/* Backend produces, guest consumes: publish the entry. */
	xr_store_release(&r->hdr->prod, ++r->idx);
	cq_maybe_event(cq, solicited || cqe->status != IBV_WC_SUCCESS);
	return true;
}
