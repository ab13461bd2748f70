// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The fixture of test_cm_api (cm_api.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/check.h"
#include "tests/cm/cm_api.h"

uint16_t next_port;

struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

struct rdma_event_channel *channel(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();

	if (!ch) {
		printf("FATAL: rdma_create_event_channel: %s\n", strerror(errno));
		exit(1);
	}
	fcntl(ch->fd, F_SETFL, fcntl(ch->fd, F_GETFL) | O_NONBLOCK);
	return ch;
}

bool readable(struct rdma_event_channel *ch, int ms)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* The next event (5 s at most), or NULL. */
struct rdma_cm_event *next(struct rdma_event_channel *ch)
{
	struct rdma_cm_event *ev;
	int i;

	for (i = 0; i < 100; i++) {
		if (!rdma_get_cm_event(ch, &ev))
			return ev;
		if (errno != EAGAIN)
			return NULL;
		readable(ch, 50);
	}
	return NULL;
}

/* Take one event, check its type; returns it (ack later) or NULL. */
struct rdma_cm_event *expect(struct rdma_event_channel *ch,
				    enum rdma_cm_event_type type,
				    int line)
{
	struct rdma_cm_event *ev = next(ch);

	if (!ev) {
		CHECK(0, "line %d: no event (wanted %s)", line,
		      rdma_event_str(type));
		return NULL;
	}
	if (ev->event != type) {
		CHECK(0, "line %d: got %s status %d, wanted %s", line,
		      rdma_event_str(ev->event), ev->status,
		      rdma_event_str(type));
		rdma_ack_cm_event(ev);
		return NULL;
	}
	passed++;
	return ev;
}

void ack(struct rdma_cm_event *ev)
{
	if (ev)
		rdma_ack_cm_event(ev);
}

struct rdma_cm_id *listener(struct rdma_event_channel *ch,
				   enum rdma_port_space ps, uint16_t port,
				   int backlog)
{
	struct sockaddr_in s = sin_of("127.0.0.1", port);
	struct rdma_cm_id *l;

	CHECK(!rdma_create_id(ch, &l, NULL, ps), "create listener");
	CHECK(!rdma_bind_addr(l, (struct sockaddr *)&s), "bind listener: %s",
	      strerror(errno));
	CHECK(!rdma_listen(l, backlog), "listen: %s", strerror(errno));
	return l;
}

void qp_attr_init(struct ibv_qp_init_attr *a, enum ibv_qp_type t)
{
	memset(a, 0, sizeof(*a));
	a->qp_type = t;
	a->cap.max_send_wr = a->cap.max_recv_wr = 4;
	a->cap.max_send_sge = a->cap.max_recv_sge = 1;
}

/* A client id up to ROUTE_RESOLVED towards 127.0.0.1:port. */
struct rdma_cm_id *client(struct rdma_event_channel *ch,
				 enum rdma_port_space ps, uint16_t port,
				 bool with_qp)
{
	struct sockaddr_in d = sin_of("127.0.0.1", port);
	struct ibv_qp_init_attr qa;
	struct rdma_cm_id *id;

	CHECK(!rdma_create_id(ch, &id, NULL, ps), "create client id");
	CHECK(!rdma_resolve_addr(id, NULL, (struct sockaddr *)&d, 2000),
	      "resolve_addr: %s", strerror(errno));
	ack(EXPECT(ch, RDMA_CM_EVENT_ADDR_RESOLVED));
	CHECK(id->verbs != NULL, "resolved id is bound to a device");
	CHECK(!rdma_resolve_route(id, 2000), "resolve_route");
	ack(EXPECT(ch, RDMA_CM_EVENT_ROUTE_RESOLVED));
	CHECK(id->route.num_paths == 1 && id->route.path_rec &&
	      id->route.path_rec->slid, "route has a path with a LID");
	if (with_qp) {
		qp_attr_init(&qa, ps == RDMA_PS_UDP ? IBV_QPT_UD : IBV_QPT_RC);
		CHECK(!rdma_create_qp(id, NULL, &qa), "rdma_create_qp: %s",
		      strerror(errno));
	}
	return id;
}

void conn_param(struct rdma_conn_param *p, const char *data)
{
	memset(p, 0, sizeof(*p));
	p->responder_resources = 1;
	p->initiator_depth = 1;
	p->retry_count = 7;
	p->rnr_retry_count = 7;
	if (data) {
		p->private_data = data;
		p->private_data_len = strlen(data) + 1;
	}
}

void destroy(struct rdma_cm_id *id)
{
	if (!id)
		return;
	if (id->qp)
		rdma_destroy_qp(id);
	CHECK(!rdma_destroy_id(id), "destroy id: %s", strerror(errno));
}

/* A test's end: its ids (any may be NULL), in order, then its channels. */
void teardown(struct rdma_event_channel *cs,
		     struct rdma_event_channel *cc, struct rdma_cm_id *s,
		     struct rdma_cm_id *c, struct rdma_cm_id *l)
{
	destroy(s);
	destroy(c);
	destroy(l);
	rdma_destroy_event_channel(cs);
	rdma_destroy_event_channel(cc);
}

/* A client id (with a QP) towards port, rdma_connect()ed with p. */
struct rdma_cm_id *connecting(struct rdma_event_channel *ch,
				     enum rdma_port_space ps, uint16_t port,
				     struct rdma_conn_param *p,
				     const char *fmt, ...)
{
	struct rdma_cm_id *c = client(ch, ps, port, true);
	char what[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	CHECK(!rdma_connect(c, p), "%s: %s", what, strerror(errno));
	return c;
}

/* The next event on ch is type, with status want ("what: status ..."). */
void expect_status(struct rdma_event_channel *ch,
			  enum rdma_cm_event_type type, int want,
			  const char *what, int line)
{
	struct rdma_cm_event *ev = expect(ch, type, line);

	if (ev) {
		CHECK(ev->status == want, "line %d: %s: status %d (got %d)",
		      line, what, want, ev->status);
		ack(ev);
	}
}
