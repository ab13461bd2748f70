// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The directory against a real etcd started by this test: two processes
 * racing to allocate identities, locations seen through the watch, lease
 * expiry of a stalled host, re-join, migration compares, compaction while
 * a watch is away, a restarted backend's epoch, and etcd killed and
 * restarted.  Waits are on events with generous deadlines; the only
 * sleeping is the stall and the outage under test.  77 without etcd.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xenibd/fabric/directory.h"
#include "xenibd/fabric/etcd.h"
#include "tests/fabric/etcd_test.h"

#define WAIT_MS		30000
#define TTL_S		3
#define OP_TIMEOUT_MS	2000
#define NSHARED		120	/* uuids both racers allocate */
#define NOWN		20	/* uuids only one racer allocates */
#define INFLIGHT	16

static struct etcd_server srv;

/* One directory client and what its callbacks saw. */
struct peer {
	struct xdir *d;
	const char *name;
	bool frozen;			/* not driven: a stalled loop */
	enum xdir_state st;
	unsigned int ups, degraded;
	unsigned int host_put, host_gone, loc_put, loc_gone;
	char log[512];
	unsigned int nlog, compactions;
	char last_host[XDIR_HOST_ID_MAX + 1];
};

static bool dir_has_host(struct peer *p, const char *id)
{
	return !strcmp(p->last_host, id);
}

#define MAXPEERS 4
static struct peer *peers[MAXPEERS];

static void on_log(void *arg, const char *msg)
{
	struct peer *p = arg;

	fprintf(stderr, "  [%s] %s\n", p->name, msg);
	snprintf(p->log, sizeof(p->log), "%s", msg);
	p->nlog++;
	if (strstr(msg, "compacted"))
		p->compactions++;
}

static void on_state(struct xdir *d, enum xdir_state st, void *arg)
{
	struct peer *p = arg;

	p->st = st;
	if (st == XDIR_UP)
		p->ups++;
	if (st == XDIR_DEGRADED)
		p->degraded++;
}

static void on_host(struct xdir *d, const char *id, const struct xdir_host *h,
		    void *arg)
{
	struct peer *p = arg;

	if (h) {
		p->host_put++;
		snprintf(p->last_host, sizeof(p->last_host), "%s", id);
	} else {
		p->host_gone++;
	}
}

static void on_loc(struct xdir *d, uint16_t lid, const struct xdir_loc *l,
		   void *arg)
{
	struct peer *p = arg;

	if (l)
		p->loc_put++;
	else
		p->loc_gone++;
}

static void peer_start(struct peer *p, const char *name, const char *addr)
{
	struct xdir_config cfg = {
		.endpoints = srv.url, .host_id = name, .host_addr = addr,
		.lease_ttl_s = TTL_S, .op_timeout_ms = OP_TIMEOUT_MS,
		.log = on_log, .on_state = on_state, .on_host = on_host,
		.on_loc = on_loc, .arg = p,
	};
	int err = 0, i;

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->d = xdir_new(&cfg, &err);
	REQUIRE(p->d, "xdir_new %s: %s", name, strerror(err));
	for (i = 0; i < MAXPEERS; i++)
		if (!peers[i]) {
			peers[i] = p;
			break;
		}
}

static void peer_stop(struct peer *p)
{
	int i;

	for (i = 0; i < MAXPEERS; i++)
		if (peers[i] == p)
			peers[i] = NULL;
	xdir_destroy(p->d);
	p->d = NULL;
}

/* Drive every peer that is not frozen for up to ms. */
static void drive(int ms)
{
	struct pollfd pfd[MAXPEERS];
	int i, n = 0, wait = ms;

	for (i = 0; i < MAXPEERS; i++) {
		int64_t t;

		if (!peers[i] || peers[i]->frozen)
			continue;
		pfd[n].fd = xdir_fd(peers[i]->d);
		pfd[n++].events = POLLIN;
		t = xdir_timeout_ms(peers[i]->d);
		if (t >= 0 && t < wait)
			wait = (int)t;
	}
	poll(pfd, (nfds_t)n, wait);
	for (i = 0; i < MAXPEERS; i++)
		if (peers[i] && !peers[i]->frozen)
			xdir_process(peers[i]->d);
}

