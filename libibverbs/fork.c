// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fork protection of registered memory.
 *
 * xenib providers back registered memory with shared mappings, so a fork
 * cannot make the parent lose the pages the backend uses: fork support is
 * reported as unneeded.  Applications that still ask for it (ibv_fork_init()
 * or RDMAV_FORK_SAFE / IBV_FORK_SAFE) get upstream's behaviour: registered
 * pages are excluded from the child with MADV_DONTFORK, reference counted per
 * page range so that overlapping registrations work.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ibverbs.h"
#include "util/list.h"

struct range {
	struct list_node link;		/* in ranges */
	uintptr_t start, end;		/* page aligned, [start, end) */
	unsigned int refs;
};

static pthread_mutex_t range_lock = PTHREAD_MUTEX_INITIALIZER;
/* struct range.link, sorted by start, no overlaps. */
static struct list_node ranges = LIST_INIT(ranges);
static bool fork_requested;

int ibv_fork_init(void)
{
	__atomic_store_n(&fork_requested, true, __ATOMIC_RELAXED);
	return 0;
}

enum ibv_fork_status ibv_is_fork_initialized(void)
{
	return IBV_FORK_UNNEEDED;
}

static bool fork_enabled(void)
{
	if (__atomic_load_n(&fork_requested, __ATOMIC_RELAXED))
		return true;
	return getenv("RDMAV_FORK_SAFE") || getenv("IBV_FORK_SAFE");
}

static void page_bounds(void *base, size_t size, uintptr_t *s, uintptr_t *e)
{
	uintptr_t page = sysconf(_SC_PAGESIZE);

	*s = (uintptr_t)base & ~(page - 1);
	*e = ((uintptr_t)base + size + page - 1) & ~(page - 1);
}

static struct range *range_of(struct list_node *n)
{
	return list_entry(n, struct range, link);
}

/* A new range, inserted before pos (the list head: at the end). */
static struct range *new_range(uintptr_t start, uintptr_t end,
			       unsigned int refs, struct list_node *pos)
{
	struct range *r = malloc(sizeof(*r));

	if (r) {
		r->start = start;
		r->end = end;
		r->refs = refs;
		list_add_tail(pos, &r->link);
	}
	return r;
}

/* Make a range boundary at addr if addr falls inside a range. */
static int split_at(uintptr_t addr)
{
	struct list_node *pos;

	list_for_each(pos, &ranges) {
		struct range *r = range_of(pos);

		if (r->start >= addr)
			break;
		if (addr >= r->end)
			continue;
		if (!new_range(addr, r->end, r->refs, pos->next))
			return ENOMEM;
		r->end = addr;
		break;
	}
	return 0;
}

/* Add one reference to every page of [s, e), filling gaps with new ranges. */
static int ref_pages(uintptr_t s, uintptr_t e)
{
	struct list_node *pos;
	uintptr_t cur = s;
	struct range *r;

	if (split_at(s) || split_at(e))
		return ENOMEM;
	pos = ranges.next;
	while (cur < e) {
		while (pos != &ranges && range_of(pos)->end <= cur)
			pos = pos->next;
		r = pos != &ranges ? range_of(pos) : NULL;
		if (r && r->start <= cur) {
			r->refs++;
			cur = r->end;
			continue;
		}
		/* A gap up to the next range (or e): insert before it. */
		r = new_range(cur, r && r->start < e ? r->start : e, 1, pos);
		if (!r)
			return ENOMEM;
		cur = r->end;
	}
	return 0;
}

/* Drop one reference from [s, e); pages reaching zero may fork again. */
static int unref_pages(uintptr_t s, uintptr_t e)
{
	struct list_node *pos, *tmp;
	int ret = 0;

	if (split_at(s) || split_at(e))
		return ENOMEM;
	list_for_each_safe(pos, tmp, &ranges) {
		struct range *r = range_of(pos);

		if (r->start >= e)
			break;
		if (r->end <= s || --r->refs)
			continue;
		if (madvise((void *)r->start, r->end - r->start, MADV_DOFORK))
			ret = errno;
		list_del(&r->link);
		free(r);
	}
	return ret;
}

int ibv_dontfork_range(void *base, size_t size)
{
	uintptr_t s, e;
	int ret;

	if (!size || !fork_enabled())
		return 0;
	page_bounds(base, size, &s, &e);
	/* Idempotent on pages already excluded: do it first, whole range. */
	if (madvise((void *)s, e - s, MADV_DONTFORK))
		return -1;

	pthread_mutex_lock(&range_lock);
	ret = ref_pages(s, e);
	pthread_mutex_unlock(&range_lock);
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}

int ibv_dofork_range(void *base, size_t size)
{
	uintptr_t s, e;
	int ret;

	if (!size || !fork_enabled())
		return 0;
	page_bounds(base, size, &s, &e);

	pthread_mutex_lock(&range_lock);
	ret = unref_pages(s, e);
	pthread_mutex_unlock(&range_lock);
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}
