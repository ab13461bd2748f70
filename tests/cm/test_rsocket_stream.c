// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_rsocket, the stream data path: MSG_WAITALL, readv/writev/sendmsg/
 * recvmsg; half close, close with unread data, EOF and EPIPE; flow
 * control (a sender that outruns its reader gets EAGAIN, then POLLOUT
 * once the reader reads); 24 MiB each way at once, in sends of every size
 * up to 1 MiB; riomap/riowrite/riounmap.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rdma/rsocket.h>

#include "tests/common/check.h"
#include "tests/cm/rsocket_fixture.h"

struct xfer {
	int fd;
	size_t len;
	int flags;
	uint32_t seed;
	bool ok;
	size_t done;
};

static uint8_t pat(uint32_t seed, size_t i)
{
	return (uint8_t)(seed + i * 31 + (i >> 13));
}

static void *sender(void *p)
{
	struct xfer *x = p;
	size_t chunk = 1;
	uint8_t *buf = malloc(1 << 20);

	x->ok = true;
	while (x->done < x->len) {
		size_t n = x->len - x->done, i;
		ssize_t r;

		/* Sizes from 1 byte up to 1 MiB, varying. */
		chunk = chunk * 3 % 1048573 + 1;
		if (n > chunk)
			n = chunk;
		for (i = 0; i < n; i++)
			buf[i] = pat(x->seed, x->done + i);
		r = rsend(x->fd, buf, n, x->flags);
		if (r <= 0) {
			x->ok = false;
			break;
		}
		x->done += (size_t)r;
		if ((size_t)r < n)	/* blocking send sends it all */
			x->ok = false;
	}
	free(buf);
	return NULL;
}

static void *receiver(void *p)
{
	struct xfer *x = p;
	uint8_t *buf = malloc(300000);

	x->ok = true;
	while (x->done < x->len) {
		ssize_t r = rrecv(x->fd, buf, 300000, x->flags), i;

		if (r <= 0) {
			x->ok = false;
			break;
		}
		for (i = 0; i < r; i++)
			if (buf[i] != pat(x->seed, x->done + (size_t)i)) {
				x->ok = false;
				break;
			}
		x->done += (size_t)r;
		if (!x->ok)
			break;
	}
	free(buf);
	return NULL;
}

void test_duplex(void)
{
	struct xfer a = { .len = 24 << 20, .seed = 1 };
	struct xfer b = { .len = 24 << 20, .seed = 2 };
	struct xfer ra = { .len = 24 << 20, .seed = 1 };
	struct xfer rb = { .len = 24 << 20, .seed = 2 };
	pthread_t t[4];
	int c, s;

	pair(&c, &s);
	a.fd = c;
	ra.fd = s;
	b.fd = s;
	rb.fd = c;
	pthread_create(&t[0], NULL, sender, &a);
	pthread_create(&t[1], NULL, receiver, &ra);
	pthread_create(&t[2], NULL, sender, &b);
	pthread_create(&t[3], NULL, receiver, &rb);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(a.ok && ra.ok && ra.done == a.len, "24 MiB c->s, intact (%zu)",
	      ra.done);
	CHECK(b.ok && rb.ok && rb.done == b.len, "24 MiB s->c, intact (%zu)",
	      rb.done);
	rclose(c);
	rclose(s);
}

