// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_cm_api, event channels: pollable, non-blocking on request,
 * readable exactly while events wait, their own limit (limit.cm_channels),
 * destroyed under a waiting thread; and REQs that come before their
 * listener (held on a bound id, kept for a port whose listener has just
 * gone), RC and UD.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/check.h"
#include "tests/cm/cm_api.h"

/*
 * Event channels are not device contexts: the guest may open more of them
 * than limit.contexts (64), up to limit.cm_channels (test_cm_api.sh: 100),
 * then EDQUOT; a verbs context still opens while they are all open.
 */
#define CHANNEL_LIMIT 100
void test_channel_limit(void)
{
	struct rdma_event_channel *ch[CHANNEL_LIMIT + 8];
	struct ibv_device **devs;
	struct ibv_context *vctx = NULL;
	int n, i, err = 0;

	for (n = 0; n < CHANNEL_LIMIT + 8; n++) {
		ch[n] = rdma_create_event_channel();
		if (!ch[n]) {
			err = errno;
			break;
		}
	}
	CHECK(n == CHANNEL_LIMIT && err == EDQUOT,
	      "%d event channels, then EDQUOT (got %d, then %s)",
	      CHANNEL_LIMIT, n, strerror(err));
	devs = ibv_get_device_list(NULL);
	if (devs && devs[0])
		vctx = ibv_open_device(devs[0]);
	CHECK(vctx != NULL, "a verbs context beside %d event channels: %s", n,
	      vctx ? "opened" : strerror(errno));
	if (vctx)
		ibv_close_device(vctx);
	if (devs)
		ibv_free_device_list(devs);
	for (i = 0; i < n; i++)
		rdma_destroy_event_channel(ch[i]);
	ch[0] = rdma_create_event_channel();
	CHECK(ch[0] != NULL, "an event channel again once they are closed");
	if (ch[0])
		rdma_destroy_event_channel(ch[0]);
}

/*
 * A blocking channel destroyed while a thread waits in rdma_get_cm_event
 * (rping's CM thread when main returns): as over the kernel's rdma_cm, the
 * thread stays blocked (no error return that would make the program exit
 * with a failure), and xenibd forgets the channel (test_cm_api.sh checks
 * cm_channels 0 at the end).
 */
static atomic_int waiter_returned;

static void *waiter(void *arg)
{
	struct rdma_cm_event *ev;

	if (!rdma_get_cm_event(arg, &ev))
		rdma_ack_cm_event(ev);
	atomic_store(&waiter_returned, 1);
	return NULL;
}

void test_destroy_under_waiter(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	pthread_t t;

	CHECK(ch != NULL, "blocking channel");
	if (!ch)
		return;
	CHECK(!pthread_create(&t, NULL, waiter, ch), "waiter thread");
	usleep(200 * 1000);	/* in rdma_get_cm_event's wait by now */
	rdma_destroy_event_channel(ch);
	usleep(300 * 1000);
	CHECK(!atomic_load(&waiter_returned),
	      "destroyed under a waiter: it stays blocked, no error return");
	pthread_detach(t);
}

void test_channel_fd(void)
{
	struct rdma_event_channel *ch = channel();
	struct sockaddr_in d = sin_of("127.0.0.1", 7);
	struct rdma_cm_event *ev;
	struct rdma_cm_id *a, *b;

	CHECK(rdma_get_cm_event(ch, &ev) && errno == EAGAIN,
	      "non-blocking channel without events: EAGAIN");
	CHECK(!readable(ch, 0), "no event: fd not readable");
	CHECK(!rdma_create_id(ch, &a, NULL, RDMA_PS_TCP), "id a");
	CHECK(!rdma_create_id(ch, &b, NULL, RDMA_PS_TCP), "id b");
	CHECK(!rdma_resolve_addr(a, NULL, (struct sockaddr *)&d, 100), "a");
	CHECK(!rdma_resolve_addr(b, NULL, (struct sockaddr *)&d, 100), "b");
	CHECK(readable(ch, 2000), "two events queued: fd readable");
	ack(EXPECT(ch, RDMA_CM_EVENT_ADDR_RESOLVED));
	CHECK(readable(ch, 0), "one event still queued: fd still readable");
	ack(EXPECT(ch, RDMA_CM_EVENT_ADDR_RESOLVED));
	CHECK(!readable(ch, 0), "all events taken: fd not readable");
	CHECK(rdma_get_cm_event(ch, &ev) && errno == EAGAIN, "EAGAIN again");
	destroy(a);
	destroy(b);
	rdma_destroy_event_channel(ch);
}
/*
 * A REQ before rdma_listen (qperf -cm1 sends its port between bind and
 * listen): held by xenibd on the bound id, received once it listens;
 * bound but never listening: REJ 8 after the hold (1 s), as with nobody.
 */
