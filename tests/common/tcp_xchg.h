/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A TCP side channel between the two processes of a test (as
 * ibv_rc_pingpong exchanges its QP's address): one connection, messages of
 * fixed size read and written whole, every wait bounded.  Functions return
 * 0 or -1 with errno (ETIMEDOUT when the bound passed, ECONNRESET when the
 * other side closed).
 */
#ifndef XENIB_TESTS_TCP_XCHG_H
#define XENIB_TESTS_TCP_XCHG_H

#include <stddef.h>
#include <stdint.h>

/* Listen on port (all addresses); the socket, or -1. */
int tx_listen(uint16_t port);
/* Accept one connection within ms; the socket, or -1. */
int tx_accept(int lfd, int ms);
/* Connect to host:port, trying again until ms passed; the socket, or -1. */
int tx_connect(const char *host, uint16_t port, int ms);
int tx_send(int fd, const void *buf, size_t len);
/* Exactly len bytes within ms. */
int tx_recv(int fd, void *buf, size_t len, int ms);
/* The other side closed (or reset) the connection within ms. */
int tx_wait_close(int fd, int ms);

#endif /* XENIB_TESTS_TCP_XCHG_H */
