/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Minimal intrusive doubly linked list. */
#ifndef XENIBD_LIST_H
#define XENIBD_LIST_H

#include <stddef.h>

struct list_node {
	struct list_node *next, *prev;
};

#define list_entry(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list_node *h)
{
	h->next = h->prev = h;
}

static inline void list_add_tail(struct list_node *h, struct list_node *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

static inline int list_empty(const struct list_node *h)
{
	return h->next == h;
}

/* Safe against removal of the current entry. */
#define list_for_each_safe(pos, tmp, head) \
	for (pos = (head)->next, tmp = pos->next; pos != (head); \
	     pos = tmp, tmp = pos->next)

#endif /* XENIBD_LIST_H */
