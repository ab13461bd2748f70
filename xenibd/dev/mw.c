// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory windows: the control path (ALLOC_MW, DEALLOC_MW) and the key half
 * of their translation.  Binding and invalidation run in the send queue's
 * order (engine/mw.c).
 *
 * A window's rkey is XENIB_MW_RKEY_BIT | index << 8 | tag: the index is
 * the window's slot in its guest's mws table, the tag what the last bind
 * chose (ibv_inc_rkey(3)).  So an rkey finds its window in O(1), a stale
 * tag misses, and no MR key (bit 31 clear, MR indexes < 2^20) is ever
 * taken for a window's or the other way round.
 */
#include <errno.h>
#include <stdlib.h>

#include "xenibd/dev/dev.h"

#define MW_TAG_MASK	0xffu

int xd_mw_alloc(struct xd_ctx *ctx, const struct xenib_alloc_mw_req *req,
		uint32_t *handle, uint32_t *rkey)
{
	struct xd_pd *pd = xd_pd_lookup(ctx, req->pd);
	struct xd_mw *mw;
	int err;

	if (req->type != IBV_MW_TYPE_1 && req->type != IBV_MW_TYPE_2)
		return EINVAL;
	if (!pd)
		return ENOENT;
	mw = calloc(1, sizeof(*mw));
	if (!mw)
		return ENOMEM;
	err = xd_obj_add(ctx, XD_KIND_MW, &mw->h, &mw->link);
	if (err) {
		free(mw);
		return err;
	}
	mw->pd = pd;
	mw->type = req->type;
	/* Index from the handle, first tag its generation. */
	mw->rkey = XENIB_MW_RKEY_BIT | mw->h.id;
	pd->refs++;
	*handle = mw->h.id;
	*rkey = mw->rkey;
	return 0;
}

void xd_mw_unbind(struct xd_mw *mw)
{
	if (mw->mr)
		mw->mr->mw_binds--;
	mw->mr = NULL;
	mw->qpn = 0;
	mw->addr = 0;
	mw->length = 0;
	mw->access = 0;
}

void xd_mw_free(struct xd_mw *mw)
{
	xd_mw_unbind(mw);
	mw->pd->refs--;
	xd_obj_del(XD_KIND_MW, &mw->h, &mw->link);
	free(mw);
}

int xd_mw_dealloc(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_mw *mw = xd_obj_lookup(ctx, XD_KIND_MW, handle);

	if (!mw)
		return ENOENT;
	xd_mw_free(mw);
	return 0;
}

struct xd_mw *xd_mw_of_rkey(const struct xd_pd *pd, uint32_t rkey)
{
	const struct xd_table *t = &pd->ctx->guest->mws;
	uint32_t idx = (rkey & ~XENIB_MW_RKEY_BIT) >> 8;
	struct xd_mw *mw;

	if (!xd_mw_key(rkey) || idx >= t->size)
		return NULL;
	mw = (struct xd_mw *)t->slot[idx];
	return mw && mw->rkey == rkey ? mw : NULL;
}

void *xd_mw_translate(uint32_t rkey, const struct xd_pd *pd, uint32_t qpn,
		      uint64_t addr, uint64_t len, uint32_t need_access)
{
	struct xd_mw *mw = xd_mw_of_rkey(pd, rkey);

	if (!mw || !mw->mr || mw->pd != pd ||
	    (mw->access & need_access) != need_access)
		return NULL;
	if (mw->type == IBV_MW_TYPE_2 && mw->qpn != qpn)
		return NULL;	/* type 2B: only through its QP */
	if (mw->access & IBV_ACCESS_ZERO_BASED) {
		if (addr > UINT64_MAX - mw->addr)
			return NULL;
		addr += mw->addr;
	}
	if (addr < mw->addr || len > mw->length ||
	    addr - mw->addr > mw->length - len)
		return NULL;
	/* The window's own rights decide; the bind checked the MR's. */
	return xd_mr_translate(mw->mr->h.id, pd, addr, len, 0);
}
