// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A TCP side channel between the two processes of a test (tcp_xchg.h). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/common/tcp_xchg.h"

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wait until fd has events, at most until end; 0, or -1 (ETIMEDOUT). */
static int wait_fd(int fd, short events, double end)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		double left = end - mono_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left + 1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (!r && mono_ms() >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int tx_listen(uint16_t port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int tx_accept(int lfd, int ms)
{
	int fd;

	if (wait_fd(lfd, POLLIN, mono_ms() + ms))
		return -1;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		nodelay(fd);
	return fd;
}

int tx_connect(const char *host, uint16_t port, int ms)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM }, *ai;
	double end = mono_ms() + ms;
	char svc[8];
	int fd, err;

	snprintf(svc, sizeof(svc), "%u", port);
	err = getaddrinfo(host, svc, &hints, &ai);
	if (err) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			nodelay(fd);
			break;
		}
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
		/* Not listening yet: the server may still be starting. */
		if ((err != ECONNREFUSED && err != EINTR) || mono_ms() >= end)
			break;
		usleep(20000);
	}
	err = errno;
	freeaddrinfo(ai);
	errno = err;
	return fd;
}

int tx_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tx_recv(int fd, void *buf, size_t len, int ms)
{
	double end = mono_ms() + ms;
	char *p = buf;

	while (len) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, end))
			return -1;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ECONNRESET;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tx_wait_close(int fd, int ms)
{
	double end = mono_ms() + ms;
	char c;

	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, end))
			return -1;
		n = recv(fd, &c, 1, 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
	}
}
