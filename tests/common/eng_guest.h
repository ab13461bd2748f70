/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One guest of an in-process xenibd, for unit tests of the engine's
 * requester through a test peer (the peer seam, xenibd/engine/peer.h):
 * a context with a context page and a doorbell, a PD, a CQ, one MR over a
 * buffer at EG_IOVA, and QPs whose SQs the test writes entry by entry.
 * Every request the requester sends goes to the test's peer, which sees
 * it, answers it now or later (eg_answer), and never reaches a responder.
 * Set-up steps are checks (check.h) of the program that uses them.
 */
#ifndef XENIB_TESTS_ENG_GUEST_H
#define XENIB_TESTS_ENG_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/engine/eng.h"

#define EG_ENTRIES	16		/* of every QP's SQ and RQ */
#define EG_STRIDE	128
#define EG_CQ_ENTRIES	256
#define EG_IOVA		0x10000000ull	/* the MR's first byte */
#define EG_RADDR	0x5000000ull	/* what every WQE writes to / reads */
#define EG_RKEY		0x1234u
#define EG_DEST_QPN	0x777700u	/* the test peer takes any */
#define EG_DLID		0x4321u
#define EG_SQ_PSN	1000u

struct eg_guest {
	struct xd_ctx *ctx;
	struct hv_shm cqmem, buf;	/* buf: the MR, at EG_IOVA */
	uint32_t pd, cq, lkey, cq_cons;
	struct xenib_ring_hdr *cqh;
};

/* A QP of the guest, its rings in mem (SQ, then RQ). */
struct eg_qp {
	struct eg_guest *g;
	uint32_t qpn, sq_prod;
	struct hv_shm mem;
	struct xenib_ring_hdr *sqh;
};

/*
 * Line-buffered stdout, xenibd's state (4 guests) at 1 s on its clock,
 * then guest name's objects with a zero-filled MR of buf_bytes.  Exits if
 * xenibd's state cannot be had.
 */
void eg_start(struct eg_guest *g, const char *name, uint32_t buf_bytes);
/*
 * The local peer again, the context destroyed, a check that every QP, MR
 * and region went with it; the summary: the program's exit status.
 */
int eg_end(struct eg_guest *g);

/*
 * The test peer, in xd_peer_ops' terms: op takes every request (SEND,
 * WRITE, READ and atomics alike), ready says whether the destination
 * takes requests now (NULL: always XD_ACK), rx_ready is the optional
 * early look of an RNR wait (NULL: none).  Every QP resolves to it.
 */
typedef enum xd_ack eg_ready_fn(struct xd_peer *p, struct xd_qp *qp,
				const struct xd_req *req);
typedef void eg_op_fn(struct xd_peer *p, struct xd_qp *qp,
		      const struct xd_req *req, struct xd_answer *ans);
typedef bool eg_rx_ready_fn(struct xd_peer *p, struct xd_qp *qp,
			    const struct xd_req *req, uint32_t want);
void eg_peer_install(eg_ready_fn *ready, eg_op_fn *op,
		     eg_rx_ready_fn *rx_ready);

/*
 * A QP of type (IBV_QPT_RC or IBV_QPT_UD) on the guest's CQ, up to RTS
 * (sq_psn EG_SQ_PSN; RC: towards EG_DEST_QPN at EG_DLID with timeout,
 * retry_cnt and rnr_retry as given).
 */
void eg_qp_up(struct eg_guest *g, struct eg_qp *q, uint32_t type,
	      uint8_t timeout, uint8_t retry, uint8_t rnr);
/* The backend's QP of q. */
struct xd_qp *eg_qp(const struct eg_qp *q);
int eg_qp_destroy(struct eg_qp *q);

/*
 * Write a signaled WQE at q's next SQ entry: one SGE of the MR, len bytes
 * at EG_IOVA + off, towards EG_RADDR / EG_RKEY.  The WQE, for the caller
 * to add to before eg_publish() makes it the guest's.
 */
struct xenib_send_wqe *eg_wqe(struct eg_qp *q, uint64_t wr_id,
			      uint32_t opcode, uint64_t off, uint32_t len);
void eg_publish(struct eg_qp *q);
/* eg_wqe(), then eg_publish(). */
void eg_post(struct eg_qp *q, uint64_t wr_id, uint32_t opcode, uint64_t off,
	     uint32_t len);

/* Rounds of the engine; its next timer after the last. */
uint64_t eg_run(unsigned int rounds);
/* The later answer to request seq of q (rnr_timer 1: 10 us). */
void eg_answer(struct eg_qp *q, uint32_t seq, enum xd_ack ack);

/* Pop one CQE of the guest's CQ; false if none. */
bool eg_poll_cqe(struct eg_guest *g, struct xenib_cqe *c);
/*
 * Pop every CQE waiting (up to 63): their statuses in order, as letters:
 * S success, F flushed, A remote access, R retries exceeded, N RNR
 * retries exceeded, ? anything else.  A static buffer.
 */
const char *eg_cqes(struct eg_guest *g);

#endif /* XENIB_TESTS_ENG_GUEST_H */
