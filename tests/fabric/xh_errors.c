// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xh_errors: the IB error cases of tests/neg between guests of two hosts
 * (xh.h), through our libibverbs, the provider and each host's xenibd.
 *
 *   xh_errors [-p PORT]                   server (the responder)
 *   xh_errors [-p PORT] [-c N]... HOST    client: every case, or case N
 *   xh_errors -m retry|partition [-T TIMEOUT] [-R RETRY_CNT] -w FILE
 *             [-p PORT] HOST              client of xh_retry.c's modes
 *   xh_errors -l                          list the cases
 *
 * Exit status: 0 if every check passed, 1 if one failed, 2 if the
 * program could not run (no xenib0, no side channel).
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/tcp_xchg.h"
#include "tests/fabric/xh.h"

#define XH_MAGIC	0x58484552u	/* "XHER" */
#define XH_PORT		18515

enum { M_CASE = 1, M_END, M_INFO, M_SYNC, M_PUT };

/* On the side channel: big-endian, fixed size. */
struct xh_msg {
	uint32_t magic, type, tag, reserved;
	uint64_t val;
};

struct xh_wire_info {
	uint32_t magic, ok;
	uint32_t lid, qpn, psn, rkey, rkey2, reserved;
	uint64_t addr, len, addr2;
};

static void die(struct xh *x, const char *what)
{
	printf("FAIL: side channel: %s: %s\n", what, strerror(errno));
	check_summary();
	exit(x->fd < 0 ? 2 : 1);
}

static void msg_send(struct xh *x, uint32_t type, uint32_t tag,
		     uint64_t val)
{
	struct xh_msg m = {
		.magic = htobe32(XH_MAGIC), .type = htobe32(type),
		.tag = htobe32(tag), .val = htobe64(val),
	};

	if (tx_send(x->fd, &m, sizeof(m)))
		die(x, "send");
}

/* The next message, which must be of type (and tag, unless ~0). */
static uint64_t msg_recv(struct xh *x, uint32_t type, uint32_t tag,
			 int ms)
{
	struct xh_msg m;

	if (tx_recv(x->fd, &m, sizeof(m), ms))
		die(x, "receive");
	if (be32toh(m.magic) != XH_MAGIC || be32toh(m.type) != type ||
	    (tag != ~0u && be32toh(m.tag) != tag)) {
		errno = EPROTO;
		printf("side channel: got type %u tag %u, expected %u/%u\n",
		       be32toh(m.type), be32toh(m.tag), type, tag);
		die(x, "out of step");
	}
	return be64toh(m.val);
}

void xh_start_case(struct xh *x, uint32_t id, uint64_t arg)
{
	msg_send(x, M_CASE, id, arg);
}

void xh_sync(struct xh *x, uint32_t tag)
{
	msg_send(x, M_SYNC, tag, 0);
	msg_recv(x, M_SYNC, tag, XH_SYNC_MS);
}

void xh_put(struct xh *x, uint32_t tag, uint64_t val)
{
	msg_send(x, M_PUT, tag, val);
}

uint64_t xh_get(struct xh *x, uint32_t tag)
{
	return msg_recv(x, M_PUT, tag, XH_SYNC_MS);
}

/* xorshift64*: a pattern either side can check from its seed alone. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

void xh_fill(void *p, uint64_t n, uint64_t seed)
{
	uint64_t s = seed | 1, i, v;

	for (i = 0; i + 8 <= n; i += 8) {
		v = next(&s);
		memcpy((char *)p + i, &v, 8);
	}
	v = next(&s);
	memcpy((char *)p + i, &v, n - i);
}

bool xh_holds(const void *p, uint64_t n, uint64_t seed)
{
	uint64_t s = seed | 1, i, v;

	for (i = 0; i + 8 <= n; i += 8) {
		v = next(&s);
		if (memcmp((const char *)p + i, &v, 8))
			return false;
	}
	v = next(&s);
	return !memcmp((const char *)p + i, &v, n - i);
}

/* ------------------------------------------------------------------ */
/* A case's endpoints                                                  */

