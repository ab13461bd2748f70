// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Watches over the gateway's /v3/watch stream: one HTTP stream per watch,
 * a create_request in the body, then one JSON message per line for as long
 * as the connection lives.  A broken stream is created again from the
 * revision after the last event delivered, so events are neither lost nor
 * repeated; if that revision has been compacted away, etcd cancels the
 * watch with compact_revision and the caller must read again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/etcd_int.h"

#define WATCH_BACKOFF_MIN_MS	100
#define WATCH_BACKOFF_MAX_MS	2000

struct etcd_watch {
	struct etcd_watch *next;
	struct etcd *e;
	struct etcd_xfer x;
	struct etcd_timer retry;
	char *key;
	unsigned int flags;
	char *body;			/* create_request of the stream */
	unsigned int ep;
	int64_t next_rev;
	unsigned int backoff_ms;
	bool up;			/* created, and not broken since */
	bool told_down;			/* DOWN reported for this outage */
	bool stopped;			/* compacted: no more streams */
	bool dead;
	etcd_watch_cb cb;
	void *arg;
};

static void watch_connect(struct etcd_watch *w);

static void deliver(struct etcd_watch *w, const struct etcd_watch_msg *m)
{
	w->cb(w->e, w, m, w->arg);
}

/* The stream is gone: tell once, come back later. */
static void watch_broken(struct etcd_watch *w, int err, const char *msg)
{
	etcd_xfer_stop(w->e, &w->x);
	if (w->dead || w->stopped)
		return;
	w->up = false;
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 :
			WATCH_BACKOFF_MIN_MS;
	if (w->backoff_ms > WATCH_BACKOFF_MAX_MS)
		w->backoff_ms = WATCH_BACKOFF_MAX_MS;
	etcd_timer_arm(w->e, &w->retry, w->backoff_ms);
	if (!w->told_down) {
		w->told_down = true;
		etcd_logf(w->e, "etcd: watch of %s down: %s", w->key, msg);
		deliver(w, &(struct etcd_watch_msg){ .kind = ETCD_WATCH_DOWN,
			.err = err, .msg = msg });
	}
}

static bool key_in_range(const struct etcd_watch *w, const struct etcd_kv *kv)
{
	size_t n = strlen(w->key);

	if (w->flags & ETCD_F_PREFIX)
		return kv->key_len >= n && !memcmp(kv->key, w->key, n);
	return kv->key_len == n && !memcmp(kv->key, w->key, n);
}

/* One message; false when the stream must not be read on. */
static bool watch_message(struct etcd_watch *w, const char *line, size_t len)
{
	struct etcd_arena a = { 0 };
	struct etcd_watch_msg m;
	char msg[256];
	uint32_t i;
	int err;

	err = etcd_watch_decode(line, len, &m, &a, msg, sizeof(msg));
	for (i = 0; !err && i < m.nevents; i++) {
		if (m.events[i].kv.mod_rev < w->next_rev) {
			err = EBADMSG;
			snprintf(msg, sizeof(msg),
				 "event at revision %lld, before %lld",
				 (long long)m.events[i].kv.mod_rev,
				 (long long)w->next_rev);
		} else if (!key_in_range(w, &m.events[i].kv)) {
			err = EBADMSG;
			snprintf(msg, sizeof(msg), "event for a key not watched");
		}
	}
	if (err) {
		etcd_arena_free(&a);
		if (err == EAGAIN)
			etcd_endpoint_failed(w->e, w->ep);
		watch_broken(w, err, msg);
		return false;
	}
	switch (m.kind) {
	case ETCD_WATCH_CREATED:
		if (w->told_down)
			etcd_logf(w->e, "etcd: watch of %s up again", w->key);
		w->up = true;
		w->told_down = false;
		w->backoff_ms = 0;
		deliver(w, &m);
		break;
	case ETCD_WATCH_EVENTS:
		if (!m.nevents)
			break;		/* a progress notification */
		w->next_rev = m.events[m.nevents - 1].kv.mod_rev + 1;
		deliver(w, &m);
		break;
	case ETCD_WATCH_COMPACTED:
		w->stopped = true;
		etcd_xfer_stop(w->e, &w->x);
		deliver(w, &m);
		break;
	default:
		break;
	}
	etcd_arena_free(&a);
	return !w->dead && !w->stopped;
}

