/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The WQE engine: consumes send queues, moves data and produces
 * completions with IB semantics (the files of xenibd/engine/).
 */
#ifndef XENIBD_ENGINE_H
#define XENIBD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

struct xd_qp;
struct xd_qp_eng;

/* Hold back WQEs aimed at frozen guests this long between looks. */
#define XD_FROZEN_RETRY_NS	(10 * 1000 * 1000ull)

/* Run every QP once; returns work done.  *next_ns: the earliest timer. */
unsigned int xd_engine_poll(uint64_t *next_ns);
/* Is there work (the loop must not sleep)? */
bool xd_engine_has_work(void);
/* A QP's engine state: made with the QP, gone with it. 0 or ENOMEM. */
int xd_engine_qp_init(struct xd_qp *qp);
void xd_engine_qp_fini(struct xd_qp *qp);
/* The QP went to ERR: flush its queues and its message in progress. */
void xd_engine_flush_qp(struct xd_qp *qp);
/* The QP went to RESET: forget what was in progress. */
void xd_engine_reset_qp(struct xd_qp *qp);
/* The QP went to RTR: its responder expects requests from its rq_psn. */
void xd_engine_ready_qp(struct xd_qp *qp);
/* The QP went to RTS: its requester starts (at its sq_psn). */
void xd_engine_start_qp(struct xd_qp *qp);
/* The QP went to SQD: the SQ is drained once its WQE in progress is. */
void xd_engine_drain_qp(struct xd_qp *qp, bool notify);
/*
 * What else keeps state per QP (the fabric's responder side) forgets it:
 * called when a QP is reset or freed.  NULL: nothing else.
 */
extern void (*xd_qp_gone_hook)(struct xd_qp *qp);
/*
 * Migration: where a QP's requester stands, in terms another backend can
 * continue from with the same guest memory: the sequence number of the
 * first request of the WQE at the SQ's consumer index, how many of its
 * requests were acknowledged, and the retry state.  Set on a QP made from
 * a snapshot, its window empty: the WQEs are fetched again from the SQ.
 */
struct xd_req_place {
	uint32_t seq0, acked, max_seq;
	uint32_t stall;		/* enum xd_stall */
	uint32_t stall_count;
	uint64_t stall_left_ns;
};
void xd_req_place_get(const struct xd_qp *qp, struct xd_req_place *p);
void xd_req_place_set(struct xd_qp *qp, const struct xd_req_place *p);
/*
 * ctx runs again after a freeze: answers that came meanwhile were dropped,
 * so each requester goes back to its oldest unacknowledged request.
 */
struct xd_ctx;
void xd_engine_ctx_thawed(struct xd_ctx *ctx);
/*
 * A receive ring was found empty by a request that needs a receive WQE:
 * give its guest, if it waits for our CPU, one chance to post before the
 * responder NAKs RNR.  True if it may have (look again).  Set by the main
 * loop (daemon/idle.c); NULL: no waiting (the unit tests).
 */
extern bool (*xd_rx_wait_hook)(void);
/* An SRQ goes away: receives in progress into it are forgotten. */
struct xd_srq;
void xd_engine_srq_gone(struct xd_srq *srq);

#endif /* XENIBD_ENGINE_H */
