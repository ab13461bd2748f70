// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest memory shared with the backend (regions) and rings inside them.
 * The context's transport maps the memory (transport.h); this file keeps
 * the books and checks what the guest asks for.
 */
#include <errno.h>
#include <stdlib.h>

#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"
#include "xenibd/transport/transport.h"

#define XD_MAX_REGION_PAGES (1u << 20)	/* 4 GiB per region */

int xd_region_check(struct xd_ctx *ctx, uint64_t offset, uint32_t npages,
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
	err = xd_obj_check(ctx, XD_KIND_REGION);
	if (!err)
		err = xd_quota_check(ctx, XD_Q_REGION_BYTES, len);
	/* One mapping of npages in the backend (Xen: npages grant maps). */
	if (!err)
		err = xd_quota_check(ctx, XD_Q_MAPPINGS, 1);
	if (!err)
		err = xd_quota_check(ctx, XD_Q_MAP_PAGES, npages);
	return err;
}

int xd_region_map(struct xd_ctx *ctx, const struct xenib_map_region_req *req,
		  int *fd, uint32_t *handle)
{
	struct xd_region *r;
	int err;

	err = xd_region_check(ctx, req->offset, req->npages, req->flags);
	if (err)
		return err;
	err = ctx->tp->region_map(ctx, req, fd, &r);
	if (err)
		return err;
	r->ctx = ctx;
	r->offset = req->offset;
	err = xd_obj_add(ctx, XD_KIND_REGION, &r->h, &r->link);
	if (err) {
		ctx->tp->region_free(r);
		return err;
	}
	r->ctx_page = req->flags & XENIB_REGION_CTX_PAGE;
	if (r->ctx_page) {
		ctx->page = r->va;
		ctx->ctx_page_region = r;
		/* What we do beyond ABI 1 (xenib-abi.h); the guest reads it. */
		xr_store_release(&ctx->page->backend_features,
				 XENIB_BACKEND_LAZY_RECV_KICK);
	}
	xd_quota_charge(ctx, XD_Q_REGION_BYTES, r->len);
	xd_quota_charge(ctx, XD_Q_MAPPINGS, 1);
	xd_quota_charge(ctx, XD_Q_MAP_PAGES, r->len / XENIB_PAGE_SIZE);
	*handle = r->h.id;
	return 0;
}

struct xd_region *xd_region_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	return xd_obj_lookup(ctx, XD_KIND_REGION, handle);
}

void xd_region_free(struct xd_region *r)
{
	struct xd_ctx *ctx = r->ctx;

	if (r->ctx_page) {
		ctx->page = NULL;
		ctx->ctx_page_region = NULL;
	}
	xd_quota_uncharge(ctx, XD_Q_REGION_BYTES, r->len);
	xd_quota_uncharge(ctx, XD_Q_MAPPINGS, 1);
	xd_quota_uncharge(ctx, XD_Q_MAP_PAGES, r->len / XENIB_PAGE_SIZE);
	xd_obj_del(XD_KIND_REGION, &r->h, &r->link);
	ctx->tp->region_free(r);
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
	/*
	 * Start where the guest's ring currently is; never trust it later.
	 * A migration sets our index from its snapshot instead (and seen
	 * with it, migrate/build.c).
	 */
	if (!ctx->adopting) {
		ring->idx = xr_load_acquire(&ring->hdr->prod);
		xr_store_release(&ring->hdr->cons, ring->idx);
	}
	ring->seen = ring->idx;
	ring->dirty = false;
	/*
	 * Receive kicks: none asked.  After a migration the guest's header
	 * still holds what the old backend asked; the engine asks again
	 * where it must (a QP in ERR when it is set so, a sender's RNR
	 * stall at its next look).
	 */
	ring->kick = ring->kick_at = 0;
	if (ctx->adopting)
		xr_backend_post_kick(ring->hdr, 0, 0);
	r->refs++;
	return 0;
}

void xd_ring_detach(struct xd_ring *ring)
{
	if (ring->dirty)
		xd_batch_forget();
	if (ring->region)
		ring->region->refs--;
	ring->region = NULL;
	ring->hdr = NULL;
}
