// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * In-process tests of xenibd's connection manager (xenibd/cm/), through
 * the control path a guest uses (xd_ctrl_handle with CM opcodes), with the
 * CM's clock under the test's control and, where a test needs lost
 * messages, a peer that drops everything.  What the end-to-end tests cannot
 * reach in reasonable time: the IB CM timeouts and retries (REQ, MRA'd REQ,
 * REP, DREQ, SIDR REQ; UNREACHABLE -ETIMEDOUT), the per-guest quotas,
 * hostile requests (foreign ids, spoofed QPNs, malformed messages), and
 * what another host's CM may and may not do (test_remote).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"
#include "xenibd/cm/cm.h"
#include "xenibd/cm/cm_hook.h"

#include "tests/common/check.h"
#include "tests/common/backend.h"
#include "tests/common/sides.h"

static uint64_t fake_now = 1000000000ull;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static int drop_all(const struct cm_msg *m)
{
	return 0;	/* "sent", never delivered */
}

static const struct cm_peer_ops black_hole = { .send = drop_all };

/* Advance time in steps, running the CM's timers each step. */
static void advance(double seconds)
{
	uint64_t end = fake_now + (uint64_t)(seconds * 1e9);

	while (fake_now < end) {
		uint64_t next = UINT64_MAX;

		fake_now += 100000000ull;	/* 100 ms */
		xd_cm_tick(&next);
	}
}

/* A guest's CM channel: an in-process context behind a socketpair. */
struct chan {
	struct xd_ctx *ctx;
	int sock;		/* the guest's end */
	int fd;			/* the guest's end of the notifier */
	uint32_t seq;
};

static int chan_req(struct chan *c, void *msg, size_t len, int fd,
		    void *resp, size_t resp_len)
{
	struct xenib_ctrl_hdr *h = msg;
	union {
		struct xenib_ctrl_hdr hdr;
		char b[XENIB_CTRL_MAX_MSG];
	} r;
	ssize_t n;
	int rfd;

	h->length = len;
	h->seq = ++c->seq;
	xd_ctrl_handle(c->ctx, msg, len, fd);
	n = hv_msg_recv(c->sock, r.b, sizeof(r.b), &rfd);
	if (n < (ssize_t)sizeof(r.hdr))
		return EIO;
	if (r.hdr.seq != c->seq)
		return EPROTO;
	if (!r.hdr.status && resp)
		memcpy(resp, r.b, resp_len < (size_t)n ? resp_len : (size_t)n);
	return r.hdr.status;
}

static void chan_open(struct chan *c, const char *guest)
{
	struct xenib_hello_req h = { .hdr.opcode = XENIB_CMD_HELLO,
				     .abi_version = XENIB_ABI_VERSION };
	struct xenib_cm_open_req o = { .hdr.opcode = XENIB_CM_OPEN,
				       .abi_version = XENIB_CM_ABI_VERSION };
	struct xenib_hello_resp hr;
	int bfd;

	memset(c, 0, sizeof(*c));
	c->ctx = tb_ctx_new(&c->sock);
	snprintf(h.guest_name, sizeof(h.guest_name), "%s", guest);
	CHECK(!chan_req(c, &h, sizeof(h), -1, &hr, sizeof(hr)), "hello");
	hv_notify_pair(&c->fd, &bfd);
	CHECK(!chan_req(c, &o, sizeof(o), bfd, NULL, 0), "CM_OPEN");
}

static void chan_close(struct chan *c)
{
	xd_ctx_destroy(c->ctx);
	close(c->sock);
	close(c->fd);
}

static int id_create(struct chan *c, uint32_t ps, uint32_t type,
		     uint32_t *id)
{
	struct xenib_cm_create_id_req q = { .hdr.opcode = XENIB_CM_CREATE_ID,
					    .ps = ps, .qp_type = type };
	struct xenib_handle_resp r;
	int err = chan_req(c, &q, sizeof(q), -1, &r, sizeof(r));

	*id = err ? 0 : r.handle;
	return err;
}

static int id_op(struct chan *c, uint16_t op, uint32_t id)
{
	struct xenib_cm_id_req q = { .hdr.opcode = op, .id = id };

	return chan_req(c, &q, sizeof(q), -1, NULL, 0);
}

