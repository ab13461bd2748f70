// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Latency and bandwidth of the inter-host wire (xenibd/fabric/wire.h),
 * for bench/wire_bench.sh (two network namespaces, against ucx_perftest's
 * ucp_am_lat / ucp_am_bw on the same link).  Not a test: it asserts
 * nothing about speed.
 *
 *   wire_bench server ID LISTEN
 *   wire_bench lat ID LISTEN PEER_ID PEER_ADDR SIZE ITERS
 *	ping-pong of SIZE-byte payloads; prints the one-way latency
 *	(round trip / 2): median and average, in microseconds
 *   wire_bench bw ID LISTEN PEER_ID PEER_ADDR SIZE COUNT WINDOW [rndv|eager]
 *	COUNT messages of SIZE bytes, WINDOW in flight (protocol forced if
 *	asked, UCX's choice otherwise); the server lands
 *	rendezvous payloads in its buffer; prints MB/s (10^6 bytes) from the
 *	first send to the server's acknowledgement of the last
 *
 * Both sides busy-poll (xw_progress without sleeping), as ucx_perftest does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xenibd/fabric/wire.h"

#define MAXSZ	(64u << 20)

enum { B_PING = 1, B_PONG, B_DATA, B_FIN, B_FINACK };

struct bh {
	uint32_t kind, pad;
	uint64_t seq;
};

static struct xw_ctx *ctx;
static struct xw_peer *peer;
static uint8_t *buf;		/* payload source (client), sink (server) */
static int up, down;
static volatile uint64_t pongs, acks, done_cnt;
static unsigned int pending_rx;
static uint64_t rndv_rx, last_ack;	/* server: rendezvous messages seen */
static int fin_due;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int auth_cb(void *arg, uint32_t id, uint64_t epoch,
		   const struct sockaddr *sa, socklen_t len)
{
	return 0;
}

static void up_cb(void *arg, struct xw_peer *p)
{
	peer = p;
	up = 1;
}

static void down_cb(void *arg, struct xw_peer *p, int err)
{
	if (p == peer)
		peer = NULL;
	down = 1;
}

static void nop_done(void *arg, int status)
{
	if (status)
		fprintf(stderr, "wire_bench: send failed: %s\n",
			strerror(-status));
}

static void reply(struct xw_peer *p, uint32_t kind, uint64_t seq,
		  size_t len)
{
	struct bh h = { .kind = kind, .seq = seq };
	struct iovec iov = { buf, len };
	int ret;

	ret = xw_send(p, &h, sizeof(h), &iov, len ? 1 : 0, 0, nop_done, NULL);
	if (ret)
		fprintf(stderr, "wire_bench: reply: %s\n", strerror(-ret));
}

struct pong_arg {
	struct xw_peer *p;
	uint64_t seq;
	size_t len;
};

static void rx_done(void *arg, int status, size_t len)
{
	struct pong_arg *pa = arg;

	pending_rx--;
	if (pa) {
		reply(pa->p, B_PONG, pa->seq, pa->len);
		free(pa);
	}
	if (fin_due && !pending_rx && peer) {
		fin_due = 0;
		reply(peer, B_FINACK, rndv_rx, 0);
		rndv_rx = 0;
	}
}

static void recv_cb(void *arg, struct xw_peer *p, const void *hdr,
		    size_t hdr_len, struct xw_rx *rx)
{
	size_t len = xw_rx_len(rx);
	struct iovec iov = { buf, len };
	struct pong_arg *pa = NULL;
	struct bh h;

	if (hdr_len != sizeof(h) || len > MAXSZ)
		return;
	memcpy(&h, hdr, sizeof(h));
	switch (h.kind) {
	case B_PING:
		if (!xw_rx_is_rndv(rx)) {
			reply(p, B_PONG, h.seq, len);
			return;
		}
		pa = malloc(sizeof(*pa));
		if (!pa)
			abort();
		*pa = (struct pong_arg){ p, h.seq, len };
		/* fall through */
	case B_DATA:
		rndv_rx += xw_rx_is_rndv(rx);
		/* eager payloads are counted where UCX put them, as
		 * ucx_perftest's receiver does; rendezvous lands in buf */
		if (xw_rx_is_rndv(rx) &&
		    !xw_rx_into(rx, &iov, 1, rx_done, pa))
			pending_rx++;
		return;
	case B_PONG:
		pongs++;
		return;
	case B_FIN:
		if (pending_rx) {
			fin_due = 1;
		} else {
			reply(p, B_FINACK, rndv_rx, 0);
			rndv_rx = 0;
		}
		return;
	case B_FINACK:
		last_ack = h.seq;
		acks++;
		return;
	}
}

static void send_done(void *arg, int status)
{
	done_cnt++;
	nop_done(arg, status);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int lat(size_t size, unsigned int iters)
{
	uint64_t *rtt = calloc(iters, sizeof(*rtt)), sum = 0, t;
	unsigned int i, warm = iters / 10 + 10;
	struct bh h = { .kind = B_PING };
	struct iovec iov = { buf, size };

	if (!rtt)
		return 1;
	for (i = 0; i < warm + iters; i++) {
		uint64_t want = pongs + 1;

		h.seq = i;
		t = now_ns();
		if (xw_send(peer, &h, sizeof(h), &iov, size ? 1 : 0, 0,
			    nop_done, NULL))
			return 1;
		while (pongs < want && peer)
			xw_progress(ctx);
		if (!peer)
			return 1;
		if (i >= warm)
			rtt[i - warm] = now_ns() - t;
	}
	qsort(rtt, iters, sizeof(*rtt), cmp_u64);
	for (i = 0; i < iters; i++)
		sum += rtt[i];
	printf("wire lat size=%zu iters=%u median_us=%.2f avg_us=%.2f\n", size,
	       iters, rtt[iters / 2] / 2000.0, sum / (double)iters / 2000.0);
	free(rtt);
	return 0;
}

static int bw(size_t size, unsigned int count, unsigned int window,
	      unsigned int flags)
{
	struct bh h = { .kind = B_DATA };
	struct iovec iov = { buf, size };
	uint64_t t0 = now_ns(), posted = 0, dt;

	while (posted < count) {
		while (posted - done_cnt >= window && peer)
			xw_progress(ctx);
		if (!peer)
			return 1;
		h.seq = posted;
		if (xw_send(peer, &h, sizeof(h), &iov, 1, flags, send_done,
			    NULL))
			return 1;
		posted++;
	}
	while (done_cnt < count && peer)
		xw_progress(ctx);
	reply(peer, B_FIN, 0, 0);
	while (!acks && peer)
		xw_progress(ctx);
	dt = now_ns() - t0;
	printf("wire bw size=%zu count=%u window=%u MBps=%.1f msg_per_s=%.0f "
	       "rendezvous=%" PRIu64 "\n", size, count, window,
	       (double)size * count * 1000.0 / dt, count * 1e9 / dt, last_ack);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct xw_ops ops = {
		.auth = auth_cb, .peer_up = up_cb, .peer_down = down_cb,
		.recv = recv_cb,
	};
	struct xw_config cfg = { 0 };
	int ret = 1, client;
	size_t i;

	if (argc < 4) {
		fprintf(stderr, "usage: see bench/wire_bench.c\n");
		return 2;
	}
	client = strcmp(argv[1], "server") != 0;
	if (client && argc < 8) {
		fprintf(stderr, "usage: see bench/wire_bench.c\n");
		return 2;
	}
	buf = malloc(MAXSZ);
	if (!buf)
		return 1;
	for (i = 0; i < MAXSZ; i++)
		buf[i] = (uint8_t)i;
	cfg.listen = argv[3];
	cfg.host_id = (uint32_t)strtoul(argv[2], NULL, 0);
	cfg.epoch = 1;
	cfg.max_inflight = 1u << 16;
	ctx = xw_new(&cfg, &ops, NULL);
	if (!ctx) {
		fprintf(stderr, "wire_bench: xw_new: %s\n", strerror(errno));
		return 1;
	}
	if (!client) {
		printf("LISTENING\n");
		fflush(stdout);
		for (;;)	/* until killed */
			xw_progress(ctx);
	}
	peer = xw_connect(ctx, (uint32_t)strtoul(argv[4], NULL, 0), argv[5]);
	while (peer && !up)
		xw_progress(ctx);
	if (!peer) {
		fprintf(stderr, "wire_bench: no connection\n");
	} else if (!strcmp(argv[1], "lat")) {
		ret = lat(strtoul(argv[6], NULL, 0),
			  (unsigned int)strtoul(argv[7], NULL, 0));
	} else if (!strcmp(argv[1], "bw") && argc >= 9) {
		ret = bw(strtoul(argv[6], NULL, 0),
			 (unsigned int)strtoul(argv[7], NULL, 0),
			 (unsigned int)strtoul(argv[8], NULL, 0),
			 argc < 10 ? 0 : !strcmp(argv[9], "rndv") ? XW_SEND_RNDV :
			 !strcmp(argv[9], "eager") ? XW_SEND_EAGER : 0);
	}
	xw_destroy(ctx);
	return ret;
}
