// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rdma_cm semantics through our librdmacm and a real xenibd, both ends in
 * this process (one guest): what applications rely on and Debian's tools do
 * not all show.  Event channels are pollable, non-blocking on request, and
 * readable exactly while events wait; private-data lengths per event are
 * the IB CM's; REJ reasons 8 (no listener), 28 (consumer), 35 (ECE); a
 * connection without a QP on the id gets CONNECT_RESPONSE and completes
 * with rdma_establish; SIDR for UD ids; migration between channels; bind
 * conflicts and ephemeral ports; options; QPN ownership.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>

#include "tests/common/check.h"
#include "tests/cm/cm_api.h"


static void test_connect(void)
{
	struct rdma_event_channel *cs = channel(), *cc = channel();
	uint16_t port = next_port++;
	struct rdma_cm_id *l = listener(cs, RDMA_PS_TCP, port, 4), *c, *s = NULL;
	struct ibv_qp_init_attr qa;
	struct rdma_conn_param p;
	struct rdma_cm_event *ev;
	struct ibv_qp_attr a;
	uint8_t tmo = 20;
	int mask;

	c = client(cc, RDMA_PS_TCP, port, true);
	CHECK(!rdma_set_option(c, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT,
			       &tmo, sizeof(tmo)), "ACK_TIMEOUT option");
	conn_param(&p, "hello");
	CHECK(!rdma_connect(c, &p), "connect: %s", strerror(errno));
	ev = EXPECT(cs, RDMA_CM_EVENT_CONNECT_REQUEST);
	if (ev) {
		s = ev->id;
		CHECK(ev->listen_id == l, "CONNECT_REQUEST names the listener");
		CHECK(ev->param.conn.private_data_len == 56,
		      "REQ private data: 56 bytes (got %u)",
		      ev->param.conn.private_data_len);
		CHECK(ev->param.conn.private_data &&
		      !strcmp(ev->param.conn.private_data, "hello"),
		      "REQ private data delivered");
		CHECK(ev->param.conn.qp_num == c->qp->qp_num,
		      "REQ carries the client's QPN");
		CHECK(s->verbs != NULL && s->route.path_rec,
		      "new id bound to the device, with a path");
		CHECK(ntohs(rdma_get_dst_port(s)) == ntohs(rdma_get_src_port(c)),
		      "new id's peer port is the client's port");
		ack(ev);
	}
	if (!s)
		goto out;
	qp_attr_init(&qa, IBV_QPT_RC);
	CHECK(!rdma_create_qp(s, NULL, &qa), "server QP");
	conn_param(&p, "world");
	CHECK(!rdma_accept(s, &p), "accept: %s", strerror(errno));
	ev = EXPECT(cc, RDMA_CM_EVENT_ESTABLISHED);
	if (ev) {
		CHECK(ev->param.conn.private_data_len == 196,
		      "REP private data: 196 bytes (got %u)",
		      ev->param.conn.private_data_len);
		CHECK(ev->param.conn.private_data &&
		      !strcmp(ev->param.conn.private_data, "world"),
		      "REP private data delivered");
		CHECK(ev->param.conn.qp_num == s->qp->qp_num,
		      "REP carries the server's QPN");
		ack(ev);
	}
	ack(EXPECT(cs, RDMA_CM_EVENT_ESTABLISHED));

	a.qp_state = IBV_QPS_RTR;
	CHECK(!rdma_init_qp_attr(c, &a, &mask), "init_qp_attr RTR");
	CHECK(a.dest_qp_num == s->qp->qp_num && (mask & IBV_QP_DEST_QPN) &&
	      (mask & IBV_QP_AV) && a.ah_attr.dlid && a.path_mtu == IBV_MTU_4096,
	      "RTR: the server's QPN, its LID, MTU 4096");
	a.qp_state = IBV_QPS_INIT;
	CHECK(!rdma_init_qp_attr(c, &a, &mask) &&
	      (a.qp_access_flags & IBV_ACCESS_REMOTE_READ) &&
	      (a.qp_access_flags & IBV_ACCESS_REMOTE_WRITE),
	      "INIT: remote read and write (responder resources 1)");
	a.qp_state = IBV_QPS_RTS;
	CHECK(!rdma_init_qp_attr(c, &a, &mask) && a.timeout == 20 &&
	      a.retry_cnt == 7, "RTS: ACK timeout 20 as set, retry 7");
	a.qp_state = IBV_QPS_RTS;
	CHECK(!rdma_init_qp_attr(s, &a, &mask) && a.timeout == 15,
	      "RTS default ACK timeout: packet life time + 1 (got %u)",
	      a.timeout);

	CHECK(!rdma_disconnect(c), "client disconnects");
	ack(EXPECT(cs, RDMA_CM_EVENT_DISCONNECTED));
	CHECK(!rdma_disconnect(s), "server answers the DREQ");
	ack(EXPECT(cc, RDMA_CM_EVENT_DISCONNECTED));
	CHECK(rdma_disconnect(c) && errno == EINVAL,
	      "disconnecting twice: EINVAL");
	ack(EXPECT(cc, RDMA_CM_EVENT_TIMEWAIT_EXIT));
	ack(EXPECT(cs, RDMA_CM_EVENT_TIMEWAIT_EXIT));
out:
	teardown(cs, cc, s, c, l);
}

