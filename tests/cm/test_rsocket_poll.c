// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_rsocket, waiting: rpoll and rselect with rsockets and ordinary fds
 * in one set, and many connections made at once, non-blocking, and
 * followed through rpoll.
 */
#include <errno.h>
#include <poll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <rdma/rsocket.h>

#include "tests/common/check.h"
#include "tests/cm/rsocket_fixture.h"

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

void test_poll_mixed(void)
{
	struct pollfd p[3];
	fd_set r, w;
	struct timeval tv = { 0, 100000 };
	int pipefd[2], c, s, n;
	char ch;

	pair(&c, &s);
	CHECK(!pipe(pipefd), "pipe");
	p[0].fd = s;
	p[0].events = POLLIN;
	p[1].fd = pipefd[0];
	p[1].events = POLLIN;
	p[2].fd = -1;
	p[2].events = POLLIN;
	CHECK(rpoll(p, 3, 100) == 0, "idle: timeout");
	CHECK(write(pipefd[1], "x", 1) == 1, "pipe write");
	n = rpoll(p, 3, 5000);
	CHECK(n == 1 && !p[0].revents && (p[1].revents & POLLIN),
	      "an ordinary fd wakes rpoll (%d)", n);
	CHECK(read(pipefd[0], &ch, 1) == 1, "pipe read");
	CHECK(rsend(c, "y", 1, 0) == 1, "send");
	n = rpoll(p, 3, 5000);
	CHECK(n == 1 && (p[0].revents & POLLIN) && !p[1].revents,
	      "the rsocket wakes rpoll (%d)", n);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(s, &r);
	FD_SET(pipefd[0], &r);
	FD_SET(c, &w);
	n = rselect((s > c ? s : c) + 1 > pipefd[0] + 1 ?
		    (s > c ? s : c) + 1 : pipefd[0] + 1, &r, &w, NULL, &tv);
	CHECK(n == 2 && FD_ISSET(s, &r) && FD_ISSET(c, &w) &&
	      !FD_ISSET(pipefd[0], &r), "rselect: readable and writable (%d)",
	      n);
	close(pipefd[0]);
	close(pipefd[1]);
	rclose(c);
	rclose(s);
}

#define MANY 48

void test_many(void)
{
	int cs[MANY], ss[MANY], l, i, ok = 0, nacc = 0;
	struct sockaddr_in sin;
	struct timespec t0;
	uint16_t port;

	/* Requests not taken yet count against the backlog (as Linux's
	 * rdma_cm counts them): room for all. */
	l = listener_n(&port, MANY + 16);
	nonblock(l);
	sin = sin_of("127.0.0.1", port);
	for (i = 0; i < MANY; i++) {
		cs[i] = rsocket(AF_INET, SOCK_STREAM, 0);
		nonblock(cs[i]);
		if (rconnect(cs[i], (struct sockaddr *)&sin, sizeof(sin)) &&
		    errno != EINPROGRESS)
			break;
	}
	CHECK(i == MANY, "%d non-blocking connects", MANY);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (nacc < MANY && ms_since(&t0) < 20000) {
		struct pollfd p = { .fd = l, .events = POLLIN };

		rpoll(&p, 1, 100);
		while (nacc < MANY && (ss[nacc] = raccept(l, NULL, NULL)) >= 0)
			nacc++;
	}
	CHECK(nacc == MANY, "all accepted (%d)", nacc);
	for (i = 0; i < nacc; i++) {
		struct pollfd p = { .fd = cs[i], .events = POLLOUT };
		int v = i;

		if (rpoll(&p, 1, 5000) == 1 && rsend(cs[i], &v, 4, 0) == 4)
			ok++;
	}
	CHECK(ok == MANY, "all connected and sent (%d)", ok);
	ok = 0;
	for (i = 0; i < nacc; i++) {
		struct pollfd p = { .fd = ss[i], .events = POLLIN };
		int v = -1;

		if (rpoll(&p, 1, 5000) == 1 && rrecv(ss[i], &v, 4, 0) == 4 &&
		    v >= 0 && v < MANY)
			ok++;
	}
	CHECK(ok == MANY, "each accepted one got its 4 bytes (%d)", ok);
	for (i = 0; i < MANY; i++)
		rclose(cs[i]);
	for (i = 0; i < nacc; i++)
		rclose(ss[i]);
	rclose(l);
}
