// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory regions and the key half of the translation layer.
 *
 * An MR is a contiguous backend view of the guest's registered pages: the
 * segments the guest names (page runs of regions it shared) are mapped one
 * after the other into a reserved range, so translating (key, address) is a
 * table lookup, a bounds check and an addition.  Data moves straight between
 * guest pages; nothing is bounced.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "xenibd/dev/dev.h"
#include "xenibd/transport/transport.h"

#define XD_MR_ACCESS_MASK (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC | \
			   IBV_ACCESS_MW_BIND)

static int mr_check_req(const struct xenib_reg_mr_req *req, size_t len)
{
	if (len < sizeof(*req) || !req->nsegs || req->nsegs > XENIB_MAX_MR_SEGS ||
	    len != sizeof(*req) + (size_t)req->nsegs * sizeof(req->segs[0]))
		return EINVAL;
	if (req->access & ~XD_MR_ACCESS_MASK)
		return EINVAL;
	/* IB: remote write/atomic access needs local write access. */
	if ((req->access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(req->access & IBV_ACCESS_LOCAL_WRITE))
		return EINVAL;
	if (!req->length || req->length > XENIB_MAX_MR_SIZE ||
	    req->iova > UINT64_MAX - req->length - XENIB_PAGE_SIZE)
		return EINVAL;
	return 0;
}

/* Pages of the view of a checked request: its page span. */
static uint64_t mr_view_pages(const struct xenib_reg_mr_req *req)
{
	uint64_t first = req->iova / XENIB_PAGE_SIZE;
	uint64_t end = (req->iova + req->length + XENIB_PAGE_SIZE - 1) /
		       XENIB_PAGE_SIZE;

	return end - first;
}

/* Map every segment into mr->view; 0 or errno. */
static int mr_map_segs(struct xd_ctx *ctx, struct xd_mr *mr,
		       const struct xenib_reg_mr_req *req)
{
	size_t pos = 0;
	uint32_t i;
	int err;

	for (i = 0; i < req->nsegs; i++) {
		const struct xenib_mr_seg *s = &req->segs[i];
		struct xd_region *r = xd_region_lookup(ctx, s->region);

		if (!r || r->ctx_page)
			return ENOENT;
		if (!s->length || ((s->offset | s->length) & (XENIB_PAGE_SIZE - 1)) ||
		    s->offset >= r->len || s->length > r->len - s->offset ||
		    s->length > mr->view_len - pos)
			return EINVAL;
		err = ctx->tp->segment_map(r, s->offset, s->length,
					   mr->view + pos);
		if (err == EOPNOTSUPP && req->nsegs == 1) {
			/*
			 * The transport cannot map these pages again (huge
			 * pages at a 4 KiB offset): one segment is the
			 * region's own mapping, no view needed.
			 */
			munmap(mr->view, mr->view_len);
			mr->view = (char *)r->va + s->offset;
			err = 0;
		} else if (err == EOPNOTSUPP) {
			err = EINVAL;
		}
		if (err)
			return err;
		r->refs++;
		mr->segs[mr->nsegs++] = (struct xd_mr_seg){
			.r = r, .offset = s->offset, .length = s->length,
			.pos = pos,
		};
		pos += s->length;
	}
	return pos == mr->view_len ? 0 : EINVAL;
}

/* Is the view the one segment's region mapping (mr_map_segs)? */
static bool mr_aliases(const struct xd_mr *mr)
{
	return mr->nsegs == 1 &&
	       mr->view == (char *)mr->segs[0].r->va + mr->segs[0].offset;
}

void xd_mr_free(struct xd_mr *mr)
{
	bool alias = mr_aliases(mr);
	uint32_t i;

	for (i = 0; i < mr->nsegs; i++) {
		struct xd_mr_seg *sg = &mr->segs[i];

		if (!alias)
			mr->ctx->tp->segment_unmap(sg->r, mr->view + sg->pos,
						   sg->length);
		sg->r->refs--;
	}
	if (mr->view && !alias)
		munmap(mr->view, mr->view_len);
	if (mr->h.id) {
		if (mr->ctx->share)
			xd_share_forget(mr->ctx, mr);
		mr->pd->refs--;
		xd_mr_charge(mr, -1);
		xd_obj_del(XD_KIND_MR, &mr->h, &mr->link);
	}
	free(mr->segs);
	free(mr);
}

int xd_mr_build(struct xd_ctx *ctx, const struct xenib_reg_mr_req *req,
		size_t len, struct xd_pd *pd, struct xd_mr **out)
{
	struct xd_mr *mr;
	void *view;
	int err;

	err = mr_check_req(req, len);
	if (!err)
		err = xd_quota_check(ctx, XD_Q_MR_BYTES, req->length);
	/*
	 * Every segment is a mapping of its own, of pages the regions map
	 * already; the segments cover the view exactly (mr_map_segs), so an
	 * MR that registers maps nsegs mappings of view_len bytes.
	 */
	if (!err)
		err = xd_quota_check(ctx, XD_Q_MAPPINGS, req->nsegs);
	if (!err)
		err = xd_quota_check(ctx, XD_Q_MAP_PAGES,
				     mr_view_pages(req));
	if (err)
		return err;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return ENOMEM;
	mr->segs = calloc(req->nsegs, sizeof(*mr->segs));
	if (!mr->segs) {
		free(mr);
		return ENOMEM;
	}
	mr->ctx = ctx;
	mr->pd = pd;
	mr->iova = req->iova;
	mr->length = req->length;
	mr->access = req->access;
	mr->view_iova = req->iova & ~(uint64_t)(XENIB_PAGE_SIZE - 1);
	mr->view_len = mr_view_pages(req) * XENIB_PAGE_SIZE;
	view = mmap(NULL, mr->view_len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (view == MAP_FAILED) {
		free(mr->segs);
		free(mr);
		return ENOMEM;
	}
	mr->view = view;
	err = mr_map_segs(ctx, mr, req);
	if (err) {
		xd_mr_free(mr);
		return err;
	}
	*out = mr;
	return 0;
}

void xd_mr_charge(struct xd_mr *mr, int sign)
{
	void (*fn)(struct xd_ctx *, enum xd_quota, uint64_t) =
		sign > 0 ? xd_quota_charge : xd_quota_uncharge;

	fn(mr->ctx, XD_Q_MR_BYTES, mr->length);
	fn(mr->ctx, XD_Q_MAPPINGS, mr->nsegs);
	fn(mr->ctx, XD_Q_MAP_PAGES, mr->view_len / XENIB_PAGE_SIZE);
	xd.stats.mr_bytes += sign > 0 ? (long long)mr->length :
					-(long long)mr->length;
}

int xd_mr_reg(struct xd_ctx *ctx, const struct xenib_reg_mr_req *req,
	      size_t len, uint32_t *key)
{
	struct xd_pd *pd;
	struct xd_mr *mr;
	int err;

	if (len < sizeof(*req))
		return EINVAL;
	pd = xd_pd_lookup(ctx, req->pd);
	if (!pd)
		return mr_check_req(req, len) ? EINVAL : ENOENT;
	err = xd_obj_check(ctx, XD_KIND_MR);
	if (!err)
		err = xd_mr_build(ctx, req, len, pd, &mr);
	if (err)
		return err;
	err = xd_obj_add(ctx, XD_KIND_MR, &mr->h, &mr->link);
	if (err) {
		xd_mr_free(mr);
		return err;
	}
	pd->refs++;
	xd_mr_charge(mr, 1);
	xd.stats.mr_regs++;
	xd.stats.mr_reg_bytes += mr->length;
	*key = mr->h.id;
	return 0;
}

int xd_mr_dereg(struct xd_ctx *ctx, uint32_t key)
{
	struct xd_mr *mr = xd_obj_lookup(ctx, XD_KIND_MR, key);

	if (!mr)
		return ENOENT;
	if (mr->mw_binds)
		return EBUSY;	/* ibv_alloc_mw(3): windows still bound */
	xd_mr_free(mr);
	return 0;
}

void *xd_mr_translate(uint32_t key, const struct xd_pd *pd, uint64_t addr,
		      uint64_t len, uint32_t need_access)
{
	struct xd_mr *mr = (struct xd_mr *)xd_table_get(&pd->ctx->guest->mrs,
							key);

	if (!mr || mr->pd != pd || (mr->access & need_access) != need_access)
		return NULL;
	if (addr < mr->iova || len > mr->length ||
	    addr - mr->iova > mr->length - len)
		return NULL;
	return mr->view + (addr - mr->view_iova);
}
