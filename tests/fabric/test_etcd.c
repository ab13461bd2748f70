// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The etcd client against a real etcd 3.4 that this test starts on its own
 * ports and data dir: kv calls and their bounds, transactions, pagination,
 * watches (events, compaction, etcd killed and restarted), leases
 * (keepalive, revoked elsewhere, lost by silence), endpoint failover and
 * bounded failure when etcd is down.  Waits are on events, with generous
 * deadlines for a loaded machine.  Exit 77 when etcd is not installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenibd/fabric/etcd.h"
#include "tests/fabric/etcd_test.h"

#define WAIT_MS		30000	/* for anything that should be quick */

static struct etcd_server srv;

static void log_cb(void *arg, const char *msg)
{
	fprintf(stderr, "  [%s] %s\n", (const char *)arg, msg);
}

static struct etcd *client(const char *eps, unsigned int timeout_ms,
			   const char *name)
{
	struct etcd_config cfg = { .endpoints = eps,
				   .request_timeout_ms = timeout_ms,
				   .log = log_cb, .log_arg = (void *)name };
	struct etcd *e;
	int err = 0;

	e = etcd_new(&cfg, &err);
	REQUIRE(e, "etcd_new(%s): %s", eps, strerror(err));
	return e;
}

/* What a test keeps of a reply (the reply itself dies with the callback). */
struct sres {
	bool done;
	int err;
	char msg[256];
	int64_t revision, count, deleted, lease_id, lease_ttl;
	bool more, succeeded;
	uint32_t nkvs, nops;
	struct {
		char key[128];
		char value[256];
		size_t value_len;
		int64_t mod_rev, create_rev, lease;
	} kv[32];
	uint32_t op_nkvs[4];
	char op_value[4][256];
};

static void copy_kvs(struct sres *s, const struct etcd_range *r)
{
	uint32_t i;

	s->nkvs = r->nkvs;
	s->count = r->count;
	s->more = r->more;
	for (i = 0; i < r->nkvs && i < 32; i++) {
		snprintf(s->kv[i].key, sizeof(s->kv[i].key), "%s",
			 r->kvs[i].key);
		snprintf(s->kv[i].value, sizeof(s->kv[i].value), "%s",
			 r->kvs[i].value);
		s->kv[i].value_len = r->kvs[i].value_len;
		s->kv[i].mod_rev = r->kvs[i].mod_rev;
		s->kv[i].create_rev = r->kvs[i].create_rev;
		s->kv[i].lease = r->kvs[i].lease;
	}
}

static void sres_cb(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct sres *s = arg;
	uint32_t i;

	s->done = true;
	s->err = res->err;
	snprintf(s->msg, sizeof(s->msg), "%s", res->msg);
	s->revision = res->revision;
	s->deleted = res->deleted;
	s->succeeded = res->succeeded;
	s->lease_id = res->lease_id;
	s->lease_ttl = res->lease_ttl;
	s->nops = res->nops;
	copy_kvs(s, &res->range);
	for (i = 0; i < res->nops && i < 4; i++) {
		s->op_nkvs[i] = res->ops[i].range.nkvs;
		if (res->ops[i].range.nkvs)
			snprintf(s->op_value[i], sizeof(s->op_value[i]), "%s",
				 res->ops[i].range.kvs[0].value);
	}
}

static void wait_res(struct etcd *e, struct sres *s)
{
	REQUIRE(!etcd_run_until(e, &s->done, WAIT_MS), "no reply in time");
}

static struct sres sget(struct etcd *e, const char *key,
			const struct etcd_get_opts *o)
{
	struct sres s = { 0 };

	REQUIRE(!etcd_get(e, key, o, sres_cb, &s), "etcd_get");
	wait_res(e, &s);
	return s;
}

