// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire between "hosts" (network namespaces, tests/fabric/lib.sh): one
 * process per host.  test_wire.sh runs the scenarios.
 *
 *   wire_test serve  ID LISTEN [opts]
 *	accept peers, check every message (order by sequence number, payload
 *	pattern), answer DONE with a REPORT; runs until SIGTERM, then prints
 *	STATS and exits 0 if nothing was wrong.
 *   wire_test client ID LISTEN PEER_ID PEER_ADDR basic|refused|stream [opts]
 *	basic: small eager messages, thousands of mixed sizes in order, drops,
 *	  1 MiB and 64 MiB into the receiver's buffers, many in flight, the
 *	  max_inflight bound, then DONE/REPORT and a local close.
 *	refused: the server must refuse us: peer_down, never peer_up.
 *	stream: keep traffic going; on peer_down reconnect; after --cycles
 *	  down/up cycles a final burst + DONE/REPORT.
 *   wire_test simul  ID LISTEN PEER_ID PEER_ADDR [opts]
 *	wait for SIGUSR1, connect while the other side does the same, check
 *	the duplicate endpoints converge to one (the lower id's), then
 *	exchange messages both ways.
 *
 * opts: --epoch E  --ka MS  --misses N  --hello MS  --refuse ID
 *       --max-inflight N  --max-pending N  --timeout S  --cycles N
 * Output: "EVENT up|down ...", "PASS: ...", "FAIL: ...", "STATS ...".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tests/fabric/wire_test.h"

struct opts o;
struct xw_ctx *ctx;
uint8_t *pat_buf;
uint64_t g_errors;
volatile sig_atomic_t g_stop;
int g_ups, g_downs, g_last_err;
struct xw_peer *g_peer;
unsigned int g_inflight;
uint64_t g_send_errors;
int g_drop_status[2] = { 1, 1 };

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The payload pattern: not periodic, so a misplaced chunk shows. */
static inline uint8_t pat(uint64_t i)
{
	uint32_t k = (uint32_t)(i >> 2) * 0x9e3779b1u;

	k ^= k >> 15;
	k *= 0x85ebca6bu;
	return (uint8_t)(k >> ((i & 3) * 8));
}

void pat_init(void)
{
	size_t i;

	pat_buf = malloc(BIG + PAT_SLACK);
	if (!pat_buf)
		abort();
	for (i = 0; i < BIG + PAT_SLACK; i++)
		pat_buf[i] = pat(i);
}

/* First index where b differs from the pattern at off, or len. */
static size_t check_pat(const uint8_t *b, size_t len, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pat(off + i))
			return i;
	return len;
}

/* One round of the main loop: progress, then sleep on the wire's fd unless
 * it has more work. */
void run_once(int wait_ms)
{
	struct pollfd pfd = { .fd = xw_fd(ctx), .events = POLLIN };

	xw_progress(ctx);
	if (xw_arm(ctx) == 0)
		poll(&pfd, 1, wait_ms);
}

#define WAIT_FOR(cond, ms) ({						\
	uint64_t _dl = now_ms() + (ms);					\
	while (!(cond) && now_ms() < _dl && !g_stop)			\
		run_once(50);						\
	!!(cond);							\
})

void log_cb(void *arg, const char *msg)
{
	printf("LOG %s\n", msg);
	fflush(stdout);
}

int auth_cb(void *arg, uint32_t host_id, uint64_t epoch,
		   const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *in = (const void *)sa;
	uint32_t want = htonl(0x0a4d0000u | (host_id & 0xff));	/* 10.77.0.x */
	int i;

	printf("EVENT auth host=%u epoch=%" PRIu64 "\n", host_id, epoch);
	for (i = 0; i < o.nrefuse; i++)
		if (o.refuse[i] == host_id)
			return -EPERM;
	/* what the directory check will do: the host's registered address */
	if (sa->sa_family != AF_INET || in->sin_addr.s_addr != want)
		return -EACCES;
	return 0;
}

void peer_up_cb(void *arg, struct xw_peer *p)
{
	struct pst *ps = calloc(1, sizeof(*ps));

	if (!ps)
		abort();
	xw_peer_set_arg(p, ps);
	g_ups++;
	printf("EVENT up host=%u epoch=%" PRIu64 "\n", xw_peer_host_id(p),
	       xw_peer_epoch(p));
	fflush(stdout);
}