static void test_reject(void)
{
	struct rdma_event_channel *cs = channel(), *cc = channel();
	uint16_t port = next_port++;
	struct rdma_cm_id *l, *c;
	struct rdma_conn_param p;
	struct rdma_cm_event *ev;

	/* Nobody listens: reason 8, "invalid service ID". */
	conn_param(&p, NULL);
	c = connecting(cc, RDMA_PS_TCP, port, &p, "connect");
	ev = EXPECT(cc, RDMA_CM_EVENT_REJECTED);
	if (ev) {
		CHECK(ev->status == 8, "no listener: status 8 (got %d)",
		      ev->status);
		CHECK(ev->param.conn.private_data_len == 148,
		      "REJ private data: 148 bytes (got %u)",
		      ev->param.conn.private_data_len);
		ack(ev);
	}
	destroy(c);

	/* The application rejects: reason 28 with its data; ECE: 35. */
	l = listener(cs, RDMA_PS_TCP, port, 4);
	for (int ece = 0; ece < 2; ece++) {
		c = connecting(cc, RDMA_PS_TCP, port, &p, "connect");
		ev = EXPECT(cs, RDMA_CM_EVENT_CONNECT_REQUEST);
		if (ev) {
			struct rdma_cm_id *s = ev->id;

			ack(ev);
			CHECK(!(ece ? rdma_reject_ece(s, "nope", 5) :
				      rdma_reject(s, "nope", 5)), "reject");
			destroy(s);
		}
		ev = EXPECT(cc, RDMA_CM_EVENT_REJECTED);
		if (ev) {
			CHECK(ev->status == (ece ? 35 : 28),
			      "rejected by the application: status %d (got %d)",
			      ece ? 35 : 28, ev->status);
			CHECK(ev->param.conn.private_data_len == 148 &&
			      !strcmp(ev->param.conn.private_data, "nope"),
			      "REJ carries the application's data");
			ack(ev);
		}
		destroy(c);
	}

	/* A listener that goes away with requests nobody took: rejected. */
	c = connecting(cc, RDMA_PS_TCP, port, &p, "connect");
	CHECK(readable(cs, 2000), "the request is queued at the listener");
	destroy(l);
	EXPECT_STATUS(cc, RDMA_CM_EVENT_REJECTED, 28, "listener destroyed");
	destroy(c);

	/* Backlog 1: a second request while the first waits is refused. */
	l = listener(cs, RDMA_PS_TCP, port, 1);
	c = client(cc, RDMA_PS_TCP, port, true);
	struct rdma_cm_id *c2 = client(cc, RDMA_PS_TCP, port, true);

	CHECK(!rdma_connect(c, &p) && !rdma_connect(c2, &p), "two connects");
	ev = EXPECT(cc, RDMA_CM_EVENT_REJECTED);
	if (ev) {
		CHECK(ev->id == c2 && ev->status == 28,
		      "backlog full: the second is refused (28)");
		ack(ev);
	}
	teardown(cs, cc, c2, c, l);
}

