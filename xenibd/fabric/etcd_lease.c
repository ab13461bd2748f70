// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Leases: grant, keepalive every TTL/3, revoke, and the judgement that a
 * lease is lost.  etcd expires a lease TTL seconds after the last keepalive
 * it received, which is no earlier than when we sent it; so once TTL has
 * passed since the sending of the last keepalive that etcd answered, the
 * lease must be taken as gone, whether etcd said so or could not be asked.
 *
 * The gateway's keepalive is a stream; a POST of one request gets one reply
 * and the stream ends, so each keepalive is one plain request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/etcd_int.h"

#define KEEPALIVE_RETRY_MS	250	/* after a failed keepalive */

struct etcd_lease {
	struct etcd_lease *next;
	struct etcd *e;
	enum etcd_lease_state state;
	bool dead;			/* released: freed once idle */
	bool revoke;			/* revoke when the grant lands */
	bool failing;			/* logged a keepalive failure */
	unsigned int inflight;		/* requests that point at us */
	unsigned int ttl;		/* seconds, as granted */
	int64_t id;
	uint64_t sent_ns;		/* of the keepalive in flight */
	uint64_t expires_ns;		/* etcd drops the lease by then */
	struct etcd_timer ka;		/* next keepalive */
	struct etcd_timer lost;		/* at expires_ns */
	etcd_lease_cb cb;
	void *arg;
};

static void lease_lost(struct etcd_lease *l, int err, const char *msg)
{
	etcd_timer_disarm(l->e, &l->ka);
	etcd_timer_disarm(l->e, &l->lost);
	l->state = ETCD_LEASE_LOST;
	/* a failed grant is the caller's to report (it retries) */
	if (l->id)
		etcd_logf(l->e, "etcd: lease %llx lost: %s",
			  (unsigned long long)l->id, msg);
	l->cb(l->e, l, ETCD_LEASE_LOST, err, msg, l->arg);
}

static struct etcd_req *lease_req(struct etcd_lease *l, enum etcd_kind kind,
				  const char *path, int64_t ttl, etcd_cb cb,
				  void *arg)
{
	json_object *j = json_object_new_object();

	if (j && (ttl ? etcd_json_put_i64(j, "TTL", ttl) :
			etcd_json_put_i64(j, "ID", l->id))) {
		json_object_put(j);
		j = NULL;
	}
	return etcd_req_new(l->e, kind, path, etcd_json_finish(j), cb, arg);
}

static void revoke_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	/* best effort: the lease expires by itself anyway */
	if (res->err && res->err != ENOENT)
		etcd_logf(e, "etcd: lease revoke failed: %s", res->msg);
}

static void send_revoke(struct etcd_lease *l)
{
	struct etcd_req *r = lease_req(l, ETCD_K_LEASE_REVOKE,
				       "/v3/lease/revoke", 0, revoke_done, NULL);

	if (!r || etcd_req_submit(r))
		etcd_logf(l->e, "etcd: cannot send a revoke of lease %llx",
			  (unsigned long long)l->id);
}

static void ka_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct etcd_lease *l = arg;
	uint64_t now = etcd_now_ns();
	uint64_t next_ms = (uint64_t)l->ttl * 1000 / 3;
	struct etcd_res other = { .err = EBADMSG,
				  .msg = "keepalive reply for another lease" };

	if (!--l->inflight && l->dead)
		e->dead_objs = true;
	if (l->dead || l->state != ETCD_LEASE_ALIVE)
		return;
	/* etcd answered about another lease: not an answer */
	if (!res->err && res->lease_id != l->id)
		res = &other;
	if (!res->err && !res->lease_ttl) {
		lease_lost(l, ENOENT, "etcd says it expired");
		return;
	}
	if (res->err) {
		if (!l->failing)
			etcd_logf(e, "etcd: keepalive of lease %llx failed: %s",
				  (unsigned long long)l->id, res->msg);
		l->failing = true;
		next_ms = KEEPALIVE_RETRY_MS;
	} else {
		if (l->failing)
			etcd_logf(e, "etcd: lease %llx kept alive again",
				  (unsigned long long)l->id);
		l->failing = false;
		l->expires_ns = l->sent_ns + (uint64_t)res->lease_ttl *
					     1000000000ull;
		if (l->expires_ns <= now) {
			lease_lost(l, ETIMEDOUT, "keepalive answered too late");
			return;
		}
		etcd_timer_arm(e, &l->lost, (l->expires_ns - now) / 1000000);
	}
	etcd_timer_arm(e, &l->ka, next_ms);
}

