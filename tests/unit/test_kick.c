// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Stress of the sleep/kick handshake (util/xenib_ring.h) with the helpers
 * both sides use: guest threads publish work on a send ring and on a
 * receive ring and kick only when xr_guest_claim_kick() says so; a backend
 * thread consumes, and when it finds nothing raises every context's flag,
 * fences, looks again and sleeps on the kick pipe.  Receive posts must
 * wake it only where their ring asks for it, as the backend does: context
 * 0's receive ring asks always (a QP in ERR), context 1's once the
 * producer index reaches kick_idx, which the backend moves forward each
 * time it has consumed everything (a sender waiting after an RNR NAK),
 * context 2's never.  A post left unconsumed while the backend sleeps is
 * a lost wake-up: every guest waits for the posts that must wake the
 * backend, with a deadline far beyond any scheduling delay (the guests
 * take turns, so that one's kicks cannot hide another's lost wake-up).
 * And a sleep is claimed by at most one kick per context.  About 5 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/common/check.h"
#include "util/xenib_ring.h"

#define NCTX		3
#define RUN_NS		(3000ull * 1000 * 1000)
#define DEADLINE_NS	(1500ull * 1000 * 1000)
#define TURN_NS		(50ull * 1000 * 1000)

struct ctx {
	struct xenib_ctx_page page;
	struct xenib_ring_hdr sq, rq;
	uint32_t sq_cons, rq_cons;	/* backend's */
	uint32_t rq_mode;		/* backend's copy of rq.post_kick */
	long lost, posts, kicks;
};

static struct ctx ctxs[NCTX];
static int kick_pipe[2];
static volatile int stop;
static long sleeps, rounds;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void kick(struct ctx *c)
{
	char b = 1;

	c->kicks++;
	if (write(kick_pipe[1], &b, 1) < 0 && errno != EAGAIN)
		abort();
}

/* Wait until the backend consumed ring up to prod; false: lost. */
static bool wait_consumed(struct xenib_ring_hdr *ring, uint32_t prod)
{
	uint64_t t0 = now_ns();

	while (xr_load_acquire(&ring->cons) != prod) {
		if (now_ns() - t0 > DEADLINE_NS)
			return stop;	/* the backend stopped: not lost */
		sched_yield();
	}
	return true;
}

static void *guest(void *arg)
{
	struct ctx *c = arg;
	unsigned int seed = (unsigned int)(c - ctxs) + 1;
	uint32_t sq = 0, rq = 0;

	while (!stop) {
		unsigned int i, n = 1 + rand_r(&seed) % 4;

		/*
		 * One guest at a time, in turns: another's kick would wake
		 * the backend and hide a wake-up lost for this one.
		 */
		if ((now_ns() / TURN_NS) % NCTX != (uint64_t)(c - ctxs)) {
			usleep(1000);
			continue;
		}

		for (i = 0; i < n; i++) {	/* a burst of sends */
			xr_store_release(&c->sq.prod, ++sq);
			c->posts++;
			if (xr_guest_claim_kick(&c->page, NULL))
				kick(c);
		}
		if (!wait_consumed(&c->sq, sq))
			c->lost++;
		/* Receives: wait for them only where the ring asks for kicks. */
		n = 1 + rand_r(&seed) % 3;
		if (c == &ctxs[1]) {	/* up to where the backend asks */
			n = xr_load_acquire(&c->rq.kick_idx) - rq;
			if (n > 64)
				n = 1;
		}
		for (i = 0; i < n; i++) {
			xr_store_release(&c->rq.prod, ++rq);
			c->posts++;
			if (xr_guest_claim_kick(&c->page, &c->rq))
				kick(c);
		}
		if ((c == &ctxs[0] ||
		     (c == &ctxs[1] &&
		      (int32_t)(rq - xr_load_acquire(&c->rq.kick_idx)) >= 0)) &&
		    !wait_consumed(&c->rq, rq))
			c->lost++;
		for (i = rand_r(&seed) % 2000; i; i--)	/* think */
			__asm__ volatile("" ::: "memory");
	}
	return NULL;
}

/* Consume what every ring has; true if anything. */
static bool consume(void)
{
	bool work = false;
	int i;

	for (i = 0; i < NCTX; i++) {
		struct ctx *c = &ctxs[i];
		uint32_t p = xr_load_acquire(&c->sq.prod);

		if (p != c->sq_cons) {
			c->sq_cons = p;
			xr_store_release(&c->sq.cons, p);
			work = true;
		}
		p = xr_load_acquire(&c->rq.prod);
		if (p != c->rq_cons) {
			c->rq_cons = p;
			xr_store_release(&c->rq.cons, p);
			work = true;
		}
	}
	return work;
}

