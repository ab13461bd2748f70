/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rsocket's fixture (rsocket_fixture.c): listeners and connected
 * pairs of rsockets on 127.0.0.1, each on a port of its own, and the test
 * groups of the program's files, which main (test_rsocket.c) runs in
 * turn.
 */
#ifndef XENIB_TEST_RSOCKET_FIXTURE_H
#define XENIB_TEST_RSOCKET_FIXTURE_H

#include <netinet/in.h>
#include <stdint.h>

/* Ports from a base of this process's, so two runs do not collide. */
void port_init(void);
uint16_t port_next(void);

struct sockaddr_in sin_of(const char *ip, uint16_t port);
int nonblock(int s);
/* A listener on 127.0.0.1 (a new port each time, in *port). */
int listener_n(uint16_t *port, int backlog);
int listener(uint16_t *port);

/* An int option: rsetsockopt's result; the value read, or -1. */
int opt_set(int s, int level, int name, int v);
int opt_get(int s, int level, int name);

/* connect_thread connects a new rsocket to 127.0.0.1:port, fd -1 if it
 * could not. */
struct conn_args {
	uint16_t port;
	int fd;
};
void *connect_thread(void *p);
/* A connected pair (blocking both); exits if it cannot be made. */
void pair(int *c, int *s);

/* test_rsocket_stream.c: the stream data path */
void test_waitall_vec(void);
void test_close(void);
void test_flow(void);
void test_duplex(void);
void test_iomap(void);
/* test_rsocket_poll.c */
void test_poll_mixed(void);
void test_many(void);
/* test_rsocket_hostile.c */
void test_hostile(void);
/* test_rsocket_dgram.c */
void test_dgram(void);

#endif /* XENIB_TEST_RSOCKET_FIXTURE_H */
