/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the engine's files share (not for the rest of xenibd): a QP's
 * engine state, the requester and responder entry points, and the QP
 * types' parts.
 *
 *   engine.c      rounds over the QPs, flushes, has-work test
 *   requester.c   a QP's send queue: WQEs cut into requests and sent
 *   req_retry.c   its window: answers, completions, retries, timers
 *   responder.c   a QP receiving: SEND, RDMA WRITE/READ, atomics
 *   rc.c uc.c ud.c xrc.c   what differs per QP type
 *   peer_local.c  the peer seam (peer.h) for QPs of this backend
 *   mcast.c       UD sends to a multicast group: the fan-out
 */
#ifndef XENIBD_ENGINE_ENG_H
#define XENIBD_ENGINE_ENG_H

#include "xenibd/dev/dev.h"
#include "xenibd/engine/peer.h"
#include "xenibd/engine/sgl.h"
#include "xenibd/engine/wqe.h"

#define XD_SQ_BATCH	64	/* requests per QP per round, for fairness */

enum xd_stall {
	XD_STALL_NONE,
	XD_STALL_RNR,		/* responder had no receive WQE */
	XD_STALL_RETRY,		/* responder not reachable / not ready */
	XD_STALL_FROZEN,	/* target's guest frozen: wait, no retry spent */
	XD_STALL_BUSY,		/* path congested: shortly, no retry spent */
};

#define XD_TX_WQES	32	/* WQEs a requester has in flight */
#define XD_ATOMIC_CACHE	16	/* atomics' results kept (IB: max_dest_rd_atomic) */

/* Sequence numbers compare modulo 2^32. */
static inline bool xd_seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* The result of an atomic a responder executed, for its duplicates. */
struct xd_rx_atomic {
	uint32_t seq;
	bool valid;
	uint64_t orig;
};

/* A WQE in the requester's window (requests are its XD_SLICE_BYTES). */
struct xd_tx {
	uint32_t seq0;		/* sequence number of its first request */
	uint32_t sent;		/* requests sent */
	uint32_t acked;		/* requests answered */
	uint32_t bad_status;	/* malformed / bad local buffer: fails */
	/*
	 * BIND_MW, LOCAL_INV: done here, nothing left; it has no sequence
	 * number, so the window's bookkeeping of requests passes it by.
	 */
	bool local;
	struct xd_swqe wqe;
};

/* What a QP did (xenibctl qps). */
struct xd_qp_counters {
	uint64_t wqes, bytes;		/* requester: WQEs completed, bytes */
	uint64_t reqs, retransmits;	/* requests sent, of them again */
	uint64_t rnr_naks, access_naks, inv_naks, op_naks;
	uint64_t seq_naks, paused, no_answer;
	uint64_t rx_reqs, rx_bytes;	/* responder: requests taken */
};

/* A QP's engine state (qp->eng). */
struct xd_qp_eng {
	struct xd_qp_counters cnt;
	uint32_t max_seq;	/* highest sequence number sent + 1 */
	/*
	 * Requester: WQEs fetched and not yet completed, oldest at tx_head;
	 * the SQ's slot of tx[tx_head] is qp->sq.idx.
	 */
	struct xd_tx tx[XD_TX_WQES];
	uint32_t tx_head, tx_tail;
	uint32_t next_seq;	/* of the next request */
	/* Requests of the SQ's next WQE done elsewhere (a migration). */
	uint32_t resume_skip;
	uint32_t tx_epoch;	/* + 1 at every reset: stale answers miss */
	/*
	 * The transport timer runs from it: the last progress, or the end of
	 * a wait (RNR timer, retry, hold), which may lie ahead; timer_at_send:
	 * from the first request sent after that wait, whenever that is.
	 */
	uint64_t last_answer_ns;
	bool timer_at_send;
	/* A "send again from" this QP cannot follow was logged (this run). */
	bool told_unsendable;
	/* Since the last progress the window went back, to rewound_to. */
	bool rewound;
	uint32_t rewound_to;
	enum xd_stall stall;
	bool rnr_early;		/* sent again before the RNR timer ran out */
	unsigned int stall_count;
	uint64_t stall_until_ns;
	/*
	 * Responder: the message being received into a receive WQE (SEND,
	 * RDMA WRITE with immediate), from its first request to its last.
	 */
	bool rx_active;
	struct xd_rwqe rx_wqe;
	uint32_t rx_opcode;	/* IBV_WR_* of the message */
	uint64_t rx_len;	/* the message's length */
	struct xd_cq *rx_cq;	/* where its completion goes */
	struct xd_srq *rx_srq;	/* the SRQ its receive WQE came from */
	/*
	 * Responder order (rx_order.c, RC and XRC): the sequence number of
	 * the next request taken, recent atomics' results.
	 */
	uint32_t rx_expected;
	struct xd_rx_atomic atomics[XD_ATOMIC_CACHE];
	unsigned int next_atomic;
	/* SQD: post IBV_EVENT_SQ_DRAINED once the WQE in progress is done */
	bool drain_notify;
	/* The fabric's responder state, for requests from other hosts. */
	struct xf_rxq *frx;
};

