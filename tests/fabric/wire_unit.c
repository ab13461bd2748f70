// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire's API in one process, no root needed: configuration refusals,
 * then two wire contexts ("hosts" 1 and 2) over TCP on loopback: connect,
 * eager and rendezvous messages, xw_rx_into misuse, unclaimed payloads,
 * xw_send argument checks, xw_peer_close, xw_destroy's peer_down.  The
 * multi-host behaviour (namespaces, failures) is test_wire.sh's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xenibd/fabric/wire.h"

static int fails;
static struct xw_ctx *c1, *c2;
static struct xw_peer *p1, *p2;		/* c1's view of 2, c2's of 1 */
static int downs[3], down_err[3], ups[3];
static unsigned int got, rx_done_n, send_done_n;
static int rx_status[8], send_status[8];
static uint8_t big_src[1 << 20], big_dst[1 << 20];

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		printf("PASS: " __VA_ARGS__);				\
	} else {							\
		printf("FAIL: " __VA_ARGS__);				\
		fails++;						\
	}								\
	printf("\n");							\
} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Both contexts' main loops, interleaved, until cond or 10 s. */
#define RUN_UNTIL(cond) ({						\
	uint64_t _dl = now_ms() + 10000;				\
	while (!(cond) && now_ms() < _dl) {				\
		struct pollfd _p[2] = { { xw_fd(c1), POLLIN, 0 },	\
					{ xw_fd(c2), POLLIN, 0 } };	\
		xw_progress(c1);					\
		xw_progress(c2);					\
		if (xw_arm(c1) == 0 && xw_arm(c2) == 0)			\
			poll(_p, 2, 20);				\
	}								\
	!!(cond);							\
})

static int host_of(void *arg)
{
	return (int)(long)arg;
}

static int auth(void *arg, uint32_t id, uint64_t epoch,
		const struct sockaddr *sa, socklen_t len)
{
	return id == 1 || id == 2 ? 0 : -EPERM;
}

static void up(void *arg, struct xw_peer *p)
{
	ups[host_of(arg)]++;
	if (host_of(arg) == 2)
		p2 = p;
}

static void down(void *arg, struct xw_peer *p, int err)
{
	downs[host_of(arg)]++;
	down_err[host_of(arg)] = err;
	if (p == p1)
		p1 = NULL;
	if (p == p2)
		p2 = NULL;
}

static void rx_done(void *arg, int status, size_t len)
{
	rx_status[rx_done_n++ & 7] = status;
}

static void send_done(void *arg, int status)
{
	send_status[send_done_n++ & 7] = status;
}

/* Host 2's receiver: header byte 0 says what to do with the payload. */
static void on_recv(void *arg, struct xw_peer *p, const void *hdr, size_t hl,
		 struct xw_rx *rx)
{
	struct iovec small = { big_dst, 1 }, all = { big_dst, sizeof(big_dst) };
	const uint8_t *h = hdr;

	got++;
	if (!hl)
		return;
	switch (h[0]) {
	case 'c':	/* claim it */
		if (xw_rx_into(rx, &all, 1, rx_done, NULL))
			fails++;
		break;
	case 'm':	/* misuse: too small, then again */
		CHECK(xw_rx_into(rx, &small, 1, rx_done, NULL) == -EMSGSIZE,
		      "xw_rx_into with a short iov: -EMSGSIZE (%s)",
		      xw_rx_is_rndv(rx) ? "rendezvous" : "eager");
		CHECK(xw_rx_into(rx, &all, 1, rx_done, NULL) == -EALREADY,
		      "a second xw_rx_into: -EALREADY");
		break;
	case 'u':	/* leave it unclaimed */
		break;
	}
}

static struct xw_ctx *mk(uint32_t id, const char *listen,
			 const char *transports, const char *devs)
{
	static const struct xw_ops ops = {
		.auth = auth, .peer_up = up, .peer_down = down, .recv = on_recv,
	};
	struct xw_config cfg = {
		.listen = listen, .host_id = id, .epoch = 7,
		.transports = transports, .net_devices = devs,
		.keepalive_ms = 200,
	};

	return xw_new(&cfg, &ops, (void *)(long)id);
}

static void config_refusals(void)
{
	struct xw_ctx *c;

	c = mk(1, "127.0.0.1:0", "posix", NULL);
	CHECK(!c && errno == EINVAL, "shared-memory transport refused");
	c = mk(1, "127.0.0.1:0", "^tcp", NULL);
	CHECK(!c && errno == EINVAL, "negated transport list refused");
	c = mk(1, "127.0.0.1:0", "rc_verbs", NULL);
	CHECK(!c && errno == EINVAL, "verbs without net_devices refused");
	c = mk(1, "0.0.0.0:0", NULL, NULL);
	CHECK(!c && errno == EINVAL, "wildcard listen without net_devices");
	c = mk(1, "192.0.2.1:7000", NULL, NULL);
	CHECK(!c && errno == EADDRNOTAVAIL, "address on no interface");
	c = mk(1, "127.0.0.1:0", NULL, "nosuchdev0");
	CHECK(!c && errno == ENODEV, "unknown device: no resource");
	c = mk(1, "127.0.0.1", NULL, NULL);
	CHECK(!c && errno == EINVAL, "listen without a port");
}

static char *addr_of(struct xw_ctx *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	socklen_t sl;

	xw_listen_addr(c, &ss, &sl);
	snprintf(buf, len, "127.0.0.1:%u", ntohs(in->sin_port));
	return buf;
}

