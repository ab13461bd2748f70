// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Batched publishing of what the backend writes into guest rings.
 *
 * Between xd_batch_begin() and xd_batch_end() (one QP's turn of the
 * engine) the backend works on its private indices only: the consumer
 * indices of the send and receive rings it takes WQEs from, and the
 * producer indices of the CQs it writes CQEs into.  At the end it
 * publishes each touched ring once, in an order that keeps what a guest
 * may rely on:
 *
 *   1. every consumer index (SQ, RQ, SRQ): a slot is free before the
 *      completion of its WQE shows, as on hardware, so a guest that
 *      reposts as soon as it polls finds room;
 *   2. every CQ producer index, then one full fence, then every CQ's arm
 *      (a completion event is raised once per CQ per batch, if armed and
 *      one of its new CQEs qualifies).
 *
 * So a burst of small messages costs one release store per ring and one
 * fence per batch instead of a store, a fence and a clock read per CQE.
 * Outside a batch (control path, the fabric's answers) everything is
 * published at once, as before.  Nothing here allocates; a batch that
 * touches more rings than the tables hold is published early, which is
 * always allowed.
 */
#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"

#define XD_BATCH_RINGS	64
#define XD_BATCH_CQS	64

static struct xd_ring *rings[XD_BATCH_RINGS];
static struct xd_cq *cqs[XD_BATCH_CQS];
static unsigned int nrings, ncqs, depth;
static uint64_t batch_now;	/* one clock read per batch, 0: none yet */

void xd_batch_begin(void)
{
	depth++;
}

void xd_batch_flush(void)
{
	unsigned int i;

	for (i = 0; i < nrings; i++) {
		/* We consume the guest's ring: release the slots. */
		xr_store_release(&rings[i]->hdr->cons, rings[i]->idx);
		rings[i]->dirty = false;
	}
	nrings = 0;
	if (!ncqs)
		return;
	for (i = 0; i < ncqs; i++)
		xd_cq_publish_prod(cqs[i]);
	xr_full_fence();	/* every CQE publish before reading the arms */
	for (i = 0; i < ncqs; i++) {
		cqs[i]->batched = false;
		xd_cq_publish_event(cqs[i]);
	}
	ncqs = 0;
	xd.stats.cq_publishes++;
}

void xd_batch_end(void)
{
	if (depth && --depth)
		return;
	xd_batch_flush();
	batch_now = 0;
}

uint64_t xd_batch_now(void)
{
	if (!depth)
		return xd_now_ns();
	if (!batch_now)
		batch_now = xd_now_ns();
	return batch_now;
}

void xd_ring_consumed(struct xd_ring *ring, uint32_t n)
{
	ring->idx += n;
	if (!depth) {
		/* We consume the guest's ring: release the slots. */
		xr_store_release(&ring->hdr->cons, ring->idx);
		return;
	}
	if (ring->dirty)
		return;
	if (nrings == XD_BATCH_RINGS)
		xd_batch_flush();	/* early is always allowed */
	ring->dirty = true;
	rings[nrings++] = ring;
}

bool xd_batch_defer_cq(struct xd_cq *cq)
{
	if (!depth)
		return false;
	if (cq->batched)
		return true;
	if (ncqs == XD_BATCH_CQS)
		xd_batch_flush();	/* rings first: order kept */
	cq->batched = true;
	cqs[ncqs++] = cq;
	return true;
}

void xd_batch_forget(void)
{
	/* A ring or CQ goes away mid-batch: publish what it holds first. */
	if (nrings || ncqs)
		xd_batch_flush();
}
