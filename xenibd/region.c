// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Guest memory shared with the backend (regions) and rings inside them. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"
#include "xenibd/xen.h"

#define XD_MAX_REGION_PAGES (1u << 20)	/* 4 GiB per region */

/* Checks shared by both hypervisors; 0 or errno. */
static int region_check(struct xd_ctx *ctx, uint64_t offset, uint32_t npages,
			uint32_t flags)
{
	bool ctx_page = flags & XENIB_REGION_CTX_PAGE;
	size_t len = (size_t)npages * XENIB_PAGE_SIZE;
	int err;

	if ((flags & ~XENIB_REGION_CTX_PAGE) || !npages ||
	    npages > XD_MAX_REGION_PAGES || (offset & (XENIB_PAGE_SIZE - 1)))
		return EINVAL;
	if (ctx_page && (npages != 1 || ctx->page))
		return ctx->page ? EEXIST : EINVAL;
	err = xd_quota_check(ctx, XD_Q_REGIONS, 1);
	if (!err)
		err = xd_quota_check(ctx, XD_Q_REGION_BYTES, len);
	return err;
}

/* r is mapped (va, len set): give it a handle and charge it. */
static int region_insert(struct xd_ctx *ctx, struct xd_region *r,
			 uint32_t flags, uint32_t *handle)
{
	int err = xd_table_add(&xd.regions, &r->h);

	if (err)
		return err;
	r->ctx = ctx;
	r->ctx_page = flags & XENIB_REGION_CTX_PAGE;
	if (r->ctx_page) {
		ctx->page = r->va;
		ctx->ctx_page_region = r;
	}
	ctx->nobj++;
	xd_quota_charge(ctx, XD_Q_REGIONS, 1);
	xd_quota_charge(ctx, XD_Q_REGION_BYTES, r->len);
	xd.stats.regions++;
	*handle = r->h.id;
	return 0;
}

int xd_region_map(struct xd_ctx *ctx, int fd, uint64_t offset, uint32_t npages,
		  uint32_t flags, uint32_t *handle)
{
	struct xd_region *r;
	int err;

	if (fd < 0)
		return EBADF;
	err = region_check(ctx, offset, npages, flags);
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	r->len = (size_t)npages * XENIB_PAGE_SIZE;
	r->va = hv_backend_map(fd, offset, r->len);
	if (!r->va) {
		err = errno;
		free(r);
		return err;
	}
	r->fd = fd;
	r->fd_offset = offset;
	err = region_insert(ctx, r, flags, handle);
	if (err) {
		hv_backend_unmap(r->va, r->len);
		free(r);
	}
	return err;
}

int xd_region_map_grants(struct xd_ctx *ctx, uint64_t ref, uint64_t offset,
			 uint32_t npages, uint32_t flags, uint32_t *handle)
{
	struct hvx_gmap gm = { 0 };
	struct xd_region *r;
	uint32_t *grefs;
	int err;

	if (!ctx->xen || offset || ref > UINT32_MAX)
		return EINVAL;
	err = region_check(ctx, offset, npages, flags);
	if (err)
		return err;
	err = xd_xen_read_refs(ctx->xen->domid, ref, npages, &grefs);
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(grefs);
		return ENOMEM;
	}
	err = xd_hv->map(ctx->xen->domid, grefs, npages, NULL, true, &gm);
	if (err) {
		free(grefs);
		free(r);
		return err;
	}
	r->fd = -1;
	r->grefs = grefs;
	r->domid = ctx->xen->domid;
	r->va = gm.va;
	r->len = gm.len;
	err = region_insert(ctx, r, flags, handle);
	if (err) {
		xd_hv->unmap(&gm, false);
		free(grefs);
		free(r);
	}
	return err;
}

struct xd_region *xd_region_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_region *r = (struct xd_region *)xd_table_get(&xd.regions,
							       handle);

	return (r && r->ctx == ctx) ? r : NULL;
}

void xd_region_free(struct xd_region *r)
{
	if (r->ctx_page) {
		r->ctx->page = NULL;
		r->ctx->ctx_page_region = NULL;
	}
	r->ctx->nobj--;
	xd_quota_uncharge(r->ctx, XD_Q_REGIONS, 1);
	xd_quota_uncharge(r->ctx, XD_Q_REGION_BYTES, r->len);
	xd_table_del(&xd.regions, &r->h);
	if (r->grefs) {
		struct hvx_gmap gm = { .va = r->va, .len = r->len };

		if (r->unmapped)	/* frozen: only the reservation is left */
			munmap(r->va, r->len);
		else
			xd_hv->unmap(&gm, false);
		free(r->grefs);
	} else {
		hv_backend_unmap(r->va, r->len);
		close(r->fd);
	}
	xd.stats.regions--;
	free(r);
}

int xd_region_unmap(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_region *r = xd_region_lookup(ctx, handle);

	if (!r)
		return ENOENT;
	if (r->refs || r->ctx_page)
		return EBUSY;
	xd_region_free(r);
	return 0;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int xd_ring_attach(struct xd_ctx *ctx, struct xd_ring *ring,
		   const struct xenib_ring_desc *d, uint32_t min_stride)
{
	struct xd_region *r = xd_region_lookup(ctx, d->region);

	if (!r || r->ctx_page)
		return ENOENT;
	if (!is_pow2(d->entries) || !is_pow2(d->stride) ||
	    d->stride < min_stride || d->stride > 65536 ||
	    (d->offset & (XENIB_PAGE_SIZE - 1)) || d->offset >= r->len ||
	    xr_ring_bytes(d->entries, d->stride) > r->len - d->offset)
		return EINVAL;
	ring->region = r;
	ring->hdr = (struct xenib_ring_hdr *)((char *)r->va + d->offset);
	ring->entries = d->entries;
	ring->stride = d->stride;
	/* Start where the guest's ring currently is; never trust it later. */
	ring->idx = xr_load_acquire(&ring->hdr->prod);
	xr_store_release(&ring->hdr->cons, ring->idx);
	r->refs++;
	return 0;
}

void xd_ring_detach(struct xd_ring *ring)
{
	if (ring->region)
		ring->region->refs--;
	ring->region = NULL;
	ring->hdr = NULL;
}
