// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest memory and notifiers on real Xen: regions of granted pages mapped
 * through gntdev (their grant-ref directories read for MAP_REGION and
 * RESUME_REGION), MR view segments over them, event-channel notifiers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xenibd/transport/xen/xen.h"

/*
 * The directory and the list pages are mapped read-only only for as long
 * as it takes to copy them: the guest may end those grants once we answer,
 * and may rewrite them while we read, so every ref is read exactly once
 * into private memory, and only that copy is used.
 */
int xd_xen_read_refs(uint32_t domid, uint32_t dir_ref, uint32_t npages,
		     uint32_t **refs)
{
	uint32_t nlist = (npages + XENIB_REFS_PER_PAGE - 1) / XENIB_REFS_PER_PAGE;
	uint32_t *lrefs, *out;
	struct hvx_gmap gm;
	int err;

	if (!npages || nlist > XENIB_REFS_PER_PAGE)
		return EINVAL;
	lrefs = malloc((size_t)nlist * sizeof(*lrefs));
	out = malloc((size_t)npages * sizeof(*out));
	if (!lrefs || !out) {
		err = ENOMEM;
		goto fail;
	}
	err = xd_hv->map(domid, &dir_ref, 1, NULL, false, &gm);
	if (err)
		goto fail;
	memcpy(lrefs, gm.va, (size_t)nlist * sizeof(*lrefs));
	xd_hv->unmap(&gm, false);
	/* List page i lands at i * 4096: the refs are contiguous. */
	err = xd_hv->map(domid, lrefs, nlist, NULL, false, &gm);
	if (err)
		goto fail;
	memcpy(out, gm.va, (size_t)npages * sizeof(*out));
	xd_hv->unmap(&gm, false);
	free(lrefs);
	*refs = out;
	return 0;
fail:
	free(lrefs);
	free(out);
	return err;
}

int xd_xen_region_map(struct xd_ctx *ctx,
		      const struct xenib_map_region_req *req, int *fd,
		      struct xd_region **out)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);
	struct hvx_gmap gm = { 0 };
	struct xd_xen_region *xr;
	uint32_t *grefs;
	int err;

	if (req->offset || req->ref > UINT32_MAX)
		return EINVAL;
	err = xd_xen_read_refs(xc->domid, req->ref, req->npages, &grefs);
	if (err)
		return err;
	xr = calloc(1, sizeof(*xr));
	if (!xr) {
		free(grefs);
		return ENOMEM;
	}
	err = xd_hv->map(xc->domid, grefs, req->npages, NULL, true, &gm);
	if (err) {
		free(grefs);
		free(xr);
		return err;
	}
	xr->grefs = grefs;
	xr->domid = xc->domid;
	xr->r.va = gm.va;
	xr->r.len = gm.len;
	*out = &xr->r;
	return 0;
}

void xd_xen_region_free(struct xd_region *r)
{
	struct xd_xen_region *xr = xd_xen_region_of(r);
	struct hvx_gmap gm = { .va = r->va, .len = r->len };

	if (xr->unmapped)	/* frozen: only the reservation is left */
		munmap(r->va, r->len);
	else
		xd_hv->unmap(&gm, false);
	free(xr->grefs);
	free(xr);
}

int xd_xen_segment_map(struct xd_region *r, uint64_t off, size_t len,
		       void *at)
{
	struct xd_xen_region *xr = xd_xen_region_of(r);
	struct hvx_gmap gm;

	if (xr->unmapped)
		return EBUSY;	/* frozen, not yet resumed */
	return xd_hv->map(xr->domid, xr->grefs + off / XENIB_PAGE_SIZE,
			  len / XENIB_PAGE_SIZE, at, true, &gm);
}

void xd_xen_segment_unmap(struct xd_region *r, void *at, size_t len)
{
	struct hvx_gmap gm = { .va = at, .len = len };

	if (!xd_xen_region_of(r)->unmapped)
		xd_hv->unmap(&gm, true);
}

void xd_xen_region_unmap_keep(struct xd_region *r)
{
	struct xd_xen_region *xr = xd_xen_region_of(r);
	struct hvx_gmap gm = { .va = r->va, .len = r->len };
	struct list_node *pos, *tmp;
	uint32_t j;

	if (xr->unmapped)
		return;
	list_for_each_safe(pos, tmp, &r->ctx->mrs) {
		struct xd_mr *mr = list_entry(pos, struct xd_mr, link);

		for (j = 0; j < mr->nsegs; j++)
			if (mr->segs[j].r == r)
				xd_xen_segment_unmap(r,
						     mr->view + mr->segs[j].pos,
						     mr->segs[j].length);
	}
	xd_hv->unmap(&gm, true);
	xr->unmapped = true;
}

int xd_xen_notify_bind(struct xd_ctx *ctx,
		       const struct xenib_bind_notify_req *req, int *fd,
		       struct xd_notify **out)
{
	struct xd_xen_notify *xn;
	int lp, err;

	if (!req->port || req->port >= XD_XEN_MAX_PORT)
		return EINVAL;
	xn = calloc(1, sizeof(*xn));
	if (!xn)
		return ENOMEM;
	lp = xd_hv->bind(xd_xen_of(ctx)->domid, req->port);
	if (lp <= 0) {
		free(xn);
		return EINVAL;	/* not an unbound port of this guest for us */
	}
	if (req->kind == XENIB_NOTIFY_DOORBELL) {
		err = xd_xen_port_doorbell(lp, &xn->n);
		if (err) {
			xd_hv->unbind(lp);
			free(xn);
			return err;
		}
	}
	xn->port = lp;
	*out = &xn->n;
	return 0;
}

void xd_xen_notify_signal(struct xd_notify *n)
{
	struct xd_xen_notify *xn = xd_xen_notify_of(n);

	if (xn->port)	/* 0: a frozen guest's, unbound until resumed */
		xd_hv->notify(xn->port);
}

void xd_xen_notify_free(struct xd_notify *n)
{
	struct xd_xen_notify *xn = xd_xen_notify_of(n);

	if (xn->port) {
		xd_xen_port_clear(xn->port);
		xd_hv->unbind(xn->port);
	}
	free(xn);
}
