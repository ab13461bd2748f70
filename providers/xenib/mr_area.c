// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Areas of application memory shared with the backend (mr_area.h).
 *
 * The hypervisor layer makes memory shareable (hv->shm_adopt: re-backing
 * private pages in place, or naming the object shared pages come from);
 * this file keeps the books.  Areas are per context, sorted by address and
 * disjoint (stale ones excepted, below), reference counted by the MRs that
 * use them, so registering overlapping or adjacent buffers never adopts
 * the same page twice (a second re-backing would give the guest new pages
 * behind the backend's back).
 *
 * An area remembers what /proc/self/maps showed for it (object, offset).
 * Before memory is registered, every area in the way and every idle one is
 * compared with the mappings now: memory the application unmapped or
 * mapped anew is no longer the area's.  An idle area then goes (its pages
 * with it); one still in use by an MR turns stale: that MR keeps the pages
 * it registered, as with a real HCA, but no new MR uses the area, and it
 * goes with its last MR.  Stale areas may overlap live ones.
 *
 * Idle areas (no MR, memory still mapped) stay shared, so that registering
 * the same memory again, as MPI registration caches do, is one REG_MR: at
 * most XENIB_IDLE_AREAS of them and XENIB_MR_CACHE bytes (default 1 GiB;
 * 0 keeps none), the least recently used going first, and all of them when
 * the backend is out of room.  Memory the application unmapped while idle
 * is let go at the next registration or deregistration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "providers/xenib/mr_area.h"
#include "util/maps.h"

#define XENIB_IDLE_AREAS	64u
/* One region holds at most 4 GiB (xenibd); adopt less, huge rounding too. */
#define AREA_MAX		(2ull << 30)

static uint64_t use_clock;

static uint64_t idle_limit(void)
{
	static uint64_t limit = UINT64_MAX;
	const char *s;
	char *end;
	uint64_t v;

	if (__atomic_load_n(&limit, __ATOMIC_RELAXED) != UINT64_MAX)
		return limit;
	v = 1ull << 30;
	s = getenv("XENIB_MR_CACHE");
	if (s && *s) {
		v = strtoull(s, &end, 0);
		switch (*end) {
		case 'g': case 'G': v <<= 10;	/* fall through */
		case 'm': case 'M': v <<= 10;	/* fall through */
		case 'k': case 'K': v <<= 10;	/* fall through */
		default: break;
		}
	}
	__atomic_store_n(&limit, v, __ATOMIC_RELAXED);
	return v;
}

static struct xenib_mr_area *area_of(struct list_node *n)
{
	return list_entry(n, struct xenib_mr_area, link);
}

static void area_free(struct xenib_context *ctx, struct xenib_mr_area *area,
		      bool unmap_region)
{
	xenib_dbg("releasing region %u (%#lx-%#lx)%s", area->region,
		  (unsigned long)area->start, (unsigned long)area->end,
		  area->stale ? ", stale" : "");
	if (unmap_region)
		xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, area->region);
	/* Close our fd; the guest mapping stays, contents and all. */
	ctx->hv->shm_release(&area->shm, 0);
	list_del(&area->link);
	free(area);
}

static bool in_build(const struct mr_build *bld,
		     const struct xenib_mr_area *area)
{
	unsigned int i;

	for (i = 0; bld && i < bld->nsegs; i++)
		if (bld->areas[i] == area)
			return true;
	return false;
}

unsigned int xenib_areas_evict(struct xenib_context *ctx,
			       const struct mr_build *bld)
{
	struct list_node *pos, *tmp;
	unsigned int n = 0;

	list_for_each_safe(pos, tmp, &ctx->areas) {
		struct xenib_mr_area *area = area_of(pos);

		if (!area->refcnt && !in_build(bld, area)) {
			area_free(ctx, area, true);
			n++;
		}
	}
	return n;
}

/* Keep the idle areas within their limits, oldest out first. */
static void idle_trim(struct xenib_context *ctx)
{
	uint64_t limit = idle_limit();

	for (;;) {
		struct xenib_mr_area *oldest = NULL;
		struct list_node *pos;
		uint64_t bytes = 0;
		unsigned int n = 0;

		list_for_each(pos, &ctx->areas) {
			struct xenib_mr_area *area = area_of(pos);

			if (area->refcnt)
				continue;
			n++;
			bytes += area->end - area->start;
			if (!oldest || area->last_use < oldest->last_use)
				oldest = area;
		}
		if (!oldest || (n <= XENIB_IDLE_AREAS && bytes <= limit))
			return;
		area_free(ctx, oldest, true);
	}
}

/*
 * Compare the areas that overlap [a, b), and the idle ones, with what is
 * mapped now: see the top of the file.
 */
/* Where maps should show the area's object (Xen re-grants change it). */
static uint64_t vma_off(const struct xenib_mr_area *area)
{
	return __atomic_load_n(&area->shm.vma_off, __ATOMIC_ACQUIRE);
}