static void ka_timer(struct etcd_timer *t)
{
	struct etcd_lease *l = (void *)((char *)t -
					offsetof(struct etcd_lease, ka));
	uint64_t now = etcd_now_ns();
	struct etcd_req *r;

	if (l->state != ETCD_LEASE_ALIVE || l->dead)
		return;
	r = lease_req(l, ETCD_K_LEASE_KEEPALIVE, "/v3/lease/keepalive", 0,
		      ka_done, l);
	if (!r) {
		etcd_timer_arm(l->e, t, KEEPALIVE_RETRY_MS);
		return;
	}
	/* an answer after the expiry is worthless */
	r->timeout_ms = l->expires_ns > now ?
			(unsigned int)((l->expires_ns - now) / 1000000) + 1 : 1;
	l->sent_ns = now;
	if (etcd_req_submit(r)) {
		etcd_timer_arm(l->e, t, KEEPALIVE_RETRY_MS);
		return;
	}
	l->inflight++;
}

static void lost_timer(struct etcd_timer *t)
{
	struct etcd_lease *l = (void *)((char *)t -
					offsetof(struct etcd_lease, lost));

	if (l->state == ETCD_LEASE_ALIVE && !l->dead)
		lease_lost(l, ETIMEDOUT,
			   "no keepalive was answered within the TTL");
}

static void grant_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct etcd_lease *l = arg;
	uint64_t now = etcd_now_ns();

	if (!--l->inflight && l->dead)
		e->dead_objs = true;
	if (l->dead) {
		if (!res->err && l->revoke) {
			l->id = res->lease_id;
			send_revoke(l);
		}
		return;
	}
	if (res->err) {
		lease_lost(l, res->err, res->msg);
		return;
	}
	l->id = res->lease_id;
	l->ttl = (unsigned int)res->lease_ttl;
	l->expires_ns = l->sent_ns + (uint64_t)l->ttl * 1000000000ull;
	if (l->expires_ns <= now) {
		lease_lost(l, ETIMEDOUT, "grant answered after the TTL");
		return;
	}
	l->state = ETCD_LEASE_ALIVE;
	etcd_timer_arm(e, &l->lost, (l->expires_ns - now) / 1000000);
	etcd_timer_arm(e, &l->ka, (uint64_t)l->ttl * 1000 / 3);
	l->cb(e, l, ETCD_LEASE_ALIVE, 0, "granted", l->arg);
}

struct etcd_lease *etcd_lease_grant(struct etcd *e, unsigned int ttl_s,
				    etcd_lease_cb cb, void *arg)
{
	struct etcd_lease *l;
	struct etcd_req *r;

	if (ttl_s < ETCD_LEASE_TTL_MIN || ttl_s > ETCD_LEASE_TTL_MAX)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->e = e;
	l->ttl = ttl_s;
	l->cb = cb;
	l->arg = arg;
	l->state = ETCD_LEASE_GRANTING;
	etcd_timer_init(&l->ka, ka_timer);
	etcd_timer_init(&l->lost, lost_timer);
	r = lease_req(l, ETCD_K_LEASE_GRANT, "/v3/lease/grant", ttl_s,
		      grant_done, l);
	l->sent_ns = etcd_now_ns();
	if (!r || etcd_req_submit(r)) {
		free(l);
		return NULL;
	}
	l->inflight = 1;
	l->next = e->leases;
	e->leases = l;
	return l;
}

int64_t etcd_lease_id(const struct etcd_lease *l)
{
	return l->id;
}

enum etcd_lease_state etcd_lease_state(const struct etcd_lease *l)
{
	return l->state;
}

void etcd_lease_release(struct etcd_lease *l, bool revoke)
{
	if (!l || l->dead)
		return;
	etcd_timer_disarm(l->e, &l->ka);
	etcd_timer_disarm(l->e, &l->lost);
	l->dead = true;
	l->revoke = revoke;
	if (revoke && l->id)
		send_revoke(l);
	l->e->dead_objs = true;
}

void etcd_lease_reap(struct etcd *e, bool all)
{
	struct etcd_lease **pp = &e->leases;

	while (*pp) {
		struct etcd_lease *l = *pp;

		if (all || (l->dead && !l->inflight)) {
			*pp = l->next;
			etcd_timer_disarm(e, &l->ka);
			etcd_timer_disarm(e, &l->lost);
			free(l);
		} else {
			pp = &l->next;
		}
	}
}

int etcd_lease_revoke_id(struct etcd *e, int64_t id, etcd_cb cb, void *arg)
{
	json_object *j;
	struct etcd_req *r;

	if (id <= 0)
		return -EINVAL;
	j = json_object_new_object();
	if (j && etcd_json_put_i64(j, "ID", id)) {
		json_object_put(j);
		j = NULL;
	}
	r = etcd_req_new(e, ETCD_K_LEASE_REVOKE, "/v3/lease/revoke",
			 etcd_json_finish(j), cb, arg);
	return r ? etcd_req_submit(r) : -ENOMEM;
}
