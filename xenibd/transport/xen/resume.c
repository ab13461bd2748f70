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
#include "xenibd/dev/dev.h"
#include "xenibd/transport/xen/xen.h"

/*
 * Map (map == true) or unmap (keeping placeholders) the first n MR view
 * segments over r, in list order; returns how many were mapped, all of
 * them on success (*err 0).
 */
static unsigned int views(struct xd_region *r, bool map, unsigned int n,
			  int *err)
{
	struct xd_xen_region *xr = xd_xen_region_of(r);
	struct list_node *pos, *tmp;
	unsigned int done = 0;
	uint32_t j;

	*err = 0;
	list_for_each_safe(pos, tmp, &r->ctx->mrs) {
		struct xd_mr *mr = list_entry(pos, struct xd_mr, link);

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
				*err = xd_hv->map(xr->domid, xr->grefs +
						  sg->offset / XENIB_PAGE_SIZE,
						  sg->length / XENIB_PAGE_SIZE,
						  gm.va, true, &gm);
				if (*err)
					return done;
			}
			done++;
		}
		if (done >= n)
			break;
	}
	return done;
}

static int resume_region(struct xd_ctx *ctx,
			 const struct xenib_resume_region_req *req)
{
	struct xd_region *r = xd_region_lookup(ctx, req->handle);
	uint32_t domid = xd_xen_of(ctx)->domid;
	struct hvx_gmap gm = { 0 };
	struct xd_xen_region *xr;
	uint32_t *grefs, *old;
	unsigned int n;
	int err;

	if (!r)
		return ENOENT;	/* gone meanwhile; the guest tolerates it */
	xr = xd_xen_region_of(r);
	if (req->ref > UINT32_MAX ||
	    (size_t)req->npages * XENIB_PAGE_SIZE != r->len)
		return EINVAL;
	err = xd_xen_read_refs(domid, req->ref, req->npages, &grefs);
	if (err)
		return err;
	/* Sent twice: the newer grants win. */
	xd_xen_region_unmap_keep(r);
	err = xd_hv->map(domid, grefs, req->npages, r->va, true, &gm);
	if (err) {
		free(grefs);
		return err;
	}
	old = xr->grefs;
	xr->grefs = grefs;
	xr->domid = domid;
	xr->unmapped = false;
	n = views(r, true, ~0u, &err);
	if (err) {
		/* All or nothing: an unmapped view would fault the engine. */
		int e2;

		views(r, false, n, &e2);
		xd_hv->unmap(&gm, true);
		xr->unmapped = true;
		xr->grefs = old;
		free(grefs);
		return err;
	}
	free(old);
	return 0;
}

static int resume_notify(struct xd_ctx *ctx,
			 const struct xenib_resume_notify_req *req)
{
	struct xd_notify *n = xd_notify_lookup(ctx, req->handle);
	struct xd_xen_notify *xn;
	int lp, err;

	if (!n)
		return ENOENT;
	xn = xd_xen_notify_of(n);
	if (!req->port || req->port >= XD_XEN_MAX_PORT)
		return EINVAL;
	lp = xd_hv->bind(xd_xen_of(ctx)->domid, req->port);
	if (lp <= 0)
		return EINVAL;	/* not an unbound port of this guest for us */
	if (n->kind == XENIB_NOTIFY_DOORBELL) {
		err = xd_xen_port_doorbell(lp, n);
		if (err) {
			xd_hv->unbind(lp);
			return err;
		}
	}
	if (xn->port) {		/* sent twice: the newer port wins */
		xd_xen_port_clear(xn->port);
		xd_hv->unbind(xn->port);
	}
	xn->port = lp;
	return 0;
}

/* Give the guest its consumer indices as we know them. */
static void publish_cons(struct xd_ring *ring)
{
	if (ring->hdr)
		xr_store_release(&ring->hdr->cons, ring->idx);
}

/*
 * CQs whose producer index in guest memory is not ours lost completions in
 * the suspend image: the guest would wait for them forever (or, worse, see
 * stale ones), so its QPs on such a CQ fail.  Flushes go on from the
 * guest's index.  Returns how many CQs; *nfail: QPs failed.
 */
static unsigned int fail_lost_cqs(struct xd_ctx *ctx, unsigned int *nfail)
{
	struct list_node *pos, *tmp, *qpos, *qtmp;
	unsigned int nbad = 0;

	list_for_each_safe(pos, tmp, &ctx->cqs) {
		struct xd_cq *cq = list_entry(pos, struct xd_cq, link);
		uint32_t prod = xr_load_acquire(&cq->ring.hdr->prod);

		if (prod == cq->ring.idx)
			continue;
		xd_ctx_log(ctx, "CQ 0x%x: producer index %u in guest memory, "
			   "%u written: completions lost in the suspend image; "
			   "its QPs fail", cq->h.id, prod, cq->ring.idx);
		nbad++;
		cq->ring.idx = prod;
		list_for_each_safe(qpos, qtmp, &ctx->qps) {
			struct xd_qp *qp = list_entry(qpos, struct xd_qp, link);

			if ((qp->send_cq == cq || qp->recv_cq == cq) &&
			    qp->attr.qp_state != IBV_QPS_ERR) {
				xd_qp_to_error(qp, IBV_EVENT_QP_FATAL);
				(*nfail)++;
			}
		}
	}
	return nbad;
}

static int resume_done(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);
	unsigned int nbad, nfail = 0, nunbound = 0;
	struct list_node *pos, *tmp;
	uint64_t next = UINT64_MAX;

	list_for_each_safe(pos, tmp, &ctx->regions)
		if (xd_xen_region_of(list_entry(pos, struct xd_region,
						link))->unmapped)
			return EBUSY;
	list_for_each_safe(pos, tmp, &ctx->notifiers)
		nunbound += !xd_xen_notify_of(list_entry(pos, struct xd_notify,
							 link))->port;
	if (nunbound)
		xd_ctx_log(ctx, "resumed with %u notifiers not bound again "
			   "(their signals are lost)", nunbound);
	xd_xen_ctx_thaw(ctx);
	xd_engine_ctx_thawed(ctx);	/* answers dropped while frozen */
	/* We produce CQEs: the guest's memory must hold our producer index. */
	nbad = fail_lost_cqs(ctx, &nfail);
	list_for_each_safe(pos, tmp, &ctx->qps) {
		struct xd_qp *qp = list_entry(pos, struct xd_qp, link);

		publish_cons(&qp->sq);
		if (!qp->srq)
			publish_cons(&qp->rq);
	}
	list_for_each_safe(pos, tmp, &ctx->srqs)
		publish_cons(&list_entry(pos, struct xd_srq, link)->ring);
	xd_log("domain %u: context %u resumed%s (%u CQs lost completions, "
	       "%u QPs failed)", xc->domid, xc->k,
	       nbad ? " with losses" : "", nbad, nfail);
	/* Kicks sent while we were not listening are lost: look once. */
	xd.now_ns = xd_now_ns();
	xd_engine_poll(&next);
	return 0;
}

int xd_xen_request(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		   size_t len, int *fd)
{
	if (*fd >= 0)
		return EINVAL;	/* Xen passes grant refs, never fds */
	switch (h->opcode) {
	case XENIB_CMD_RESUME_REGION:
		return resume_region(ctx, (const void *)h);
	case XENIB_CMD_RESUME_NOTIFY:
		return resume_notify(ctx, (const void *)h);
	case XENIB_CMD_RESUME_DONE:
		return resume_done(ctx);
	}
	return EINVAL;
}
