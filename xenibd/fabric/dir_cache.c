// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The directory's cache of hosts/ and loc/: each section is read in pages
 * pinned at one revision R, then watched from R + 1, so no change is missed
 * between the read and the watch.  If etcd compacted the history the watch
 * needs, the section is read again (at the newest revision) and the
 * differences from the cache are reported as changes; entries are only
 * replaced by newer revisions.  Resolutions come from here, also while
 * etcd is down.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/dir_int.h"

#define READ_PAGE	1000
#define READ_RETRY_MS	500

static const char *const sec_name[DIR_NSEC] = { "hosts/", "loc/" };

struct dir_host *dir_host_find(struct xdir *d, const char *id)
{
	unsigned int i;

	/* XDIR_MAX_HOSTS at most, and routes are cached by their users */
	for (i = 0; i < XDIR_MAX_HOSTS; i++)
		if (d->hosts[i].used && !strcmp(d->hosts[i].id, id))
			return &d->hosts[i];
	return NULL;
}

static void host_gone(struct xdir *d, struct dir_host *h)
{
	char id[XDIR_HOST_ID_MAX + 1];

	memcpy(id, h->id, sizeof(id));
	memset(h, 0, sizeof(*h));
	if (d->cfg.on_host)
		d->cfg.on_host(d, id, NULL, d->cfg.arg);
}

static void loc_gone(struct xdir *d, uint16_t lid)
{
	free(d->loc[lid]);
	d->loc[lid] = NULL;
	if (d->cfg.on_loc)
		d->cfg.on_loc(d, lid, NULL, d->cfg.arg);
}

static void put_host(struct xdir *d, const struct etcd_kv *kv, size_t plen,
		     uint32_t gen)
{
	const char *id = kv->key + plen;
	struct dir_host *h, *slot = NULL;
	char addr[XDIR_ADDR_MAX + 1];
	uint64_t epoch;
	unsigned int i;

	if (!dir_host_id_ok(id, kv->key_len - plen))
		return;			/* not a key of ours */
	h = dir_host_find(d, id);
	if (h && kv->mod_rev < h->mod_rev)
		return;			/* older than what we have */
	if (dir_host_decode(kv->value, kv->value_len, addr, &epoch)) {
		dir_log(d, "directory: ignoring a bad value of hosts/%s", id);
		if (h)
			host_gone(d, h);
		return;
	}
	if (!h) {
		for (i = 0; i < XDIR_MAX_HOSTS && !slot; i++)
			if (!d->hosts[i].used)
				slot = &d->hosts[i];
		if (!slot) {
			dir_log(d, "directory: more than %d hosts: %s ignored",
				XDIR_MAX_HOSTS, id);
			return;
		}
		h = slot;
		h->used = true;
		snprintf(h->id, sizeof(h->id), "%s", id);
	}
	h->mod_rev = kv->mod_rev;
	h->seen = gen;
	if (!slot && h->epoch == epoch && !strcmp(h->addr, addr))
		return;			/* no change */
	h->epoch = epoch;
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	if (d->cfg.on_host)
		d->cfg.on_host(d, h->id, &(struct xdir_host){ .id = h->id,
			.addr = h->addr, .epoch = h->epoch }, d->cfg.arg);
}

static void put_loc(struct xdir *d, const struct etcd_kv *kv,
		    const char *prefix, uint32_t gen)
{
	uint16_t lid = dir_lid_of_key(kv->key, kv->key_len, prefix);
	char host[XDIR_HOST_ID_MAX + 1];
	struct dir_loc *l;
	uint64_t g;
	bool isnew = false;

	if (!lid)
		return;
	l = d->loc[lid];
	if (l && kv->mod_rev < l->mod_rev)
		return;
	if (dir_loc_decode(kv->value, kv->value_len, host, &g)) {
		dir_log(d, "directory: ignoring a bad value of loc/%04x", lid);
		if (l)
			loc_gone(d, lid);
		return;
	}
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return;
		d->loc[lid] = l;
		isnew = true;
	}
	l->seen = gen;
	dir_loc_seen(d, lid, host);
	if (!isnew && l->mod_rev == kv->mod_rev)
		return;
	l->mod_rev = kv->mod_rev;
	l->gen = g;
	snprintf(l->host, sizeof(l->host), "%s", host);
	if (d->cfg.on_loc)
		d->cfg.on_loc(d, lid, &(struct xdir_loc){ .lid = lid,
			.host = l->host, .gen = l->gen,
			.mod_rev = l->mod_rev }, d->cfg.arg);
}