#define RUN_UNTIL(cond, ms) ({						\
	uint64_t end_ = etcd_now_ns() + (uint64_t)(ms) * 1000000ull;	\
	while (!(cond) && etcd_now_ns() < end_)				\
		drive(50);						\
	(cond);								\
})

/* Drive the peers for ms: the time under test (a stall), not a wait. */
static void run_until_ms(int ms)
{
	uint64_t end = etcd_now_ns() + (uint64_t)ms * 1000000ull;

	while (etcd_now_ns() < end)
		drive(50);
}

/* Synchronous calls for the test's own steps. */
struct done {
	bool done;
	int err;
	char msg[256];
	struct xdir_ident id;
	struct xdir_loc loc;
	char host[XDIR_HOST_ID_MAX + 1];
	bool has_loc;
	struct xdir_route route;
};

static void ident_cb(struct xdir *d, int err, const char *msg,
		     const struct xdir_ident *id, void *arg)
{
	struct done *r = arg;

	r->done = true;
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	if (id)
		r->id = *id;
}

static void loc_cb(struct xdir *d, int err, const char *msg,
		   const struct xdir_loc *l, void *arg)
{
	struct done *r = arg;

	r->done = true;
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	r->has_loc = l;
	if (l) {
		r->loc = *l;
		snprintf(r->host, sizeof(r->host), "%s", l->host ? l->host : "");
		r->loc.host = r->host;
	}
}