static struct sres sput(struct etcd *e, const char *key, const char *v,
			int64_t lease)
{
	struct sres s = { 0 };

	REQUIRE(!etcd_put(e, key, v, strlen(v), lease, sres_cb, &s), "put");
	wait_res(e, &s);
	return s;
}

/* Watch bookkeeping. */
struct wlog {
	unsigned int created, down, compacted, nev;
	int64_t compact_rev;
	struct {
		enum etcd_event_type type;
		char key[64];
		char value[64];
		int64_t rev;
	} ev[256];
};

static void wlog_cb(struct etcd *e, struct etcd_watch *w,
		    const struct etcd_watch_msg *m, void *arg)
{
	struct wlog *l = arg;
	uint32_t i;

	switch (m->kind) {
	case ETCD_WATCH_CREATED:
		l->created++;
		break;
	case ETCD_WATCH_DOWN:
		l->down++;
		break;
	case ETCD_WATCH_COMPACTED:
		l->compacted++;
		l->compact_rev = m->compact_revision;
		break;
	case ETCD_WATCH_EVENTS:
		for (i = 0; i < m->nevents && l->nev < 256; i++, l->nev++) {
			l->ev[l->nev].type = m->events[i].type;
			snprintf(l->ev[l->nev].key, 64, "%s",
				 m->events[i].kv.key);
			snprintf(l->ev[l->nev].value, 64, "%s",
				 m->events[i].kv.value);
			l->ev[l->nev].rev = m->events[i].kv.mod_rev;
		}
		break;
	}
}

/* Has the watch seen this event? */
static bool wlog_has(const struct wlog *l, enum etcd_event_type type,
		     const char *key)
{
	unsigned int i;

	for (i = 0; i < l->nev; i++)
		if (l->ev[i].type == type && !strcmp(l->ev[i].key, key))
			return true;
	return false;
}

/* Run until cond holds (it reads state the callbacks change). */
#define RUN_UNTIL(e, cond, ms) ({					\
	uint64_t end_ = etcd_now_ns() + (uint64_t)(ms) * 1000000ull;	\
	bool never_ = false;						\
	while (!(cond) && etcd_now_ns() < end_)				\
		etcd_run_until(e, &never_, 50);				\
	(cond);								\
})

