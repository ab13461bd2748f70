// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* wire_test's scenarios and main (usage in wire_test.c). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fabric/wire_test.h"

#define UP_MS		15000
#define DRAIN_MS	60000

static struct pst *ps_of(struct xw_peer *p)
{
	return xw_peer_arg(p);
}

static int drain(const char *what)
{
	if (!WAIT_FOR(g_inflight == 0, DRAIN_MS)) {
		FAIL("%s: %u sends never completed", what, g_inflight);
		return -1;
	}
	if (g_send_errors) {
		FAIL("%s: %" PRIu64 " sends completed with an error", what,
		     g_send_errors);
		return -1;
	}
	return 0;
}

static int connect_up(void)
{
	g_peer = xw_connect(ctx, o.peer_id, o.peer_addr);
	if (!g_peer) {
		FAIL("xw_connect %s: %s", o.peer_addr, strerror(errno));
		return -1;
	}
	if (!WAIT_FOR(!g_peer || xw_peer_is_up(g_peer), UP_MS) || !g_peer) {
		FAIL("host %u did not come up (last err %d)", o.peer_id,
		     g_last_err);
		return -1;
	}
	return 0;
}

static size_t rnd_hdr(void)
{
	return sizeof(struct thdr) +
	       rnd() % (XW_HDR_MAX - sizeof(struct thdr) + 1);
}

/* Thousands of mixed sizes with a window: eager (single and multi
 * fragment) and rendezvous, some forced either way. */
static int mixed(struct xw_peer *p, unsigned int n, unsigned int window,
		 uint64_t *ndata)
{
	unsigned int i, fl;
	size_t len;

	for (i = 0; i < n; i++) {
		len = mixed_len();
		fl = 0;
		if (i % 17 == 0)
			fl = XW_SEND_RNDV;
		else if (i % 13 == 0 && len <= (64u << 10))
			fl = XW_SEND_EAGER;
		if (send_w(p, K_DATA, len, 1 + (int)(i % 4), rnd_hdr(), fl,
			   window))
			return -1;
		(*ndata)++;
	}
	return drain("mixed sizes");
}

static int client_basic(void)
{
	static const size_t large[] = { 1u << 20, 1u << 20, 1u << 20, 1u << 20,
					BIG, BIG };
	struct xw_peer_stats st;
	uint64_t ndata = 0, t0;
	struct xw_peer *p;
	unsigned int i, n;
	int ret;

	if (connect_up())
		return 1;
	p = g_peer;
	PASS("HELLO exchanged, host %u epoch %" PRIu64 " authenticated",
	     xw_peer_host_id(p), xw_peer_epoch(p));

	for (i = 0; i < 1000; i++, ndata++)
		if (send_w(p, K_DATA, rnd() % 257, 1, rnd_hdr(), 0, 64))
			return 1;
	if (drain("small eager"))
		return 1;
	PASS("1000 small eager messages (0..256 bytes, headers up to %d)",
	     XW_HDR_MAX);

	t0 = now_ms();
	if (mixed(p, 3000, 256, &ndata))
		return 1;
	PASS("3000 mixed-size messages, up to 256 in flight (%" PRIu64 " ms)",
	     now_ms() - t0);

	/* Drops: an eager one is gone once received; a rendezvous one is
	 * refused and the sender hears about it. */
	if (send_msg(p, K_DROP, 100, 1, 0, 0, drop_done, (void *)0) ||
	    send_msg(p, K_DROP, 1u << 20, 1, 0, XW_SEND_RNDV, drop_done,
		     (void *)1)) {
		FAIL("sending drops");
		return 1;
	}
	if (!WAIT_FOR(g_inflight == 0, DRAIN_MS))
		FAIL("drops never completed");
	if (g_drop_status[0] != 0 || g_drop_status[1] != -ECANCELED)
		FAIL("dropped eager/rndv: sender saw %d/%d, want 0/%d",
		     g_drop_status[0], g_drop_status[1], -ECANCELED);
	else
		PASS("receiver drops: eager sender sees 0, rendezvous sender "
		     "sees -ECANCELED");

	t0 = now_ms();
	for (i = 0; i < sizeof(large) / sizeof(large[0]); i++, ndata++)
		if (send_w(p, K_DATA, large[i], i & 1 ? 4 : 1, 0, 0, 2))
			return 1;
	if (drain("large"))
		return 1;
	PASS("4 x 1 MiB and 2 x 64 MiB landed in receiver buffers, checked "
	     "(%" PRIu64 " ms)", now_ms() - t0);

	/* Many in flight without progress, up to the bound. */
	for (n = 0; n < o.max_inflight + 10; n++, ndata++) {
		ret = send_msg(p, K_DATA, 1024, 1, 0, 0, send_done, NULL);
		if (ret)
			break;
	}
	xw_peer_stats(p, &st);
	if (ret != -EAGAIN || n != o.max_inflight || st.inflight != n)
		FAIL("in flight: %u posted (stats %u), then %d; want %u then "
		     "-EAGAIN", n, st.inflight, ret, o.max_inflight);
	if (drain("many in flight"))
		return 1;
	PASS("%u sends in flight at once, the next one -EAGAIN", n);

	if (wait_report(p, ndata, "basic"))
		return 1;
	xw_peer_stats(p, &st);
	if (st.tx_errors != 1 || st.rx_errors || st.inflight)
		FAIL("client stats: tx_errors %" PRIu64 " (want 1: the "
		     "refused rendezvous) rx_errors %" PRIu64 " inflight %u",
		     st.tx_errors, st.rx_errors, st.inflight);
	printf("INFO tx_msgs=%" PRIu64 " tx_bytes=%" PRIu64 " rx_msgs=%" PRIu64
	       "\n", st.tx_msgs, st.tx_bytes, st.rx_msgs);

	xw_peer_close(p);
	if (!WAIT_FOR(!g_peer, 10000) || g_last_err != -ESHUTDOWN)
		FAIL("xw_peer_close: peer_down %s, err %d",
		     g_peer ? "missing" : "seen", g_last_err);
	else
		PASS("xw_peer_close: peer_down(-ESHUTDOWN)");
	return 0;
}

