// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_rsocket, hostile peers: plain rdma_cm clients speaking to an
 * rsocket listener with no rsocket hello, a bad one, or a good one and
 * then garbage messages.  They must be refused, or break only their own
 * connection; the listener goes on serving rsockets.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>
#include <rdma/rsocket.h>

#include "tests/common/check.h"
#include "tests/cm/rsocket_fixture.h"

/* Heap, not stack: registering memory re-maps its pages (emulation). */
struct raw {
	struct rdma_cm_id *id;
	struct rdma_event_channel *ch;
	struct ibv_mr *mr;
	char buf[4096];
};

/*
 * Connect a plain RC id with the given private data, turning the rsocket
 * listener l (non-blocking) meanwhile, as its owner would; the id's final
 * event, and in *acc what raccept gave (or -1).
 */
static int raw_connect(struct raw *r, int l, uint16_t port, const void *pd,
		       uint8_t pdlen, int *acc)
{
	struct sockaddr_in sin = sin_of("127.0.0.1", port);
	struct ibv_qp_init_attr qa;
	struct rdma_conn_param cp;
	struct rdma_cm_event *ev;
	struct pollfd p;
	int t, i;

	*acc = -1;
	memset(r, 0, sizeof(*r));
	r->ch = rdma_create_event_channel();
	if (!r->ch || rdma_create_id(r->ch, &r->id, NULL, RDMA_PS_TCP) ||
	    rdma_resolve_addr(r->id, NULL, (struct sockaddr *)&sin, 2000) ||
	    rdma_get_cm_event(r->ch, &ev))
		return -1;
	t = ev->event;
	rdma_ack_cm_event(ev);
	if (t != RDMA_CM_EVENT_ADDR_RESOLVED ||
	    rdma_resolve_route(r->id, 2000) || rdma_get_cm_event(r->ch, &ev))
		return -1;
	t = ev->event;
	rdma_ack_cm_event(ev);
	if (t != RDMA_CM_EVENT_ROUTE_RESOLVED)
		return -1;
	memset(&qa, 0, sizeof(qa));
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 16;
	qa.cap.max_recv_wr = 16;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	qa.cap.max_inline_data = 64;
	qa.sq_sig_all = 1;
	if (rdma_create_qp(r->id, NULL, &qa))
		return -1;
	r->mr = ibv_reg_mr(r->id->qp->pd, r->buf, sizeof(r->buf),
			   IBV_ACCESS_LOCAL_WRITE);
	memset(&cp, 0, sizeof(cp));
	cp.private_data = pd;
	cp.private_data_len = pdlen;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (rdma_connect(r->id, &cp))
		return -1;
	p.fd = r->ch->fd;
	p.events = POLLIN;
	for (i = 0; i < 500; i++) {
		if (*acc < 0)
			*acc = raccept(l, NULL, NULL);
		if (poll(&p, 1, 10) == 1)
			break;
	}
	if (rdma_get_cm_event(r->ch, &ev))
		return -1;
	t = ev->event;
	rdma_ack_cm_event(ev);
	if (*acc >= 0)
		rfcntl(*acc, F_SETFL, 0);
	return t;
}

static void raw_free(struct raw *r)
{
	if (r->id && r->id->qp)
		rdma_destroy_qp(r->id);
	if (r->mr)
		ibv_dereg_mr(r->mr);
	if (r->id)
		rdma_destroy_id(r->id);
	if (r->ch)
		rdma_destroy_event_channel(r->ch);
}

static int raw_send_imm(struct raw *r, uint32_t imm, uint32_t len)
{
	struct ibv_sge sge = { (uintptr_t)r->buf, len, r->mr->lkey };
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;
	int i;

	memset(&wr, 0, sizeof(wr));
	wr.opcode = IBV_WR_SEND_WITH_IMM;
	wr.imm_data = htobe32(imm);
	wr.sg_list = &sge;
	wr.num_sge = len ? 1 : 0;
	if (ibv_post_send(r->id->qp, &wr, &bad))
		return -1;
	for (i = 0; i < 5000; i++) {
		if (ibv_poll_cq(r->id->send_cq, 1, &wc) == 1)
			return wc.status == IBV_WC_SUCCESS ? 0 : -1;
		usleep(1000);
	}
	return -1;
}

