/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * RC endpoints on xenib0 through our libibverbs, for the IB error tests:
 * a "side" is one context with a PD and a buffer registered for
 * everything; an endpoint is a fresh RC QP of a side with its own CQs,
 * connected with ibv_modify_qp directly to a peer QP (of the same process,
 * tests/common/ib_pair.h, or of another host, tests/fabric/xh_errors.c).
 * Completions, QP states and async events are judged with result()
 * (check.h): one PASS/FAIL line per check.
 */
#ifndef XENIB_TESTS_IB_EP_H
#define XENIB_TESTS_IB_EP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

#include "tests/common/check.h"

#define QP_DEPTH	16
#define WAIT_MS		3000	/* bound of every wait for an event */
#define BAD_KEY		0xdeadbeefu

/* One side: a context with a PD and a buffer registered for everything. */
struct side {
	const char *name;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	char *buf;
	size_t len;		/* of buf */
	struct ibv_mr *mr;
	uint16_t lid;
};

/* An endpoint: an RC QP with its own send and receive CQs. */
struct ep {
	struct side *s;
	struct ibv_cq *scq, *rcq;
	struct ibv_qp *qp;
};

/* Connection parameters of one QP. */
struct qp_opts {
	unsigned int access;		/* qp_access_flags */
	uint8_t min_rnr_timer;		/* responder's RNR NAK timer */
	uint8_t timeout, retry_cnt, rnr_retry;
	uint32_t sq_psn;		/* its requests start here */
};

/* Where a QP is reached from its peer: what RTR needs of it. */
struct ep_addr {
	uint16_t lid;
	uint32_t qpn;
	uint32_t psn;		/* its sq_psn: the peer's rq_psn */
};

extern const struct qp_opts dflt;
/* The attribute masks of INIT -> RTR and RTR -> RTS on RC. */
extern const int rtr_mask, rts_mask;

double now_ms(void);
const char *st(enum ibv_wc_status s);
const char *qps_name(int s);

/* xenib0 of list (n entries), or NULL. */
struct ibv_device *find_xenib0(struct ibv_device **list, int n);
/*
 * Open s on dev: a context (non-blocking async_fd), a PD and a buffer of
 * len bytes registered with every access; false with errno on failure.
 */
bool side_open(struct side *s, struct ibv_device *dev, size_t len);
void side_close(struct side *s);
/* The address of byte off of s's buffer. */
uint64_t va(const struct side *s, size_t off);

bool ep_create(struct ep *e, struct side *s, int scq_entries);
void ep_destroy(struct ep *e);
/* Destroy two endpoints (or what a failed setup left of them). */
void unpair(struct ep *a, struct ep *b);
int qp_init(struct ibv_qp *qp, unsigned int access);
/* INIT -> RTR attributes towards a peer at to (its LID, QPN and PSN). */
void rtr_attr_to(struct ibv_qp_attr *a, const struct ep_addr *to,
		 uint8_t min_rnr_timer);
/* The same towards peer, an endpoint of this process (PSN 0). */
void rtr_attr(struct ibv_qp_attr *a, const struct ep *peer,
	      uint8_t min_rnr_timer);
int qp_rtr(struct ep *e, const struct ep *peer, uint8_t min_rnr_timer);
int qp_rts(struct ep *e, const struct qp_opts *o);
int qp_to(struct ibv_qp *qp, enum ibv_qp_state s);
/* This endpoint's ep_addr, with the sq_psn of o. */
void ep_addr_of(const struct ep *e, const struct qp_opts *o,
		struct ep_addr *out);
/* One endpoint all the way to RTS against peer (in this process). */
bool ep_connect(struct ep *e, const struct ep *peer, const struct qp_opts *o);
/* ... against a peer known by its address (of any process, any host). */
bool ep_connect_to(struct ep *e, const struct ep_addr *to,
		   const struct qp_opts *o);
int qp_state(struct ibv_qp *qp);

/* One signaled WR with one SGE; ibv_post_send's / ibv_post_recv's result. */
int post_send(struct ep *e, uint64_t wr_id, enum ibv_wr_opcode op,
	      uint64_t addr, uint32_t len, uint32_t lkey, uint64_t raddr,
	      uint32_t rkey);
/* One signaled atomic (8 bytes at laddr get the original value). */
int post_atomic(struct ep *e, uint64_t wr_id, enum ibv_wr_opcode op,
		uint64_t laddr, uint32_t lkey, uint64_t raddr, uint32_t rkey,
		uint64_t compare_add, uint64_t swap);
int post_recv(struct ep *e, uint64_t wr_id, uint64_t addr, uint32_t len,
	      uint32_t lkey);

/* Poll cq until n completions arrived or ms passed; returns the count. */
int wait_wc(struct ibv_cq *cq, struct ibv_wc *wc, int n, int ms);
/* Nothing completes on cq within ms. */
bool no_wc(struct ibv_cq *cq, int ms);
/* One completion on cq within WAIT_MS with the given wr_id and status. */
bool expect_wc(struct ibv_cq *cq, const char *what, uint64_t wr_id,
	       enum ibv_wc_status status, struct ibv_wc *out);

bool async_readable(struct side *s, int ms);
/* Next async event of s within ms (acknowledged); false if none. */
bool async_next(struct side *s, int ms, struct ibv_async_event *out);
void async_drain(struct side *s);
/* The next async event of s is type, about qp (or cq). */
void expect_async(struct side *s, const char *what, enum ibv_event_type type,
		  struct ibv_qp *qp, struct ibv_cq *cq);
void expect_state(struct ibv_qp *qp, const char *who, int want);
void expect_no_async(struct side *s, const char *what);

#endif /* XENIB_TESTS_IB_EP_H */
