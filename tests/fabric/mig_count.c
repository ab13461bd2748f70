// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mig_count: N RC connections between two guests, every message numbered,
 * both ways, checked at the receiver: each message arrives exactly once
 * and in order on its QP, and every send completes exactly once, whatever
 * happens to either guest meanwhile (tests/fabric/test_migrate.sh moves
 * one of them between hosts while this runs).
 *
 *   mig_count -l PORT -q N -s SECS            the listening side
 *   mig_count -c HOST:PORT -q N -s SECS       the connecting side
 *
 * The two sides exchange their QPs over TCP, send for SECS seconds (at
 * most DEPTH messages in flight per QP), then exchange how many messages
 * each sent per QP and check the other side received exactly that many.
 * Each side keeps polling (so reposting receives) until it has the other
 * side's count: the two send phases do not end at the same moment, and a
 * side that stopped reposting receives while the other still sent would
 * hold the other's last sends in RNR retries for ever (rnr_retry 7), as
 * real RC hardware would.
 * Exit 0 only if every check held; the last line says what was counted,
 * and the longest time each QP went without a completion (its blackout
 * when a guest moved): median, p99 and max over the QPs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <sys/socket.h>

#include "tests/common/rc_connect.h"

#define MSG	64		/* bytes of one message */
#define DEPTH	16		/* sends (and receives) per QP in flight */
#define MAXQ	256

struct msg {
	uint32_t qp, seq;
	uint64_t magic;
	char fill[MSG - 16];
};

#define MAGIC	0x6d6967636f756e74ull	/* "migcount" */

struct conn {
	struct ibv_qp *qp;
	uint32_t sent, completed, received;
	unsigned int inflight;
	double last, max_gap;	/* seconds, between its completions */
};

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_cq *cq;
static struct ibv_mr *mr;
static char *buf;		/* per QP: DEPTH send slots, DEPTH recv slots */
static struct conn c[MAXQ];
static unsigned int nq = 16, failures;

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mig_count: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (++failures > 20)
		exit(1);
}

static char *slot(unsigned int q, bool recv, unsigned int i)
{
	return buf + ((size_t)q * 2 * DEPTH + (recv ? DEPTH : 0) + i) * MSG;
}

static int post_recv(unsigned int q, unsigned int i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)slot(q, true, i), .length = MSG,
		.lkey = mr->lkey,
	};
	struct ibv_recv_wr wr = {
		.wr_id = ((uint64_t)q << 32) | (1u << 31) | i,
		.sg_list = &sge, .num_sge = 1,
	}, *bad;

	return ibv_post_recv(c[q].qp, &wr, &bad);
}