static void test_kv(struct etcd *e)
{
	struct etcd_get_opts pfx = { .flags = ETCD_F_PREFIX };
	struct sres s, p1, p2;
	static char big[ETCD_MAX_VALUE + 1];
	int i;

	s = sput(e, "/t/kv/a", "one", 0);
	CHECK(!s.err && s.revision > 0, "put: %s", s.msg);
	p1 = sput(e, "/t/kv/b", "two", 0);
	s = sget(e, "/t/kv/a", NULL);
	CHECK(!s.err && s.nkvs == 1 && !strcmp(s.kv[0].value, "one") &&
	      s.revision == p1.revision, "get: %s", s.msg);
	s = sget(e, "/t/kv/", &pfx);
	CHECK(!s.err && s.nkvs == 2 && !strcmp(s.kv[1].key, "/t/kv/b"),
	      "prefix get: %s %u", s.msg, s.nkvs);
	s = sget(e, "/t/kv/none", NULL);
	CHECK(!s.err && !s.nkvs, "absent key: %s", s.msg);
	/* read an old revision */
	sput(e, "/t/kv/a", "uno", 0);
	s = sget(e, "/t/kv/a", &(struct etcd_get_opts){
		.revision = p1.revision });
	CHECK(!s.err && s.nkvs == 1 && !strcmp(s.kv[0].value, "one"),
	      "get at revision: %s", s.msg);
	/* pages */
	for (i = 0; i < 25; i++) {
		char k[32];

		snprintf(k, sizeof(k), "/t/page/%02d", i);
		sput(e, k, "x", 0);
	}
	p1 = sget(e, "/t/page/", &(struct etcd_get_opts){
		.flags = ETCD_F_PREFIX, .limit = 10 });
	CHECK(!p1.err && p1.nkvs == 10 && p1.more && p1.count == 25,
	      "first page: %s %u %d", p1.msg, p1.nkvs, p1.more);
	p2 = sget(e, p1.kv[9].key, &(struct etcd_get_opts){ .after = true,
		.prefix = "/t/page/", .limit = 10,
		.revision = p1.revision });
	CHECK(!p2.err && p2.nkvs == 10 && !strcmp(p2.kv[0].key, "/t/page/10"),
	      "second page: %s %s", p2.msg, p2.kv[0].key);
	/* deleterange */
	{
		struct sres d = { 0 };

		REQUIRE(!etcd_delete(e, "/t/page/", ETCD_F_PREFIX, sres_cb, &d),
			"delete");
		wait_res(e, &d);
		CHECK(!d.err && d.deleted == 25, "delete prefix: %s %lld",
		      d.msg, (long long)d.deleted);
	}
	/* bounds are checked before anything is sent */
	memset(big, 'v', sizeof(big));
	CHECK(etcd_put(e, "/t/big", big, sizeof(big), 0, sres_cb, &s) ==
	      -EINVAL, "oversize value accepted");
	CHECK(etcd_put(e, "", "x", 1, 0, sres_cb, &s) == -EINVAL,
	      "empty key accepted");
	s = (struct sres){ 0 };
	REQUIRE(!etcd_put(e, "/t/big", big, ETCD_MAX_VALUE, 0, sres_cb, &s),
		"max value");
	wait_res(e, &s);
	CHECK(!s.err, "max value put: %s", s.msg);
	s = sget(e, "/t/big", NULL);
	CHECK(!s.err && s.nkvs == 1 && s.kv[0].value_len == ETCD_MAX_VALUE,
	      "max value get: %s", s.msg);
}

static void test_txn(struct etcd *e)
{
	struct sres s = { 0 };
	struct etcd_kv_in two[2] = {
		{ .key = "/t/txn/a", .value = "A", .len = 1 },
		{ .key = "/t/txn/b", .value = "B", .len = 1 },
	};
	int64_t rev;

	REQUIRE(!etcd_create(e, "/t/txn/c", "first", 5, 0, sres_cb, &s), "c");
	wait_res(e, &s);
	CHECK(!s.err && s.succeeded, "create: %s", s.msg);
	s = (struct sres){ 0 };
	REQUIRE(!etcd_create(e, "/t/txn/c", "second", 6, 0, sres_cb, &s), "c");
	wait_res(e, &s);
	CHECK(!s.err && !s.succeeded && s.nops == 1 && s.op_nkvs[0] == 1 &&
	      !strcmp(s.op_value[0], "first"),
	      "create of an existing key: %s %d", s.msg, s.succeeded);
	rev = sget(e, "/t/txn/c", NULL).kv[0].mod_rev;
	s = (struct sres){ 0 };
	REQUIRE(!etcd_cas(e, "/t/txn/c", rev - 1, "bad", 3, 0, sres_cb, &s),
		"cas");
	wait_res(e, &s);
	CHECK(!s.err && !s.succeeded && !strcmp(s.op_value[0], "first"),
	      "cas on a stale revision: %s", s.msg);
	s = (struct sres){ 0 };
	REQUIRE(!etcd_cas(e, "/t/txn/c", rev, "good", 4, 0, sres_cb, &s),
		"cas");
	wait_res(e, &s);
	CHECK(!s.err && s.succeeded, "cas: %s", s.msg);
	CHECK(!strcmp(sget(e, "/t/txn/c", NULL).kv[0].value, "good"),
	      "cas value");
	/* all or none */
	sput(e, "/t/txn/b", "exists", 0);
	s = (struct sres){ 0 };
	REQUIRE(!etcd_create_all(e, two, 2, sres_cb, &s), "create_all");
	wait_res(e, &s);
	CHECK(!s.err && !s.succeeded && s.nops == 2 && !s.op_nkvs[0] &&
	      s.op_nkvs[1] == 1, "create_all with one existing: %s", s.msg);
	CHECK(!sget(e, "/t/txn/a", NULL).nkvs, "create_all wrote a key");
	two[1].key = "/t/txn/d";
	s = (struct sres){ 0 };
	REQUIRE(!etcd_create_all(e, two, 2, sres_cb, &s), "create_all");
	wait_res(e, &s);
	CHECK(!s.err && s.succeeded, "create_all: %s", s.msg);
	CHECK(sget(e, "/t/txn/a", NULL).nkvs && sget(e, "/t/txn/d", NULL).nkvs,
	      "create_all keys");
	CHECK(etcd_create_all(e, two, ETCD_MAX_TXN_OPS + 1, sres_cb, &s) ==
	      -EINVAL, "txn over the bound accepted");
}

