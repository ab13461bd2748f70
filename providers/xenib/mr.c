// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory registration.
 *
 * The backend reaches registered memory directly, never through a bounce
 * buffer: the application's pages are re-backed in place with shareable
 * pages (hv_shm_adopt keeps the virtual address and the contents) and the
 * backend maps those.  Adopted areas are tracked per context, sorted by
 * address and reference counted by the MRs that use them, so registering
 * overlapping or adjacent buffers never adopts the same page twice (a
 * second adoption would give the guest new pages behind the backend's back).
 *
 * An MR is then described to the backend as an ordered list of segments of
 * regions covering the page span of [addr, addr + length).
 *
 * Lock order: ctx->mr_lock, then ctx->ctrl_lock (inside xenib_cmd).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenib.h"

#define PAGE_MASK_X ((uintptr_t)XENIB_PAGE_SIZE - 1)

/* Access bits the backend implements; anything else we refuse clearly. */
#define XENIB_MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
/* Hints we may drop without changing semantics. */
#define XENIB_MR_IGNORED (IBV_ACCESS_HUGETLB | IBV_ACCESS_OPTIONAL_RANGE)

struct mr_build {
	unsigned int nsegs;
	struct xenib_mr_seg segs[XENIB_MAX_MR_SEGS];
	struct xenib_mr_area *areas[XENIB_MAX_MR_SEGS];
};

static void area_free(struct xenib_context *ctx, struct xenib_mr_area *area,
		      bool unmap_region)
{
	if (unmap_region)
		xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, area->region);
	/* Close our fd; the guest mapping stays, contents and all. */
	hv_shm_release(&area->shm, 0);
	xenib_list_del(&area->link);
	free(area);
}

/* Adopt [start, end) and share it with the backend; insert before pos. */
static int area_new(struct xenib_context *ctx, uintptr_t start, uintptr_t end,
		    struct xenib_list *pos, struct xenib_mr_area **out)
{
	struct xenib_mr_area *area;
	int err;

	area = calloc(1, sizeof(*area));
	if (!area)
		return ENOMEM;
	area->start = start;
	area->end = end;
	area->shm.fd = -1;
	err = hv_shm_adopt(&area->shm, (void *)start, end - start);
	if (err) {
		free(area);
		if (err == EINVAL)
			xenib_err("cannot register memory %#lx-%#lx: it is a shared file or device mapping, which cannot be shared with xenibd",
				  (unsigned long)start, (unsigned long)end);
		else if (err == EFAULT)
			xenib_dbg("cannot register %#lx-%#lx: not mapped",
				  (unsigned long)start, (unsigned long)end);
		else
			xenib_err("cannot make memory %#lx-%#lx shareable: %s",
				  (unsigned long)start, (unsigned long)end,
				  strerror(err));
		return err;
	}
	err = xenib_map_region(ctx, &area->shm,
			       (end - start) / XENIB_PAGE_SIZE, 0,
			       &area->region);
	if (err) {
		hv_shm_release(&area->shm, 0);
		free(area);
		return err;
	}
	xenib_list_add_before(&area->link, pos);
	xenib_dbg("adopted %#lx-%#lx as region %u", (unsigned long)start,
		  (unsigned long)end, area->region);
	*out = area;
	return 0;
}

static int add_seg(struct mr_build *b, struct xenib_mr_area *area,
		   uintptr_t from, uintptr_t to)
{
	struct xenib_mr_seg *s;

	if (b->nsegs == XENIB_MAX_MR_SEGS)
		return E2BIG;
	s = &b->segs[b->nsegs];
	s->region = area->region;
	s->reserved = 0;
	s->offset = from - area->start;
	s->length = to - from;
	b->areas[b->nsegs++] = area;
	return 0;
}

/*
 * Describe the page span [a, b) as segments, adopting every maximal run
 * not yet covered by an area.  New areas start with refcnt 0; the caller
 * takes the references on success or drops unreferenced areas on failure.
 */
static int build_segments(struct xenib_context *ctx, uintptr_t a, uintptr_t b,
			  struct mr_build *bld)
{
	struct xenib_list *pos;
	struct xenib_mr_area *area, *fresh;
	uintptr_t cur = a, to;
	int err;

	xenib_list_for_each(pos, &ctx->areas) {
		area = container_of(pos, struct xenib_mr_area, link);
		if (area->end <= cur)
			continue;
		if (area->start >= b)
			break;
		if (area->start > cur) {
			if (bld->nsegs == XENIB_MAX_MR_SEGS)
				return E2BIG;
			err = area_new(ctx, cur, area->start, pos, &fresh);
			if (err)
				return err;
			err = add_seg(bld, fresh, cur, area->start);
			if (err)
				return err;
			cur = area->start;
		}
		to = area->end < b ? area->end : b;
		err = add_seg(bld, area, cur, to);
		if (err)
			return err;
		cur = to;
		if (cur == b)
			return 0;
	}
	if (cur < b) {
		if (bld->nsegs == XENIB_MAX_MR_SEGS)
			return E2BIG;
		/* pos is the first area past b, or the list head. */
		err = area_new(ctx, cur, b, pos, &fresh);
		if (err)
			return err;
		return add_seg(bld, fresh, cur, b);
	}
	return 0;
}

/* Drop areas nobody references (rollback and dereg). */
static void drop_unused(struct xenib_context *ctx)
{
	struct xenib_list *pos, *tmp;
	struct xenib_mr_area *area;

	xenib_list_for_each_safe(pos, tmp, &ctx->areas) {
		area = container_of(pos, struct xenib_mr_area, link);
		if (!area->refcnt) {
			xenib_dbg("releasing region %u (%#lx-%#lx)",
				  area->region, (unsigned long)area->start,
				  (unsigned long)area->end);
			area_free(ctx, area, true);
		}
	}
}

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
	err = build_segments(ctx, a, b, bld);
	if (err == E2BIG) {
		xenib_err("cannot register %zu bytes at %p: more than %u separately shared pieces",
			  length, addr, XENIB_MAX_MR_SEGS);
		err = ENOMEM;
	}
	if (!err)
		err = send_reg_mr(ctx, pd, hca_va, length, access, bld, &resp);
	if (!err) {
		mr->areas = malloc(bld->nsegs * sizeof(*mr->areas));
		if (!mr->areas) {
			/* Undo the backend's MR before dropping the areas. */
			xenib_cmd_handle(ctx, XENIB_CMD_DEREG_MR, resp.lkey);
			err = ENOMEM;
		}
	}
	if (err) {
		drop_unused(ctx);
		pthread_mutex_unlock(&ctx->mr_lock);
		goto out_free;
	}
	mr->nareas = bld->nsegs;
	for (i = 0; i < bld->nsegs; i++) {
		mr->areas[i] = bld->areas[i];
		bld->areas[i]->refcnt++;
	}
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
	unsigned int i;
	int err;

	err = xenib_cmd_handle(ctx, XENIB_CMD_DEREG_MR, ibmr->lkey);
	if (err)
		return err;

	pthread_mutex_lock(&ctx->mr_lock);
	for (i = 0; i < mr->nareas; i++)
		mr->areas[i]->refcnt--;
	drop_unused(ctx);
	pthread_mutex_unlock(&ctx->mr_lock);

	free(mr->areas);
	free(mr);
	return 0;
}

/* Context teardown: the backend forgets everything with the channel. */
void xenib_mr_cleanup(struct xenib_context *ctx)
{
	struct xenib_list *pos, *tmp;

	xenib_list_for_each_safe(pos, tmp, &ctx->areas)
		area_free(ctx, container_of(pos, struct xenib_mr_area, link),
			  false);
}
