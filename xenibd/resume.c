// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RESUME over Xen (xenib-abi.h, "RESUME"): a context frozen for its guest's
 * suspend (xen.c) and taken over by the restored guest gets its memory and
 * its notifiers back, then runs again.
 *
 *  RESUME_REGION  the region's pages granted again: map them at the
 *                 region's old address (over the placeholder), and every
 *                 MR view segment over the region at its old place, so
 *                 every pointer the backend holds is good again;
 *  RESUME_NOTIFY  the notifier's new port;
 *  RESUME_DONE    all regions back (else EBUSY); CQs whose producer index
 *                 in guest memory is not ours lost completions in the
 *                 image: their QPs fail (flush, IBV_EVENT_QP_FATAL) rather
 *                 than go on as if nothing happened.  Then the context
 *                 thaws and its rings are looked at once.
 */
#include <errno.h>
#include <stdlib.h>

#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"
#include "xenibd/xen.h"

/*
 * Map (map == true) or unmap (keeping placeholders) the first n MR view
 * segments over r, in table order; returns how many were mapped, all of
 * them on success (*err 0).
 */
static unsigned int views(struct xd_region *r, bool map, unsigned int n,
			  int *err)
{
	unsigned int done = 0;
	uint32_t i, j;

	*err = 0;
	for (i = 1; i < xd.mrs.size && done < n; i++) {
		struct xd_mr *mr = (struct xd_mr *)xd.mrs.slot[i];

		if (!mr || mr->ctx != r->ctx)
			continue;
		for (j = 0; j < mr->nsegs && done < n; j++) {
			const struct xd_mr_seg *sg = &mr->segs[j];
			struct hvx_gmap gm = {
				.va = mr->view + sg->pos, .len = sg->length,
			};

			if (sg->r != r)
				continue;
			if (!map) {
				xd_hv->unmap(&gm, true);
			} else {
				*err = xd_hv->map(r->domid, r->grefs +
						  sg->offset / XENIB_PAGE_SIZE,
						  sg->length / XENIB_PAGE_SIZE,
						  gm.va, true, &gm);
				if (*err)
					return done;
			}
			done++;
		}
	}
	return done;
}

static void region_unmap_keep(struct xd_region *r)
{
	struct hvx_gmap gm = { .va = r->va, .len = r->len };
	int err;

	views(r, false, ~0u, &err);
	xd_hv->unmap(&gm, true);
	r->unmapped = true;
}

int xd_resume_region(struct xd_ctx *ctx,
		     const struct xenib_resume_region_req *req)
{
	struct xd_region *r = xd_region_lookup(ctx, req->handle);
	struct hvx_gmap gm = { 0 };
	uint32_t *grefs, *old;
	unsigned int n;
	int err;

	if (!r)
		return ENOENT;	/* gone meanwhile; the guest tolerates it */
	if (!r->grefs || req->ref > UINT32_MAX ||
	    (size_t)req->npages * XENIB_PAGE_SIZE != r->len)
		return EINVAL;
	err = xd_xen_read_refs(ctx->xen->domid, req->ref, req->npages, &grefs);
	if (err)
		return err;
	if (!r->unmapped)	/* sent twice: the newer grants win */
		region_unmap_keep(r);
	err = xd_hv->map(ctx->xen->domid, grefs, req->npages, r->va, true,
			 &gm);
	if (err) {
		free(grefs);
		return err;
	}
	old = r->grefs;
	r->grefs = grefs;
	r->domid = ctx->xen->domid;
	r->unmapped = false;
	n = views(r, true, ~0u, &err);
	if (err) {
		/* All or nothing: an unmapped view would fault the engine. */
		int e2;

		views(r, false, n, &e2);
		xd_hv->unmap(&gm, true);
		r->unmapped = true;
		r->grefs = old;
		free(grefs);
		return err;
	}
	free(old);
	return 0;
}

