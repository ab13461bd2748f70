// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_rsocket's fixture (rsocket_fixture.h).  Every listener takes a new
 * port: a test must not meet the connections an earlier one left behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/rsocket.h>

#include "tests/cm/rsocket_fixture.h"

static uint16_t next_port;

void port_init(void)
{
	next_port = 30000 + getpid() % 20000;
}

uint16_t port_next(void)
{
	return next_port++;
}

struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

int nonblock(int s)
{
	return rfcntl(s, F_SETFL, rfcntl(s, F_GETFL) | O_NONBLOCK);
}

int listener_n(uint16_t *port, int backlog)
{
	int l = rsocket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sin;

	*port = port_next();
	sin = sin_of("127.0.0.1", *port);
	if (l < 0 || rsetsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one)) ||
	    rbind(l, (struct sockaddr *)&sin, sizeof(sin)) ||
	    rlisten(l, backlog)) {
		printf("FATAL: listener: %s\n", strerror(errno));
		exit(1);
	}
	return l;
}

int listener(uint16_t *port)
{
	return listener_n(port, 16);
}

int opt_set(int s, int level, int name, int v)
{
	return rsetsockopt(s, level, name, &v, sizeof(v));
}

int opt_get(int s, int level, int name)
{
	socklen_t len = sizeof(int);
	int v;

	return rgetsockopt(s, level, name, &v, &len) ? -1 : v;
}

void *connect_thread(void *p)
{
	struct conn_args *a = p;
	struct sockaddr_in sin = sin_of("127.0.0.1", a->port);

	a->fd = rsocket(AF_INET, SOCK_STREAM, 0);
	if (a->fd >= 0 && rconnect(a->fd, (struct sockaddr *)&sin,
				   sizeof(sin))) {
		rclose(a->fd);
		a->fd = -1;
	}
	return NULL;
}

void pair(int *c, int *s)
{
	struct conn_args a;
	pthread_t t;
	int l = listener(&a.port);

	pthread_create(&t, NULL, connect_thread, &a);
	*s = raccept(l, NULL, NULL);
	pthread_join(t, NULL);
	*c = a.fd;
	rclose(l);
	if (*c < 0 || *s < 0) {
		printf("FATAL: pair: %s\n", strerror(errno));
		exit(1);
	}
}