static int post_send(unsigned int q)
{
	unsigned int i = c[q].sent % DEPTH;
	struct msg *m = (struct msg *)slot(q, false, i);
	struct ibv_sge sge = {
		.addr = (uintptr_t)m, .length = MSG, .lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = ((uint64_t)q << 32) | c[q].sent, .sg_list = &sge,
		.num_sge = 1, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	int err;

	memset(m, 0, sizeof(*m));
	m->qp = q;
	m->seq = c[q].sent;
	m->magic = MAGIC;
	err = ibv_post_send(c[q].qp, &wr, &bad);
	if (!err) {
		c[q].sent++;
		c[q].inflight++;
	}
	return err;
}

static double now_s(void);

/* A completion on q: the gap since its previous one. */
static void seen(unsigned int q)
{
	double t = now_s();

	if (c[q].last && t - c[q].last > c[q].max_gap)
		c[q].max_gap = t - c[q].last;
	c[q].last = t;
}

static void poll_all(void)
{
	struct ibv_wc wc[32];
	int n, i;

	n = ibv_poll_cq(cq, 32, wc);
	if (n < 0) {
		fail("ibv_poll_cq: %d", n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned int q = wc[i].wr_id >> 32;
		uint32_t low = (uint32_t)wc[i].wr_id;
		const struct msg *m;

		if (q >= nq) {
			fail("completion for unknown QP %u", q);
			continue;
		}
		if (wc[i].status != IBV_WC_SUCCESS) {
			fail("QP %u: completion status %s (%s)", q,
			     ibv_wc_status_str(wc[i].status),
			     wc[i].opcode & IBV_WC_RECV ? "recv" : "send");
			continue;
		}
		seen(q);
		if (wc[i].opcode & IBV_WC_RECV) {
			m = (const struct msg *)slot(q, true, low & ~(1u << 31));
			if (m->magic != MAGIC || m->qp != q ||
			    m->seq != c[q].received)
				fail("QP %u: message %u (qp %u magic %llx) "
				     "where %u was due", q, m->seq, m->qp,
				     (unsigned long long)m->magic,
				     c[q].received);
			c[q].received++;
			if (post_recv(q, low & ~(1u << 31)))
				fail("QP %u: ibv_post_recv", q);
			continue;
		}
		if (low != c[q].completed)
			fail("QP %u: send %u completed where %u was due", q,
			     low, c[q].completed);
		c[q].completed++;
		c[q].inflight--;
	}
}

/* The other side over TCP: fixed-size records both ways. */
static int tcp_connect(const char *hostport, const char *port_listen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	char host[128], *colon;
	int fd, one = 1, s;

	if (port_listen) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons(atoi(port_listen)) };

		s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 1))
			return -1;
		fd = accept(s, NULL, NULL);
		close(s);
		return fd;
	}
	snprintf(host, sizeof(host), "%s", hostport);
	colon = strrchr(host, ':');
	if (!colon)
		return -1;
	*colon = 0;
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		return -1;
	for (s = 0; s < 200; s++) {
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
		usleep(50000);
	}
	freeaddrinfo(ai);
	return fd;
}

