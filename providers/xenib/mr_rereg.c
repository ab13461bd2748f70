// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ibv_rereg_mr(3): one REREG_MR to the backend, which changes the MR all
 * or nothing and gives it new keys (xenib-abi.h).  A new translation is
 * described like a registration's (mr.c, mr_area.c): the new range's
 * areas are found or adopted first, the MR's areas are switched only once
 * the backend said yes, and the old ones are let go as a deregistration
 * does (idle areas stay cached).  On failure the MR stays as it was and
 * usable (the library still reports IBV_REREG_MR_ERR_CMD, and the caller
 * deregisters it, as the man page asks).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "providers/xenib/mr_int.h"

union rereg_msg {
	struct xenib_rereg_mr_req req;
	uint8_t bytes[XENIB_CTRL_MAX_MSG];
};

static int check_args(struct ibv_mr *ibmr, int flags, struct ibv_pd *pd,
		      void *addr, size_t length, unsigned int *access)
{
	if (!flags || (flags & ~IBV_REREG_MR_FLAGS_SUPPORTED))
		return EINVAL;
	if ((flags & IBV_REREG_MR_CHANGE_PD) &&
	    (!pd || pd->context != ibmr->context))
		return EINVAL;
	if (flags & IBV_REREG_MR_CHANGE_ACCESS) {
		*access &= ~XENIB_MR_IGNORED;
		if (*access & ~XENIB_MR_ACCESS)
			return EINVAL;
		if ((*access & (IBV_ACCESS_REMOTE_WRITE |
				IBV_ACCESS_REMOTE_ATOMIC)) &&
		    !(*access & IBV_ACCESS_LOCAL_WRITE))
			return EINVAL;
	}
	if ((flags & IBV_REREG_MR_CHANGE_TRANSLATION) &&
	    (!addr || !length || length > XENIB_MAX_MR_SIZE ||
	     (uintptr_t)addr + length < (uintptr_t)addr ||
	     (uintptr_t)addr + length > UINTPTR_MAX - PAGE_MASK_X))
		return EINVAL;
	return 0;
}

/* Resource errors idle areas may be holding up (mr.c does the same). */
static bool evictable(int err)
{
	return err == EDQUOT || err == ENOMEM || err == EMFILE || err == ENFILE;
}

/* The backend moved the MR: reference the new areas (into areas), drop
 * the old ones. */
static void switch_areas(struct xenib_context *ctx, struct xenib_mr *mr,
			 struct mr_build *bld, struct xenib_mr_area **areas)
{
	unsigned int i;

	for (i = 0; i < bld->nsegs; i++)
		areas[i] = bld->areas[i];
	xenib_areas_get(bld);
	xenib_areas_put(ctx, mr->areas, mr->nareas);
	free(mr->areas);
	mr->areas = areas;
	mr->nareas = bld->nsegs;
}

int xenib_rereg_mr(struct ibv_mr *ibmr, int flags, struct ibv_pd *pd,
		   void *addr, size_t length, unsigned int access)
{
	struct xenib_context *ctx = to_xctx(ibmr->context);
	bool move = flags & IBV_REREG_MR_CHANGE_TRANSLATION;
	struct xenib_mr *mr = to_xmr(ibmr);
	struct xenib_reg_mr_resp resp;
	struct xenib_mr_area **areas = NULL;
	struct mr_build *bld = NULL;
	union rereg_msg *msg;
	size_t len;
	int err;

	err = check_args(ibmr, flags, pd, addr, length, &access);
	if (err)
		return err;
	msg = calloc(1, sizeof(*msg));
	if (move)
		bld = calloc(1, sizeof(*bld));
	if (!msg || (move && !bld)) {
		free(msg);
		free(bld);
		return ENOMEM;
	}
	msg->req.key = ibmr->lkey;
	msg->req.flags = flags;
	if (flags & IBV_REREG_MR_CHANGE_PD)
		msg->req.pd = pd->handle;
	if (flags & IBV_REREG_MR_CHANGE_ACCESS)
		msg->req.access = access;
	len = sizeof(msg->req);

	pthread_mutex_lock(&ctx->mr_lock);
	if (move) {
		uintptr_t a = (uintptr_t)addr & ~PAGE_MASK_X;
		uintptr_t b = ((uintptr_t)addr + length + PAGE_MASK_X) &
			      ~PAGE_MASK_X;

		/* On an error the build holds nothing (mr_area.h). */
		err = xenib_areas_build(ctx, a, b, bld);
		if (evictable(err) && xenib_areas_evict(ctx, NULL))
			err = xenib_areas_build(ctx, a, b, bld);
		/* Before the backend moves the MR: nothing can fail after. */
		if (!err) {
			areas = malloc(bld->nsegs * sizeof(*areas));
			if (!areas) {
				xenib_areas_abort(ctx, bld);
				err = ENOMEM;
			}
		}
		msg->req.iova = (uintptr_t)addr;
		msg->req.length = length;
		msg->req.nsegs = bld->nsegs;
		memcpy(msg->req.segs, bld->segs,
		       bld->nsegs * sizeof(bld->segs[0]));
		len += bld->nsegs * sizeof(bld->segs[0]);
	}
	if (!err) {
		err = xenib_cmd(ctx, XENIB_CMD_REREG_MR, &msg->req, len, -1,
				&resp, sizeof(resp));
		if (move && (err == EDQUOT || err == ENOMEM) &&
		    xenib_areas_evict(ctx, bld))
			err = xenib_cmd(ctx, XENIB_CMD_REREG_MR, &msg->req, len,
					-1, &resp, sizeof(resp));
		if (move && err)
			xenib_areas_abort(ctx, bld);
		else if (move)
			switch_areas(ctx, mr, bld, areas);
	}
	if (err)
		free(areas);
	pthread_mutex_unlock(&ctx->mr_lock);
	free(bld);
	free(msg);
	if (err)
		return err;
	/* New keys, as after a deregistration and a registration. */
	ibmr->handle = resp.lkey;
	ibmr->lkey = resp.lkey;
	ibmr->rkey = resp.rkey;
	xenib_dbg("rereg_mr flags %#x: lkey %#x rkey %#x", flags, resp.lkey,
		  resp.rkey);
	return 0;
}