static void apply(struct dir_section *s, enum etcd_event_type type,
		  const struct etcd_kv *kv, uint32_t gen)
{
	struct xdir *d = s->d;
	size_t plen = strlen(s->prefix);

	if (kv->key_len <= plen || memcmp(kv->key, s->prefix, plen) ||
	    strlen(kv->key) != kv->key_len)
		return;
	if (type == ETCD_EV_PUT) {
		if (s->which == DIR_SEC_HOSTS)
			put_host(d, kv, plen, gen);
		else
			put_loc(d, kv, s->prefix, gen);
		return;
	}
	if (s->which == DIR_SEC_HOSTS) {
		struct dir_host *h = dir_host_find(d, kv->key + plen);

		if (h && h->mod_rev < kv->mod_rev)
			host_gone(d, h);
	} else {
		uint16_t lid = dir_lid_of_key(kv->key, kv->key_len, s->prefix);

		if (lid && d->loc[lid] && d->loc[lid]->mod_rev < kv->mod_rev)
			loc_gone(d, lid);
	}
}

/* The read is complete: what it did not see is gone. */
static void sweep(struct dir_section *s)
{
	struct xdir *d = s->d;
	unsigned int i;

	if (s->which == DIR_SEC_HOSTS) {
		for (i = 0; i < XDIR_MAX_HOSTS; i++)
			if (d->hosts[i].used && d->hosts[i].seen != s->gen &&
			    d->hosts[i].mod_rev <= s->read_rev)
				host_gone(d, &d->hosts[i]);
		return;
	}
	for (i = XDIR_LID_MIN; i <= XDIR_LID_MAX; i++)
		if (d->loc[i] && d->loc[i]->seen != s->gen &&
		    d->loc[i]->mod_rev <= s->read_rev)
			loc_gone(d, (uint16_t)i);
}

static void sec_read(struct dir_section *s, const char *after);

static void watch_cb(struct etcd *e, struct etcd_watch *w,
		     const struct etcd_watch_msg *m, void *arg)
{
	struct dir_section *s = arg;
	uint32_t i;

	switch (m->kind) {
	case ETCD_WATCH_CREATED:
		s->synced = true;
		dir_update_state(s->d);
		break;
	case ETCD_WATCH_EVENTS:
		for (i = 0; i < m->nevents; i++)
			apply(s, m->events[i].type, &m->events[i].kv, s->gen);
		break;
	case ETCD_WATCH_DOWN:
		s->synced = false;
		dir_update_state(s->d);
		break;
	case ETCD_WATCH_COMPACTED:
		dir_log(s->d, "directory: %s history compacted at %lld: "
			"reading it again", s->prefix,
			(long long)m->compact_revision);
		etcd_watch_cancel(w);
		s->w = NULL;
		s->synced = false;
		dir_update_state(s->d);
		sec_read(s, NULL);
		break;
	}
}

static void sec_watch(struct dir_section *s, int64_t from)
{
	s->w = etcd_watch(s->d->e, s->prefix, ETCD_F_PREFIX, from, watch_cb,
			  s);
	if (!s->w) {
		s->resume_rev = from;
		etcd_timer_arm(s->d->e, &s->retry, READ_RETRY_MS);
	}
}