static void done_cb(struct xdir *d, int err, const char *msg, void *arg)
{
	struct done *r = arg;

	r->done = true;
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

static void route_cb(struct xdir *d, int err, const char *msg,
		     const struct xdir_route *rt, void *arg)
{
	struct done *r = arg;

	r->done = true;
	r->err = err;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	if (rt)
		r->route = *rt;
}

static struct done identity(struct peer *p, const char *uuid)
{
	struct done r = { 0 };

	REQUIRE(!xdir_guest_identity(p->d, uuid, ident_cb, &r), "identity");
	REQUIRE(RUN_UNTIL(r.done, WAIT_MS), "identity: no answer");
	return r;
}

static struct done claim(struct peer *p, uint16_t lid, int64_t rev,
			 uint64_t gen)
{
	struct done r = { 0 };

	REQUIRE(!xdir_loc_claim(p->d, lid, rev, gen, loc_cb, &r), "claim");
	REQUIRE(RUN_UNTIL(r.done, WAIT_MS), "claim: no answer");
	return r;
}

static struct done loc_read(struct peer *p, uint16_t lid)
{
	struct done r = { 0 };

	REQUIRE(!xdir_loc_read(p->d, lid, loc_cb, &r), "loc read");
	REQUIRE(RUN_UNTIL(r.done, WAIT_MS), "loc read: no answer");
	return r;
}

static void uuid_of(char *out, unsigned int set, unsigned int i)
{
	snprintf(out, XDIR_UUID_LEN + 1, "%08x-0000-4000-8000-%012x", set, i);
}

/* One racer, in its own process: allocate, print "uuid lid". */
struct racer {
	struct peer p;
	unsigned int next, inflight, done, order;
	FILE *out;
	int errors;
};

static void racer_uuid(struct racer *r, unsigned int k, char *uuid)
{
	/* both racers walk the shared uuids, in opposite orders */
	if (k < NSHARED)
		uuid_of(uuid, 1, r->order ? NSHARED - 1 - k : k);
	else
		uuid_of(uuid, 2 + r->order, k - NSHARED);
}

static void racer_cb(struct xdir *d, int err, const char *msg,
		     const struct xdir_ident *id, void *arg);

static void racer_next(struct racer *r)
{
	while (r->inflight < INFLIGHT && r->next < NSHARED + NOWN) {
		char *uuid = malloc(XDIR_UUID_LEN + 1);

		racer_uuid(r, r->next++, uuid);
		if (xdir_guest_identity(r->p.d, uuid, racer_cb, uuid)) {
			r->errors++;
			free(uuid);
			continue;
		}
		r->inflight++;
	}
}

static struct racer *the_racer;

static void racer_cb(struct xdir *d, int err, const char *msg,
		     const struct xdir_ident *id, void *arg)
{
	struct racer *r = the_racer;
	char *uuid = arg;

	r->inflight--;
	r->done++;
	if (err) {
		fprintf(stderr, "racer: %s: %s\n", uuid, msg);
		r->errors++;
	} else {
		fprintf(r->out, "%s %u %llx\n", uuid, id->lid,
			(unsigned long long)id->guid);
	}
	free(uuid);
	racer_next(r);
}

static int racer_main(unsigned int order, int fd)
{
	struct racer r = { .order = order };

	the_racer = &r;
	r.out = fdopen(fd, "w");
	peer_start(&r.p, order ? "racer1" : "racer0",
		   order ? "127.0.0.1:7101" : "127.0.0.1:7100");
	if (!RUN_UNTIL(r.p.st == XDIR_UP, WAIT_MS))
		return 2;
	racer_next(&r);
	if (!RUN_UNTIL(r.done == NSHARED + NOWN, 4 * WAIT_MS))
		return 3;
	fclose(r.out);
	peer_stop(&r.p);
	return r.errors ? 4 : 0;
}

static void test_race(void)
{
	static unsigned int lid_of[2][NSHARED + NOWN];
	static char seen[XDIR_LID_MAX + 1];
	int fds[2][2], st, k;
	pid_t pid[2];
	unsigned int j;

	for (k = 0; k < 2; k++) {
		REQUIRE(!pipe(fds[k]), "pipe");
		pid[k] = fork();
		REQUIRE(pid[k] >= 0, "fork");
		if (!pid[k]) {
			close(fds[k][0]);
			_exit(racer_main((unsigned int)k, fds[k][1]));
		}
		close(fds[k][1]);
	}
	for (k = 0; k < 2; k++) {
		FILE *in = fdopen(fds[k][0], "r");
		char uuid[64];
		unsigned int lid, n = 0;
		unsigned long long guid;

		while (fscanf(in, "%63s %u %llx", uuid, &lid, &guid) == 3) {
			unsigned int set, i;

			n++;
			CHECK(guid == (XDIR_GUID_PREFIX | lid), "guid of %u",
			      lid);
			if (sscanf(uuid, "%8x-0000-4000-8000-%12x", &set,
				   &i) != 2)
				continue;
			if (set == 1 && i < NSHARED)
				lid_of[k][i] = lid;
			else if (set == 2u + (unsigned int)k && i < NOWN)
				lid_of[k][NSHARED + i] = lid;
		}
		fclose(in);
		CHECK(n == NSHARED + NOWN, "racer %d answered %u", k, n);
		waitpid(pid[k], &st, 0);
		CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "racer %d: %d", k,
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	for (j = 0; j < NSHARED; j++) {
		CHECK(lid_of[0][j] && lid_of[0][j] == lid_of[1][j],
		      "shared uuid %u: LIDs %u and %u", j, lid_of[0][j],
		      lid_of[1][j]);
		CHECK(!seen[lid_of[0][j]]++, "LID %u twice", lid_of[0][j]);
	}
	for (k = 0; k < 2; k++)
		for (j = NSHARED; j < NSHARED + NOWN; j++) {
			CHECK(lid_of[k][j] >= XDIR_LID_MIN &&
			      lid_of[k][j] <= XDIR_LID_MAX, "LID range");
			CHECK(!seen[lid_of[k][j]]++, "LID %u twice",
			      lid_of[k][j]);
		}
	printf("  race: %d distinct guests, LIDs all distinct, shared "
	       "uuids agree\n", NSHARED + 2 * NOWN);
}

static void compact_cb(struct etcd *e, const struct etcd_res *res, void *arg)
{
	CHECK(!res->err, "compact: %s", res->msg);
	*(bool *)arg = true;
}

static void test_cluster(void)
{
	static struct peer a, b, c, dn;
	struct xdir_route rt;
	struct done r, id[6];
	char uuid[40];
	uint64_t ep_a, t0, ms;
	unsigned int gone, i;
	struct etcd *e;
	bool compacted;
	int err = 0;

	peer_start(&a, "ha", "127.0.0.1:7001");
	peer_start(&b, "hb", "127.0.0.1:7002");
	REQUIRE(RUN_UNTIL(a.st == XDIR_UP && b.st == XDIR_UP, WAIT_MS),
		"not up: %d %d", a.st, b.st);
	ep_a = xdir_epoch(a.d);
	CHECK(ep_a == 1 && xdir_epoch(b.d) == 1, "first epochs");

	/* identities are stable and valid */
	uuid_of(uuid, 9, 0);
	id[0] = identity(&a, uuid);
	r = identity(&b, uuid);
	CHECK(!id[0].err && !r.err && r.id.lid == id[0].id.lid &&
	      r.id.guid == id[0].id.guid, "same uuid, same identity");
	CHECK(id[0].id.gid[0] == 0xfe && id[0].id.gid[1] == 0x80 &&
	      id[0].id.gid[15] == (id[0].id.lid & 0xff), "GID");
	for (i = 1; i < 5; i++) {
		uuid_of(uuid, 9, i);
		id[i] = identity(&a, uuid);
		CHECK(!id[i].err, "identity %u: %s", i, id[i].msg);
	}
	CHECK(xdir_guest_identity(a.d, "not-a-uuid", ident_cb, &r) == -EINVAL,
	      "bad uuid accepted");

	/* locations, seen by the other host through its watch */
	for (i = 0; i < 3; i++) {
		r = claim(&a, id[i].id.lid, 0, 0);
		CHECK(!r.err && r.loc.gen == 1, "claim %u: %s", i, r.msg);
	}
	r = claim(&a, 0x0bad, 0, 0);
	CHECK(r.err == ENOENT, "claim of an unallocated LID: %d", r.err);
	CHECK(RUN_UNTIL(!xdir_resolve_cached(b.d, id[2].id.lid, &rt), WAIT_MS)
	      && !strcmp(rt.host, "ha") && !strcmp(rt.addr, "127.0.0.1:7001")
	      && rt.epoch == ep_a, "b resolves a's LID: %s %s", rt.host,
	      rt.addr);
	r = (struct done){ 0 };
	REQUIRE(!xdir_resolve(b.d, id[0].id.lid, route_cb, &r), "resolve");
	CHECK(RUN_UNTIL(r.done, WAIT_MS) && !r.err &&
	      !strcmp(r.route.host, "ha"), "async resolve: %s", r.msg);

	/* a stalls past its TTL: b sees its keys go */
	printf("  stall a past its lease\n");
	gone = b.loc_gone;
	a.frozen = true;
	CHECK(RUN_UNTIL(b.loc_gone >= gone + 3 && b.host_gone, WAIT_MS),
	      "b did not see a's keys expire: %u %u", b.loc_gone - gone,
	      b.host_gone);
	CHECK(xdir_resolve_cached(b.d, id[1].id.lid, &rt) == -ENOENT,
	      "expired location still resolves");
	a.frozen = false;
	CHECK(RUN_UNTIL(a.degraded && a.st == XDIR_UP, WAIT_MS),
	      "a did not come back: %d", a.st);
	CHECK(xdir_epoch(a.d) == ep_a, "re-join changed the epoch");
	CHECK(RUN_UNTIL(!xdir_resolve_cached(b.d, id[1].id.lid, &rt), WAIT_MS)
	      && !strcmp(rt.host, "ha") && rt.epoch == ep_a,
	      "a's locations not back");

	/* migration: b commits with the revision it read, a's is stale */
	printf("  migrate a LID from a to b\n");
	r = loc_read(&b, id[0].id.lid);
	REQUIRE(!r.err && r.has_loc && !strcmp(r.host, "ha"), "read loc");
	{
		struct done m = claim(&b, id[0].id.lid, r.loc.mod_rev,
				      r.loc.gen);
		struct done stale = claim(&a, id[0].id.lid, r.loc.mod_rev,
					  r.loc.gen);

		CHECK(!m.err && m.loc.gen == r.loc.gen + 1, "migrate: %s",
		      m.msg);
		CHECK(stale.err == ESTALE && stale.has_loc &&
		      !strcmp(stale.host, "hb"), "stale claim: %d %s",
		      stale.err, stale.msg);
	}
	CHECK(RUN_UNTIL(!xdir_resolve_cached(a.d, id[0].id.lid, &rt) &&
			!strcmp(rt.host, "hb"), WAIT_MS), "a sees the move");

	/* compaction while b's watches are away */
	printf("  compaction while b's watch is away\n");
	xdir_debug_suspend_watches(b.d, true);
	r = (struct done){ 0 };
	REQUIRE(!xdir_loc_drop(a.d, id[2].id.lid, done_cb, &r), "drop");
	CHECK(RUN_UNTIL(r.done, WAIT_MS) && !r.err, "drop: %s", r.msg);
	r = claim(&a, id[3].id.lid, 0, 0);
	CHECK(!r.err, "claim 3: %s", r.msg);
	e = etcd_new(&(struct etcd_config){ .endpoints = srv.url }, &err);
	REQUIRE(e, "etcd client");
	compacted = false;
	/* compact at the newest revision (that of the claim) */
	REQUIRE(!etcd_compact(e, r.loc.mod_rev, compact_cb, &compacted),
		"compact");
	REQUIRE(!etcd_run_until(e, &compacted, WAIT_MS), "compact: no answer");
	etcd_destroy(e);
	gone = b.loc_gone;
	xdir_debug_suspend_watches(b.d, false);
	CHECK(RUN_UNTIL(b.st == XDIR_UP && b.compactions &&
			xdir_resolve_cached(b.d, id[2].id.lid, &rt) == -ENOENT
			&& !xdir_resolve_cached(b.d, id[3].id.lid, &rt),
			WAIT_MS), "b missed changes across the compaction");
	CHECK(b.loc_gone == gone + 1, "b reported %u locations gone",
	      b.loc_gone - gone);

	/* a restarted backend: same id, epoch + 1 */
	printf("  restart a: epoch goes up\n");
	peer_stop(&a);
	peer_start(&a, "ha", "127.0.0.1:7011");
	CHECK(RUN_UNTIL(a.st == XDIR_UP, WAIT_MS), "a2 not up");
	CHECK(xdir_epoch(a.d) == ep_a + 1, "epoch %llu after restart",
	      (unsigned long long)xdir_epoch(a.d));
	{
		struct done lr = claim(&a, id[4].id.lid, 0, 0);

		CHECK(!lr.err, "a2 claim: %s", lr.msg);
		CHECK(RUN_UNTIL(!xdir_resolve_cached(b.d, id[4].id.lid, &rt)
				&& rt.epoch == ep_a + 1 &&
				!strcmp(rt.addr, "127.0.0.1:7011"), WAIT_MS),
		      "b does not see a2's epoch");
	}

	/* etcd killed: cached routes work, new work fails in bounded time */
	printf("  kill etcd\n");
	peer_start(&c, "hc", "127.0.0.1:7003");
	CHECK(RUN_UNTIL(c.st == XDIR_UP, WAIT_MS), "c not up");
	etcd_server_kill(&srv);
	CHECK(!xdir_resolve_cached(b.d, id[4].id.lid, &rt) &&
	      !strcmp(rt.host, "ha"), "cached route lost with etcd");
	uuid_of(uuid, 9, 100);
	t0 = etcd_now_ns();
	r = identity(&b, uuid);
	ms = (etcd_now_ns() - t0) / 1000000;
	CHECK(r.err == ECONNREFUSED || r.err == ETIMEDOUT,
	      "allocation with etcd down: %d %s", r.err, r.msg);
	CHECK(ms < OP_TIMEOUT_MS + 10000, "allocation failed after %llu ms",
	      (unsigned long long)ms);
	CHECK(strstr(b.log, "unreachable"), "no log line: %s", b.log);
	printf("  allocation with etcd down: \"%s\" after %llu ms\n", r.msg,
	       (unsigned long long)ms);
	r = (struct done){ 0 };
	REQUIRE(!xdir_resolve(b.d, 0x0bad, route_cb, &r), "resolve");
	CHECK(RUN_UNTIL(r.done, WAIT_MS) &&
	      (r.err == ECONNREFUSED || r.err == ETIMEDOUT),
	      "unknown LID with etcd down: %d", r.err);
	CHECK(RUN_UNTIL(b.st == XDIR_DEGRADED && c.st == XDIR_DEGRADED,
			WAIT_MS), "not degraded: %d %d", b.st, c.st);
	/* a backend that starts while etcd is down joins when it is back */
	peer_start(&dn, "hd", "127.0.0.1:7004");
	CHECK(!xdir_resolve_cached(b.d, id[4].id.lid, &rt),
	      "cached route lost while degraded");

	printf("  restart etcd\n");
	REQUIRE(!etcd_server_start(&srv), "restart etcd");
	CHECK(dn.st == XDIR_JOINING && !xdir_epoch(dn.d), "hd joined: %d",
	      dn.st);
	CHECK(RUN_UNTIL(a.st == XDIR_UP && b.st == XDIR_UP && c.st == XDIR_UP &&
			dn.st == XDIR_UP, WAIT_MS), "not back up: %d %d %d %d",
	      a.st, b.st, c.st, dn.st);
	CHECK(RUN_UNTIL(dir_has_host(&b, "hd"), WAIT_MS), "b does not see hd");
	r = identity(&b, uuid);
	CHECK(!r.err, "allocation after recovery: %s", r.msg);
	{
		struct done lr = claim(&c, r.id.lid, 0, 0);

		CHECK(!lr.err, "claim after recovery: %s", lr.msg);
		CHECK(RUN_UNTIL(!xdir_resolve_cached(a.d, r.id.lid, &rt) &&
				!strcmp(rt.host, "hc"), WAIT_MS),
		      "a does not see c's new location");
	}
	/* a's re-put location is under a's new lease */
	r = loc_read(&b, id[4].id.lid);
	CHECK(!r.err && r.has_loc && !strcmp(r.host, "ha"),
	      "a's location after recovery: %s", r.msg);

	/* leave: keys go at once */
	printf("  c leaves\n");
	gone = a.host_gone;
	r = (struct done){ 0 };
	REQUIRE(!xdir_leave(c.d, done_cb, &r), "leave");
	CHECK(RUN_UNTIL(r.done, WAIT_MS) && !r.err, "leave: %s", r.msg);
	CHECK(RUN_UNTIL(a.host_gone > gone, WAIT_MS), "leave not seen");
	peer_stop(&c);
	peer_stop(&dn);
	peer_stop(&a);
	peer_stop(&b);
}

/* Two live processes with one host id: the older one gives it up. */
static void test_takeover(void)
{
	static struct peer x1, x2;
	struct xdir_route rt;
	struct done id, r;
	char uuid[40];

	peer_start(&x1, "hx", "127.0.0.1:7201");
	REQUIRE(RUN_UNTIL(x1.st == XDIR_UP, WAIT_MS), "x1 not up");
	peer_start(&x2, "hx", "127.0.0.1:7202");
	REQUIRE(RUN_UNTIL(x2.st == XDIR_UP, WAIT_MS), "x2 not up");
	CHECK(xdir_epoch(x2.d) == xdir_epoch(x1.d) + 1, "epochs %llu %llu",
	      (unsigned long long)xdir_epoch(x1.d),
	      (unsigned long long)xdir_epoch(x2.d));
	uuid_of(uuid, 10, 0);
	id = identity(&x2, uuid);
	r = claim(&x2, id.id.lid, 0, 0);
	CHECK(!r.err, "x2 claim: %s", r.msg);
	/* x1 loses its lease and must not take the id back */
	x1.frozen = true;
	run_until_ms(TTL_S * 1000 + 1500);
	x1.frozen = false;
	CHECK(RUN_UNTIL(x1.st == XDIR_FAILED, WAIT_MS), "x1 state %d", x1.st);
	CHECK(x2.st == XDIR_UP, "x2 state %d", x2.st);
	CHECK(RUN_UNTIL(!xdir_resolve_cached(x1.d, id.id.lid, &rt), WAIT_MS) &&
	      !strcmp(rt.addr, "127.0.0.1:7202"), "hx is not x2: %s", rt.addr);
	peer_stop(&x1);
	peer_stop(&x2);
}

int main(void)
{
	etcd_test_start(&srv);
	printf("two processes race to allocate\n");
	test_race();
	printf("a cluster of directory clients\n");
	test_cluster();
	printf("one host id, two processes\n");
	test_takeover();
	return etcd_test_end("directory");
}