void peer_down_cb(void *arg, struct xw_peer *p, int err)
{
	struct pst *ps = xw_peer_arg(p);
	struct xw_peer_stats st;

	xw_peer_stats(p, &st);
	g_downs++;
	g_last_err = err;
	printf("EVENT down host=%u epoch=%" PRIu64 " err=%d (%s) rx_msgs=%"
	       PRIu64 " tx_msgs=%" PRIu64 " tx_errors=%" PRIu64 " ok=%" PRIu64
	       " errors=%" PRIu64 " inflight=%u\n", xw_peer_host_id(p),
	       xw_peer_epoch(p), err, strerror(-err), st.rx_msgs, st.tx_msgs,
	       st.tx_errors, ps ? ps->ok : 0, ps ? ps->errors : 0,
	       st.inflight);
	fflush(stdout);
	if (ps) {
		g_errors += ps->errors;
		if (ps->pending_rx)
			FAIL("peer_down with %u receives pending",
			     ps->pending_rx);
	}
	if (st.inflight)
		FAIL("peer_down with %u sends in flight", st.inflight);
	free(ps);
	if (p == g_peer)
		g_peer = NULL;
}

static void noop_done(void *arg, int status)
{
}

static void maybe_report(struct xw_peer *p, struct pst *ps)
{
	struct thdr r = { .magic = T_MAGIC, .kind = K_REPORT };
	int ret;

	if (!ps->done_seen || ps->pending_rx)
		return;
	ps->done_seen = 0;
	r.a = ps->ok;
	r.b = ps->errors;
	ret = xw_send(p, &r, sizeof(r), NULL, 0, 0, noop_done, NULL);
	if (!ret)
		ps->reports_sent++;
	if (ret)
		FAIL("REPORT to host %u: %s", xw_peer_host_id(p),
		     strerror(-ret));
}

struct rxbuf {
	struct xw_peer *peer;
	uint8_t *buf;
	size_t len;
	uint64_t off, seq;
};

static void rx_done(void *arg, int status, size_t len)
{
	struct rxbuf *rb = arg;
	struct pst *ps = xw_peer_arg(rb->peer);
	size_t bad;

	ps->pending_rx--;
	if (status && !xw_peer_is_up(rb->peer)) {
		/* the peer went mid-transfer: reported, as it should be */
		ps->lost++;
	} else if (status || len != rb->len) {
		FAIL("seq %" PRIu64 ": rx_into status %d len %zu/%zu",
		     rb->seq, status, len, rb->len);
		ps->errors++;
	} else if ((bad = check_pat(rb->buf, rb->len, rb->off)) != rb->len) {
		FAIL("seq %" PRIu64 ": payload differs at byte %zu of %zu",
		     rb->seq, bad, rb->len);
		ps->errors++;
	} else {
		ps->ok++;
	}
	free(rb->buf);
	maybe_report(rb->peer, ps);
	free(rb);
}

/* Land a payload in a fresh buffer, split in up to 3 uneven segments so
 * the iov path is exercised. */
static void claim(struct xw_peer *p, struct pst *ps, struct xw_rx *rx,
		  const struct thdr *h)
{
	struct rxbuf *rb = calloc(1, sizeof(*rb));
	size_t len = xw_rx_len(rx), a, b;
	struct iovec iov[3];
	int n = 1, ret;

	rb->buf = malloc(len ? len : 1);
	if (!rb || !rb->buf)
		abort();
	rb->peer = p;
	rb->len = len;
	rb->off = h->off;
	rb->seq = h->seq;
	if ((h->seq % 3) && len >= 3) {
		a = len / 3 + 1;
		b = len / 4;
		iov[0] = (struct iovec){ rb->buf, a };
		iov[1] = (struct iovec){ rb->buf + a, b };
		iov[2] = (struct iovec){ rb->buf + a + b, len - a - b };
		n = 3;
	} else {
		iov[0] = (struct iovec){ rb->buf, len };
	}
	ret = xw_rx_into(rx, iov, n, rx_done, rb);
	if (ret) {
		FAIL("seq %" PRIu64 ": xw_rx_into: %s", h->seq, strerror(-ret));
		ps->errors++;
		free(rb->buf);
		free(rb);
		return;
	}
	ps->pending_rx++;
}

