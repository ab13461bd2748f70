/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The peer seam between the two halves of the engine.  A requester QP
 * (requester.c) cuts each WQE into requests of at most XD_SLICE_BYTES
 * (IB's packets, larger) and hands them to the peer its destination
 * resolves to; the peer delivers them to the responder QP (responder.c)
 * and brings back the answer (ACK or a NAK kind), as IB's RC transport
 * does.  The local peer (peer_local.c) calls the responder directly;
 * another host's backend plugs in behind the same operations.
 */
#ifndef XENIBD_ENGINE_PEER_H
#define XENIBD_ENGINE_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "xenibd/engine/sgl.h"

struct xd_qp;
struct xd_peer;

/* Bytes of one request: the engine's fairness quantum, per QP and round. */
#define XD_SLICE_BYTES	(1u << 20)

/* A request's place in its message (IB: FIRST, MIDDLE, LAST, ONLY). */
enum {
	XD_REQ_FIRST	= 1,
	XD_REQ_LAST	= 2,
};

/* One request of a message, in the requester's terms. */
struct xd_req {
	uint32_t seq;		/* the request's sequence number */
	/* Who sends it (the responder's completions name it). */
	uint32_t src_qpn;
	uint16_t slid;
	uint8_t sl;
	uint64_t src_guid;	/* host order; UD's GRH carries it */
	uint32_t opcode;	/* IBV_WR_* */
	uint32_t flags;		/* XD_REQ_* */
	bool solicited;
	uint32_t imm_data;	/* network order, *_WITH_IMM */
	uint64_t msg_len;	/* the whole message */
	uint64_t offset;	/* of this request in the message */
	uint32_t len;		/* bytes of this request */
	uint64_t remote_addr;	/* of the message (RDMA, atomic) */
	uint32_t rkey;
	uint64_t compare_add, swap;
	uint32_t remote_srqn;	/* XRC: the target SRQ */
	/* UD */
	uint32_t remote_qpn, qkey;
	const struct xenib_ah_attr *ah;
	/*
	 * The requester's memory: the source bytes of SEND / WRITE, where
	 * READ data or an atomic's result lands.
	 */
	struct xd_sgl *data;
};

/* The responder's answer to a request. */
enum xd_ack {
	XD_ACK,			/* executed */
	XD_NAK_RNR,		/* no receive WQE: retry after the RNR timer */
	XD_NAK_ACCESS,		/* bad rkey / no right: REM_ACCESS_ERR */
	XD_NAK_INV_REQ,		/* invalid request: REM_INV_REQ_ERR */
	XD_NAK_OP,		/* responder failed it: REM_OP_ERR */
	XD_NO_ANSWER,		/* unreachable / not ready: transport retry */
	XD_PAUSED,		/* its guest is frozen: hold, no retry spent */
	XD_DROPPED,		/* UC / UD: silently dropped, sender succeeds */
	XD_PENDING,		/* sent; the answer comes later (xd_req_answer) */
	/*
	 * Not taken now, nothing wrong (the path is congested, the responder
	 * expected an earlier request): send again from here shortly, no
	 * retry spent.
	 */
	XD_BUSY,
};

/* The answer and what came with it. */
struct xd_answer {
	enum xd_ack ack;
	uint8_t rnr_timer;	/* NAK RNR: the responder's min_rnr_timer */
	uint64_t atomic_orig;	/* atomic: the value before */
	/*
	 * XD_BUSY from a reliable responder that expected an earlier
	 * request: it took every request before resend_from; send again
	 * from there.
	 */
	bool resend;
	uint32_t resend_from;
};

/* Where a QP's requests go. */
struct xd_peer_ops {
	const char *name;
	/*
	 * Resolve the destination of a request of qp (RC, UC, XRC: its
	 * connection; UD: req->ah and remote_qpn) into *out.  False: no such
	 * QP here or anywhere known (the requester treats it as no answer).
	 */
	bool (*resolve)(struct xd_qp *qp, const struct xd_req *req,
			struct xd_peer *out);
	/* Does the destination take requests from qp now? */
	enum xd_ack (*ready)(struct xd_peer *p, struct xd_qp *qp,
			     const struct xd_req *req);
	/* Deliver one request; the answer in *ans. */
	void (*send)(struct xd_peer *p, struct xd_qp *qp,
		     const struct xd_req *req, struct xd_answer *ans);
	void (*write)(struct xd_peer *p, struct xd_qp *qp,
		      const struct xd_req *req, struct xd_answer *ans);
	void (*read)(struct xd_peer *p, struct xd_qp *qp,
		     const struct xd_req *req, struct xd_answer *ans);
	void (*atomic)(struct xd_peer *p, struct xd_qp *qp,
		       const struct xd_req *req, struct xd_answer *ans);
	/*
	 * Optional (NULL: the RNR timer alone decides).  req of qp was NAKed
	 * RNR and qp has want WQEs waiting: would the destination take it
	 * now, with that many receives posted (or all its ring holds)?  If
	 * not, it arranges for its guest to kick a sleeping backend once it
	 * has posted them.
	 */
	bool (*rx_ready)(struct xd_peer *p, struct xd_qp *qp,
			 const struct xd_req *req, uint32_t want);
};

/* A destination: which ops reach it, and their handle. */
struct xd_peer {
	const struct xd_peer_ops *ops;
	void *priv;		/* the local peer: the responder QP */
};

/*
 * How the requester finds its peers: the local peer (peer_local.c) by
 * default; tests put another seam here.
 */
extern const struct xd_peer_ops *xd_peer_ops;
extern const struct xd_peer_ops xd_local_peer;
/* A destination between two hosts: every request answered XD_PAUSED. */
extern const struct xd_peer_ops xd_paused_peer;

#endif /* XENIBD_ENGINE_PEER_H */