void test_early_req(void)
{
	struct rdma_event_channel *cs = channel(), *cc = channel();
	uint16_t port = next_port++;
	struct sockaddr_in a = sin_of("127.0.0.1", port);
	struct rdma_cm_id *l, *c, *s;
	struct rdma_conn_param p;
	struct rdma_cm_event *ev;

	CHECK(!rdma_create_id(cs, &l, NULL, RDMA_PS_TCP), "create id");
	CHECK(!rdma_bind_addr(l, (struct sockaddr *)&a), "bind %u", port);
	conn_param(&p, "early");
	c = connecting(cc, RDMA_PS_TCP, port, &p, "connect before the listen");
	CHECK(!readable(cc, 200) && !readable(cs, 0),
	      "no answer while the port is only bound");
	CHECK(!rdma_listen(l, 4), "listen");
	ev = EXPECT(cs, RDMA_CM_EVENT_CONNECT_REQUEST);
	s = NULL;
	if (ev) {
		struct ibv_qp_init_attr qa;

		s = ev->id;
		CHECK(ev->param.conn.private_data_len >= 6 &&
		      !strcmp(ev->param.conn.private_data, "early"),
		      "the held REQ carries its private data");
		ack(ev);
		qp_attr_init(&qa, IBV_QPT_RC);
		CHECK(!rdma_create_qp(s, NULL, &qa), "server QP");
		conn_param(&p, NULL);
		CHECK(!rdma_accept(s, &p), "accept");
	}
	ack(EXPECT(cc, RDMA_CM_EVENT_ESTABLISHED));
	ack(EXPECT(cs, RDMA_CM_EVENT_ESTABLISHED));
	CHECK(!rdma_disconnect(c), "disconnect");
	ack(EXPECT(cc, RDMA_CM_EVENT_DISCONNECTED));
	ack(EXPECT(cs, RDMA_CM_EVENT_DISCONNECTED));
	destroy(s);
	destroy(c);
	destroy(l);

	/* Bound, never listening: rejected after the hold. */
	port = next_port++;
	a = sin_of("127.0.0.1", port);
	CHECK(!rdma_create_id(cs, &l, NULL, RDMA_PS_TCP), "create id");
	CHECK(!rdma_bind_addr(l, (struct sockaddr *)&a), "bind %u", port);
	c = connecting(cc, RDMA_PS_TCP, port, &p,
		       "connect to a port never listened on");
	EXPECT_STATUS(cc, RDMA_CM_EVENT_REJECTED, 8, "not listening");
	destroy(c);

	/* Bound, a REQ held, the id destroyed: rejected at once. */
	c = connecting(cc, RDMA_PS_TCP, port, &p, "connect again");
	CHECK(!readable(cc, 200), "held");
	destroy(l);
	EXPECT_STATUS(cc, RDMA_CM_EVENT_REJECTED, 8, "bound id destroyed");
	teardown(cs, cc, NULL, c, NULL);
}

/*
 * A service that listens again on its port from a new id (perftest -R):
 * a REQ in the gap, while nobody has the port bound, is kept and reaches
 * the new listener; a REQ for a port nobody listened on is rejected at
 * once; a kept REQ that no new listener takes is rejected after the hold.
 * The same for SIDR REQs (UD).
 */
/* gone: the port space of the listener that goes (perftest -R -c UD: TCP). */
static void relisten_case(enum rdma_port_space ps, enum rdma_port_space gone)
{
	struct rdma_event_channel *cs = channel(), *cc = channel();
	const char *what = ps == RDMA_PS_UDP ? "SIDR REQ" : "REQ";
	enum rdma_cm_event_type refused = ps == RDMA_PS_UDP ?
		RDMA_CM_EVENT_UNREACHABLE : RDMA_CM_EVENT_REJECTED;
	int status = ps == RDMA_PS_UDP ? 1 : 8;
	uint16_t port = next_port++;
	struct rdma_cm_id *l, *c, *s = NULL;
	struct rdma_conn_param p;
	struct rdma_cm_event *ev;

	/* Nobody ever listened on this port: the answer comes at once. */
	conn_param(&p, NULL);
	c = connecting(cc, ps, port, &p, "%s to nobody", what);
	CHECK(readable(cc, 800), "%s to a port never listened on: answered at once",
	      what);
	EXPECT_STATUS(cc, refused, status, "no listener");
	destroy(c);

	/* A listener goes; the next REQ waits for the one that follows. */
	destroy(listener(cs, gone, port, 4));
	conn_param(&p, "again");
	c = connecting(cc, ps, port, &p, "%s after the listener went", what);
	CHECK(!readable(cc, 200) && !readable(cs, 0),
	      "%s in the gap: kept, no answer yet", what);
	l = listener(cs, ps, port, 4);
	ev = EXPECT(cs, RDMA_CM_EVENT_CONNECT_REQUEST);
	if (ev) {
		s = ev->id;
		CHECK(!strcmp(ps == RDMA_PS_UDP ? ev->param.ud.private_data :
			      ev->param.conn.private_data, "again"),
		      "the kept %s reaches the new listener", what);
		ack(ev);
		CHECK(!rdma_reject(s, NULL, 0), "reject it");
	}
	ev = EXPECT(cc, refused);
	if (ev) {
		CHECK(ps == RDMA_PS_UDP ? ev->status == 2 : ev->status == 28,
		      "the new listener's answer (got %d)", ev->status);
		ack(ev);
	}
	destroy(s);
	destroy(c);
	destroy(l);

	/* Kept, and nobody listens again: refused after the hold (1 s). */
	c = connecting(cc, ps, port, &p, "%s, nobody listens again", what);
	CHECK(!readable(cc, 200), "kept");
	EXPECT_STATUS(cc, refused, status, "after the hold");
	teardown(cs, cc, NULL, c, NULL);
}

void test_relisten(void)
{
	relisten_case(RDMA_PS_TCP, RDMA_PS_TCP);
	relisten_case(RDMA_PS_UDP, RDMA_PS_UDP);
	relisten_case(RDMA_PS_UDP, RDMA_PS_TCP);
}