void recv_cb(void *arg, struct xw_peer *p, const void *hdr,
		    size_t hdr_len, struct xw_rx *rx)
{
	struct pst *ps = xw_peer_arg(p);
	const uint8_t *pad = hdr;
	size_t len = xw_rx_len(rx), i, bad;
	struct thdr h;

	if (!ps) {
		FAIL("recv before peer_up");
		return;
	}
	if (hdr_len < sizeof(h)) {
		FAIL("header of %zu bytes", hdr_len);
		ps->errors++;
		return;
	}
	memcpy(&h, hdr, sizeof(h));
	if (h.magic != T_MAGIC || h.len != len || len > RX_MAX) {
		FAIL("bad header (magic %x len %" PRIu64 "/%zu)", h.magic,
		     h.len, len);
		ps->errors++;
		return;
	}
	for (i = sizeof(h); i < hdr_len; i++) {
		if (pad[i] != (uint8_t)(h.seq + i)) {
			FAIL("seq %" PRIu64 ": header byte %zu", h.seq, i);
			ps->errors++;
			break;
		}
	}
	if (h.kind == K_REPORT) {
		ps->report_seen = 1;
		ps->rep_ok = h.a;
		ps->rep_errors = h.b;
		return;
	}
	if (h.kind == K_START) {
		ps->expect = h.seq + 1;
		ps->ok = 0;
		return;
	}
	if (h.seq != ps->expect) {
		FAIL("order: seq %" PRIu64 " arrived, %" PRIu64 " expected%s",
		     h.seq, ps->expect, xw_rx_is_rndv(rx) ? " (rndv)" : "");
		ps->errors++;
	}
	ps->expect = h.seq + 1;
	switch (h.kind) {
	case K_DATA:
		if (!xw_rx_is_rndv(rx) && (h.seq & 1)) {
			bad = check_pat(xw_rx_data(rx), len, h.off);
			if (bad != len) {
				FAIL("seq %" PRIu64 ": eager payload byte %zu",
				     h.seq, bad);
				ps->errors++;
			} else {
				ps->ok++;
			}
		} else {
			claim(p, ps, rx, &h);
		}
		break;
	case K_DROP:
		ps->dropped++;
		xw_rx_drop(rx);
		break;
	case K_DONE:
		ps->done_seen = 1;
		maybe_report(p, ps);
		break;
	default:
		FAIL("kind %u", h.kind);
		ps->errors++;
	}
}

void send_done(void *arg, int status)
{
	g_inflight--;
	if (status)
		g_send_errors++;
}

void drop_done(void *arg, int status)
{
	g_inflight--;
	g_drop_status[(intptr_t)arg] = status;
}

/* Send one message of kind with len payload bytes (pattern at a
 * seq-dependent offset), split in nseg segments, header padded to hdr_len. */
int send_msg(struct xw_peer *p, uint32_t kind, size_t len, int nseg,
		    size_t hdr_len, unsigned int flags, xw_done_cb done,
		    void *arg)
{
	struct pst *ps = xw_peer_arg(p);
	uint8_t hb[XW_HDR_MAX];
	struct thdr h = { .magic = T_MAGIC, .kind = kind, .len = len };
	struct iovec iov[4];
	size_t at = 0, i;
	int n = 0, ret;

	h.seq = ps->tx_seq;
	h.off = (h.seq * 4099) % 4096;
	if (hdr_len < sizeof(h))
		hdr_len = sizeof(h);
	memcpy(hb, &h, sizeof(h));
	for (i = sizeof(h); i < hdr_len; i++)
		hb[i] = (uint8_t)(h.seq + i);
	if (len) {
		for (n = 0; n < nseg - 1 && at < len; n++) {
			size_t l = (len - at) / 2;

			iov[n] = (struct iovec){ pat_buf + h.off + at, l };
			at += l;
		}
		iov[n++] = (struct iovec){ pat_buf + h.off + at, len - at };
	}
	ret = xw_send(p, hb, hdr_len, iov, n, flags, done, arg);
	if (!ret) {
		ps->tx_seq++;
		g_inflight++;
	}
	return ret;
}

/* Send with a window: wait while window sends are in flight. */
int send_w(struct xw_peer *p, uint32_t kind, size_t len, int nseg,
		  size_t hdr_len, unsigned int flags, unsigned int window)
{
	int ret;

	if (!WAIT_FOR(g_inflight < window || !g_peer, 20000) || !g_peer)
		return -ENOTCONN;
	ret = send_msg(p, kind, len, nseg, hdr_len, flags, send_done, NULL);
	if (ret)
		FAIL("xw_send kind %u len %zu: %s", kind, len, strerror(-ret));
	return ret;
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;

uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Mixed sizes: mostly small, some multi-fragment eager, some rendezvous. */
size_t mixed_len(void)
{
	unsigned int r = (unsigned int)(rnd() % 100);

	if (r < 40)
		return rnd() % 65;
	if (r < 70)
		return 65 + rnd() % 4032;
	if (r < 85)
		return 4096 + rnd() % (28 << 10);
	if (r < 95)
		return (32 << 10) + rnd() % (224 << 10);
	return (256 << 10) + rnd() % (768 << 10);
}

int wait_report(struct xw_peer *p, uint64_t want_ok, const char *what)
{
	struct pst *ps;
	int ret = send_w(p, K_DONE, 0, 1, 0, 0, UINT32_MAX);

	if (ret)
		return ret;
	if (!WAIT_FOR(g_peer && ((struct pst *)xw_peer_arg(p))->report_seen,
		      30000)) {
		FAIL("%s: no REPORT", what);
		return -ETIMEDOUT;
	}
	ps = xw_peer_arg(p);
	ps->report_seen = 0;
	if (ps->rep_ok != want_ok || ps->rep_errors)
		FAIL("%s: peer checked %" PRIu64 "/%" PRIu64
		     " messages, %" PRIu64 " errors", what, ps->rep_ok,
		     want_ok, ps->rep_errors);
	else
		PASS("%s: peer checked all %" PRIu64 " messages", what,
		     want_ok);
	return 0;
}