static int xfer(int fd, void *out, void *in, size_t len)
{
	size_t done = 0;
	ssize_t n;

	if (write(fd, out, len) != (ssize_t)len)
		return -1;
	while (done < len) {
		n = read(fd, (char *)in + done, len - done);
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/*
 * xfer() while polling the CQ: the other side may still be sending, and
 * its sends complete only once our receives are reposted.
 */
static int xfer_polling(int fd, void *out, void *in, size_t len, double secs)
{
	double end = now_s() + secs;
	size_t done = 0;
	ssize_t n;

	if (write(fd, out, len) != (ssize_t)len)
		return -1;
	while (done < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 0);

		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0) {
			n = read(fd, (char *)in + done, len - done);
			if (n <= 0)
				return -1;
			done += n;
			continue;
		}
		if (now_s() > end)
			return -1;
		poll_all();
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *listen_port = NULL, *peer = NULL;
	struct { uint32_t qpn[MAXQ]; uint16_t lid; } mine = { 0 }, theirs;
	uint32_t sent[MAXQ], their_sent[MAXQ];
	/*
	 * timeout 17 (0.54 s a try, 4.3 s for the 8): what is counted here
	 * is exactly-once delivery, not how fast; on a machine whose cores
	 * are oversubscribed a backend waits for a core for half a second at
	 * times, and timeout 14's 0.54 s budget then fails healthy QPs.
	 */
	struct test_rc_opts o = {
		.mtu = IBV_MTU_1024, .rd_atomic = 1, .min_rnr_timer = 12,
		.timeout = 17, .retry_cnt = 7, .rnr_retry = 7,
	};
	struct ibv_device **devs;
	struct ibv_port_attr pa;
	double secs = 10, end;
	unsigned int q, i;
	uint64_t total_sent = 0, total_recv = 0;
	double gaps[MAXQ];
	int opt, fd;

	while ((opt = getopt(argc, argv, "l:c:q:s:")) != -1) {
		switch (opt) {
		case 'l': listen_port = optarg; break;
		case 'c': peer = optarg; break;
		case 'q': nq = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		default: return 2;
		}
	}
	if ((!listen_port == !peer) || !nq || nq > MAXQ) {
		fprintf(stderr, "usage: mig_count -l PORT | -c HOST:PORT "
				"[-q N] [-s SECS]\n");
		return 2;
	}
	devs = ibv_get_device_list(NULL);
	if (!devs || !devs[0] || !(ctx = ibv_open_device(devs[0]))) {
		fprintf(stderr, "mig_count: no device\n");
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 4 * DEPTH * nq, NULL, NULL, 0);
	buf = aligned_alloc(4096, (size_t)nq * 2 * DEPTH * MSG + 4096);
	mr = pd && buf ? ibv_reg_mr(pd, buf, (size_t)nq * 2 * DEPTH * MSG,
				    IBV_ACCESS_LOCAL_WRITE) : NULL;
	if (!cq || !mr || ibv_query_port(ctx, 1, &pa)) {
		fprintf(stderr, "mig_count: setup failed: %s\n",
			strerror(errno));
		return 1;
	}
	mine.lid = pa.lid;
	for (q = 0; q < nq; q++) {
		struct ibv_qp_init_attr ia = {
			.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = DEPTH, .max_recv_wr = DEPTH,
				 .max_send_sge = 1, .max_recv_sge = 1 },
		};

		c[q].qp = ibv_create_qp(pd, &ia);
		if (!c[q].qp) {
			fprintf(stderr, "mig_count: ibv_create_qp: %s\n",
				strerror(errno));
			return 1;
		}
		mine.qpn[q] = c[q].qp->qp_num;
	}
	fd = tcp_connect(peer, listen_port);
	if (fd < 0 || xfer(fd, &mine, &theirs, sizeof(mine))) {
		fprintf(stderr, "mig_count: no peer\n");
		return 1;
	}
	for (q = 0; q < nq; q++) {
		if (test_rc_connect(c[q].qp, theirs.qpn[q], theirs.lid, &o)) {
			fprintf(stderr, "mig_count: connect QP %u: %s\n", q,
				strerror(errno));
			return 1;
		}
		for (i = 0; i < DEPTH; i++)
			if (post_recv(q, i))
				fail("QP %u: ibv_post_recv", q);
	}
	/* Both sides' receives are posted before anyone sends. */
	if (xfer(fd, &mine, &theirs, sizeof(mine)))
		return 1;
	end = now_s() + secs;
	while (now_s() < end && !failures) {
		for (q = 0; q < nq; q++)
			if (c[q].inflight < DEPTH / 2 && post_send(q))
				fail("QP %u: ibv_post_send", q);
		poll_all();
	}
	/* Everything sent completes; then the counts are compared. */
	end = now_s() + 60;
	for (;;) {
		bool busy = false;

		for (q = 0; q < nq; q++)
			busy |= c[q].inflight != 0;
		if (!busy || now_s() > end || failures)
			break;
		poll_all();
	}
	for (q = 0; q < nq; q++)
		sent[q] = c[q].sent;
	if (xfer_polling(fd, sent, their_sent, sizeof(sent), 120)) {
		fprintf(stderr, "mig_count: no count from the peer\n");
		return 1;
	}
	end = now_s() + 60;
	for (;;) {
		bool short_ = false;

		for (q = 0; q < nq; q++)
			short_ |= c[q].received < their_sent[q];
		if (!short_ || now_s() > end || failures)
			break;
		poll_all();
	}
	for (q = 0; q < nq; q++) {
		if (c[q].inflight)
			fail("QP %u: %u sends never completed", q,
			     c[q].inflight);
		if (c[q].received != their_sent[q])
			fail("QP %u: received %u of the %u sent", q,
			     c[q].received, their_sent[q]);
		total_sent += c[q].sent;
		total_recv += c[q].received;
	}
	/* Stay until the other side has counted too. */
	xfer(fd, sent, their_sent, sizeof(sent));
	for (q = 0; q < nq; q++)
		gaps[q] = c[q].max_gap * 1e3;
	qsort(gaps, nq, sizeof(gaps[0]), cmp_double);
	printf("mig_count: %u QPs, %llu sent and completed, %llu received, "
	       "%u failures; longest gap per QP ms: median %.1f p99 %.1f "
	       "max %.1f\n", nq, (unsigned long long)total_sent,
	       (unsigned long long)total_recv, failures, gaps[nq / 2],
	       gaps[(nq * 99) / 100], gaps[nq - 1]);
	return failures ? 1 : 0;
}
