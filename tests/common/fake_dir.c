// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The fake cluster directory of tests/common/fake_dir.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/fake_dir.h"

#define FD_HOSTS	8
#define FD_LOCS		64

struct fd_host {
	char id[XDIR_HOST_ID_MAX + 1];
	char addr[XDIR_ADDR_MAX + 1];
	uint64_t epoch;
	bool used;
};

struct fd_loc {
	uint16_t lid;
	char host[XDIR_HOST_ID_MAX + 1];
	uint64_t gen;
};

struct xdir {
	struct xdir_config cfg;
	enum xdir_state state;
	uint64_t epoch;
	struct fd_host hosts[FD_HOSTS];
	struct fd_loc locs[FD_LOCS];
	int64_t rev;
};

static struct xdir *the_dir;

struct xdir *fd_dir(void)
{
	return the_dir;
}

struct xdir *xdir_new(const struct xdir_config *cfg, int *err)
{
	struct xdir *d;

	if (the_dir || !cfg->host_id || !cfg->host_addr) {
		*err = the_dir ? EBUSY : EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		*err = ENOMEM;
		return NULL;
	}
	d->cfg = *cfg;
	d->state = XDIR_JOINING;
	d->epoch = 1;
	the_dir = d;
	return d;
}

void xdir_destroy(struct xdir *d)
{
	free(d);
	the_dir = NULL;
}

int xdir_fd(struct xdir *d)
{
	return -1;	/* nothing to wait for: the program drives it */
}

void xdir_process(struct xdir *d)
{
}

int64_t xdir_timeout_ms(struct xdir *d)
{
	return -1;
}

enum xdir_state xdir_state(const struct xdir *d)
{
	return d->state;
}

uint64_t xdir_epoch(const struct xdir *d)
{
	return d->state == XDIR_JOINING ? 0 : d->epoch;
}

void fd_state(enum xdir_state st)
{
	struct xdir *d = the_dir;

	d->state = st;
	if (d->cfg.on_state)
		d->cfg.on_state(d, st, d->cfg.arg);
}

static struct fd_host *host_find(struct xdir *d, const char *id)
{
	unsigned int i;

	for (i = 0; i < FD_HOSTS; i++)
		if (d->hosts[i].used && !strcmp(d->hosts[i].id, id))
			return &d->hosts[i];
	return NULL;
}

void fd_host(const char *id, const char *addr, uint64_t epoch)
{
	struct xdir *d = the_dir;
	struct fd_host *h = host_find(d, id);
	unsigned int i;

	if (!addr) {
		if (!h)
			return;
		h->used = false;
		if (d->cfg.on_host)
			d->cfg.on_host(d, id, NULL, d->cfg.arg);
		return;
	}
	for (i = 0; !h && i < FD_HOSTS; i++)
		if (!d->hosts[i].used)
			h = &d->hosts[i];
	if (!h)
		return;
	h->used = true;
	snprintf(h->id, sizeof(h->id), "%s", id);
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	h->epoch = epoch;
	if (d->cfg.on_host)
		d->cfg.on_host(d, h->id, &(struct xdir_host){ .id = h->id,
			.addr = h->addr, .epoch = h->epoch }, d->cfg.arg);
}

int fd_loc(uint16_t lid, const char *host)
{
	struct xdir *d = the_dir;
	struct fd_loc *free_slot = NULL;
	unsigned int i;

	for (i = 0; i < FD_LOCS; i++) {
		struct fd_loc *l = &d->locs[i];

		if (l->lid == lid) {
			if (!host) {
				l->lid = 0;
				return 0;
			}
			free_slot = l;
			break;
		}
		if (!l->lid && !free_slot)
			free_slot = l;
	}
	if (!host)
		return 0;
	if (!free_slot)
		return -ENOSPC;
	free_slot->lid = lid;
	snprintf(free_slot->host, sizeof(free_slot->host), "%s", host);
	free_slot->gen++;
	return 0;
}

int xdir_resolve_cached(struct xdir *d, uint16_t lid, struct xdir_route *r)
{
	struct fd_host *h;
	unsigned int i;

	if (lid < XDIR_LID_MIN || lid > XDIR_LID_MAX)
		return -EINVAL;
	for (i = 0; i < FD_LOCS; i++)
		if (d->locs[i].lid == lid)
			break;
	if (i == FD_LOCS)
		return -ENOENT;
	memset(r, 0, sizeof(*r));
	snprintf(r->host, sizeof(r->host), "%s", d->locs[i].host);
	r->gen = d->locs[i].gen;
	r->loc_rev = ++d->rev;
	h = host_find(d, d->locs[i].host);
	if (!h)
		return -EHOSTUNREACH;
	snprintf(r->addr, sizeof(r->addr), "%s", h->addr);
	r->epoch = h->epoch;
	return 0;
}

int xdir_host_lid(struct xdir *d, const char *host, uint16_t *lid)
{
	unsigned int i, best = 0;

	for (i = 0; i < FD_LOCS; i++)
		if (d->locs[i].lid && !strcmp(d->locs[i].host, host) &&
		    (!best || d->locs[i].lid < best))
			best = d->locs[i].lid;
	if (!best)
		return -ENOENT;
	*lid = (uint16_t)best;
	return 0;
}

/* Not faked (fake_dir.h): the program keeps the local identities. */
/* The fake knows only what the program put in: nothing to look up. */
int xdir_resolve(struct xdir *d, uint16_t lid, xdir_route_cb cb, void *arg)
{
	return -EOPNOTSUPP;
}

int xdir_guest_identity(struct xdir *d, const char *uuid, xdir_ident_cb cb,
			void *arg)
{
	return EOPNOTSUPP;
}

int xdir_loc_read(struct xdir *d, uint16_t lid, xdir_loc_cb cb, void *arg)
{
	return EOPNOTSUPP;
}

int xdir_loc_claim(struct xdir *d, uint16_t lid, int64_t expect_rev,
		   uint64_t prev_gen, xdir_loc_cb cb, void *arg)
{
	return EOPNOTSUPP;
}

int xdir_loc_drop(struct xdir *d, uint16_t lid, xdir_done_cb cb, void *arg)
{
	return EOPNOTSUPP;
}