static bool to_check(const struct xenib_mr_area *area, uintptr_t a,
		     uintptr_t b)
{
	if (area->stale)
		return false;
	return !area->refcnt || (area->end > a && area->start < b);
}

static int reconcile(struct xenib_context *ctx, uintptr_t a, uintptr_t b)
{
	struct list_node *pos, *tmp;
	uintptr_t lo = a < b ? a : UINTPTR_MAX, hi = a < b ? b : 0;
	struct hv_maps m;
	int err;

	list_for_each(pos, &ctx->areas) {
		struct xenib_mr_area *area = area_of(pos);

		if (!to_check(area, a, b))
			continue;
		if (area->start < lo)
			lo = area->start;
		if (area->end > hi)
			hi = area->end;
	}
	if (lo >= hi)
		return 0;
	err = hv_maps_read(&m, lo, hi);
	if (err)
		return err;
	list_for_each_safe(pos, tmp, &ctx->areas) {
		struct xenib_mr_area *area = area_of(pos);

		if (!to_check(area, a, b) ||
		    hv_maps_backs(&m, area->start, area->end, area->dev,
				  area->ino, vma_off(area)))
			continue;
		if (!area->refcnt) {
			area_free(ctx, area, true);
			continue;
		}
		xenib_dbg("%#lx-%#lx was unmapped or mapped anew while registered: region %u keeps the old pages for its MRs",
			  (unsigned long)area->start, (unsigned long)area->end,
			  area->region);
		area->stale = true;
	}
	hv_maps_free(&m);
	return 0;
}

/* Why [start, end) cannot be registered, as far as the mappings tell. */
static void explain(uintptr_t start, uintptr_t end, int err)
{
	struct hv_maps m;
	const struct hv_vma *v = NULL;
	size_t i;

	if (!hv_maps_read(&m, start, end)) {
		i = hv_maps_find(&m, start);
		if (i < m.n && m.v[i].lo <= start)
			v = &m.v[i];
	}
	if (err == EFAULT)
		xenib_dbg("cannot register %#lx-%#lx: not mapped or not readable",
			  (unsigned long)start, (unsigned long)end);
	else if ((err == EINVAL || err == EACCES) && v && v->shared)
		xenib_dbg("cannot register %#lx-%#lx: a shared mapping of %s%s that cannot be handed to xenibd (%s)",
			  (unsigned long)start, (unsigned long)end,
			  v->path[0] ? v->path : "anonymous memory",
			  v->deleted ? " (deleted)" : "",
			  err == EACCES ? "not writable by this process" :
			  "not shmem, or only reachable through /proc/self/map_files, which needs CAP_CHECKPOINT_RESTORE; keep a descriptor of it open, or register private memory");
	else
		xenib_dbg("cannot make %#lx-%#lx shareable: %s",
			  (unsigned long)start, (unsigned long)end,
			  strerror(err));
	hv_maps_free(&m);
}

/* Map the area's memory into the backend. */
static int area_map(struct xenib_context *ctx, struct xenib_mr_area *area)
{
	uint32_t npages = (area->end - area->start) / XENIB_PAGE_SIZE;

	return xenib_map_region(ctx, &area->shm, npages, 0, &area->region);
}

/*
 * Adopt the start of [start, end) as one area, inserted before pos (the
 * first live area past start, or the list head).  The area may end before
 * end (one object per area) and, for huge pages, begin before start.
 */
static int area_new(struct xenib_context *ctx, uintptr_t start, uintptr_t end,
		    struct list_node *pos, struct xenib_mr_area **out)
{
	struct xenib_mr_area *area;
	struct list_node *prev;
	int err;