static struct xenib_cm_addr lo(uint16_t port)
{
	struct xenib_cm_addr a = { .family = AF_INET, .port = port };

	a.addr[0] = 127;
	a.addr[3] = 1;
	return a;
}

static int bind_listen(struct chan *c, uint32_t id, uint16_t port,
		       uint32_t backlog)
{
	struct xenib_cm_bind_req b = { .hdr.opcode = XENIB_CM_BIND, .id = id,
				       .addr = lo(port) };
	struct xenib_cm_listen_req l = { .hdr.opcode = XENIB_CM_LISTEN,
					 .id = id, .backlog = backlog };
	int err = chan_req(c, &b, sizeof(b), -1, NULL, 0);

	return err ? err : chan_req(c, &l, sizeof(l), -1, NULL, 0);
}

static int get_event(struct chan *c, struct xenib_cm_event_resp *e)
{
	struct xenib_ctrl_hdr q = { .opcode = XENIB_CM_GET_EVENT };

	hv_notify_drain(c->fd);
	return chan_req(c, &q, sizeof(q), -1, e, sizeof(*e));
}

/* Resolve and route an id towards 127.0.0.1:port, taking both events. */
static void route(struct chan *c, uint32_t id, uint16_t port)
{
	struct xenib_cm_resolve_addr_req ra = {
		.hdr.opcode = XENIB_CM_RESOLVE_ADDR, .id = id, .dst = lo(port) };
	struct xenib_cm_resolve_route_req rr = {
		.hdr.opcode = XENIB_CM_RESOLVE_ROUTE, .id = id };
	struct xenib_cm_event_resp e;

	CHECK(!chan_req(c, &ra, sizeof(ra), -1, NULL, 0), "resolve addr");
	CHECK(!get_event(c, &e) && e.event == RDMA_CM_EVENT_ADDR_RESOLVED,
	      "ADDR_RESOLVED");
	CHECK(!chan_req(c, &rr, sizeof(rr), -1, NULL, 0), "resolve route");
	CHECK(!get_event(c, &e) && e.event == RDMA_CM_EVENT_ROUTE_RESOLVED,
	      "ROUTE_RESOLVED");
}

static int conn_op(struct chan *c, uint16_t op, uint32_t id, uint32_t qpn)
{
	struct xenib_cm_conn_req q = { .hdr.opcode = op, .id = id };

	q.conn.qp_num = qpn;
	q.conn.responder_resources = 1;
	q.conn.initiator_depth = 1;
	q.conn.retry_count = 7;
	q.conn.rnr_retry_count = 7;
	return chan_req(c, &q, sizeof(q), -1, NULL, 0);
}

/*
 * An RC QP of guest g, made straight in the device model on a context of
 * its own (tests/common/sides.h); it lives until free_qps() at the end.
 */
static struct side *sides[8];
static unsigned int nsides;

static uint32_t make_qp(const char *guest)
{
	struct side *s = calloc(1, sizeof(*s));

	if (!s || nsides == sizeof(sides) / sizeof(sides[0])) {
		fprintf(stderr, "test_cm: no room for another QP\n");
		exit(1);
	}
	side_init(s, guest);
	sides[nsides++] = s;
	return s->qpn;
}

static void free_qps(void)
{
	while (nsides) {
		side_teardown(sides[--nsides]);
		free(sides[nsides]);
	}
}

/* Connected a -> b (a: id ca with qpa, b: listener on port). */
/* The QP attributes INIT_QP_ATTR gives id for state (0 on error). */
static struct xenib_qp_attr qp_attr(struct chan *c, uint32_t id,
				    uint32_t state)
{
	struct xenib_cm_init_qp_attr_req q = {
		.hdr.opcode = XENIB_CM_INIT_QP_ATTR, .id = id,
		.qp_state = state };
	struct xenib_cm_init_qp_attr_resp r;

	memset(&r, 0, sizeof(r));
	CHECK(!chan_req(c, &q, sizeof(q), -1, &r, sizeof(r)),
	      "INIT_QP_ATTR %u", state);
	return r.attr;
}