static void info_send(struct xh *x)
{
	const struct xh_info *i = &x->me;
	struct xh_wire_info w = {
		.magic = htobe32(XH_MAGIC), .ok = htobe32(i->ok),
		.lid = htobe32(i->a.lid), .qpn = htobe32(i->a.qpn),
		.psn = htobe32(i->a.psn), .rkey = htobe32(i->rkey),
		.rkey2 = htobe32(i->rkey2), .addr = htobe64(i->addr),
		.len = htobe64(i->len), .addr2 = htobe64(i->addr2),
	};

	msg_send(x, M_INFO, 0, 0);
	if (tx_send(x->fd, &w, sizeof(w)))
		die(x, "send");
}

static void info_recv(struct xh *x)
{
	struct xh_info *i = &x->peer;
	struct xh_wire_info w;

	msg_recv(x, M_INFO, 0, XH_SYNC_MS);
	if (tx_recv(x->fd, &w, sizeof(w), XH_SYNC_MS))
		die(x, "receive");
	if (be32toh(w.magic) != XH_MAGIC) {
		errno = EPROTO;
		die(x, "endpoint info");
	}
	i->ok = be32toh(w.ok);
	i->a.lid = (uint16_t)be32toh(w.lid);
	i->a.qpn = be32toh(w.qpn);
	i->a.psn = be32toh(w.psn) & 0xffffff;
	i->rkey = be32toh(w.rkey);
	i->rkey2 = be32toh(w.rkey2);
	i->addr = be64toh(w.addr);
	i->len = be64toh(w.len);
	i->addr2 = be64toh(w.addr2);
}

bool xh_setup(struct xh *x, const struct xh_case *c)
{
	struct xh_info *me = &x->me;

	memset(me, 0, sizeof(*me));
	x->c = c;
	x->o = dflt;
	x->o.timeout = XH_TIMEOUT;
	x->o.retry_cnt = XH_RETRY_CNT;
	x->o.sq_psn = (uint32_t)lrand48() & 0xffffff;
	if (c->opts)
		c->opts(x, &x->o);
	x->mr2 = NULL;
	me->ok = ep_create(&x->e, &x->s, 32);
	if (me->ok && x->server && c->mr2_access) {
		x->mr2 = ibv_reg_mr(x->s.pd, x->s.buf + XH_MR2_OFF,
				    XH_MR2_LEN, c->mr2_access);
		me->ok = x->mr2;
	}
	if (me->ok) {
		ep_addr_of(&x->e, &x->o, &me->a);
		me->addr = va(&x->s, 0);
		me->len = x->s.len;
		me->rkey = x->s.mr->rkey;
		if (x->mr2) {
			me->addr2 = va(&x->s, XH_MR2_OFF);
			me->rkey2 = x->mr2->rkey;
		}
	}
	/* The server answers: the client's info first, on every case. */
	if (x->server) {
		info_recv(x);
		info_send(x);
	} else {
		info_send(x);
		info_recv(x);
	}
	if (me->ok && x->peer.ok)
		me->ok = ep_connect_to(&x->e, &x->peer.a, &x->o);
	/* Both at RTS before either sends (as ibv_rc_pingpong's exchange). */
	msg_send(x, M_SYNC, 0, me->ok);
	if (!msg_recv(x, M_SYNC, 0, XH_SYNC_MS) || !me->ok) {
		result(false, "%s: set up a connected QP pair across hosts "
		       "(this side %s)", c->name, me->ok ? "ok" : "failed");
		return false;
	}
	async_drain(&x->s);
	return true;
}

void xh_teardown(struct xh *x)
{
	ep_destroy(&x->e);
	if (x->mr2)
		ibv_dereg_mr(x->mr2);
	x->mr2 = NULL;
}

static void run_case(struct xh *x, const struct xh_case *c)
{
	printf("---- %s (%s)\n", c->name, x->server ? "responder" :
						      "requester");
	if (xh_setup(x, c)) {
		c->run(x);
		xh_sync(x, ~1u);	/* neither destroys what the other uses */
	}
	xh_teardown(x);
}