void test_flow(void)
{
	char buf[65536];
	size_t queued = 0, got = 0;
	struct pollfd p;
	ssize_t r;
	int c, s;

	pair(&c, &s);
	nonblock(c);
	memset(buf, 0x5a, sizeof(buf));
	for (;;) {
		r = rsend(c, buf, sizeof(buf), 0);
		if (r < 0)
			break;
		queued += (size_t)r;
		if (queued > (64u << 20))
			break;
	}
	CHECK(r < 0 && errno == EAGAIN, "a sender outrunning its reader: "
	      "EAGAIN after %zu bytes", queued);
	p.fd = c;
	p.events = POLLOUT;
	CHECK(rpoll(&p, 1, 200) == 0, "no POLLOUT while the reader sleeps");
	while (got < queued) {
		r = rrecv(s, buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	CHECK(got == queued, "the reader gets it all (%zu)", got);
	CHECK(rpoll(&p, 1, 5000) == 1 && (p.revents & POLLOUT),
	      "POLLOUT once it read");
	rclose(c);
	rclose(s);
}

struct delayed {
	int fd;
};

static void *three_pieces(void *p)
{
	struct delayed *d = p;

	for (int i = 0; i < 3; i++) {
		usleep(50000);
		rsend(d->fd, "abcd" + i, 1, 0);
	}
	return NULL;
}

void test_waitall_vec(void)
{
	struct iovec iov[3];
	struct msghdr m;
	struct delayed d;
	pthread_t t;
	char buf[16], x[4], y[6];
	int c, s;

	pair(&c, &s);
	d.fd = c;
	pthread_create(&t, NULL, three_pieces, &d);
	memset(buf, 0, sizeof(buf));
	CHECK(rrecv(s, buf, 3, MSG_WAITALL) == 3 && !memcmp(buf, "abc", 3),
	      "MSG_WAITALL waits for all 3 (%s)", buf);
	pthread_join(t, NULL);

	iov[0].iov_base = "0123";
	iov[0].iov_len = 4;
	iov[1].iov_base = "";
	iov[1].iov_len = 0;
	iov[2].iov_base = "456789";
	iov[2].iov_len = 6;
	CHECK(rwritev(c, iov, 3) == 10, "writev");
	iov[0].iov_base = x;
	iov[0].iov_len = sizeof(x);
	iov[1].iov_base = y;
	iov[1].iov_len = sizeof(y);
	CHECK(rrecv(s, buf, 0, 0) == 0, "zero-length recv");
	{
		ssize_t n = 0, r;

		while (n < 10 && (r = rreadv(s, iov, 2)) > 0) {
			n += r;
			if (n < 10) {	/* the rest into y only */
				iov[0].iov_len = 0;
				iov[1].iov_base = y + (n - 4);
				iov[1].iov_len = (size_t)(10 - n);
			}
		}
		CHECK(n == 10 && !memcmp(x, "0123", 4) &&
		      !memcmp(y, "456789", 6), "readv");
	}
	memset(&m, 0, sizeof(m));
	iov[0].iov_base = "msg";
	iov[0].iov_len = 3;
	m.msg_iov = iov;
	m.msg_iovlen = 1;
	CHECK(rsendmsg(s, &m, 0) == 3, "sendmsg");
	memset(buf, 0, sizeof(buf));
	iov[0].iov_base = buf;
	iov[0].iov_len = sizeof(buf);
	{
		struct sockaddr_in from;

		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		CHECK(rrecvmsg(c, &m, MSG_WAITALL & 0) == 3 &&
		      !memcmp(buf, "msg", 3) && m.msg_namelen ==
		      sizeof(from) && from.sin_family == AF_INET,
		      "recvmsg, with the peer's name");
	}
	rclose(c);
	rclose(s);
}

void test_close(void)
{
	char buf[100000];
	struct pollfd p;
	ssize_t r;
	size_t got = 0;
	int c, s;

	/* Half close: EOF one way, the other still works. */
	pair(&c, &s);
	CHECK(rsend(c, "last", 4, 0) == 4, "send");
	CHECK(!rshutdown(c, SHUT_WR), "shutdown(SHUT_WR)");
	CHECK(rsend(c, "x", 1, 0) < 0 && errno == EPIPE, "send after: EPIPE");
	CHECK(rrecv(s, buf, sizeof(buf), MSG_WAITALL) == 4, "data before EOF");
	CHECK(rrecv(s, buf, sizeof(buf), 0) == 0, "then EOF");
	p.fd = s;
	p.events = POLLIN;
	CHECK(rpoll(&p, 1, 0) == 1 && (p.revents & POLLIN), "EOF is POLLIN");
	CHECK(rsend(s, "back", 4, 0) == 4, "the other way still sends");
	CHECK(rrecv(c, buf, 4, MSG_WAITALL) == 4 && !memcmp(buf, "back", 4),
	      "and the half-closed side receives");
	rclose(s);
	CHECK(rrecv(c, buf, sizeof(buf), 0) == 0, "peer closed: EOF");
	CHECK(rsend(c, "x", 1, 0) < 0, "send to a closed peer fails");
	rclose(c);

	/* Close with data the peer has not read: it still reads it all. */
	pair(&c, &s);
	memset(buf, 7, sizeof(buf));
	CHECK(rsend(c, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf),
	      "100000 bytes");
	rclose(c);
	while ((r = rrecv(s, buf, sizeof(buf), 0)) > 0)
		got += (size_t)r;
	CHECK(r == 0 && got == sizeof(buf), "all of it, then EOF (%zu, %zd)",
	      got, r);
	p.fd = s;
	p.events = POLLOUT;
	CHECK(rpoll(&p, 1, 0) == 1 && (p.revents & POLLHUP), "POLLHUP");
	rclose(s);
}

void test_iomap(void)
{
	uint8_t *target = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t src[8192];
	struct conn_args a;
	pthread_t t;
	char sync;
	int l, c, s, i;
	off_t off;

	/* No mapping room by default. */
	pair(&c, &s);
	CHECK(riomap(s, target, 4096, PROT_WRITE, 0, 0) == -1 &&
	      errno == ENOMEM, "riomap without RDMA_IOMAPSIZE: ENOMEM");
	CHECK(riowrite(c, src, 16, 0, 0) == (size_t)-1 && errno == EINVAL,
	      "riowrite, nothing mapped: EINVAL");
	rclose(c);
	rclose(s);

	l = listener(&a.port);
	CHECK(!opt_set(l, SOL_RDMA, RDMA_IOMAPSIZE, 1),
	      "IOMAPSIZE 1 on the listener (inherited)");
	pthread_create(&t, NULL, connect_thread, &a);
	s = raccept(l, NULL, NULL);
	pthread_join(t, NULL);
	c = a.fd;
	rclose(l);
	CHECK(riomap(s, target, 4096, PROT_READ, 0, 0) == -1 &&
	      errno == EINVAL, "PROT_READ: EINVAL");
	off = riomap(s, target, 65536, PROT_WRITE, 0, 4096);
	CHECK(off == 4096, "riomap at offset 4096 (%lld)", (long long)off);
	CHECK(riomap(s, target, 4096, PROT_WRITE, 0, -1) == -1 &&
	      errno == ENOMEM, "a second: ENOMEM (room for 1)");
	CHECK(rsend(s, "s", 1, 0) == 1, "sync after the mapping");
	CHECK(rrecv(c, &sync, 1, 0) == 1, "the writer synced");
	for (i = 0; i < (int)sizeof(src); i++)
		src[i] = (uint8_t)(i ^ 0x33);
	CHECK(riowrite(c, src, sizeof(src), 4096 + 100, 0) == sizeof(src),
	      "riowrite 8 KiB");
	CHECK(riowrite(c, src, 16, 0, 0) == (size_t)-1 && errno == EINVAL,
	      "below the mapping: EINVAL");
	CHECK(riowrite(c, src, 16, 4096 + 65536 - 8, 0) == 8,
	      "across its end: short write (8)");
	CHECK(rsend(c, "w", 1, 0) == 1, "sync after the writes");
	CHECK(rrecv(s, &sync, 1, 0) == 1, "the target synced");
	CHECK(!memcmp(target + 100, src, sizeof(src)) &&
	      !memcmp(target + 65536 - 8, src, 8), "the bytes arrived");
	CHECK(!riounmap(s, target, 65536), "riounmap");
	CHECK(riounmap(s, target, 65536) < 0 && errno == EINVAL,
	      "riounmap twice: EINVAL");
	CHECK(rsend(s, "u", 1, 0) == 1, "sync after unmapping");
	CHECK(rrecv(c, &sync, 1, 0) == 1, "the writer synced");
	CHECK(riowrite(c, src, 16, 4096, 0) == (size_t)-1 && errno == EINVAL,
	      "riowrite after riounmap: EINVAL");
	off = riomap(s, target, 4096, PROT_WRITE, 0, -1);
	CHECK(off == (off_t)(uintptr_t)target, "offset -1: the address");
	rclose(c);
	rclose(s);
	munmap(target, 65536);
}
