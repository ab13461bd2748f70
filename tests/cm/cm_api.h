/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The fixture of test_cm_api (test_cm_api.c, test_cm_chan.c): event
 * channels, listeners and clients on 127.0.0.1, expected events, and the
 * tests each file holds.
 */
#ifndef XENIB_TEST_CM_API_H
#define XENIB_TEST_CM_API_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <rdma/rdma_cma.h>

extern uint16_t next_port;	/* each test takes ports from here */

struct sockaddr_in sin_of(const char *ip, uint16_t port);
/* A non-blocking event channel (exits if there is none). */
struct rdma_event_channel *channel(void);
bool readable(struct rdma_event_channel *ch, int ms);
struct rdma_cm_event *next(struct rdma_event_channel *ch);
struct rdma_cm_event *expect(struct rdma_event_channel *ch,
			     enum rdma_cm_event_type type, int line);
#define EXPECT(ch, type) expect(ch, type, __LINE__)
void ack(struct rdma_cm_event *ev);
struct rdma_cm_id *listener(struct rdma_event_channel *ch,
			    enum rdma_port_space ps, uint16_t port,
			    int backlog);
void qp_attr_init(struct ibv_qp_init_attr *a, enum ibv_qp_type t);
/* A client id up to ROUTE_RESOLVED towards 127.0.0.1:port. */
struct rdma_cm_id *client(struct rdma_event_channel *ch,
			  enum rdma_port_space ps, uint16_t port,
			  bool with_qp);
void conn_param(struct rdma_conn_param *p, const char *data);
void destroy(struct rdma_cm_id *id);
/* A test's end: its ids (any may be NULL), in order, then its channels. */
void teardown(struct rdma_event_channel *cs, struct rdma_event_channel *cc,
	      struct rdma_cm_id *s, struct rdma_cm_id *c, struct rdma_cm_id *l);
/* A client id (with a QP) towards port, rdma_connect()ed with p. */
struct rdma_cm_id *connecting(struct rdma_event_channel *ch,
			      enum rdma_port_space ps, uint16_t port,
			      struct rdma_conn_param *p, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The next event on ch is type, with status want ("what: status ..."). */
void expect_status(struct rdma_event_channel *ch,
		   enum rdma_cm_event_type type, int want, const char *what,
		   int line);
#define EXPECT_STATUS(ch, type, want, what) \
	expect_status(ch, type, want, what, __LINE__)

/* test_cm_chan.c: event channels, and REQs that come before a listener. */
void test_channel_fd(void);
void test_channel_limit(void);
void test_destroy_under_waiter(void);
void test_early_req(void);
void test_relisten(void);

#endif /* XENIB_TEST_CM_API_H */