static void connect_pair(struct chan *a, uint32_t ca, uint32_t qpa,
			 struct chan *b, uint32_t qpb, uint16_t port,
			 uint32_t *nb)
{
	struct xenib_cm_event_resp e;
	uint32_t a_sq, b_sq;

	route(a, ca, port);
	CHECK(!conn_op(a, XENIB_CM_CONNECT, ca, qpa), "connect");
	CHECK(!get_event(b, &e) && e.event == RDMA_CM_EVENT_CONNECT_REQUEST,
	      "CONNECT_REQUEST");
	*nb = e.id;
	/* As the library does: the passive QP to RTS before it accepts. */
	b_sq = qp_attr(b, *nb, IBV_QPS_RTS).sq_psn;
	CHECK(!conn_op(b, XENIB_CM_ACCEPT, *nb, qpb), "accept");
	CHECK(!get_event(a, &e) && e.event == RDMA_CM_EVENT_CONNECT_RESPONSE,
	      "CONNECT_RESPONSE");
	/* Each side's requests start where the other's responder expects. */
	CHECK(qp_attr(a, ca, IBV_QPS_RTR).rq_psn == b_sq,
	      "active rq_psn = the passive sq_psn it had before accepting");
	a_sq = qp_attr(a, ca, IBV_QPS_RTS).sq_psn;
	CHECK(qp_attr(b, *nb, IBV_QPS_RTR).rq_psn == a_sq,
	      "passive rq_psn = the active sq_psn");
	CHECK(!id_op(a, XENIB_CM_ESTABLISH, ca), "establish (RTU)");
	CHECK(!get_event(b, &e) && e.event == RDMA_CM_EVENT_ESTABLISHED,
	      "ESTABLISHED");
}

static void expect_event(struct chan *c, uint32_t type, int32_t status,
			 const char *what)
{
	struct xenib_cm_event_resp e;
	int err = get_event(c, &e);

	CHECK(!err && e.event == type && e.status == status,
	      "%s: event %u status %d (got err %d, event %u status %d)", what,
	      type, status, err, err ? 0 : e.event, err ? 0 : e.status);
}

/* ------------------------------------------------------------------ */

static void test_req_lost(struct chan *a, uint32_t qpa)
{
	uint32_t id;
	long long sent;

	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &id);
	route(a, id, 40001);
	cm.peer = &black_hole;
	sent = cm.stats.msgs_sent;
	CHECK(!conn_op(a, XENIB_CM_CONNECT, id, qpa), "connect into the void");
	advance(60);
	CHECK(get_event(a, &(struct xenib_cm_event_resp){ 0 }) == EAGAIN,
	      "still retrying after 60 s");
	advance(15);
	expect_event(a, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT,
		     "REQ lost: UNREACHABLE -ETIMEDOUT after the retries");
	CHECK(cm.stats.msgs_sent - sent == 16,
	      "REQ sent once and retried 15 times (%lld)",
	      cm.stats.msgs_sent - sent);
	cm.peer = &cm_local_peer;
	CHECK(!id_op(a, XENIB_CM_DESTROY_ID, id), "destroy");
}

static void test_mra(struct chan *a, uint32_t qpa, struct chan *b)
{
	struct xenib_cm_event_resp e;
	uint32_t l, id;

	id_create(b, RDMA_PS_TCP, IBV_QPT_RC, &l);
	CHECK(!bind_listen(b, l, 40002, 4), "listen");
	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &id);
	route(a, id, 40002);
	CHECK(!conn_op(a, XENIB_CM_CONNECT, id, qpa), "connect");
	CHECK(!get_event(b, &e) && e.event == RDMA_CM_EVENT_CONNECT_REQUEST,
	      "request arrives; nobody answers it");
	advance(30);
	CHECK(get_event(a, &e) == EAGAIN, "MRA: still waiting after 30 s");
	advance(45);
	expect_event(a, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT,
		     "MRA'd REQ never answered: UNREACHABLE -ETIMEDOUT");
	id_op(a, XENIB_CM_DESTROY_ID, id);
	id_op(b, XENIB_CM_DESTROY_ID, e.id);
	id_op(b, XENIB_CM_DESTROY_ID, l);
}