struct hello {			/* our rsockets' private data (rsocket.h) */
	uint32_t magic;
	uint16_t version, reserved;
	uint32_t nbuf, bufsz, iomap_size;
};

void test_hostile(void)
{
	struct hello h = { 0x31535258u, 1, 0, 8, 16384, 0 };
	struct raw *r = aligned_alloc(4096, 8192);
	uint16_t port;
	int l, s, c, t;
	char buf[64];

	l = listener(&port);
	nonblock(l);

	/* No hello, or a bad one: refused, nothing reaches raccept. */
	t = raw_connect(r, l, port, "hi", 2, &s);
	CHECK(t == RDMA_CM_EVENT_REJECTED && s < 0,
	      "no rsocket hello: rejected (%d, %d)", t, s);
	raw_free(r);
	h.bufsz = 1u << 30;
	t = raw_connect(r, l, port, &h, sizeof(h), &s);
	CHECK(t == RDMA_CM_EVENT_REJECTED && s < 0,
	      "a 1 GiB buffer claimed: rejected");
	raw_free(r);
	h.bufsz = 16384;
	h.version = 9;
	t = raw_connect(r, l, port, &h, sizeof(h), &s);
	CHECK(t == RDMA_CM_EVENT_REJECTED && s < 0,
	      "unknown version: rejected");
	raw_free(r);
	h.version = 1;

	/* A valid hello, then garbage: only that connection breaks. */
	t = raw_connect(r, l, port, &h, sizeof(h), &s);
	CHECK(t == RDMA_CM_EVENT_ESTABLISHED && s >= 0,
	      "a raw peer with a good hello: accepted (%d)", t);
	memcpy(r->buf, "evil", 4);
	CHECK(!raw_send_imm(r, 4, 4), "a data message");
	CHECK(rrecv(s, buf, sizeof(buf), 0) == 4, "delivered");
	CHECK(!raw_send_imm(r, 0xf0000000u, 8), "then type 15");
	CHECK(rrecv(s, buf, sizeof(buf), 0) < 0 && errno == ECONNRESET,
	      "the connection is broken (%s), not the process",
	      strerror(errno));
	rclose(s);
	raw_free(r);

	t = raw_connect(r, l, port, &h, sizeof(h), &s);
	CHECK(t == RDMA_CM_EVENT_ESTABLISHED && s >= 0, "raw peer again");
	memset(r->buf, 0xff, 40);
	CHECK(!raw_send_imm(r, 3u << 28, 40), "an IOMAP of a slot not there");
	CHECK(rrecv(s, buf, sizeof(buf), 0) < 0, "broken");
	rclose(s);
	raw_free(r);

	t = raw_connect(r, l, port, &h, sizeof(h), &s);
	CHECK(t == RDMA_CM_EVENT_ESTABLISHED && s >= 0, "raw peer again");
	CHECK(!raw_send_imm(r, 0, 0), "a zero-length data message");
	CHECK(!raw_send_imm(r, 0, 4), "then real data");
	CHECK(rrecv(s, buf, sizeof(buf), 0) == 4, "only the data counts");
	rclose(s);
	raw_free(r);

	/* And the listener still serves rsockets. */
	{
		struct conn_args a = { .port = port };
		pthread_t th;

		rfcntl(l, F_SETFL, 0);
		pthread_create(&th, NULL, connect_thread, &a);
		s = raccept(l, NULL, NULL);
		pthread_join(th, NULL);
		c = a.fd;
		CHECK(s >= 0 && c >= 0 && rsend(c, "ok", 2, 0) == 2 &&
		      rrecv(s, buf, 2, MSG_WAITALL) == 2,
		      "the listener still works");
		rclose(c);
		rclose(s);
	}
	rclose(l);
	free(r);
}