/*
 * Where a responder QP's receives come from and go to: its own RQ or SRQ,
 * receive CQ and PD, or (XRC_RECV) those of the XRC SRQ a request names.
 */
struct xd_rx {
	struct xd_qp *qp;
	bool reliable;		/* RC, XRC (UC drops what it refuses) */
	struct xd_ring *ring;
	uint32_t max_sge;
	struct xd_srq *srq;	/* or NULL */
	const struct xd_pd *recv_pd;	/* receive buffers */
	const struct xd_pd *pd;		/* rkeys */
	struct xd_cq *cq;
};

/* What differs per QP type (rc.c, uc.c, ud.c, xrc.c). */
struct xd_type_ops {
	/* RC, XRC: answers matter (RNR, retry, remote errors); UC, UD: not */
	bool reliable;
	/* Does resp take requests from the sender of req now? */
	enum xd_ack (*accept)(const struct xd_qp *resp,
			      const struct xd_req *req);
	/* The receive side a request reaches at resp, or the answer. */
	enum xd_ack (*rx)(struct xd_qp *resp, const struct xd_req *req,
			  struct xd_rx *rx);
};

/* rc.c: what RC, UC and UD responders share. */
void xd_rx_own(struct xd_qp *resp, bool reliable, struct xd_rx *rx);
/* Is resp connected back to the sender of req (RC, UC, XRC)? */
bool xd_connected_back(const struct xd_qp *resp, const struct xd_req *req);

extern const struct xd_type_ops xd_rc_type, xd_uc_type, xd_ud_type;
extern const struct xd_type_ops xd_xrc_type;
const struct xd_type_ops *xd_type_of(uint32_t qp_type);

/* requester.c and req_retry.c share a QP's window (struct xd_tx). */
/* Requests of a WQE: one per XD_SLICE_BYTES, at least one. */
static inline uint32_t xd_tx_nreqs(const struct xd_tx *t)
{
	return t->wqe.len ? (uint32_t)((t->wqe.len + XD_SLICE_BYTES - 1) /
				       XD_SLICE_BYTES) : 1;
}

static inline struct xd_tx *xd_tx_at(struct xd_qp_eng *e, uint32_t i)
{
	return &e->tx[i % XD_TX_WQES];
}

static inline bool xd_req_reliable(const struct xd_qp *qp)
{
	return xd_type_of(qp->qp_type)->reliable;
}