/* No QP on the id: CONNECT_RESPONSE, the application moves its own QP. */
static void test_no_qp(void)
{
	struct rdma_event_channel *cs = channel(), *cc = channel();
	uint16_t port = next_port++;
	struct rdma_cm_id *l = listener(cs, RDMA_PS_TCP, port, 4), *c, *s = NULL;
	struct ibv_qp_init_attr qa;
	struct rdma_conn_param p;
	struct rdma_cm_event *ev;
	struct ibv_cq *cq = NULL;
	struct ibv_qp *qp = NULL;
	struct ibv_qp_attr a;
	int mask;

	c = client(cc, RDMA_PS_TCP, port, false);
	cq = ibv_create_cq(c->verbs, 8, NULL, NULL, 0);
	qp_attr_init(&qa, IBV_QPT_RC);
	qa.send_cq = qa.recv_cq = cq;
	qp = ibv_create_qp(c->pd, &qa);
	CHECK(cq && qp, "own CQ and QP");
	if (!qp)
		goto out;
	a.qp_state = IBV_QPS_INIT;
	CHECK(!rdma_init_qp_attr(c, &a, &mask) && !ibv_modify_qp(qp, &a, mask),
	      "own QP to INIT");
	conn_param(&p, NULL);
	p.qp_num = 0xfffff0;
	CHECK(rdma_connect(c, &p) && errno == EINVAL,
	      "connecting with a QPN that is not ours: EINVAL");
	p.qp_num = qp->qp_num;
	CHECK(!rdma_connect(c, &p), "connect with our QPN");
	ev = EXPECT(cs, RDMA_CM_EVENT_CONNECT_REQUEST);
	if (ev) {
		s = ev->id;
		ack(ev);
		qp_attr_init(&qa, IBV_QPT_RC);
		CHECK(!rdma_create_qp(s, NULL, &qa), "server QP");
		CHECK(!rdma_accept(s, NULL), "accept");
	}
	ev = EXPECT(cc, RDMA_CM_EVENT_CONNECT_RESPONSE);
	ack(ev);
	a.qp_state = IBV_QPS_RTR;
	CHECK(!rdma_init_qp_attr(c, &a, &mask) && !ibv_modify_qp(qp, &a, mask),
	      "own QP to RTR");
	a.qp_state = IBV_QPS_RTS;
	CHECK(!rdma_init_qp_attr(c, &a, &mask) && !ibv_modify_qp(qp, &a, mask),
	      "own QP to RTS");
	CHECK(!rdma_establish(c), "rdma_establish sends the RTU");
	ack(EXPECT(cs, RDMA_CM_EVENT_ESTABLISHED));
	destroy(s);
	ack(EXPECT(cc, RDMA_CM_EVENT_DISCONNECTED));
out:
	if (qp)
		ibv_destroy_qp(qp);
	if (cq)
		ibv_destroy_cq(cq);
	teardown(cs, cc, NULL, c, l);
}

static void test_ud(void)
{
	struct rdma_event_channel *cs = channel(), *cc = channel();
	uint16_t port = next_port++;
	struct rdma_cm_id *l, *c, *s = NULL;
	struct ibv_qp_init_attr qa;
	struct rdma_conn_param p;
	struct rdma_cm_event *ev;

	conn_param(&p, NULL);
	c = connecting(cc, RDMA_PS_UDP, port, &p, "SIDR REQ to nobody");
	EXPECT_STATUS(cc, RDMA_CM_EVENT_UNREACHABLE, 1, "no listener: SIDR");
	destroy(c);

	l = listener(cs, RDMA_PS_UDP, port, 4);
	conn_param(&p, "sidr");
	c = connecting(cc, RDMA_PS_UDP, port, &p, "SIDR REQ");
	ev = EXPECT(cs, RDMA_CM_EVENT_CONNECT_REQUEST);
	if (ev) {
		s = ev->id;
		CHECK(ev->param.ud.private_data_len == 180 &&
		      !strcmp(ev->param.ud.private_data, "sidr"),
		      "SIDR REQ private data: 180 bytes (got %u)",
		      ev->param.ud.private_data_len);
		ack(ev);
	}
	if (s) {
		qp_attr_init(&qa, IBV_QPT_UD);
		CHECK(!rdma_create_qp(s, NULL, &qa), "server UD QP");
		conn_param(&p, "rep");
		CHECK(!rdma_accept(s, &p), "SIDR REP");
		ev = EXPECT(cc, RDMA_CM_EVENT_ESTABLISHED);
		if (ev) {
			CHECK(ev->param.ud.qp_num == s->qp->qp_num &&
			      ev->param.ud.qkey == RDMA_UDP_QKEY,
			      "the server's QPN and RDMA_UDP_QKEY");
			CHECK(ev->param.ud.private_data_len == 136 &&
			      !strcmp(ev->param.ud.private_data, "rep"),
			      "SIDR REP private data: 136 bytes (got %u)",
			      ev->param.ud.private_data_len);
			CHECK(ev->param.ud.ah_attr.dlid != 0 &&
			      ev->param.ud.ah_attr.port_num == 1,
			      "address vector of the server's port");
			ack(ev);
		}
	}
	teardown(cs, cc, s, c, l);
}

static void test_migrate(void)
{
	struct rdma_event_channel *a = channel(), *b = channel();
	struct sockaddr_in d = sin_of("127.0.0.1", 9);
	struct rdma_cm_id *id;

	CHECK(!rdma_create_id(a, &id, NULL, RDMA_PS_TCP), "id");
	CHECK(!rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, 100), "resolve");
	CHECK(readable(a, 2000), "event queued on the first channel");
	CHECK(!rdma_migrate_id(id, b), "migrate: %s", strerror(errno));
	CHECK(id->channel == b, "id->channel is the new channel");
	ack(EXPECT(b, RDMA_CM_EVENT_ADDR_RESOLVED));
	CHECK(!readable(b, 0), "nothing more on the new channel");
	destroy(id);
	rdma_destroy_event_channel(a);
	rdma_destroy_event_channel(b);
}