static int client_refused(void)
{
	uint64_t t0 = now_ms();

	g_peer = xw_connect(ctx, o.peer_id, o.peer_addr);
	if (!g_peer) {
		FAIL("xw_connect: %s", strerror(errno));
		return 1;
	}
	if (!WAIT_FOR(!g_peer, UP_MS)) {
		FAIL("refused host: no peer_down");
		return 1;
	}
	if (g_ups)
		FAIL("refused host: peer_up was called");
	else if (g_last_err != -EACCES)
		FAIL("refused host: peer_down(%d %s), want -EACCES",
		     g_last_err, strerror(-g_last_err));
	else
		PASS("refused: peer_down(%d %s) after %" PRIu64 " ms, no "
		     "peer_up", g_last_err, strerror(-g_last_err),
		     now_ms() - t0);
	return 0;
}

/* Traffic until the peer goes down; reconnect; after o.cycles downs, a
 * final checked burst. */
static int client_stream(void)
{
	uint64_t dl = now_ms() + (uint64_t)o.timeout * 1000, ndata;
	unsigned int i;

	while (now_ms() < dl && !g_stop) {
		if (!g_peer) {
			g_peer = xw_connect(ctx, o.peer_id, o.peer_addr);
			if (!g_peer) {
				WAIT_FOR(0, 200);
				continue;
			}
		}
		if (!WAIT_FOR(!g_peer || xw_peer_is_up(g_peer), UP_MS))
			continue;
		if (!g_peer) {
			WAIT_FOR(0, 200);	/* refused or unreachable */
			continue;
		}
		if (send_w(g_peer, K_START, 0, 1, 0, 0, 64))
			continue;
		if (g_downs < (int)o.cycles) {
			/* every 16th a rendezvous, so one is likely in
			 * flight when the link goes */
			/* (a send fails between the endpoint's death and
			 * peer_down: progress, do not spin) */
			for (i = 0; g_peer; i++)
				if (g_inflight >= 64 ||
				    send_msg(g_peer, K_DATA,
					     i % 16 ? 1024 : 256u << 10, 1, 0,
					     i % 16 ? 0 : XW_SEND_RNDV,
					     send_done, NULL))
					run_once(50);
			g_send_errors = 0;	/* lost with the link */
			continue;
		}
		for (i = 0, ndata = 0; i < 1000; i++, ndata++)
			if (send_w(g_peer, K_DATA, rnd() % 8192, 1, 0, 0, 64))
				break;
		if (i < 1000 || drain("after reconnect"))
			return 1;
		if (wait_report(g_peer, ndata, "after reconnect"))
			return 1;
		return 0;
	}
	FAIL("stream: gave up after %u s (%d up, %d down)", o.timeout, g_ups,
	     g_downs);
	return 1;
}

/* Both sides connect at once (each calls xw_connect before progressing
 * after the signal, so each has its outbound endpoint before it sees the
 * other's).  The endpoints must converge to the lower id's. */
static int simul(void)
{
	int want_out = o.id < o.peer_id;
	struct xw_peer_stats st;
	uint64_t ndata = 0;
	sigset_t ss;
	int sig;
	struct timespec to = { .tv_sec = 20 };

	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	printf("READY\n");
	fflush(stdout);
	sig = sigtimedwait(&ss, NULL, &to);
	if (sig != SIGUSR1) {
		FAIL("no SIGUSR1");
		return 1;
	}
	if (connect_up())
		return 1;
	if (!WAIT_FOR((xw_peer_stats(g_peer, &st), st.conns == 2 &&
		       st.out_conn + st.in_conn == 1), o.hello + 5000)) {
		FAIL("duplicates: %" PRIu64 " endpoints authenticated, now "
		     "out %u in %u", st.conns, st.out_conn, st.in_conn);
		return 1;
	}
	if (st.out_conn != want_out || st.tx_out != want_out)
		FAIL("kept the %s endpoint, want the one host %u initiated",
		     st.out_conn ? "outbound" : "inbound",
		     o.id < o.peer_id ? o.id : o.peer_id);
	else
		PASS("simultaneous connect: 2 endpoints, kept the one host %u "
		     "initiated", o.id < o.peer_id ? o.id : o.peer_id);
	if (send_w(g_peer, K_START, 0, 1, 0, 0, 64) ||
	    mixed(g_peer, 1000, 64, &ndata) ||
	    wait_report(g_peer, ndata, "simultaneous, after convergence"))
		return 1;
	/* stay until the other side got its REPORT too */
	if (!WAIT_FOR(!g_peer || ps_of(g_peer)->reports_sent, 30000))
		FAIL("the other side never asked for its REPORT");
	WAIT_FOR(g_inflight == 0, 5000);
	return 0;
}

