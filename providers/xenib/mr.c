// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory registration.
 *
 * The backend reaches registered memory directly, never through a bounce
 * buffer: the application's pages are made shareable in place (the
 * hypervisor's shm_adopt keeps the virtual address and the contents) and
 * the backend maps those.  mr_area.c keeps the areas so shared; an MR is
 * described to the backend as an ordered list of segments of their regions
 * covering the page span of [addr, addr + length).
 *
 * Lock order: ctx->mr_lock, then ctx->ctrl_lock (inside xenib_cmd).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "providers/xenib/mr_int.h"

static int send_reg_mr(struct xenib_context *ctx, struct ibv_pd *pd,
		       uint64_t iova, uint64_t length, unsigned int access,
		       const struct mr_build *bld,
		       struct xenib_reg_mr_resp *resp)
{
	union {
		struct xenib_reg_mr_req req;
		uint8_t bytes[XENIB_CTRL_MAX_MSG];
	} msg;
	size_t len = sizeof(msg.req) + bld->nsegs * sizeof(bld->segs[0]);

	if (len > XENIB_CTRL_MAX_MSG)
		return E2BIG;
	memset(&msg.req, 0, sizeof(msg.req));
	msg.req.pd = pd->handle;
	msg.req.access = access;
	msg.req.iova = iova;
	msg.req.length = length;
	msg.req.nsegs = bld->nsegs;
	memcpy(msg.req.segs, bld->segs, bld->nsegs * sizeof(bld->segs[0]));
	return xenib_cmd(ctx, XENIB_CMD_REG_MR, &msg.req, len, -1, resp,
			 sizeof(*resp));
}

struct ibv_mr *xenib_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			    uint64_t hca_va, unsigned int access)
{
	struct xenib_context *ctx = to_xctx(pd->context);
	struct xenib_reg_mr_resp resp;
	struct mr_build *bld;
	struct xenib_mr *mr;
	uintptr_t a, b;
	unsigned int i;
	int err;

	if (!length || length > XENIB_MAX_MR_SIZE ||
	    (uintptr_t)addr + length < (uintptr_t)addr ||
	    (uintptr_t)addr + length > UINTPTR_MAX - PAGE_MASK_X) {
		errno = EINVAL;
		return NULL;
	}
	/* The backend maps iova onto the pages at the same page offset. */
	if ((hca_va ^ (uintptr_t)addr) & PAGE_MASK_X) {
		xenib_dbg("reg_mr: iova %#llx and address %p differ in page offset",
			  (unsigned long long)hca_va, addr);
		errno = EINVAL;
		return NULL;
	}
	access &= ~XENIB_MR_IGNORED;
	if (access & ~XENIB_MR_ACCESS) {
		xenib_dbg("reg_mr: unsupported access flags %#x",
			  access & ~XENIB_MR_ACCESS);
		errno = EOPNOTSUPP;
		return NULL;
	}

	a = (uintptr_t)addr & ~PAGE_MASK_X;
	b = ((uintptr_t)addr + length + PAGE_MASK_X) & ~PAGE_MASK_X;

	mr = calloc(1, sizeof(*mr));
	bld = calloc(1, sizeof(*bld));
	if (!mr || !bld) {
		err = ENOMEM;
		goto out_free;
	}

	pthread_mutex_lock(&ctx->mr_lock);
	err = xenib_areas_build(ctx, a, b, bld);
	/* Idle areas hold backend resources: give them back, try again. */
	if ((err == EDQUOT || err == ENOMEM || err == EMFILE ||
	     err == ENFILE) && xenib_areas_evict(ctx, NULL))
		err = xenib_areas_build(ctx, a, b, bld);
	if (!err) {
		err = send_reg_mr(ctx, pd, hca_va, length, access, bld, &resp);
		if ((err == EDQUOT || err == ENOMEM) &&
		    xenib_areas_evict(ctx, bld))
			err = send_reg_mr(ctx, pd, hca_va, length, access, bld,
					  &resp);
	}
	if (!err) {
		mr->areas = malloc(bld->nsegs * sizeof(*mr->areas));
		if (!mr->areas) {
			/* Undo the backend's MR before dropping the areas. */
			xenib_cmd_handle(ctx, XENIB_CMD_DEREG_MR, resp.lkey);
			err = ENOMEM;
		}
	}
	if (err) {
		xenib_areas_abort(ctx, bld);
		pthread_mutex_unlock(&ctx->mr_lock);
		goto out_free;
	}
	mr->nareas = bld->nsegs;
	for (i = 0; i < bld->nsegs; i++)
		mr->areas[i] = bld->areas[i];
	xenib_areas_get(bld);
	pthread_mutex_unlock(&ctx->mr_lock);
	free(bld);

	mr->ibv_mr.context = pd->context;
	mr->ibv_mr.pd = pd;
	mr->ibv_mr.addr = addr;
	mr->ibv_mr.length = length;
	mr->ibv_mr.handle = resp.lkey;
	mr->ibv_mr.lkey = resp.lkey;
	mr->ibv_mr.rkey = resp.rkey;
	xenib_dbg("reg_mr %p+%zu: lkey %#x rkey %#x in %u segment(s)", addr,
		  length, resp.lkey, resp.rkey, mr->nareas);
	return &mr->ibv_mr;

out_free:
	free(bld);
	free(mr);
	errno = err;
	return NULL;
}

int xenib_dereg_mr(struct ibv_mr *ibmr)
{
	struct xenib_context *ctx = to_xctx(ibmr->context);
	struct xenib_mr *mr = to_xmr(ibmr);
	int err;

	err = xenib_cmd_handle(ctx, XENIB_CMD_DEREG_MR, ibmr->lkey);
	if (err)
		return err;

	pthread_mutex_lock(&ctx->mr_lock);
	xenib_areas_put(ctx, mr->areas, mr->nareas);
	pthread_mutex_unlock(&ctx->mr_lock);

	free(mr->areas);
	free(mr);
	return 0;
}

/* Context teardown: the backend forgets everything with the channel. */
void xenib_mr_cleanup(struct xenib_context *ctx)
{
	xenib_areas_cleanup(ctx);
}