static void test_bind(void)
{
	struct rdma_event_channel *ch = channel();
	uint16_t port = next_port++;
	struct sockaddr_in lo = sin_of("127.0.0.1", port);
	struct sockaddr_in any = sin_of("0.0.0.0", port);
	struct sockaddr_in eph = sin_of("127.0.0.1", 0);
	struct sockaddr_in far = sin_of("198.51.100.77", port);
	struct rdma_cm_id *x, *y, *z;
	int one = 1;

	rdma_create_id(ch, &x, NULL, RDMA_PS_TCP);
	rdma_create_id(ch, &y, NULL, RDMA_PS_TCP);
	rdma_create_id(ch, &z, NULL, RDMA_PS_TCP);
	CHECK(!rdma_bind_addr(x, (struct sockaddr *)&lo), "bind 127.0.0.1");
	CHECK(rdma_bind_addr(y, (struct sockaddr *)&lo) && errno == EADDRINUSE,
	      "same address and port: EADDRINUSE");
	CHECK(rdma_bind_addr(y, (struct sockaddr *)&any) &&
	      errno == EADDRNOTAVAIL, "wildcard over it: EADDRNOTAVAIL");
	CHECK(rdma_bind_addr(y, (struct sockaddr *)&far) &&
	      errno == EADDRNOTAVAIL, "an address of no host here");
	CHECK(!rdma_bind_addr(z, (struct sockaddr *)&eph), "bind port 0");
	CHECK(ntohs(rdma_get_src_port(z)) >= 32768 &&
	      ntohs(rdma_get_src_port(z)) <= 60999,
	      "ephemeral port %u", ntohs(rdma_get_src_port(z)));
	destroy(x);
	destroy(y);
	destroy(z);
	rdma_create_id(ch, &x, NULL, RDMA_PS_TCP);
	rdma_create_id(ch, &y, NULL, RDMA_PS_TCP);
	CHECK(!rdma_set_option(x, RDMA_OPTION_ID, RDMA_OPTION_ID_REUSEADDR,
			       &one, sizeof(one)) &&
	      !rdma_set_option(y, RDMA_OPTION_ID, RDMA_OPTION_ID_REUSEADDR,
			       &one, sizeof(one)), "REUSEADDR");
	CHECK(!rdma_bind_addr(x, (struct sockaddr *)&lo) &&
	      !rdma_bind_addr(y, (struct sockaddr *)&lo),
	      "both with REUSEADDR: both bind");
	/* As Linux: a listener needs the address for itself. */
	CHECK(rdma_listen(x, 1) && errno == EADDRINUSE,
	      "no listening while another id holds the address");
	destroy(y);
	CHECK(!rdma_listen(x, 1), "alone on it: listens");
	CHECK(rdma_set_option(x, RDMA_OPTION_ID, RDMA_OPTION_ID_REUSEADDR,
			      &one, 1) && errno == EINVAL, "bad optlen: EINVAL");
	destroy(x);
	rdma_destroy_event_channel(ch);
}

static void test_getaddrinfo(void)
{
	struct rdma_addrinfo hints = { 0 }, *res;

	hints.ai_flags = RAI_PASSIVE;
	hints.ai_port_space = RDMA_PS_TCP;
	CHECK(!rdma_getaddrinfo(NULL, "7471", &hints, &res), "passive");
	if (!res)
		return;
	CHECK(res->ai_src_addr && res->ai_src_len &&
	      res->ai_qp_type == IBV_QPT_RC && res->ai_port_space == RDMA_PS_TCP,
	      "passive: a source address, RC, PS_TCP");
	rdma_freeaddrinfo(res);
	memset(&hints, 0, sizeof(hints));
	hints.ai_port_space = RDMA_PS_UDP;
	hints.ai_qp_type = IBV_QPT_UD;
	CHECK(!rdma_getaddrinfo("127.0.0.1", "7471", &hints, &res), "active");
	CHECK(res && res->ai_dst_addr &&
	      ntohs(((struct sockaddr_in *)res->ai_dst_addr)->sin_port) == 7471 &&
	      res->ai_qp_type == IBV_QPT_UD, "active: destination, UD");
	rdma_freeaddrinfo(res);
}

int main(void)
{
	next_port = 30000 + getpid() % 20000;
	test_channel_fd();
	test_channel_limit();
	test_destroy_under_waiter();
	test_connect();
	test_reject();
	test_early_req();
	test_relisten();
	test_no_qp();
	test_ud();
	test_migrate();
	test_bind();
	test_getaddrinfo();
	printf("test_cm_api: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