static void test_watch_compact(struct etcd *e)
{
	struct wlog *l = calloc(1, sizeof(*l));
	struct etcd_watch *w;
	struct sres a, b, d = { 0 }, c = { 0 };
	int64_t start;

	start = sput(e, "/t/w0", "-", 0).revision + 1;
	w = etcd_watch(e, "/t/w/", ETCD_F_PREFIX, start, wlog_cb, l);
	REQUIRE(w, "etcd_watch");
	CHECK(RUN_UNTIL(e, l->created, WAIT_MS), "watch not created");
	a = sput(e, "/t/w/a", "1", 0);
	b = sput(e, "/t/w/b", "2", 0);
	REQUIRE(!etcd_delete(e, "/t/w/a", 0, sres_cb, &d), "delete");
	wait_res(e, &d);
	CHECK(RUN_UNTIL(e, l->nev >= 3, WAIT_MS), "events: %u", l->nev);
	CHECK(l->ev[0].type == ETCD_EV_PUT && l->ev[0].rev == a.revision &&
	      !strcmp(l->ev[0].key, "/t/w/a") && !strcmp(l->ev[0].value, "1"),
	      "event 0");
	CHECK(l->ev[1].type == ETCD_EV_PUT && l->ev[1].rev == b.revision,
	      "event 1");
	CHECK(l->ev[2].type == ETCD_EV_DELETE && l->ev[2].rev == d.revision &&
	      !strcmp(l->ev[2].key, "/t/w/a"), "event 2");
	CHECK(l->nev == 3, "extra events: %u (the sibling key /t/w0?)", l->nev);
	CHECK(etcd_watch_next_rev(w) == d.revision + 1, "next rev");
	etcd_watch_cancel(w);

	/* A watch from before a compaction is cancelled with its revision. */
	REQUIRE(!etcd_compact(e, d.revision, sres_cb, &c), "compact");
	wait_res(e, &c);
	CHECK(!c.err, "compact: %s", c.msg);
	memset(l, 0, sizeof(*l));
	w = etcd_watch(e, "/t/w/", ETCD_F_PREFIX, a.revision, wlog_cb, l);
	CHECK(RUN_UNTIL(e, l->compacted, WAIT_MS), "no compaction notice");
	CHECK(l->compact_rev == d.revision && !l->nev, "compact rev %lld",
	      (long long)l->compact_rev);
	etcd_watch_cancel(w);
	a = sget(e, "/t/w/b", &(struct etcd_get_opts){
		.revision = a.revision });
	CHECK(a.err == ERANGE, "read of a compacted revision: %s", a.msg);
	free(l);
}

struct lstate {
	unsigned int alive, lost;
	int err;
};

static void lease_cb(struct etcd *e, struct etcd_lease *l,
		     enum etcd_lease_state st, int err, const char *msg,
		     void *arg)
{
	struct lstate *s = arg;

	if (st == ETCD_LEASE_ALIVE)
		s->alive++;
	if (st == ETCD_LEASE_LOST) {
		s->lost++;
		s->err = err;
	}
}