static void watch_data(struct etcd_xfer *x)
{
	struct etcd_watch *w = (void *)((char *)x -
					offsetof(struct etcd_watch, x));
	size_t off = 0;

	while (off < x->in.len) {
		char *nl = memchr(x->in.p + off, '\n', x->in.len - off);
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - (x->in.p + off));
		if (n && !watch_message(w, x->in.p + off, n))
			return;		/* stopped, broken or cancelled */
		off += n + 1;
	}
	memmove(x->in.p, x->in.p + off, x->in.len - off);
	x->in.len -= off;
}

static void watch_done(struct etcd_xfer *x, CURLcode rc, long http, bool sent)
{
	struct etcd_watch *w = (void *)((char *)x -
					offsetof(struct etcd_watch, x));
	char msg[256];
	int err;

	if (rc != CURLE_OK) {
		err = etcd_xfer_errno(x, rc, msg, sizeof(msg));
		etcd_endpoint_failed(w->e, w->ep);
	} else if (http != 200) {
		struct etcd_expect ex = { .kind = ETCD_K_PUT };
		struct etcd_arena a = { 0 };
		struct etcd_res res;

		err = etcd_reply_decode(&ex, http, x->in.p, x->in.len, &res,
					&a, msg, sizeof(msg));
		etcd_arena_free(&a);
		if (!err)
			err = EIO;
	} else {
		err = ECONNRESET;
		snprintf(msg, sizeof(msg), "etcd closed the watch stream");
	}
	/* a member that cannot serve (no leader): try another */
	if (err == EAGAIN || err == ECONNRESET)
		etcd_endpoint_failed(w->e, w->ep);
	watch_broken(w, err, msg);
}

static void watch_retry(struct etcd_timer *t)
{
	struct etcd_watch *w = (void *)((char *)t -
					offsetof(struct etcd_watch, retry));

	if (!w->dead && !w->stopped)
		watch_connect(w);
}

static char *create_body(const struct etcd_watch *w)
{
	json_object *j = json_object_new_object(), *c = json_object_new_object();
	int r = !j || !c;

	if (!r)
		r = etcd_json_put_bytes(c, "key", w->key, strlen(w->key),
					false);
	if (!r && (w->flags & ETCD_F_PREFIX))
		r = etcd_json_put_prefix_end(c, "range_end", w->key);
	if (!r && w->next_rev)
		r = etcd_json_put_i64(c, "start_revision", w->next_rev);
	if (!r && json_object_object_add(j, "create_request", c))
		r = -ENOMEM;
	if (r) {
		json_object_put(c);
		json_object_put(j);
		return NULL;
	}
	return etcd_json_finish(j);
}

static void watch_connect(struct etcd_watch *w)
{
	int err = -ENOMEM;

	free(w->body);
	w->body = create_body(w);
	w->ep = w->e->cur;
	if (w->body)
		err = etcd_xfer_start(w->e, &w->x, w->ep, "/v3/watch", w->body,
				      strlen(w->body), 0);
	if (err)
		watch_broken(w, -err, "cannot start the watch stream");
}

struct etcd_watch *etcd_watch(struct etcd *e, const char *key,
			      unsigned int flags, int64_t start_rev,
			      etcd_watch_cb cb, void *arg)
{
	struct etcd_watch *w;

	if (!key || !*key || strlen(key) >= ETCD_MAX_KEY || start_rev < 0)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->key = strdup(key);
	if (!w->key) {
		free(w);
		return NULL;
	}
	w->e = e;
	w->flags = flags & ETCD_F_PREFIX;
	w->next_rev = start_rev;
	w->cb = cb;
	w->arg = arg;
	w->x.stream = true;
	w->x.data = watch_data;
	w->x.done = watch_done;
	etcd_timer_init(&w->retry, watch_retry);
	w->next = e->watches;
	e->watches = w;
	/* Connect from the loop: no callback may run inside this call. */
	etcd_timer_arm(e, &w->retry, 0);
	return w;
}

void etcd_watch_cancel(struct etcd_watch *w)
{
	if (!w || w->dead)
		return;
	w->dead = true;
	etcd_xfer_stop(w->e, &w->x);
	etcd_timer_disarm(w->e, &w->retry);
	w->e->dead_objs = true;
}

int64_t etcd_watch_next_rev(const struct etcd_watch *w)
{
	return w->next_rev;
}

void etcd_watch_reap(struct etcd *e, bool all)
{
	struct etcd_watch **pp = &e->watches;

	while (*pp) {
		struct etcd_watch *w = *pp;

		if (all || w->dead) {
			*pp = w->next;
			etcd_xfer_stop(e, &w->x);
			etcd_timer_disarm(e, &w->retry);
			etcd_buf_free(&w->x.in);
			free(w->body);
			free(w->key);
			free(w);
		} else {
			pp = &w->next;
		}
	}
}