static void test_rep_no_rtu(struct chan *a, uint32_t qpa, struct chan *b,
			    uint32_t qpb)
{
	struct xenib_cm_event_resp e;
	uint32_t l, id, nid;

	id_create(b, RDMA_PS_TCP, IBV_QPT_RC, &l);
	bind_listen(b, l, 40003, 4);
	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &id);
	route(a, id, 40003);
	conn_op(a, XENIB_CM_CONNECT, id, qpa);
	get_event(b, &e);
	nid = e.id;
	CHECK(!conn_op(b, XENIB_CM_ACCEPT, nid, qpb), "accept");
	CHECK(!get_event(a, &e) && e.event == RDMA_CM_EVENT_CONNECT_RESPONSE,
	      "CONNECT_RESPONSE, and the active side never establishes");
	advance(75);
	expect_event(b, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT,
		     "REP without RTU: passive UNREACHABLE -ETIMEDOUT");
	expect_event(a, RDMA_CM_EVENT_REJECTED, CM_REJ_TIMEOUT,
		     "the active side is told (REJ timeout)");
	CHECK(id_op(a, XENIB_CM_ESTABLISH, id) == EINVAL,
	      "establishing afterwards: EINVAL");
	id_op(a, XENIB_CM_DESTROY_ID, id);
	id_op(b, XENIB_CM_DESTROY_ID, nid);
	id_op(b, XENIB_CM_DESTROY_ID, l);
}

static void test_dreq_lost(struct chan *a, uint32_t qpa, struct chan *b,
			   uint32_t qpb)
{
	uint32_t l, id, nid;

	id_create(b, RDMA_PS_TCP, IBV_QPT_RC, &l);
	bind_listen(b, l, 40004, 4);
	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &id);
	connect_pair(a, id, qpa, b, qpb, 40004, &nid);
	CHECK(cm.stats.conns == 2, "two connected ends (%lld)", cm.stats.conns);
	cm.peer = &black_hole;
	CHECK(!id_op(a, XENIB_CM_DISCONNECT, id), "disconnect; DREQs are lost");
	advance(1);
	CHECK(get_event(a, &(struct xenib_cm_event_resp){ 0 }) == EAGAIN,
	      "DREQ retried for a while");
	advance(3);
	expect_event(a, RDMA_CM_EVENT_DISCONNECTED, 0,
		     "DREQ unanswered: DISCONNECTED after the retries");
	advance(1);
	expect_event(a, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0, "then TIMEWAIT_EXIT");
	cm.peer = &cm_local_peer;
	id_op(a, XENIB_CM_DESTROY_ID, id);
	id_op(b, XENIB_CM_DESTROY_ID, nid);
	id_op(b, XENIB_CM_DESTROY_ID, l);
	CHECK(cm.stats.conns == 0, "no connection left (%lld)", cm.stats.conns);
}

static void test_sidr_lost(struct chan *a)
{
	uint32_t id;

	id_create(a, RDMA_PS_UDP, IBV_QPT_UD, &id);
	route(a, id, 40005);
	cm.peer = &black_hole;
	CHECK(!conn_op(a, XENIB_CM_CONNECT, id, 0), "SIDR REQ into the void");
	advance(75);
	expect_event(a, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT,
		     "SIDR REQ lost: UNREACHABLE -ETIMEDOUT");
	cm.peer = &cm_local_peer;
	id_op(a, XENIB_CM_DESTROY_ID, id);
}