/* A host nobody listens for: peer_down with an error, no peer_up. */
static void unreachable(void)
{
	struct xw_peer *p = xw_connect(c1, 9, "127.0.0.1:9");

	p1 = p;
	CHECK(p && RUN_UNTIL(!p1) && downs[1] == 1 && !ups[1] &&
	      down_err[1] != -ETIMEDOUT,
	      "connect to a closed port: peer_down(%d %s), no peer_up",
	      down_err[1], strerror(-down_err[1]));
	downs[1] = 0;
}

static void traffic(void)
{
	uint8_t hdr[XW_HDR_MAX + 1] = { 0 };
	struct iovec iov = { big_src, sizeof(big_src) };
	unsigned int n0;
	char a2[64];

	p1 = xw_connect(c1, 2, addr_of(c2, a2, sizeof(a2)));
	CHECK(p1 && xw_connect(c1, 2, a2) == p1,
	      "xw_connect twice gives the same peer");
	CHECK(xw_connect(c1, 1, a2) == NULL && errno == EINVAL,
	      "xw_connect to our own host id: EINVAL");
	CHECK(RUN_UNTIL(ups[1] && ups[2]) && xw_peer_epoch(p1) == 7,
	      "both sides up, epoch 7");

	CHECK(xw_send(p1, hdr, XW_HDR_MAX + 1, NULL, 0, 0, send_done, NULL) ==
	      -EMSGSIZE, "header over XW_HDR_MAX: -EMSGSIZE");
	CHECK(xw_send(p1, hdr, 1, &iov, XW_IOV_MAX + 1, 0, send_done, NULL) ==
	      -EMSGSIZE, "more than XW_IOV_MAX segments: -EMSGSIZE");
	CHECK(xw_send(p1, hdr, 1, &iov, 1, XW_SEND_EAGER | XW_SEND_RNDV,
		      send_done, NULL) == -EINVAL, "eager and rndv: -EINVAL");

	n0 = send_done_n;
	hdr[0] = 'c';
	memset(big_src, 0x3c, sizeof(big_src));
	CHECK(!xw_send(p1, hdr, 1, &iov, 1, XW_SEND_RNDV, send_done, NULL) &&
	      send_done_n == n0, "xw_send never completes inside the call");
	CHECK(RUN_UNTIL(rx_done_n == 1 && send_done_n == n0 + 1) &&
	      !rx_status[0] && !send_status[n0 & 7] &&
	      !memcmp(big_src, big_dst, sizeof(big_dst)),
	      "1 MiB rendezvous landed in the receiver's buffer");

	hdr[0] = 'm';
	n0 = send_done_n;
	xw_send(p1, hdr, 1, &iov, 1, XW_SEND_EAGER, send_done, NULL);
	xw_send(p1, hdr, 1, &iov, 1, XW_SEND_RNDV, send_done, NULL);
	CHECK(RUN_UNTIL(send_done_n == n0 + 2) &&
	      send_status[n0 & 7] == 0 &&
	      send_status[(n0 + 1) & 7] == -ECANCELED,
	      "misused payloads dropped: eager sender 0, rndv -ECANCELED");

	hdr[0] = 'u';
	n0 = send_done_n;
	xw_send(p1, hdr, 1, &iov, 1, XW_SEND_RNDV, send_done, NULL);
	CHECK(RUN_UNTIL(send_done_n == n0 + 1) &&
	      send_status[n0 & 7] == -ECANCELED,
	      "unclaimed rendezvous: sender -ECANCELED");
}

int main(void)
{
	char a[64];
	struct xw_peer_stats st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	config_refusals();
	c1 = mk(1, "127.0.0.1:0", NULL, NULL);
	c2 = mk(2, "127.0.0.1:0", NULL, NULL);
	if (!c1 || !c2) {
		printf("FAIL: xw_new on loopback: %s\n", strerror(errno));
		return 1;
	}
	CHECK(!strcmp(xw_iface(c1), "lo"), "pinned to lo for 127.0.0.1");
	CHECK(!mk(3, addr_of(c1, a, sizeof(a)), NULL, NULL) &&
	      errno == EADDRINUSE, "a second listener on the port: EADDRINUSE");
	unreachable();
	traffic();

	xw_peer_stats(p2, &st);
	CHECK(st.rx_msgs == 4 && st.rx_dropped == 3 && !st.rx_errors,
	      "receiver stats: %llu messages, %llu dropped",
	      (unsigned long long)st.rx_msgs,
	      (unsigned long long)st.rx_dropped);
	xw_peer_close(p1);
	CHECK(xw_send(p1, a, 1, NULL, 0, 0, send_done, NULL) == -ENOTCONN,
	      "xw_send on a closing peer: -ENOTCONN");
	CHECK(RUN_UNTIL(downs[1] && downs[2]) && down_err[1] == -ESHUTDOWN,
	      "xw_peer_close: peer_down(-ESHUTDOWN) here, (%d) there",
	      down_err[2]);

	p1 = xw_connect(c1, 2, addr_of(c2, a, sizeof(a)));
	CHECK(p1 && RUN_UNTIL(ups[1] == 2 && ups[2] == 2), "reconnected");
	xw_destroy(c1);
	CHECK(downs[1] == 2 && down_err[1] == -ESHUTDOWN,
	      "xw_destroy: peer_down(-ESHUTDOWN) for the live peer");
	xw_destroy(c2);
	return fails ? 1 : 0;
}
