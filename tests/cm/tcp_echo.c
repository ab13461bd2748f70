// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * An ordinary TCP echo server and client, knowing nothing of rsockets, for
 * running under librspreload.so: plain socket/bind/listen/accept/connect,
 * read/write, send/recv, readv/writev, poll and select, fcntl(O_NONBLOCK),
 * shutdown and close.
 *
 *   tcp_echo -s PORT [-n CONNS]           serve CONNS connections, one by one
 *   tcp_echo -c HOST PORT [-b BYTES] [-N]  echo BYTES (pattern) and check them;
 *                                          -N: non-blocking, with poll/select
 * The client says "tcp_echo: ok BYTES" and exits 0 when every byte came back.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "tcp_echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	if (poll(&p, 1, 30000) != 1)
		die("poll");
}

static void serve_one(int c)
{
	char buf[65536];
	ssize_t n, w, off;
	struct iovec iov[2];

	for (;;) {
		wait_fd(c, POLLIN);
		n = read(c, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			die("read");
		if (n == 0)
			break;
		/* Echo in two pieces with writev, the rest with send. */
		iov[0].iov_base = buf;
		iov[0].iov_len = (size_t)n / 2;
		iov[1].iov_base = buf + n / 2;
		iov[1].iov_len = (size_t)(n - n / 2);
		w = writev(c, iov, 2);
		if (w < 0)
			die("writev");
		for (off = w; off < n; off += w) {
			w = send(c, buf + off, (size_t)(n - off), 0);
			if (w < 0)
				die("send");
		}
	}
	if (shutdown(c, SHUT_RDWR) && errno != ENOTCONN)
		die("shutdown");
	close(c);
}

static int server(const char *port, int conns)
{
	struct sockaddr_in sin;
	int l, one = 1, i;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("setsockopt");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(port));
	if (bind(l, (struct sockaddr *)&sin, sizeof(sin)))
		die("bind");
	if (listen(l, 8))
		die("listen");
	printf("tcp_echo: listening on %s\n", port);
	fflush(stdout);
	for (i = 0; i < conns; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int c = accept(l, (struct sockaddr *)&peer, &len);

		if (c < 0)
			die("accept");
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		serve_one(c);
	}
	close(l);
	printf("tcp_echo: served %d\n", conns);
	return 0;
}

static int client(const char *host, const char *port, long bytes, int nb)
{
	struct addrinfo hints, *ai;
	char *out, *in;
	long sent = 0, got = 0;
	int s, err;
	socklen_t len;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "tcp_echo: %s\n", gai_strerror(err));
		return 1;
	}
	s = socket(ai->ai_family, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (nb && fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK))
		die("fcntl");
	if (connect(s, ai->ai_addr, ai->ai_addrlen)) {
		if (!nb || errno != EINPROGRESS)
			die("connect");
		wait_fd(s, POLLOUT);
		len = sizeof(err);
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len))
			die("getsockopt");
		if (err) {
			errno = err;
			die("connect (async)");
		}
	}
	freeaddrinfo(ai);
	out = malloc((size_t)bytes + 1);
	in = malloc((size_t)bytes + 1);
	if (!out || !in)
		die("malloc");
	for (long i = 0; i < bytes; i++)
		out[i] = (char)(i * 7 + i / 251);
	while (got < bytes) {
		fd_set r, w;
		ssize_t n;

		FD_ZERO(&r);
		FD_ZERO(&w);
		FD_SET(s, &r);
		if (sent < bytes)
			FD_SET(s, &w);
		if (nb && select(s + 1, &r, &w, NULL, NULL) < 0)
			die("select");
		if (sent < bytes && (!nb || FD_ISSET(s, &w))) {
			size_t chunk = (size_t)(bytes - sent);

			if (chunk > 32768)
				chunk = 32768;
			/* Blocking: never further ahead than the two sides'
			 * buffers hold, or both block in write. */
			if (!nb && sent - got >= 65536)
				chunk = 0;
			if (chunk) {
				n = write(s, out + sent, chunk);
				if (n < 0 && errno != EAGAIN)
					die("write");
				if (n > 0)
					sent += n;
			}
		}
		if (!nb || FD_ISSET(s, &r)) {
			n = recv(s, in + got, (size_t)(bytes - got),
				 nb ? MSG_DONTWAIT : 0);
			if (n < 0 && errno != EAGAIN)
				die("recv");
			if (n == 0) {
				fprintf(stderr, "tcp_echo: early EOF at %ld\n",
					got);
				return 1;
			}
			if (n > 0)
				got += n;
		}
	}
	if (memcmp(in, out, (size_t)bytes)) {
		fprintf(stderr, "tcp_echo: data differ\n");
		return 1;
	}
	if (shutdown(s, SHUT_WR))
		die("shutdown");
	if (nb)
		wait_fd(s, POLLIN);
	if (read(s, in, 1) != 0) {
		fprintf(stderr, "tcp_echo: no EOF after shutdown\n");
		return 1;
	}
	close(s);
	printf("tcp_echo: ok %ld\n", bytes);
	return 0;
}

int main(int argc, char **argv)
{
	long bytes = 1000000;
	int conns = 1, nb = 0, i;

	if (argc >= 3 && !strcmp(argv[1], "-s")) {
		for (i = 3; i + 1 < argc; i += 2)
			if (!strcmp(argv[i], "-n"))
				conns = atoi(argv[i + 1]);
		return server(argv[2], conns);
	}
	if (argc >= 4 && !strcmp(argv[1], "-c")) {
		for (i = 4; i < argc; i++) {
			if (!strcmp(argv[i], "-b") && i + 1 < argc)
				bytes = atol(argv[++i]);
			else if (!strcmp(argv[i], "-N"))
				nb = 1;
		}
		return client(argv[2], argv[3], bytes, nb);
	}
	fprintf(stderr, "usage: tcp_echo -s PORT [-n CONNS] | "
		"-c HOST PORT [-b BYTES] [-N]\n");
	return 2;
}
