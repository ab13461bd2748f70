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
#include <stdlib.h>
#include <sys/mman.h>

#include "util/hv.h"
#include "xenibd/xenibd.h"
#include "xenibd/xen.h"

#define XD_MR_ACCESS_MASK (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

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
		if (r->grefs) {
			struct hvx_gmap gm;

			if (r->unmapped)
				return EBUSY;	/* frozen, not yet resumed */
			err = xd_hv->map(r->domid,
					 r->grefs + s->offset / XENIB_PAGE_SIZE,
					 s->length / XENIB_PAGE_SIZE,
					 mr->view + pos, true, &gm);
		} else {
			err = hv_backend_map_fixed(mr->view + pos, r->fd,
						   r->fd_offset + s->offset,
						   s->length);
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

void xd_mr_free(struct xd_mr *mr)
{
	uint32_t i;

	for (i = 0; i < mr->nsegs; i++) {
		struct xd_mr_seg *sg = &mr->segs[i];

		if (sg->r->grefs && !sg->r->unmapped) {
			struct hvx_gmap gm = {
				.va = mr->view + sg->pos, .len = sg->length,
			};

			xd_hv->unmap(&gm, true);
		}
		sg->r->refs--;
	}
	if (mr->view)
		munmap(mr->view, mr->view_len);
	if (mr->h.id) {
		xd_table_del(&xd.mrs, &mr->h);
		mr->pd->refs--;
		mr->ctx->nobj--;
		xd_quota_uncharge(mr->ctx, XD_Q_MRS, 1);
		xd_quota_uncharge(mr->ctx, XD_Q_MR_BYTES, mr->length);
		xd.stats.mrs--;
		xd.stats.mr_bytes -= mr->length;
	}
	free(mr->segs);
	free(mr);
}

int xd_mr_reg(struct xd_ctx *ctx, const struct xenib_reg_mr_req *req,
	      size_t len, uint32_t *key)
{
	struct xd_pd *pd;
	struct xd_mr *mr;
	uint64_t end;
	void *view;
	int err;

	err = mr_check_req(req, len);
	if (err)
		return err;
	pd = xd_pd_lookup(ctx, req->pd);
	if (!pd)
		return ENOENT;
	err = xd_quota_check(ctx, XD_Q_MRS, 1);
	if (!err)
		err = xd_quota_check(ctx, XD_Q_MR_BYTES, req->length);
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
	end = (req->iova + req->length + XENIB_PAGE_SIZE - 1) &
	      ~(uint64_t)(XENIB_PAGE_SIZE - 1);
	mr->view_len = end - mr->view_iova;
	view = mmap(NULL, mr->view_len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (view == MAP_FAILED) {
		free(mr->segs);
		free(mr);
		return ENOMEM;
	}
	mr->view = view;
	err = mr_map_segs(ctx, mr, req);
	if (!err)
		err = xd_table_add(&xd.mrs, &mr->h);
	if (err) {
		xd_mr_free(mr);
		return err;
	}
	pd->refs++;
	ctx->nobj++;
	xd_quota_charge(ctx, XD_Q_MRS, 1);
	xd_quota_charge(ctx, XD_Q_MR_BYTES, mr->length);
	xd.stats.mrs++;
	xd.stats.mr_bytes += mr->length;
	*key = mr->h.id;
	return 0;
}

int xd_mr_dereg(struct xd_ctx *ctx, uint32_t key)
{
	struct xd_mr *mr = (struct xd_mr *)xd_table_get(&xd.mrs, key);

	if (!mr || mr->ctx != ctx)
		return ENOENT;
	xd_mr_free(mr);
	return 0;
}

void *xd_mr_translate(uint32_t key, const struct xd_pd *pd, uint64_t addr,
		      uint64_t len, uint32_t need_access)
{
	struct xd_mr *mr = (struct xd_mr *)xd_table_get(&xd.mrs, key);

	if (!mr || mr->pd != pd || (mr->access & need_access) != need_access)
		return NULL;
	if (addr < mr->iova || len > mr->length ||
	    addr - mr->iova > mr->length - len)
		return NULL;
	return mr->view + (addr - mr->view_iova);
}