/* Does a receive ring's producer index need us now (its post_kick)? */
static bool rq_wants(const struct ctx *c)
{
	uint32_t p = xr_load_acquire(&c->rq.prod);

	if (p == c->rq_cons)
		return false;
	return (c->rq_mode & XENIB_POST_KICK_ALWAYS) ||
	       ((c->rq_mode & XENIB_POST_KICK_AT) &&
		(int32_t)(p - xr_load_relaxed(&c->rq.kick_idx)) >= 0);
}

static void *backend(void *arg)
{
	unsigned int seed = 99;
	struct pollfd pfd = { .fd = kick_pipe[0], .events = POLLIN };
	char buf[256];
	int i;

	while (!stop) {
		rounds++;
		if (consume())
			continue;
		/* Context 1: the next kick once 1..8 more receives are in. */
		if (ctxs[1].rq_cons == xr_load_acquire(&ctxs[1].rq.prod))
			xr_backend_post_kick(&ctxs[1].rq, XENIB_POST_KICK_AT,
					     ctxs[1].rq_cons + 1 +
					     rand_r(&seed) % 8);
		/* A real loop does more here: widen the race windows. */
		for (i = rand_r(&seed) % (rand_r(&seed) % 4 ? 300 : 30000); i;
		     i--)
			__asm__ volatile("" ::: "memory");
		for (i = 0; i < NCTX; i++)
			xr_backend_sleeping(&ctxs[i].page, 1);
		xr_backend_arm_fence();
		for (i = 0; i < NCTX; i++)
			if (xr_load_acquire(&ctxs[i].sq.prod) != ctxs[i].sq_cons ||
			    rq_wants(&ctxs[i]))
				break;
		if (i == NCTX) {
			sleeps++;
			poll(&pfd, 1, 10000);	/* far past DEADLINE_NS */
		}
		for (i = 0; i < NCTX; i++)
			xr_backend_sleeping(&ctxs[i].page, 0);
		/* After the flags: a late kick must not end the next sleep. */
		while (read(kick_pipe[0], buf, sizeof(buf)) > 0)
			;
	}
	return NULL;
}

int main(void)
{
	pthread_t g[NCTX], b;
	long kicks = 0, posts = 0, lost = 0;
	uint64_t t0;
	int i;

	CHECK(!pipe2(kick_pipe, O_NONBLOCK | O_CLOEXEC), "kick pipe");
	for (i = 0; i < NCTX; i++)
		ctxs[i].page.backend_features = XENIB_BACKEND_LAZY_RECV_KICK;
	ctxs[0].rq_mode = XENIB_POST_KICK_ALWAYS;
	xr_backend_post_kick(&ctxs[0].rq, XENIB_POST_KICK_ALWAYS, 0);
	ctxs[1].rq_mode = XENIB_POST_KICK_AT;
	xr_backend_post_kick(&ctxs[1].rq, XENIB_POST_KICK_AT, 1);
	CHECK(!pthread_create(&b, NULL, backend, NULL), "backend thread");
	for (i = 0; i < NCTX; i++)
		CHECK(!pthread_create(&g[i], NULL, guest, &ctxs[i]),
		      "guest thread %d", i);
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS)
		usleep(10000);
	stop = 1;
	for (i = 0; i < NCTX; i++) {
		pthread_join(g[i], NULL);
		kicks += ctxs[i].kicks;
		posts += ctxs[i].posts;
		lost += ctxs[i].lost;
	}
	/* The backend may sleep on a last kick-less round: wake it. */
	if (write(kick_pipe[1], "", 1) < 0)
		abort();
	pthread_join(b, NULL);
	printf("posts %ld, kicks %ld, sleeps %ld, backend rounds %ld\n",
	       posts, kicks, sleeps, rounds);
	CHECK(posts > 100 && sleeps > 10,
	      "posts and sleeps happened (%ld, %ld)", posts, sleeps);
	CHECK(!lost, "no post waited on a sleeping backend (%ld lost)", lost);
	CHECK(kicks <= (sleeps + 1) * NCTX,
	      "at most one kick per context per sleep (%ld for %ld)", kicks,
	      sleeps);
	return check_summary();
}
