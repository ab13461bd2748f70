// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * REREG_MR: ibv_rereg_mr(3) on the backend's MR.  Conceptually a
 * deregistration and a registration (the man page's words), done all or
 * nothing: every new part (PD, access, a new view of new segments) is
 * checked and built before anything of the MR changes, so a refused
 * request leaves the MR exactly as it was.  A done one gives the MR new
 * keys: the same index with the next generation, so keys handed out
 * before (to a peer, with the old rights or the old memory) are refused
 * from then on, as after a deregistration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/dev.h"

#define REREG_FLAGS (IBV_REREG_MR_CHANGE_TRANSLATION | IBV_REREG_MR_CHANGE_PD | \
		     IBV_REREG_MR_CHANGE_ACCESS)
#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC | \
		   IBV_ACCESS_MW_BIND)

static int access_ok(uint32_t access)
{
	if (access & ~MR_ACCESS)
		return EINVAL;
	if ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & IBV_ACCESS_LOCAL_WRITE))
		return EINVAL;
	return 0;
}

/* New keys for mr: its slot's next generation (handles.h). */
static void mr_new_keys(struct xd_mr *mr)
{
	struct xd_table *t = xd_obj_table(mr->ctx->guest, XD_KIND_MR);
	uint32_t idx = mr->h.id >> 8;

	t->gen[idx]++;
	mr->h.id = (idx << 8) | t->gen[idx];
}

/*
 * The new view for CHANGE_TRANSLATION as a REG_MR request would build it
 * (the same checks); *out in no table.
 */
static int build_view(struct xd_ctx *ctx, const struct xenib_rereg_mr_req *r,
		      size_t len, struct xd_pd *pd, uint32_t access,
		      struct xd_mr **out)
{
	size_t segs = len - sizeof(*r);
	struct xenib_reg_mr_req *req;
	int err;

	req = calloc(1, sizeof(*req) + segs);
	if (!req)
		return ENOMEM;
	req->hdr = r->hdr;
	req->pd = pd->h.id;
	req->access = access;
	req->iova = r->iova;
	req->length = r->length;
	req->nsegs = r->nsegs;
	memcpy(req->segs, r->segs, segs);
	err = xd_mr_build(ctx, req, sizeof(*req) + segs, pd, out);
	free(req);
	return err;
}

/* Move the view of src (new, in no table) into mr; src gets mr's old one. */
static void swap_view(struct xd_mr *mr, struct xd_mr *src)
{
	struct xd_mr tmp = *mr;

	mr->iova = src->iova;
	mr->length = src->length;
	mr->view = src->view;
	mr->view_len = src->view_len;
	mr->view_iova = src->view_iova;
	mr->segs = src->segs;
	mr->nsegs = src->nsegs;
	src->iova = tmp.iova;
	src->length = tmp.length;
	src->view = tmp.view;
	src->view_len = tmp.view_len;
	src->view_iova = tmp.view_iova;
	src->segs = tmp.segs;
	src->nsegs = tmp.nsegs;
}

int xd_mr_rereg(struct xd_ctx *ctx, const struct xenib_rereg_mr_req *req,
		size_t len, uint32_t *key)
{
	struct xd_mr *mr, *fresh = NULL;
	struct xd_pd *pd;
	uint32_t access;
	bool move;
	int err;

	/* Nothing of the request is read before its length is known. */
	if (len < sizeof(*req) || !req->flags || (req->flags & ~REREG_FLAGS) ||
	    req->reserved)
		return EINVAL;
	move = req->flags & IBV_REREG_MR_CHANGE_TRANSLATION;
	if (move ? len != sizeof(*req) + (size_t)req->nsegs *
		   sizeof(req->segs[0]) : len != sizeof(*req))
		return EINVAL;
	mr = xd_obj_lookup(ctx, XD_KIND_MR, req->key);
	if (!mr)
		return ENOENT;
	if (mr->mw_binds)
		return EBUSY;	/* bound windows hold it, as for DEREG_MR */
	pd = mr->pd;
	if (req->flags & IBV_REREG_MR_CHANGE_PD) {
		pd = xd_pd_lookup(ctx, req->pd);
		if (!pd)
			return ENOENT;
	}
	access = (req->flags & IBV_REREG_MR_CHANGE_ACCESS) ? req->access :
							     mr->access;
	err = access_ok(access);
	if (err)
		return err;
	if (move) {
		err = build_view(ctx, req, len, pd, access, &fresh);
		if (err)
			return err;
		/* Quotas: the new view replaces the old one. */
		xd_mr_charge(mr, -1);
		swap_view(mr, fresh);
		xd_mr_charge(mr, 1);
		fresh->pd = pd;
		xd_mr_free(fresh);	/* unmaps the old view */
	}
	if (pd != mr->pd) {
		mr->pd->refs--;
		pd->refs++;
		mr->pd = pd;
	}
	mr->access = access;
	mr_new_keys(mr);
	*key = mr->h.id;
	return 0;
}
