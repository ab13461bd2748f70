/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tree's one intrusive doubly linked list and its container_of, for the
 * provider, libibverbs, util/ and xenibd alike.
 *
 * A list is a circular chain of struct list_node through a head node that
 * belongs to no entry; an empty list's head points at itself.  A node that
 * is on no list points at itself too (list_init(), and list_del() leaves it
 * so), which makes a second list_del() harmless.
 *
 * Argument order: the list (or position) first, the node second, as in
 * xenibd's original list.h, so that code written against it is unchanged.
 * list_add_tail(pos, n) inserts n right before pos: at the tail when pos is
 * the head, before that entry when pos is an entry's node.
 */
#ifndef XENIB_UTIL_LIST_H
#define XENIB_UTIL_LIST_H

#include <stdbool.h>
#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct list_node {
	struct list_node *next, *prev;
};

/* A static list head: struct list_node h = LIST_INIT(h); */
#define LIST_INIT(name) { &(name), &(name) }

#define list_entry(ptr, type, member) container_of(ptr, type, member)

static inline void list_init(struct list_node *h)
{
	h->next = h->prev = h;
}

static inline void list_add_tail(struct list_node *pos, struct list_node *n)
{
	n->prev = pos->prev;
	n->next = pos;
	pos->prev->next = n;
	pos->prev = n;
}

static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

static inline bool list_empty(const struct list_node *h)
{
	return h->next == h;
}

#define list_for_each(pos, head) \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* Safe against removal of the current entry. */
#define list_for_each_safe(pos, tmp, head)				\
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif /* XENIB_UTIL_LIST_H */