static void test_hostile(struct chan *a, uint32_t qpa, struct chan *c,
			 uint32_t qpc)
{
	struct xenib_cm_bind_req b = { .hdr.opcode = XENIB_CM_BIND,
				       .addr = lo(40006) };
	uint32_t l, id, mine;

	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &l);
	bind_listen(a, l, 40006, 4);
	/* Another guest cannot name a's ids in any request. */
	CHECK(id_op(c, XENIB_CM_DESTROY_ID, l) == ENOENT,
	      "destroying another guest's listener: ENOENT");
	CHECK(id_op(c, XENIB_CM_MIGRATE_ID, l) == ENOENT,
	      "migrating another guest's id into our channel: ENOENT");
	CHECK(conn_op(c, XENIB_CM_ACCEPT, l, qpc) == ENOENT,
	      "accepting on another guest's id: ENOENT");
	b.id = l;
	CHECK(chan_req(c, &b, sizeof(b), -1, NULL, 0) == ENOENT,
	      "binding another guest's id: ENOENT");
	/* Nor take its port, nor connect with its QPN. */
	id_create(c, RDMA_PS_TCP, IBV_QPT_RC, &mine);
	b.id = mine;
	CHECK(chan_req(c, &b, sizeof(b), -1, NULL, 0) == EADDRINUSE,
	      "binding the port another guest listens on: EADDRINUSE");
	id_op(c, XENIB_CM_DESTROY_ID, mine);
	id_create(c, RDMA_PS_TCP, IBV_QPT_RC, &id);
	route(c, id, 40006);
	CHECK(conn_op(c, XENIB_CM_CONNECT, id, qpa) == EINVAL,
	      "connecting with another guest's QPN: EINVAL");
	CHECK(conn_op(c, XENIB_CM_CONNECT, id, 0x123456) == EINVAL,
	      "connecting with a QPN nobody has: EINVAL");
	CHECK(conn_op(c, XENIB_CM_CONNECT, id, 0x1000000) == EINVAL,
	      "a QPN wider than 24 bits: EINVAL");
	CHECK(conn_op(c, XENIB_CM_CONNECT, id, qpc) == 0,
	      "with its own QPN it may connect");
	id_op(c, XENIB_CM_DESTROY_ID, id);
	id_op(a, XENIB_CM_DESTROY_ID, l);
}

static void test_protocol(struct chan *a)
{
	struct xenib_cm_open_req o = { .hdr.opcode = XENIB_CM_OPEN,
				       .abi_version = XENIB_CM_ABI_VERSION };
	struct xenib_cm_create_id_req q = { .hdr.opcode = XENIB_CM_CREATE_ID,
					    .ps = RDMA_PS_TCP };
	struct xenib_cm_resolve_addr_req ra = {
		.hdr.opcode = XENIB_CM_RESOLVE_ADDR };
	struct chan raw;
	uint32_t id;
	int g, bfd;

	CHECK(chan_req(a, &o, sizeof(o), -1, NULL, 0) == EBADF,
	      "CM_OPEN without a notifier: EBADF");
	hv_notify_pair(&g, &bfd);
	CHECK(chan_req(a, &o, sizeof(o), bfd, NULL, 0) == EEXIST,
	      "a second CM_OPEN: EEXIST");
	close(g);
	CHECK(chan_req(a, &q, sizeof(q) - 1, -1, NULL, 0) == EINVAL,
	      "short request: EINVAL");
	q.qp_type = IBV_QPT_UD;
	CHECK(chan_req(a, &q, sizeof(q), -1, NULL, 0) == EINVAL,
	      "PS_TCP with a UD QP type: EINVAL");
	q.ps = 0x4242;
	CHECK(chan_req(a, &q, sizeof(q), -1, NULL, 0) == EINVAL,
	      "unknown port space: EINVAL");
	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &id);
	ra.id = id;
	ra.dst.family = 12345;
	CHECK(chan_req(a, &ra, sizeof(ra), -1, NULL, 0) == EAFNOSUPPORT,
	      "unknown address family: EAFNOSUPPORT");
	ra.dst = lo(1);
	ra.src.family = AF_INET6;
	CHECK(chan_req(a, &ra, sizeof(ra), -1, NULL, 0) == EINVAL,
	      "source and destination of different families: EINVAL");
	CHECK(id_op(a, XENIB_CM_ESTABLISH, id) == EINVAL &&
	      id_op(a, XENIB_CM_DISCONNECT, id) == EINVAL,
	      "connection requests in the wrong state: EINVAL");
	CHECK(id_op(a, XENIB_CM_DESTROY_ID, id + 1) == ENOENT,
	      "a stale handle: ENOENT");
	id_op(a, XENIB_CM_DESTROY_ID, id);
	CHECK(id_op(a, XENIB_CM_DESTROY_ID, id) == ENOENT,
	      "destroying twice: ENOENT");

	/* CM requests before CM_OPEN, CM_OPEN of a foreign ABI. */
	memset(&raw, 0, sizeof(raw));
	chan_open(&raw, "raw");
	chan_close(&raw);
	{
		struct xenib_hello_req h = { .hdr.opcode = XENIB_CMD_HELLO,
					     .abi_version = XENIB_ABI_VERSION,
					     .guest_name = "raw" };
		raw.ctx = tb_ctx_new(&raw.sock);
		raw.fd = -1;
		q.ps = RDMA_PS_TCP;
		q.qp_type = IBV_QPT_RC;
		CHECK(chan_req(&raw, &q, sizeof(q), -1, NULL, 0) == EPROTO,
		      "CM request before HELLO: EPROTO");
		chan_req(&raw, &h, sizeof(h), -1, NULL, 0);
		CHECK(chan_req(&raw, &q, sizeof(q), -1, NULL, 0) == EPROTO,
		      "CM request before CM_OPEN: EPROTO");
		o.abi_version = 99;
		hv_notify_pair(&g, &bfd);
		CHECK(chan_req(&raw, &o, sizeof(o), bfd, NULL, 0) ==
		      EPROTONOSUPPORT, "CM_OPEN of another ABI");
		close(g);
		xd_ctx_destroy(raw.ctx);
		close(raw.sock);
	}
}