static void on_term(int sig)
{
	g_stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: wire_test serve ID LISTEN [opts]\n"
		"       wire_test client ID LISTEN PEER_ID PEER_ADDR "
		"basic|refused|stream [opts]\n"
		"       wire_test simul ID LISTEN PEER_ID PEER_ADDR [opts]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "epoch", 1, NULL, 'e' }, { "ka", 1, NULL, 'k' },
		{ "misses", 1, NULL, 'm' }, { "hello", 1, NULL, 'h' },
		{ "refuse", 1, NULL, 'r' }, { "max-inflight", 1, NULL, 'i' },
		{ "timeout", 1, NULL, 't' }, { "cycles", 1, NULL, 'c' },
		{ "max-pending", 1, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o.epoch = 1;
	o.ka = 250;
	o.misses = 8;
	o.hello = 3000;
	o.max_inflight = 4096;
	o.timeout = 45;
	o.cycles = 1;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		unsigned long v = optarg ? strtoul(optarg, NULL, 0) : 0;

		switch (c) {
		case 'e': o.epoch = v; break;
		case 'k': o.ka = (unsigned int)v; break;
		case 'm': o.misses = (unsigned int)v; break;
		case 'h': o.hello = (unsigned int)v; break;
		case 'i': o.max_inflight = (unsigned int)v; break;
		case 't': o.timeout = (unsigned int)v; break;
		case 'c': o.cycles = (unsigned int)v; break;
		case 'p': o.max_pending = (unsigned int)v; break;
		case 'r':
			if (o.nrefuse < 8)
				o.refuse[o.nrefuse++] = (uint32_t)v;
			break;
		default: usage();
		}
	}
}

int main(int argc, char **argv)
{
	static const struct xw_ops ops = {
		.auth = auth_cb, .peer_up = peer_up_cb,
		.peer_down = peer_down_cb, .recv = recv_cb, .log = log_cb,
	};
	struct sigaction sa = { .sa_handler = on_term };
	struct xw_config cfg = { 0 };
	const char *role;
	struct xw_stats st;
	sigset_t ss;
	int ret = 0;

	if (argc < 4)
		usage();
	role = argv[1];
	o.id = (uint32_t)strtoul(argv[2], NULL, 0);
	o.listen = argv[3];
	if (strcmp(role, "serve")) {
		if (argc < 6)
			usage();
		o.peer_id = (uint32_t)strtoul(argv[4], NULL, 0);
		o.peer_addr = argv[5];
	}
	if (!strcmp(role, "client")) {
		if (argc < 7)
			usage();
		o.mode = argv[6];
	}
	optind = !strcmp(role, "serve") ? 4 : !strcmp(role, "client") ? 7 : 6;
	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&ss);
	sigaddset(&ss, SIGUSR1);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	pat_init();

	cfg.listen = o.listen;
	cfg.host_id = o.id;
	cfg.epoch = o.epoch;
	cfg.keepalive_ms = o.ka;
	cfg.keepalive_misses = o.misses;
	cfg.hello_timeout_ms = o.hello;
	cfg.max_inflight = o.max_inflight;
	cfg.max_pending = o.max_pending;
	ctx = xw_new(&cfg, &ops, NULL);
	if (!ctx) {
		printf("FAIL: xw_new(%s): %s\n", o.listen, strerror(errno));
		return 1;
	}
	printf("LISTENING %s iface %s\n", o.listen, xw_iface(ctx));

	if (!strcmp(role, "serve"))
		while (!g_stop)
			run_once(200);
	else if (!strcmp(role, "simul"))
		ret = simul();
	else if (!strcmp(o.mode, "basic"))
		ret = client_basic();
	else if (!strcmp(o.mode, "refused"))
		ret = client_refused();
	else if (!strcmp(o.mode, "stream"))
		ret = client_stream();
	else
		usage();

	xw_stats(ctx, &st);
	printf("STATS accepted=%" PRIu64 " rejected=%" PRIu64
	       " auth_refused=%" PRIu64 " proto_errors=%" PRIu64
	       " unattributed=%" PRIu64 " timeouts=%" PRIu64
	       " errors=%" PRIu64 "\n", st.accepted, st.rejected,
	       st.auth_refused, st.proto_errors, st.unattributed, st.timeouts,
	       g_errors);
	xw_destroy(ctx);
	return ret || g_errors ? 1 : 0;
}
