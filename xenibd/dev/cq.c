// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Completion queues: the backend produces CQEs into guest memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"

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
	err = xd_obj_check(ctx, XD_KIND_CQ);
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
	/*
	 * We produce on this ring: our index is the producer index.  A
	 * migration sets it (and the event count) from its snapshot.
	 */
	if (!ctx->adopting) {
		cq->ring.idx = xr_load_relaxed(&cq->ring.hdr->cons);
		xr_store_release(&cq->ring.hdr->prod, cq->ring.idx);
		cq->events = xr_load_relaxed(&cq->ring.hdr->events);
	}
	err = xd_obj_add(ctx, XD_KIND_CQ, &cq->h, &cq->link);
	if (err) {
		xd_ring_detach(&cq->ring);
		free(cq);
		return err;
	}
	cq->notify = n;
	if (n)
		n->refs++;
	*handle = cq->h.id;
	return 0;
}

struct xd_cq *xd_cq_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	return xd_obj_lookup(ctx, XD_KIND_CQ, handle);
}

void xd_cq_free(struct xd_cq *cq)
{
	if (cq->batched)
		xd_batch_forget();
	if (cq->notify)
		cq->notify->refs--;
	xd_ring_detach(&cq->ring);
	xd_obj_del(XD_KIND_CQ, &cq->h, &cq->link);
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

/*
 * Raise a completion event if the guest armed the CQ for the CQEs published
 * since the last look (batch_event: one of them was solicited or an
 * error).  The caller fenced after publishing them.
 */
void xd_cq_publish_event(struct xd_cq *cq)
{
	bool solicited = cq->batch_event;
	uint32_t armed;

	cq->batch_event = false;
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

void xd_cq_publish_prod(struct xd_cq *cq)
{
	/* Backend produces, guest consumes: publish the entries. */
	xr_store_release(&cq->ring.hdr->prod, cq->ring.idx);
}

bool xd_cq_push(struct xd_cq *cq, const struct xenib_cqe *cqe, bool solicited)
{
	struct xd_ring *r = &cq->ring;
	struct xenib_cqe *e;
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
	e = xr_entry(r->hdr, r->idx, r->entries, r->stride);
	memcpy(e, cqe, sizeof(*cqe));
	/* Completion timestamp (ibv_wc_read_completion_ts), ns. */
	e->timestamp = xd_batch_now();
	r->idx++;
	xd.stats.cqes++;
	cq->batch_event |= solicited || cqe->status != IBV_WC_SUCCESS;
	if (xd_batch_defer_cq(cq))
		return true;	/* published at the batch's end */
	xd_cq_publish_prod(cq);
	xr_full_fence();	/* CQE publish before reading the arm flag */
	xd_cq_publish_event(cq);
	return true;
}