static void test_messages(void)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_REP;
	m.slid = m.dlid = 2;
	CHECK(!cm_msg_check(&m), "a plain REP is well formed");
	m.pdata[XENIB_CM_REP_PDATA] = 1;
	CHECK(cm_msg_check(&m), "bytes past the REP's private data: refused");
	m.pdata[XENIB_CM_REP_PDATA] = 0;
	m.qpn = 0x1000000;
	CHECK(cm_msg_check(&m), "a QPN wider than 24 bits: refused");
	m.qpn = 0;
	m.type = 0;
	CHECK(cm_msg_check(&m), "type 0: refused");
	m.type = CM_MSG_MAX;
	CHECK(cm_msg_check(&m), "unknown type: refused");
	m.type = CM_MSG_REQ;
	m.qp_type = IBV_QPT_UD;
	CHECK(cm_msg_check(&m), "a REQ for UD: refused");
	m.qp_type = IBV_QPT_RC;
	m.responder_resources = 200;
	CHECK(cm_msg_check(&m), "responder resources past the device's");
	m.responder_resources = 0;
	m.slid = 0;
	CHECK(cm_msg_check(&m), "no source LID: refused");
}

static void test_quotas(struct chan *c, uint32_t qpc)
{
	static uint32_t ids[CM_MAX_IDS + 1];
	uint32_t n, extra;
	int err = 0;

	for (n = 0; n < CM_MAX_IDS && !err; n++)
		err = id_create(c, RDMA_PS_TCP, IBV_QPT_RC, &ids[n]);
	CHECK(!err && n == CM_MAX_IDS, "%u ids (the limit)", n);
	CHECK(id_create(c, RDMA_PS_TCP, IBV_QPT_RC, &extra) == EDQUOT,
	      "one more id: EDQUOT");
	for (n = 0; n < CM_MAX_LISTEN; n++)
		if (bind_listen(c, ids[n], 41000 + n, 1))
			break;
	CHECK(n == CM_MAX_LISTEN, "%u listeners (the limit)", n);
	CHECK(bind_listen(c, ids[CM_MAX_LISTEN], 41000 + CM_MAX_LISTEN, 1) ==
	      EDQUOT, "one more listener: EDQUOT");
	/* Connections in flight: a black hole keeps them pending. */
	cm.peer = &black_hole;
	for (n = CM_MAX_LISTEN + 1; n < CM_MAX_LISTEN + 1 + CM_MAX_PENDING;
	     n++) {
		struct xenib_cm_event_resp e;

		route(c, ids[n], 42000);
		(void)e;
		if (conn_op(c, XENIB_CM_CONNECT, ids[n], qpc))
			break;
	}
	CHECK(n == CM_MAX_LISTEN + 1 + CM_MAX_PENDING,
	      "%u connections in flight (the limit)", CM_MAX_PENDING);
	route(c, ids[n], 42000);
	CHECK(conn_op(c, XENIB_CM_CONNECT, ids[n], qpc) == EDQUOT,
	      "one more connection in flight: EDQUOT");
	cm.peer = &cm_local_peer;
	for (n = 0; n < CM_MAX_IDS; n++)
		id_op(c, XENIB_CM_DESTROY_ID, ids[n]);
	CHECK(cm_use(c->ctx->guest)->ids == 0 &&
	      cm_use(c->ctx->guest)->listens == 0 &&
	      cm_use(c->ctx->guest)->pending == 0, "usage back to zero");
}

