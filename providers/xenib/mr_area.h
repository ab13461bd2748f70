/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Areas: application memory made reachable by the backend for MRs
 * (mr_area.c).  An area is one object shared with the backend (one
 * MAP_REGION) covering [start, end) of the address space.  MRs are built
 * from segments of areas; an area no MR uses stays cached ("idle") so that
 * registering the same memory again costs one REG_MR, not a copy.
 *
 * All of it under ctx->mr_lock.
 */
#ifndef XENIB_MR_AREA_H
#define XENIB_MR_AREA_H

#include "xenib.h"

#define PAGE_MASK_X ((uintptr_t)XENIB_PAGE_SIZE - 1)

struct mr_build {
	unsigned int nsegs;
	struct xenib_mr_seg segs[XENIB_MAX_MR_SEGS];
	struct xenib_mr_area *areas[XENIB_MAX_MR_SEGS];
};

/*
 * Describe the page span [a, b) as segments of areas, re-using areas that
 * still back their memory and adopting the rest.  On error, *bld holds no
 * references and new areas are gone again.  0 or errno (logged); a
 * resource error (EDQUOT, ENOMEM, EMFILE, ENFILE) may go away once idle
 * areas are evicted.
 */
int xenib_areas_build(struct xenib_context *ctx, uintptr_t a, uintptr_t b,
		      struct mr_build *bld);
/* The MR of bld registered: take one reference per segment. */
void xenib_areas_get(struct mr_build *bld);
/* The MR of bld was not registered: let go of areas nobody uses. */
void xenib_areas_abort(struct xenib_context *ctx, struct mr_build *bld);
/* Drop one reference on each of n areas (deregistration). */
void xenib_areas_put(struct xenib_context *ctx, struct xenib_mr_area **areas,
		     unsigned int n);
/*
 * Let go of idle areas not in bld (NULL: all): the backend ran out of room.
 * Returns how many went.
 */
unsigned int xenib_areas_evict(struct xenib_context *ctx,
			       const struct mr_build *bld);
/* Context teardown (the backend forgets everything with the channel). */
void xenib_areas_cleanup(struct xenib_context *ctx);

#endif /* XENIB_MR_AREA_H */