static void read_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_section *s = arg;
	uint32_t i;

	if (res->err) {
		/* from scratch: a later read may be at another revision */
		if (!s->failing)
			dir_log(s->d, "directory: reading %s failed: %s",
				s->prefix, res->msg);
		s->failing = true;
		s->reading = false;
		s->resume_rev = 0;
		etcd_timer_arm(e, &s->retry, READ_RETRY_MS);
		return;
	}
	s->failing = false;
	if (!s->read_rev)
		s->read_rev = res->revision;
	for (i = 0; i < res->range.nkvs; i++)
		apply(s, ETCD_EV_PUT, &res->range.kvs[i], s->gen);
	if (res->range.more && res->range.nkvs) {
		sec_read(s, res->range.kvs[res->range.nkvs - 1].key);
		return;
	}
	s->reading = false;
	sweep(s);
	if (!s->suspended)
		sec_watch(s, s->read_rev + 1);
	else
		s->resume_rev = s->read_rev + 1;
}

static void sec_read(struct dir_section *s, const char *after)
{
	struct etcd_get_opts o = { .flags = ETCD_F_PREFIX, .limit = READ_PAGE };
	int err;

	if (!after) {
		s->gen++;
		s->read_rev = 0;
		s->reading = true;
		err = etcd_get(s->d->e, s->prefix, &o, read_done, s);
	} else {
		o.after = true;
		o.prefix = s->prefix;
		o.revision = s->read_rev;
		err = etcd_get(s->d->e, after, &o, read_done, s);
	}
	if (err) {
		s->reading = false;
		s->resume_rev = 0;
		etcd_timer_arm(s->d->e, &s->retry, READ_RETRY_MS);
	}
}

static void sec_retry(struct etcd_timer *t)
{
	struct dir_section *s = (void *)((char *)t -
					 offsetof(struct dir_section, retry));

	if (s->suspended || s->w || s->reading)
		return;
	if (s->resume_rev)
		sec_watch(s, s->resume_rev);
	else
		sec_read(s, NULL);
}

void dir_cache_start(struct xdir *d)
{
	int i;

	for (i = 0; i < DIR_NSEC; i++) {
		struct dir_section *s = &d->sec[i];

		s->d = d;
		s->which = (enum dir_sec)i;
		dir_key(d, s->prefix, "%s", sec_name[i]);
		etcd_timer_init(&s->retry, sec_retry);
		sec_read(s, NULL);
	}
}

void dir_cache_free(struct xdir *d)
{
	unsigned int i;

	for (i = 0; i < DIR_NLID; i++)
		free(d->loc[i]);
}

void xdir_debug_suspend_watches(struct xdir *d, bool suspend)
{
	int i;

	for (i = 0; i < DIR_NSEC; i++) {
		struct dir_section *s = &d->sec[i];

		if (suspend == s->suspended)
			continue;
		s->suspended = suspend;
		if (suspend && s->w) {
			s->resume_rev = etcd_watch_next_rev(s->w);
			etcd_watch_cancel(s->w);
			s->w = NULL;
			s->synced = false;
		} else if (!suspend && !s->w && !s->reading) {
			etcd_timer_arm(d->e, &s->retry, 0);
		}
	}
	dir_update_state(d);
}

/* Resolution. */

static int route_of(struct xdir *d, uint16_t lid, const char *host,
		    uint64_t gen, int64_t rev, struct xdir_route *r)
{
	struct dir_host *h = dir_host_find(d, host);

	memset(r, 0, sizeof(*r));
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->gen = gen;
	r->loc_rev = rev;
	if (!h)
		return -EHOSTUNREACH;
	snprintf(r->addr, sizeof(r->addr), "%s", h->addr);
	r->epoch = h->epoch;
	return 0;
}

int xdir_resolve_cached(struct xdir *d, uint16_t lid, struct xdir_route *r)
{
	struct dir_loc *l;

	if (lid < XDIR_LID_MIN || lid > XDIR_LID_MAX)
		return -EINVAL;
	l = d->loc[lid];
	if (!l)
		return -ENOENT;
	return route_of(d, lid, l->host, l->gen, l->mod_rev, r);
}