/* ------------------------------------------------------------------ */
/* Another host (cm_hook.h's remote ops): LIDs 0x500 and 0x501 are one   */
/* host's, 0x600 another's; 192.0.2.7 is the first host's address.       */

static struct cm_msg rm_last;
static unsigned int rm_sent;

static int rm_send(const struct cm_msg *m)
{
	rm_last = *m;
	rm_sent++;
	return 0;
}

static int rm_resolve(const struct xenib_cm_addr *dst, uint16_t *lid,
		      uint8_t gid[16])
{
	static const uint8_t far[4] = { 192, 0, 2, 7 };

	if (dst->family != AF_INET || memcmp(dst->addr, far, 4))
		return ENOENT;
	*lid = 0x500;
	memset(gid, 0, 16);
	gid[0] = 0xfe, gid[1] = 0x80, gid[15] = 0x55;
	return 0;
}

static bool rm_same_host(uint16_t x, uint16_t y)
{
	return (x == 0x500 || x == 0x501) && (y == 0x500 || y == 0x501);
}

static const struct xd_cm_remote_ops fake_remote = {
	.send = rm_send, .resolve = rm_resolve, .same_host = rm_same_host,
};

/* A message from the far side, as the fabric hands it over; tick after. */
static int from_far(uint8_t type, uint16_t slid, uint16_t dlid,
		    uint32_t comm, uint32_t rcomm)
{
	struct cm_msg m;
	int err;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.qp_type = IBV_QPT_RC;
	m.slid = slid;
	m.dlid = dlid;
	m.local_comm_id = comm;
	m.remote_comm_id = rcomm;
	m.qpn = 0x4242;
	m.psn = 77;
	m.mtu = IBV_MTU_4096;
	m.service_id = (uint64_t)RDMA_PS_TCP << 16 | 40900;
	err = xd_cm_deliver(&m);
	advance(0.1);
	return err;
}

