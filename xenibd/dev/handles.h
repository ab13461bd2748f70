/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Virtual handles: the translation layer's allocator.
 *
 * Every handle a guest sees (QPN, CQ handle, lkey/rkey, PD, region and
 * notifier handles) is (index << 8) | generation, index >= 1.  Lookup is
 * O(1) and allocation-free (the fast path translates keys on every WQE);
 * the generation makes a stale handle fail instead of reaching a new object
 * in a reused slot.  Objects embed struct xd_handle as their first member.
 */
#ifndef XENIBD_HANDLES_H
#define XENIBD_HANDLES_H

#include <stdint.h>

struct xd_handle {
	uint32_t id;
};

struct xd_table {
	const char *name;
	struct xd_handle **slot;
	uint8_t *gen;
	uint32_t size;		/* slots allocated */
	uint32_t max;		/* hard limit on index */
	uint32_t used;
	uint32_t hint;
};

void xd_table_init(struct xd_table *t, const char *name, uint32_t max);
/* Free the table's memory (it holds no handle any more). */
void xd_table_fini(struct xd_table *t);
/* Assigns h->id; 0 or ENOMEM. */
int xd_table_add(struct xd_table *t, struct xd_handle *h);
void xd_table_del(struct xd_table *t, struct xd_handle *h);
/*
 * Migration (migrate/): give h the handle id exactly (its slot free and
 * within the table's limit, its generation then id's): 0, EINVAL or
 * ENOMEM.  The generations of an empty table's slots and its next-slot
 * hint, as another backend's table had them, so that handles made later
 * differ from every handle made before: 0 or errno.
 */
int xd_table_put(struct xd_table *t, struct xd_handle *h, uint32_t id);
int xd_table_restore(struct xd_table *t, const uint8_t *gen, uint32_t n,
		     uint32_t hint);

static inline struct xd_handle *xd_table_get(const struct xd_table *t,
					     uint32_t id)
{
	uint32_t idx = id >> 8;
	struct xd_handle *h;

	if (idx >= t->size)
		return NULL;
	h = t->slot[idx];
	return (h && h->id == id) ? h : NULL;
}

#endif /* XENIBD_HANDLES_H */