static void test_lease(struct etcd *e, struct etcd *other)
{
	struct wlog *wl = calloc(1, sizeof(*wl));
	struct lstate ls = { 0 }, ls2 = { 0 };
	struct etcd_lease *l, *l2;
	struct etcd_watch *w;
	struct sres s = { 0 };
	int64_t id;
	bool never = false;

	/* TTL 3: a keepalive a second, room for a loaded machine */
	l = etcd_lease_grant(e, 3, lease_cb, &ls);
	REQUIRE(l, "grant");
	CHECK(RUN_UNTIL(e, ls.alive, WAIT_MS), "lease not granted");
	id = etcd_lease_id(l);
	CHECK(id > 0, "lease id");
	s = sput(e, "/t/lease/k", "v", id);
	CHECK(!s.err, "put with lease: %s", s.msg);
	/* Past twice the TTL the key is still there: keepalive works. */
	etcd_run_until(e, &never, 7000);
	CHECK(!ls.lost, "lease lost while kept alive: %s", strerror(ls.err));
	s = sget(e, "/t/lease/k", NULL);
	CHECK(s.nkvs == 1 && s.kv[0].lease == id, "leased key gone");

	/* Revoked by someone else: the next keepalive hears ENOENT. */
	w = etcd_watch(e, "/t/lease/", ETCD_F_PREFIX, s.revision + 1, wlog_cb,
		       wl);
	CHECK(RUN_UNTIL(e, wl->created, WAIT_MS), "watch");
	s = (struct sres){ 0 };
	REQUIRE(!etcd_lease_revoke_id(other, id, sres_cb, &s), "revoke");
	wait_res(other, &s);
	CHECK(!s.err, "revoke: %s", s.msg);
	CHECK(RUN_UNTIL(e, ls.lost, WAIT_MS) && ls.err == ENOENT,
	      "lease revoked elsewhere: lost %u err %d", ls.lost, ls.err);
	CHECK(RUN_UNTIL(e, wlog_has(wl, ETCD_EV_DELETE, "/t/lease/k"),
			WAIT_MS), "revoke did not delete");
	etcd_lease_release(l, false);

	/* Lost by silence: a loop that stalls past the TTL. */
	l2 = etcd_lease_grant(e, 2, lease_cb, &ls2);
	CHECK(RUN_UNTIL(e, ls2.alive, WAIT_MS), "second lease");
	sput(e, "/t/lease/k2", "v", etcd_lease_id(l2));
	sleep(3);	/* the stall under test, not a synchronization */
	CHECK(RUN_UNTIL(e, ls2.lost, WAIT_MS) && ls2.err != ENOENT,
	      "stalled lease: lost %u err %d", ls2.lost, ls2.err);
	CHECK(RUN_UNTIL(e, wlog_has(wl, ETCD_EV_DELETE, "/t/lease/k2"),
			WAIT_MS), "etcd did not expire the stalled lease");
	etcd_lease_release(l2, true);

	/* Released with revoke: the key goes at once. */
	memset(&ls, 0, sizeof(ls));
	l = etcd_lease_grant(e, 30, lease_cb, &ls);
	CHECK(RUN_UNTIL(e, ls.alive, WAIT_MS), "third lease");
	sput(e, "/t/lease/k3", "v", etcd_lease_id(l));
	etcd_lease_release(l, true);
	CHECK(RUN_UNTIL(e, wlog_has(wl, ETCD_EV_DELETE, "/t/lease/k3"),
			WAIT_MS), "revoke on release");
	CHECK(!etcd_lease_grant(e, 1, lease_cb, &ls), "TTL 1 accepted");
	etcd_watch_cancel(w);
	free(wl);
}