static inline bool xd_is_atomic(uint32_t op)
{
	return op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/*
 * req_retry.c: complete the WQEs at the head whose every request was
 * answered; fail the head WQE (QP to ERR, the rest flush).
 */
void xd_req_retire(struct xd_qp *qp);
void xd_req_fail_head(struct xd_qp *qp, uint32_t status);
/* Waiting now (an RNR timer, a retry's wait, a hold)? */
bool xd_req_waiting(const struct xd_qp_eng *e);
/* Requests sent and not answered yet? */
bool xd_req_outstanding(struct xd_qp_eng *e);
/* No progress for the QP's timeout: send again, spending a retry. */
void xd_req_check_timeout(struct xd_qp *qp);
/* The QP's next timer (its wait's end, or the transport timer). */
void xd_req_timers(struct xd_qp *qp, uint64_t *next_ns);

/* requester.c: run qp's SQ for one round; work done.  *next_ns: timers. */
unsigned int xd_req_run(struct xd_qp *qp, uint64_t *next_ns);
/* Forget the window (the QP was reset or flushed). */
void xd_req_reset(struct xd_qp *qp);
/* The QP went to RTS: its requests start at sq_psn. */
void xd_req_start(struct xd_qp *qp);
/*
 * The answer to request seq of qp (and, cumulatively, to every request
 * before it): the local peer gives it at once, another host's later.
 */
void xd_req_answer(struct xd_qp *qp, uint32_t seq,
		   const struct xd_answer *ans);
/*
 * Where the bytes of READ request seq of qp land (len of them): its WQE's
 * local buffers at the request's offset.  False: no such request waits.
 */
bool xd_req_read_dest(struct xd_qp *qp, uint32_t seq, uint32_t len,
		      struct xd_sgl *dst);
/* Is there something qp's requester could do now (not waiting)? */
bool xd_req_has_work(struct xd_qp *qp);

/* responder.c: one request at its responder (peer_local.c calls them). */
void xd_resp_send(const struct xd_rx *rx, const struct xd_req *req,
		  struct xd_answer *ans);
void xd_resp_write(const struct xd_rx *rx, const struct xd_req *req,
		   struct xd_answer *ans);
void xd_resp_read(const struct xd_rx *rx, const struct xd_req *req,
		  struct xd_answer *ans);
void xd_resp_atomic(const struct xd_rx *rx, const struct xd_req *req,
		    struct xd_answer *ans);
/*
 * Take the next receive WQE of rx and translate its buffers into dst.
 * False, with *ans set: none (RNR NAK) or bad (the responder failed it).
 */
bool xd_rx_take(const struct xd_rx *rx, struct xd_rwqe *r, struct xd_sgl *dst,
		struct xd_answer *ans);
/*
 * An RNR NAKed request of a sender that has want WQEs waiting may be sent
 * again before its RNR timer: has rx's ring that many receives (or as
 * many as it holds)?  If not, its guest is asked to kick a sleeping
 * backend once it has posted them.
 */
bool xd_rx_ready(const struct xd_rx *rx, uint32_t want);
/* Set a receive ring's post_kick (XENIB_POST_KICK_*) and kick_idx. */
void xd_rx_kick(struct xd_ring *ring, uint32_t mode, uint32_t kick_idx);
/* Responder-side fatal error: error CQE for r (if any), QP to error. */
void xd_rx_fail(const struct xd_rx *rx, const struct xd_rwqe *r,
		uint32_t status, uint32_t event);
/* ud.c: a datagram at a UD QP; the AH a UD WQE names (or NULL). */
const struct xenib_ah_attr *xd_ud_ah(struct xd_qp *qp, uint32_t handle);
void xd_resp_datagram(const struct xd_rx *rx, const struct xd_req *req,
		      struct xd_answer *ans);
/*
 * mcast.c: is req (of qp) a UD send to a multicast group?  Then *out is
 * the peer that fans it out to the group's QPs here.
 */
bool xd_mcast_resolve(struct xd_qp *qp, const struct xd_req *req,
		      struct xd_peer *out);
/* The message in progress at qp (in ERR now) completes flushed. */
void xd_resp_flush(struct xd_qp *qp);
/* Write a CQE for qp (QP to ERR if the CQ overran). */
void xd_complete(struct xd_qp *qp, struct xd_cq *cq,
		 const struct xenib_cqe *cqe, bool solicited);
/* Is qp in a state that takes requests (RTR, RTS, SQD)? */
bool xd_qp_receiving(const struct xd_qp *qp);

/* The completion opcode of a work request's opcode. */
uint32_t xd_wc_opcode(uint32_t wr_opcode);

/* rx_order.c: which request a reliable responder takes next */
enum xd_rx_order {
	XD_RX_NEXT,		/* the expected one: execute it */
	XD_RX_DUP,		/* seen before: answer again, no effect */
	XD_RX_AHEAD,		/* one before it is missing */
};
/* The QP went to RTR: it expects requests from its rq_psn. */
void xd_rx_start(struct xd_qp *qp);
enum xd_rx_order xd_rx_order(const struct xd_qp *qp, uint32_t seq);
/* The expected request req was executed with answer ans. */
void xd_rx_answered(struct xd_qp *qp, const struct xd_req *req,
		    const struct xd_answer *ans);
/* The cached result of atomic request seq; false if not kept. */
bool xd_rx_atomic_again(const struct xd_qp *qp, uint32_t seq, uint64_t *orig);
/* A duplicate (XD_RX_DUP) answered again, without a second effect. */
void xd_rx_again(const struct xd_rx *rx, const struct xd_req *req,
		 struct xd_answer *ans);
/* XD_RX_AHEAD: the answer "send again from the expected one". */
void xd_rx_resend_from(const struct xd_qp *qp, struct xd_answer *ans);

/*
 * mw.c: memory windows.  xd_mw_local_op runs a BIND_MW or LOCAL_INV WQE of
 * qp (its completion status); xd_mw_remote_inv invalidates what a
 * SEND_WITH_INV names at its responder (false: class J error).
 */
static inline bool xd_wqe_is_local(uint32_t op)
{
	return op == IBV_WR_BIND_MW || op == IBV_WR_LOCAL_INV;
}
uint32_t xd_mw_local_op(struct xd_qp *qp, const struct xd_swqe *s);
bool xd_mw_remote_inv(const struct xd_rx *rx, uint32_t rkey);

/* engine.c */
/* Complete every outstanding WQE of a ring with IBV_WC_WR_FLUSH_ERR. */
unsigned int xd_flush_ring(struct xd_qp *qp, struct xd_ring *ring,
			   struct xd_cq *cq, bool send);

#endif /* XENIBD_ENGINE_ENG_H */
