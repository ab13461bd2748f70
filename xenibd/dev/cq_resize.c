// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RESIZE_CQ: move a CQ's unpolled entries to a new guest ring.
 *
 * The backend is the only producer of a CQ and runs control requests and
 * the engine on one thread, so nothing is produced while the entries move.
 * Everything read from the guest (its consumer index, the old entries, the
 * new ring descriptor) is validated or treated as opaque bytes: a lying
 * guest only garbles its own completions.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"

int xd_cq_resize(struct xd_ctx *ctx, const struct xenib_resize_cq_req *req)
{
	struct xd_cq *cq = xd_cq_lookup(ctx, req->handle);
	struct xd_ring nr = { 0 }, *old;
	uint32_t n, i, armed;
	int err;

	if (!cq)
		return ENOENT;
	if (cq->overrun)
		return EIO;	/* the CQ is in error; nothing to preserve */
	if (req->ring.stride != sizeof(struct xenib_cqe) ||
	    req->ring.entries > XENIB_MAX_CQE || req->ring.reserved)
		return EINVAL;
	old = &cq->ring;
	/* cons comes from the guest: at most one ring behind our prod. */
	n = old->idx - req->cons;
	if (n > old->entries)
		return EINVAL;
	if (n > req->ring.entries)
		return EINVAL;	/* smaller than what is outstanding */
	err = xd_ring_attach(ctx, &nr, &req->ring, sizeof(struct xenib_cqe));
	if (err)
		return err;

	/* Old ring: we produced [cons, prod), the guest gave it back. */
	for (i = 0; i < n; i++)
		memmove(xr_entry(nr.hdr, i, nr.entries, nr.stride),
			xr_entry(old->hdr, req->cons + i, old->entries,
				 old->stride),
			sizeof(struct xenib_cqe));
	/* New ring: the guest consumes from 0, we produce from n. */
	nr.idx = n;
	xr_store_release(&nr.hdr->cons, 0);
	xr_store_release(&nr.hdr->events, cq->events);
	/* armed: the guest's request, moved over (and cleared on the old). */
	armed = atomic_exchange_explicit((_Atomic uint32_t *)&old->hdr->armed,
					 XENIB_CQ_ARM_NONE,
					 memory_order_acq_rel);
	xr_store_release(&nr.hdr->armed, armed);
	/* Backend produces, guest consumes: publish the moved entries. */
	xr_store_release(&nr.hdr->prod, n);

	xd_ring_detach(old);
	cq->ring = nr;
	xd_dbg("CQ 0x%x resized to %u entries (%u moved)", cq->h.id,
	       nr.entries, n);
	return 0;
}