int xd_resume_notify(struct xd_ctx *ctx,
		     const struct xenib_resume_notify_req *req)
{
	struct xd_notify *n = xd_notify_lookup(ctx, req->handle);
	int lp, err;

	if (!n)
		return ENOENT;
	if (!req->port || req->port >= XD_XEN_MAX_PORT || n->fd >= 0)
		return EINVAL;
	lp = xd_hv->bind(ctx->xen->domid, req->port);
	if (lp <= 0)
		return EINVAL;	/* not an unbound port of this guest for us */
	if (n->kind == XENIB_NOTIFY_DOORBELL) {
		err = xd_xen_port_doorbell(lp, n);
		if (err) {
			xd_hv->unbind(lp);
			return err;
		}
	}
	if (n->port) {		/* sent twice: the newer port wins */
		xd_xen_port_clear(n->port);
		xd_hv->unbind(n->port);
	}
	n->port = lp;
	return 0;
}

/* Give the guest its consumer indices as we know them. */
static void publish_cons(struct xd_ring *ring)
{
	if (ring->hdr)
		xr_store_release(&ring->hdr->cons, ring->idx);
}

int xd_resume_done(struct xd_ctx *ctx)
{
	uint64_t next = UINT64_MAX;
	unsigned int nbad = 0, nfail = 0, nunbound = 0;
	uint32_t i;

	for (i = 1; i < xd.regions.size; i++) {
		struct xd_region *r = (struct xd_region *)xd.regions.slot[i];

		if (r && r->ctx == ctx && r->unmapped)
			return EBUSY;
	}
	for (i = 1; i < xd.notifies.size; i++) {
		struct xd_notify *n = (struct xd_notify *)xd.notifies.slot[i];

		nunbound += n && n->ctx == ctx && !n->port;
	}
	if (nunbound)
		xd_ctx_log(ctx, "resumed with %u notifiers not bound again "
			   "(their signals are lost)", nunbound);
	xd_xen_ctx_thaw(ctx);
	/*
	 * We produce CQEs: the guest's memory must hold our producer index.
	 * If it does not, the suspend image lost completions we wrote; the
	 * guest would wait for them forever (or, worse, see stale ones), so
	 * its QPs on that CQ fail.  Flushes go on from the guest's index.
	 */
	for (i = 1; i < xd.cqs.size; i++) {
		struct xd_cq *cq = (struct xd_cq *)xd.cqs.slot[i];
		uint32_t prod, j;

		if (!cq || cq->ctx != ctx)
			continue;
		prod = xr_load_acquire(&cq->ring.hdr->prod);
		if (prod == cq->ring.idx)
			continue;
		xd_ctx_log(ctx, "CQ 0x%x: producer index %u in guest memory, "
			   "%u written: completions lost in the suspend image; "
			   "its QPs fail", cq->h.id, prod, cq->ring.idx);
		nbad++;
		cq->ring.idx = prod;
		for (j = 1; j < xd.qpt.size; j++) {
			struct xd_qp *qp = (struct xd_qp *)xd.qpt.slot[j];

			if (qp && qp->ctx == ctx &&
			    (qp->send_cq == cq || qp->recv_cq == cq) &&
			    qp->attr.qp_state != IBV_QPS_ERR) {
				xd_qp_to_error(qp, IBV_EVENT_QP_FATAL);
				nfail++;
			}
		}
	}
	for (i = 1; i < xd.qpt.size; i++) {
		struct xd_qp *qp = (struct xd_qp *)xd.qpt.slot[i];

		if (!qp || qp->ctx != ctx)
			continue;
		publish_cons(&qp->sq);
		if (!qp->srq)
			publish_cons(&qp->rq);
	}
	for (i = 1; i < xd.srqs.size; i++) {
		struct xd_srq *srq = (struct xd_srq *)xd.srqs.slot[i];

		if (srq && srq->ctx == ctx)
			publish_cons(&srq->ring);
	}
	xd_log("domain %u: context %u resumed%s (%u CQs lost completions, "
	       "%u QPs failed)", ctx->xen->domid, ctx->xen->k,
	       nbad ? " with losses" : "", nbad, nfail);
	/* Kicks sent while we were not listening are lost: look once. */
	xd.now_ns = xd_now_ns();
	xd_engine_poll(&next);
	return 0;
}