	if (end - start > AREA_MAX)
		end = start + AREA_MAX;
	area = calloc(1, sizeof(*area));
	if (!area)
		return ENOMEM;
	area->shm.fd = -1;
	err = ctx->hv->shm_adopt(&area->shm, (void *)start, end - start);
	if (err) {
		free(area);
		explain(start, end, err);
		return err;
	}
	area->start = (uintptr_t)area->shm.va;
	area->end = area->start + area->shm.len;
	/* Never over a live neighbour (huge pages rounded out would). */
	prev = pos->prev;
	while (prev != &ctx->areas && area_of(prev)->stale)
		prev = prev->prev;
	if (area->start > start || area->end <= start ||
	    (pos != &ctx->areas && area->end > area_of(pos)->start) ||
	    (prev != &ctx->areas && area_of(prev)->end > area->start)) {
		xenib_dbg("cannot register %#lx-%#lx: its pages overlap memory registered differently",
			  (unsigned long)start, (unsigned long)end);
		ctx->hv->shm_release(&area->shm, 0);
		free(area);
		return EINVAL;
	}
	err = area_map(ctx, area);
	if (err) {
		ctx->hv->shm_release(&area->shm, 0);
		free(area);
		return err;
	}
	list_add_tail(pos, &area->link);
	xenib_dbg("shared %#lx-%#lx as region %u", (unsigned long)area->start,
		  (unsigned long)area->end, area->region);
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

/* The first live area that ends past cur, from pos on. */
static struct list_node *next_live(struct xenib_context *ctx,
				   struct list_node *pos, uintptr_t cur)
{
	while (pos != &ctx->areas &&
	       (area_of(pos)->stale || area_of(pos)->end <= cur))
		pos = pos->next;
	return pos;
}

/* Record what the mappings show for areas adopted in this build. */
static int sign_new(const struct mr_build *bld, uintptr_t a, uintptr_t b)
{
	struct hv_maps m;
	unsigned int i;
	int err;

	for (i = 0; i < bld->nsegs; i++) {
		const struct xenib_mr_area *area = bld->areas[i];

		if (area->dev || area->ino)
			continue;
		if (area->start < a)
			a = area->start;
		if (area->end > b)
			b = area->end;
	}
	err = hv_maps_read(&m, a, b);
	if (err)
		return err;
	for (i = 0; i < bld->nsegs && !err; i++) {
		struct xenib_mr_area *area = bld->areas[i];
		size_t k = hv_maps_find(&m, area->start);
		const struct hv_vma *v = k < m.n ? &m.v[k] : NULL;

		if (area->dev || area->ino)
			continue;
		if (!v || v->lo > area->start || !v->shared) {
			err = EFAULT;	/* unmapped by another thread */
			break;
		}
		area->dev = v->dev;
		area->ino = v->ino;
		area->off = v->off + (area->start - v->lo);
		if (area->off != vma_off(area) ||
		    !hv_maps_backs(&m, area->start, area->end, area->dev,
				   area->ino, area->off))
			err = EFAULT;
	}
	hv_maps_free(&m);
	return err;
}

int xenib_areas_build(struct xenib_context *ctx, uintptr_t a, uintptr_t b,
		      struct mr_build *bld)
{
	struct xenib_mr_area *area;
	struct list_node *pos;
	uintptr_t cur = a, to;
	bool fresh = false;
	int err;

	err = reconcile(ctx, a, b);
	pos = ctx->areas.next;
	while (!err && cur < b) {
		pos = next_live(ctx, pos, cur);
		area = pos != &ctx->areas ? area_of(pos) : NULL;
		if (!area || area->start > cur) {
			uintptr_t gap = area && area->start < b ? area->start : b;

			if (bld->nsegs == XENIB_MAX_MR_SEGS) {
				err = E2BIG;
				break;
			}
			err = area_new(ctx, cur, gap, pos, &area);
			if (err)
				break;
			fresh = true;
		}
		to = area->end < b ? area->end : b;
		err = add_seg(bld, area, cur, to);
		cur = to;
	}
	if (!err && fresh)
		err = sign_new(bld, a, b);
	if (err == E2BIG) {
		xenib_err("cannot register %#lx-%#lx: more than %u separately shared pieces",
			  (unsigned long)a, (unsigned long)b, XENIB_MAX_MR_SEGS);
		err = ENOMEM;
	}
	if (err)
		xenib_areas_abort(ctx, bld);
	return err;
}

void xenib_areas_get(struct mr_build *bld)
{
	unsigned int i;

	for (i = 0; i < bld->nsegs; i++)
		bld->areas[i]->refcnt++;
}

/* Areas adopted for a build that failed, or that no MR uses any more. */
static void drop_unused(struct xenib_context *ctx, bool idle_too)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &ctx->areas) {
		struct xenib_mr_area *area = area_of(pos);

		if (area->refcnt)
			continue;
		if (area->stale || !area->last_use || idle_too)
			area_free(ctx, area, true);
	}
}

void xenib_areas_abort(struct xenib_context *ctx, struct mr_build *bld)
{
	/* New areas (never used: last_use 0) go; idle ones stay idle. */
	drop_unused(ctx, false);
	bld->nsegs = 0;
}

void xenib_areas_put(struct xenib_context *ctx, struct xenib_mr_area **areas,
		     unsigned int n)
{
	uint64_t now = __atomic_add_fetch(&use_clock, 1, __ATOMIC_RELAXED);
	unsigned int i;

	for (i = 0; i < n; i++) {
		areas[i]->refcnt--;
		areas[i]->last_use = now;
	}
	/* Idle areas whose memory went meanwhile, then the limits. */
	reconcile(ctx, 0, 0);
	drop_unused(ctx, idle_limit() == 0);
	idle_trim(ctx);
}

void xenib_areas_cleanup(struct xenib_context *ctx)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &ctx->areas)
		area_free(ctx, area_of(pos), false);
}