/* ------------------------------------------------------------------ */

static void serve(struct xh *x)
{
	struct xh_msg m;

	for (;;) {
		uint32_t type, tag;

		if (tx_recv(x->fd, &m, sizeof(m), 600000))
			die(x, "receive");
		type = be32toh(m.type);
		tag = be32toh(m.tag);
		if (be32toh(m.magic) != XH_MAGIC) {
			errno = EPROTO;
			die(x, "bad message");
		}
		if (type == M_END)
			return;
		if (type == M_CASE && tag == XH_RETRY_CASE)
			xh_retry_server(x, be64toh(m.val));
		else if (type == M_CASE && tag < xh_ncases)
			run_case(x, &xh_cases[tag]);
		else {
			errno = EPROTO;
			die(x, "unknown case");
		}
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: xh_errors [-p PORT]            (server)\n"
		"       xh_errors [-p PORT] [-c N]... HOST (client)\n"
		"       xh_errors -m retry|partition [-T TIMEOUT] "
		"[-R RETRY_CNT] -w FILE [-p PORT] HOST\n"
		"       xh_errors -l\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct xh x = { .fd = -1 };
	unsigned int port = XH_PORT, i;
	struct xh_retry r = { .timeout = 16, .retry_cnt = 3 };
	bool sel[64] = { false }, any = false, retry = false;
	struct ibv_device **list;
	int opt, n, lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "p:c:m:T:R:w:l")) != -1) {
		switch (opt) {
		case 'p':
			port = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			i = (unsigned int)strtoul(optarg, NULL, 0);
			if (i >= xh_ncases || i >= 64)
				return usage();
			sel[i] = any = true;
			break;
		case 'm':
			if (strcmp(optarg, "retry") &&
			    strcmp(optarg, "partition"))
				return usage();
			r.partition = !strcmp(optarg, "partition");
			retry = true;
			break;
		case 'T':
			r.timeout = (uint8_t)(strtoul(optarg, NULL, 0) & 31);
			break;
		case 'R':
			r.retry_cnt = (uint8_t)(strtoul(optarg, NULL, 0) & 7);
			break;
		case 'w':
			r.trigger = optarg;
			break;
		case 'l':
			for (i = 0; i < xh_ncases; i++)
				printf("%u %s\n", i, xh_cases[i].name);
			return 0;
		default:
			return usage();
		}
	}
	x.server = optind == argc;
	if (port == 0 || port > 65535 ||
	    (retry && (x.server || !r.trigger || !r.timeout)))
		return usage();
	srand48(getpid() ^ (long)now_ms());

	list = ibv_get_device_list(&n);
	x.s.name = x.server ? "responder" : "requester";
	if (!find_xenib0(list, n)) {
		fprintf(stderr, "xenib0 not found (is xenibd running and the "
			"environment set?)\n");
		return 2;
	}
	if (!side_open(&x.s, find_xenib0(list, n), XH_BUF_LEN)) {
		fprintf(stderr, "cannot open xenib0: %s\n", strerror(errno));
		return 2;
	}
	if (x.server) {
		lfd = tx_listen((uint16_t)port);
		if (lfd < 0)
			die(&x, "listen");
		x.fd = tx_accept(lfd, 120000);
		if (x.fd < 0)
			die(&x, "accept");
		close(lfd);
		serve(&x);
	} else {
		x.fd = tx_connect(argv[optind], (uint16_t)port, 30000);
		if (x.fd < 0)
			die(&x, "connect");
		if (retry) {
			xh_retry_client(&x, &r);
			close(x.fd);
			return check_summary();
		}
		for (i = 0; i < xh_ncases; i++) {
			if (any && !sel[i])
				continue;
			msg_send(&x, M_CASE, i, 0);
			run_case(&x, &xh_cases[i]);
		}
		msg_send(&x, M_END, 0, 0);
	}
	close(x.fd);
	side_close(&x.s);
	ibv_free_device_list(list);
	return check_summary();
}
