// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets through our librdmacm and a real xenibd, both ends in this
 * process (threads where one side must block): what socket programs rely
 * on and rstream/riostream/rcopy do not all show.  Unsupported socket kinds
 * fail with ENOTSUP; connect without a listener is refused (blocking, and
 * non-blocking through rpoll and SO_ERROR); accept, names, options and
 * rfcntl; MSG_PEEK, MSG_WAITALL, readv/writev/sendmsg/recvmsg; flow
 * control (a sender that outruns its reader gets EAGAIN, then POLLOUT once
 * the reader reads); half close, close with unread data, EOF and EPIPE;
 * riomap/riowrite/riounmap; rpoll and rselect mixed with ordinary fds;
 * many connections at once; and hostile peers (no rsocket hello, a bad
 * hello, garbage messages) that must be refused or break only their own
 * connection.  Datagram rsockets: names, sendto/recvfrom with the sender's
 * address, a reply to it, connect/send/recv, MSG_PEEK and MSG_TRUNC,
 * EMSGSIZE and EDESTADDRREQ, sends to nobody (lost, like UDP's), port
 * conflicts, a burst, and a stranger's datagram that is no datagram of
 * ours (dropped).
 *
 * This file holds main and the socket's life: kinds, refused connects,
 * accept and names, options.  The data path is test_rsocket_stream.c,
 * rpoll/rselect test_rsocket_poll.c, hostile peers
 * test_rsocket_hostile.c, datagrams test_rsocket_dgram.c; listeners and
 * pairs come from rsocket_fixture.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <rdma/rsocket.h>

#include "tests/common/check.h"
#include "tests/cm/rsocket_fixture.h"

static void test_kinds(void)
{
	int s;

	errno = 0;
	CHECK(rsocket(AF_INET, SOCK_DGRAM, IPPROTO_TCP) < 0 &&
	      errno == ENOTSUP, "DGRAM/TCP: ENOTSUP");
	errno = 0;
	CHECK(rsocket(AF_INET, SOCK_STREAM, IPPROTO_UDP) < 0 &&
	      errno == ENOTSUP, "STREAM/UDP: ENOTSUP");
	CHECK(rsocket(AF_UNIX, SOCK_STREAM, 0) < 0, "AF_UNIX refused");
	CHECK(rsocket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) < 0 &&
	      errno == ENOTSUP, "type flags: ENOTSUP, as upstream");
	s = rsocket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
	CHECK(s >= 0, "AF_INET6/TCP: %s", strerror(errno));
	CHECK(rclose(s) == 0, "rclose");
	CHECK(rclose(s) < 0 && errno == EBADF, "rclose twice: EBADF");
	CHECK(rsend(12345, "x", 1, 0) < 0 && errno == EBADF, "not ours: EBADF");
}

static void test_refused(void)
{
	struct sockaddr_in sin = sin_of("127.0.0.1", port_next());
	struct pollfd p;
	int s, err, n;

	s = rsocket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	CHECK(rconnect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	      errno == ECONNREFUSED, "blocking, no listener: ECONNREFUSED (%s)",
	      strerror(errno));
	rclose(s);

	s = rsocket(AF_INET, SOCK_STREAM, 0);
	nonblock(s);
	errno = 0;
	CHECK(rconnect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	      errno == EINPROGRESS, "non-blocking: EINPROGRESS (%s)",
	      strerror(errno));
	p.fd = s;
	p.events = POLLOUT;
	n = rpoll(&p, 1, 5000);
	CHECK(n == 1 && (p.revents & POLLERR), "rpoll: POLLERR (n %d, %#x)",
	      n, p.revents);
	err = opt_get(s, SOL_SOCKET, SO_ERROR);
	CHECK(err == ECONNREFUSED, "SO_ERROR ECONNREFUSED (%d)", err);
	CHECK(opt_get(s, SOL_SOCKET, SO_ERROR) == 0, "SO_ERROR read clears it");
	rclose(s);
}