static void test_failover(void)
{
	char eps[160];
	struct etcd *e;
	struct sres s;

	snprintf(eps, sizeof(eps), "http://127.0.0.1:%d,%s",
		 etcd_server_free_port(), srv.url);
	e = client(eps, 10000, "failover");
	s = sget(e, "/t/kv/a", NULL);
	CHECK(!s.err && s.nkvs == 1, "failover get: %s", s.msg);
	CHECK(!strcmp(etcd_endpoint(e), srv.url), "endpoint now %s",
	      etcd_endpoint(e));
	etcd_destroy(e);
	CHECK(!etcd_new(&(struct etcd_config){ .endpoints = "https://x:1" },
			&(int){ 0 }), "https accepted");
	CHECK(!etcd_new(&(struct etcd_config){ .endpoints = "http://a b:1" },
			&(int){ 0 }), "space accepted");
}

/* etcd killed: bounded errors, the watch and lease come back after. */
static void test_down(struct etcd *e)
{
	struct wlog *l = calloc(1, sizeof(*l));
	struct lstate ls = { 0 };
	struct etcd_lease *lease;
	struct etcd_watch *w;
	struct sres s = { 0 }, p;
	uint64_t t0, ms;

	lease = etcd_lease_grant(e, 10, lease_cb, &ls);
	CHECK(RUN_UNTIL(e, ls.alive, WAIT_MS), "lease");
	p = sput(e, "/t/down/a", "1", etcd_lease_id(lease));
	w = etcd_watch(e, "/t/down/", ETCD_F_PREFIX, p.revision + 1, wlog_cb, l);
	CHECK(RUN_UNTIL(e, l->created, WAIT_MS), "watch");

	etcd_server_kill(&srv);
	CHECK(RUN_UNTIL(e, l->down, WAIT_MS), "watch did not notice");
	t0 = etcd_now_ns();
	REQUIRE(!etcd_get(e, "/t/down/a", NULL, sres_cb, &s), "get");
	wait_res(e, &s);
	ms = (etcd_now_ns() - t0) / 1000000;
	CHECK(s.err == ECONNREFUSED || s.err == ETIMEDOUT,
	      "etcd down: %d %s", s.err, s.msg);
	/* 1500 ms asked: a clear error in bounded time (slack for load) */
	CHECK(ms < 1500 + 10000, "etcd down: error after %llu ms",
	      (unsigned long long)ms);
	fprintf(stderr, "  etcd down: \"%s\" after %llu ms\n", s.msg,
		(unsigned long long)ms);

	REQUIRE(!etcd_server_start(&srv), "restart etcd");
	CHECK(RUN_UNTIL(e, l->created >= 2, WAIT_MS), "watch not back");
	p = sput(e, "/t/down/b", "2", 0);
	CHECK(!p.err, "put after restart: %s", p.msg);
	CHECK(RUN_UNTIL(e, l->nev >= 1, WAIT_MS) && l->nev == 1 &&
	      l->ev[0].rev == p.revision && !strcmp(l->ev[0].key, "/t/down/b"),
	      "events after restart: %u", l->nev);
	/* etcd was down for less than the TTL: the lease survived */
	CHECK(!ls.lost, "lease lost across a short restart");
	s = sget(e, "/t/down/a", NULL);
	CHECK(s.nkvs == 1, "leased key gone after a short restart");
	etcd_watch_cancel(w);
	etcd_lease_release(lease, true);
	free(l);
}

int main(void)
{
	struct etcd *e, *other;

	etcd_test_start(&srv);
	e = client(srv.url, 1500, "a");
	other = client(srv.url, 1500, "b");
	printf("kv\n");
	test_kv(e);
	printf("txn\n");
	test_txn(e);
	printf("watch, compaction\n");
	test_watch_compact(e);
	printf("lease\n");
	test_lease(e, other);
	printf("failover\n");
	test_failover();
	printf("etcd down and back\n");
	test_down(e);
	etcd_destroy(e);
	etcd_destroy(other);
	return etcd_test_end("etcd");
}