static void test_remote(struct chan *a, uint32_t qpa)
{
	struct xenib_cm_resolve_addr_req ra = {
		.hdr.opcode = XENIB_CM_RESOLVE_ADDR, .src = lo(0) };
	struct xenib_cm_resolve_route_req rr = {
		.hdr.opcode = XENIB_CM_RESOLVE_ROUTE };
	struct xenib_cm_event_resp e;
	struct cm_port me;
	uint32_t id, req_comm;

	xd_cm_set_remote(&fake_remote);
	cm_dev_port(a->ctx->guest, &me);
	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &id);
	ra.id = rr.id = id;
	ra.dst.family = AF_INET;
	ra.dst.port = 40900;
	memcpy(ra.dst.addr, (uint8_t[]){ 192, 0, 2, 99 }, 4);
	CHECK(!chan_req(a, &ra, sizeof(ra), -1, NULL, 0), "resolve 192.0.2.99");
	expect_event(a, RDMA_CM_EVENT_ADDR_ERROR, -EHOSTUNREACH,
		     "an address neither here nor on another host");
	id_op(a, XENIB_CM_DESTROY_ID, id);

	id_create(a, RDMA_PS_TCP, IBV_QPT_RC, &id);
	ra.id = rr.id = id;
	ra.dst.addr[3] = 7;
	CHECK(!chan_req(a, &ra, sizeof(ra), -1, NULL, 0), "resolve 192.0.2.7");
	expect_event(a, RDMA_CM_EVENT_ADDR_RESOLVED, 0, "another host's address");
	CHECK(!chan_req(a, &rr, sizeof(rr), -1, NULL, 0), "resolve route");
	expect_event(a, RDMA_CM_EVENT_ROUTE_RESOLVED, 0, "its route");
	rm_sent = 0;
	CHECK(!conn_op(a, XENIB_CM_CONNECT, id, qpa), "connect");
	CHECK(rm_sent == 1 && rm_last.type == CM_MSG_REQ &&
	      rm_last.dlid == 0x500 && rm_last.slid == me.lid,
	      "the REQ goes to the other host's port (sent %u, dlid %#x)",
	      rm_sent, rm_last.dlid);
	req_comm = rm_last.local_comm_id;
	CHECK(from_far(CM_MSG_REP, 0x600, me.lid, 0x77, req_comm) == 0 &&
	      get_event(a, &e) == EAGAIN,
	      "a REP from a third host is ignored");
	CHECK(from_far(CM_MSG_REP, 0x501, me.lid, 0x78, req_comm) == 0,
	      "a REP from the host asked");
	expect_event(a, RDMA_CM_EVENT_CONNECT_RESPONSE, 0,
		     "taken, from the port that answered");
	CHECK(!id_op(a, XENIB_CM_ESTABLISH, id) && rm_last.type == CM_MSG_RTU &&
	      rm_last.dlid == 0x501, "the RTU goes to that port");

	rm_sent = 0;
	CHECK(from_far(CM_MSG_REQ, 0x600, 0x7777, 0x99, 0) == 0 &&
	      rm_sent == 1 && rm_last.type == CM_MSG_REJ &&
	      rm_last.rej_reason == CM_REJ_INVALID_SID && rm_last.dlid == 0x600,
	      "a REQ for any LID of this host nobody listens for: REJ 8 back");
	CHECK(from_far(CM_MSG_DREQ, 0x600, 0x7777, 0x99, 5) == EHOSTUNREACH,
	      "a DREQ for a LID no guest here has: EHOSTUNREACH");
	CHECK(from_far(CM_MSG_MAX, 0x600, me.lid, 0x99, 5) == EINVAL,
	      "a malformed message from another host: EINVAL");

	CHECK(!id_op(a, XENIB_CM_DESTROY_ID, id), "destroy");
	advance(120);		/* timewait, DREQ retries into the void */
	xd_cm_set_remote(NULL);
}

int main(void)
{
	struct chan a, b, c;
	uint32_t qpa, qpb, qpc, qpx;

	xd_config_defaults(&xd.cfg);
	xd.cfg.max_guests = 8;
	xd.cfg.limits.qps = 0;
	if (xd_state_init())
		return 1;
	cm.clock = fake_clock;
	if (getenv("XENIB_TEST_VERBOSE") == NULL) {
		FILE *null = fopen("/dev/null", "w");

		if (null)
			stderr = null;	/* xenibd logs every refused request */
	}
	chan_open(&a, "a");
	chan_open(&b, "b");
	chan_open(&c, "c");
	qpa = make_qp("a");
	qpb = make_qp("b");
	qpc = make_qp("c");

	test_messages();
	test_protocol(&a);
	test_req_lost(&a, qpa);
	test_mra(&a, qpa, &b);
	test_rep_no_rtu(&a, qpa, &b, qpb);
	test_dreq_lost(&a, qpa, &b, qpb);
	test_sidr_lost(&a);
	test_remote(&a, qpa);
	/*
	 * QPNs are per guest: a's first QPN may be c's too.  One of two QPNs
	 * of a is not c's (c has one QP).
	 */
	qpx = make_qp("a");
	test_hostile(&a, qpx == qpc ? qpa : qpx, &c, qpc);
	test_quotas(&c, qpc);

	chan_close(&a);
	chan_close(&b);
	chan_close(&c);
	free_qps();
	CHECK(cm.stats.ids == 0 && cm.stats.chans == 0 &&
	      cm.stats.listens == 0 && cm.stats.conns == 0,
	      "no CM object left (ids %lld chans %lld)", cm.stats.ids,
	      cm.stats.chans);
	printf("test_cm: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