static void test_accept_names(void)
{
	struct sockaddr_in sin, a, b;
	struct sockaddr_storage ss;
	struct pollfd p[2];
	uint16_t port;
	socklen_t len;
	int l, c, s, n;

	l = listener(&port);
	nonblock(l);
	CHECK(raccept(l, NULL, NULL) < 0 && errno == EAGAIN,
	      "raccept, nothing there: EAGAIN");
	p[0].fd = l;
	p[0].events = POLLIN;
	CHECK(rpoll(p, 1, 100) == 0, "rpoll on an idle listener: timeout");

	c = rsocket(AF_INET, SOCK_STREAM, 0);
	nonblock(c);
	sin = sin_of("127.0.0.1", port);
	CHECK(rconnect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	      errno == EINPROGRESS, "connect: EINPROGRESS");
	CHECK(rconnect(c, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	      (errno == EALREADY || errno == EISCONN),
	      "connect again: EALREADY (%s)", strerror(errno));
	n = rpoll(p, 1, 5000);
	CHECK(n == 1 && (p[0].revents & POLLIN), "listener POLLIN");
	len = sizeof(ss);
	s = raccept(l, (struct sockaddr *)&ss, &len);
	CHECK(s >= 0 && len == sizeof(struct sockaddr_in) &&
	      ss.ss_family == AF_INET, "raccept gives the peer's address");
	p[1].fd = c;
	p[1].events = POLLOUT;
	n = rpoll(&p[1], 1, 5000);
	CHECK(n == 1 && (p[1].revents & POLLOUT) &&
	      !(p[1].revents & POLLERR), "client POLLOUT (%#x)", p[1].revents);
	CHECK(opt_get(c, SOL_SOCKET, SO_ERROR) == 0, "SO_ERROR 0");
	len = sizeof(a);
	CHECK(!rgetsockname(c, (struct sockaddr *)&a, &len), "getsockname");
	len = sizeof(b);
	CHECK(!rgetpeername(s, (struct sockaddr *)&b, &len), "getpeername");
	CHECK(a.sin_port == b.sin_port && a.sin_addr.s_addr ==
	      b.sin_addr.s_addr && ntohs(a.sin_port) != 0,
	      "client's name is the server's peer");
	len = sizeof(a);
	CHECK(!rgetpeername(c, (struct sockaddr *)&a, &len) &&
	      ntohs(a.sin_port) == port, "client's peer: the listening port");
	len = 0;
	CHECK(!rgetsockname(c, NULL, &len) &&
	      len == sizeof(struct sockaddr_in), "getsockname: size only");
	/* The accepted socket inherits O_NONBLOCK, as upstream's do. */
	CHECK(rfcntl(s, F_GETFL) & O_NONBLOCK, "accepted: non-blocking");
	/* Data a connecting-side sender sends once POLLOUT said so. */
	CHECK(rsend(c, "ping", 4, 0) == 4, "send");
	p[0].fd = s;
	p[0].events = POLLIN;
	CHECK(rpoll(p, 1, 5000) == 1, "server POLLIN");
	{
		char buf[8] = { 0 };

		CHECK(rrecv(s, buf, sizeof(buf), MSG_PEEK) == 4 &&
		      !memcmp(buf, "ping", 4), "MSG_PEEK");
		memset(buf, 0, sizeof(buf));
		CHECK(rrecv(s, buf, 2, 0) == 2 && !memcmp(buf, "pi", 2),
		      "part");
		CHECK(rrecv(s, buf, sizeof(buf), MSG_PEEK) == 2 &&
		      !memcmp(buf, "ng", 2), "peek the rest");
		CHECK(rrecv(s, buf, sizeof(buf), 0) == 2 &&
		      !memcmp(buf, "ng", 2), "the rest");
		CHECK(rrecv(s, buf, sizeof(buf), 0) < 0 && errno == EAGAIN,
		      "then EAGAIN");
	}
	rclose(c);
	rclose(s);
	rclose(l);
}

static void test_options(void)
{
	int s = rsocket(AF_INET, SOCK_STREAM, 0), v;
	struct linger lg = { 1, 3 };

	CHECK(!opt_set(s, SOL_SOCKET, SO_RCVBUF, 262144), "RCVBUF");
	v = opt_get(s, SOL_SOCKET, SO_RCVBUF);
	CHECK(v == 262144, "RCVBUF back (%d)", v);
	CHECK(!opt_set(s, IPPROTO_TCP, TCP_NODELAY, 5), "NODELAY");
	CHECK(opt_get(s, IPPROTO_TCP, TCP_NODELAY) == 1, "NODELAY back as 1");
	CHECK(!opt_set(s, SOL_SOCKET, SO_KEEPALIVE, 1), "KEEPALIVE");
	CHECK(!opt_set(s, IPPROTO_TCP, TCP_KEEPIDLE, 30), "KEEPIDLE");
	CHECK(opt_get(s, IPPROTO_TCP, TCP_KEEPIDLE) == 30, "KEEPIDLE back");
	CHECK(!rsetsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
	      "LINGER");
	CHECK(!opt_set(s, SOL_RDMA, RDMA_INLINE, 256), "INLINE");
	CHECK(!opt_set(s, SOL_RDMA, RDMA_SQSIZE, 256), "SQSIZE");
	CHECK(!opt_set(s, SOL_RDMA, RDMA_RQSIZE, 256), "RQSIZE");
	CHECK(opt_set(s, SOL_SOCKET, SO_BROADCAST, 256) < 0 &&
	      errno == ENOTSUP, "unknown option: ENOTSUP");
	v = 256;
	CHECK(rsetsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, 1) < 0 &&
	      errno == EINVAL, "short option: EINVAL");
	CHECK(opt_get(s, SOL_SOCKET, SO_TYPE) == SOCK_STREAM, "SO_TYPE");
	CHECK(!(rfcntl(s, F_GETFL) & O_NONBLOCK), "blocking by default");
	CHECK(!nonblock(s) && (rfcntl(s, F_GETFL) & O_NONBLOCK),
	      "O_NONBLOCK set");
	CHECK(!rfcntl(s, F_SETFL, 0) && !(rfcntl(s, F_GETFL) & O_NONBLOCK),
	      "O_NONBLOCK cleared");
	CHECK(rshutdown(s, SHUT_WR) < 0 && errno == ENOTCONN,
	      "shutdown unconnected: ENOTCONN");
	CHECK(rsend(s, "x", 1, 0) < 0 && errno == ENOTCONN,
	      "send unconnected: ENOTCONN");
	rclose(s);
}

int main(void)
{
	port_init();
	test_kinds();
	test_refused();
	test_accept_names();
	test_options();
	test_waitall_vec();
	test_close();
	test_flow();
	test_duplex();
	test_iomap();
	test_poll_mixed();
	test_many();
	test_hostile();
	test_dgram();
	printf("test_rsocket: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
