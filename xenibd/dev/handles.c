// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Virtual handle tables (see handles.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/handles.h"

void xd_table_init(struct xd_table *t, const char *name, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->max = max;
	t->hint = 1;
}

void xd_table_fini(struct xd_table *t)
{
	free(t->slot);
	free(t->gen);
	xd_table_init(t, t->name, t->max);
}

static int table_grow(struct xd_table *t)
{
	uint32_t nsize = t->size ? t->size * 2 : 64;
	struct xd_handle **slot;
	uint8_t *gen;

	if (nsize > t->max + 1)
		nsize = t->max + 1;
	if (nsize <= t->size)
		return ENOMEM;
	slot = realloc(t->slot, nsize * sizeof(*slot));
	if (!slot)
		return ENOMEM;
	t->slot = slot;
	gen = realloc(t->gen, nsize);
	if (!gen)
		return ENOMEM;
	t->gen = gen;
	memset(slot + t->size, 0, (nsize - t->size) * sizeof(*slot));
	memset(gen + t->size, 0, nsize - t->size);
	t->size = nsize;
	return 0;
}

int xd_table_add(struct xd_table *t, struct xd_handle *h)
{
	uint32_t i, idx;

	if (t->used >= t->max)
		return ENOMEM;
	for (;;) {
		for (i = 0; i < t->size; i++) {
			idx = (t->hint + i) % t->size;
			if (idx == 0 || t->slot[idx])
				continue;
			t->slot[idx] = h;
			h->id = (idx << 8) | t->gen[idx];
			t->used++;
			t->hint = idx + 1;
			return 0;
		}
		if (table_grow(t))
			return ENOMEM;
	}
}

void xd_table_del(struct xd_table *t, struct xd_handle *h)
{
	uint32_t idx = h->id >> 8;

	if (idx >= t->size || t->slot[idx] != h)
		return;
	t->slot[idx] = NULL;
	t->gen[idx]++;
	t->used--;
	h->id = 0;
}

int xd_table_put(struct xd_table *t, struct xd_handle *h, uint32_t id)
{
	uint32_t idx = id >> 8;

	if (idx == 0 || idx > t->max || t->used >= t->max)
		return EINVAL;
	while (idx >= t->size)
		if (table_grow(t))
			return ENOMEM;
	if (t->slot[idx])
		return EINVAL;
	t->gen[idx] = id & 0xff;
	t->slot[idx] = h;
	h->id = id;
	t->used++;
	return 0;
}

int xd_table_restore(struct xd_table *t, const uint8_t *gen, uint32_t n,
		     uint32_t hint)
{
	if (t->used || n > t->max + 1)
		return EINVAL;
	while (t->size < n)
		if (table_grow(t))
			return ENOMEM;
	if (n)
		memcpy(t->gen, gen, n);
	t->hint = hint && hint < t->size ? hint : 1;
	return 0;
}