int xdir_host_lid(struct xdir *d, const char *host, uint16_t *lid)
{
	unsigned int l;

	for (l = XDIR_LID_MIN; l <= XDIR_LID_MAX; l++) {
		if (d->loc[l] && !strcmp(d->loc[l]->host, host)) {
			*lid = (uint16_t)l;
			return 0;
		}
	}
	return -ENOENT;
}

static void resolve_finish(struct dir_op *op, int err, const char *msg,
			   const struct xdir_route *r)
{
	op->cb.route(op->d, err, msg, err ? NULL : r, op->arg);
	dir_op_free(op);
}

static void resolve_cached_step(struct dir_op *op)
{
	struct xdir_route r;

	if (!xdir_resolve_cached(op->d, op->lid, &r))
		resolve_finish(op, 0, "cached", &r);
	else
		resolve_finish(op, ENOENT, "gone from the cache", NULL);
}

static void host_read(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	struct xdir_route r = { 0 };
	char addr[XDIR_ADDR_MAX + 1];

	if (res->err) {
		dir_op_etcd_error(op, "looking up a host", res);
		resolve_finish(op, op->err, op->msg, NULL);
		return;
	}
	if (!res->range.nkvs ||
	    dir_host_decode(res->range.kvs[0].value,
			    res->range.kvs[0].value_len, addr, &r.epoch)) {
		resolve_finish(op, EHOSTUNREACH, res->range.nkvs ?
			       "host value is not ours" :
			       "the LID's host has no hosts/ entry", NULL);
		return;
	}
	snprintf(r.host, sizeof(r.host), "%.*s", XDIR_HOST_ID_MAX, op->msg);
	snprintf(r.addr, sizeof(r.addr), "%s", addr);
	r.gen = op->gen;
	r.loc_rev = op->rev;
	resolve_finish(op, 0, "looked up", &r);
}

static void loc_read(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	char host[XDIR_HOST_ID_MAX + 1], key[DIR_KEY_MAX];
	struct xdir_route r;
	int err;

	if (res->err) {
		dir_op_etcd_error(op, "looking up a LID", res);
		resolve_finish(op, op->err, op->msg, NULL);
		return;
	}
	if (!res->range.nkvs) {
		resolve_finish(op, ENOENT, "LID not located", NULL);
		return;
	}
	if (dir_loc_decode(res->range.kvs[0].value,
			   res->range.kvs[0].value_len, host, &op->gen)) {
		resolve_finish(op, EBADMSG, "location value is not ours",
			       NULL);
		return;
	}
	op->rev = res->range.kvs[0].mod_rev;
	if (!route_of(op->d, op->lid, host, op->gen, op->rev, &r)) {
		resolve_finish(op, 0, "looked up", &r);
		return;
	}
	snprintf(op->msg, sizeof(op->msg), "%s", host);
	dir_key(op->d, key, "hosts/%s", host);
	err = etcd_get(e, key, NULL, host_read, op);
	if (err)
		resolve_finish(op, -err, "cannot look up the host", NULL);
}

int xdir_resolve(struct xdir *d, uint16_t lid, xdir_route_cb cb, void *arg)
{
	char key[DIR_KEY_MAX];
	struct xdir_route r;
	struct dir_op *op;
	int err;

	if (lid < XDIR_LID_MIN || lid > XDIR_LID_MAX)
		return -EINVAL;
	op = dir_op_new(d);
	if (!op)
		return -ENOBUFS;
	op->lid = lid;
	op->cb.route = cb;
	op->arg = arg;
	if (!xdir_resolve_cached(d, lid, &r)) {
		op->step = resolve_cached_step;
		dir_op_later(op, 0);
		return 0;
	}
	dir_key(d, key, "loc/%04x", lid);
	err = etcd_get(d->e, key, NULL, loc_read, op);
	if (err)
		dir_op_free(op);
	return err;
}
