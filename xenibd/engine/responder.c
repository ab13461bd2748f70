// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The responder half of the engine: what a QP does with the requests that
 * reach it (through the peer seam, peer.h), with IB's checks and answers.
 *
 * A SEND (or RDMA WRITE with immediate) takes the next receive WQE with
 * its first request and completes it with its last; the message's length
 * is checked against the receive buffers, and RDMA's rkey and range, at
 * the first request, so that a failing message writes nothing.  Receive
 * WQEs are copied out of guest memory and checked (wqe_check.c) before
 * use.  Only the backend's own ring indices are trusted.
 */
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/engine/eng.h"

bool xd_qp_receiving(const struct xd_qp *qp)
{
	uint32_t s = qp->attr.qp_state;

	return s == IBV_QPS_RTR || s == IBV_QPS_RTS || s == IBV_QPS_SQD;
}

void xd_complete(struct xd_qp *qp, struct xd_cq *cq,
		 const struct xenib_cqe *cqe, bool solicited)
{
	if (!xd_cq_push(cq, cqe, solicited))
		xd_qp_to_error(qp, IBV_EVENT_QP_FATAL);
}

bool (*xd_rx_wait_hook)(void);

/*
 * Copy the next receive WQE of rx out of its ring; false if none.
 * Receives are taken in batches: the guest's producer index is read only
 * when the receives seen last time are used up (its cache line is not
 * pulled over for every message), and once more before the ring counts as
 * empty; then the receiver, if it shares our CPU, gets one chance to post
 * (xd_rx_wait_hook) before the requester is told RNR: an RNR NAK costs
 * the sender the RNR timer, which is far dearer than one yield.
 */
static bool rq_peek(const struct xd_rx *rx, struct xd_rwqe *r)
{
	struct xd_ring *rq = rx->ring;
	uint32_t prod = rq->seen;

	/* seen moves with idx; a reset or a corrupt index reads again. */
	if (prod == rq->idx || prod - rq->idx > rq->entries) {
		prod = rq->seen = xr_load_acquire(&rq->hdr->prod);
		if (prod == rq->idx && xd_rx_wait_hook && xd_rx_wait_hook()) {
			xd.stats.rnr_yields++;
			prod = rq->seen = xr_load_acquire(&rq->hdr->prod);
			if (prod != rq->idx)
				xd.stats.rnr_saved++;
		}
	}
	if (prod == rq->idx)
		return false;
	if (prod - rq->idx > rq->entries) {
		if (rx->srq)	/* shared: only the SRQ's users starve */
			return false;
		xd_ctx_log(rx->qp->ctx, "QP 0x%x: receive queue index corrupt",
			   rx->qp->h.id);
		xd_qp_to_error(rx->qp, IBV_EVENT_QP_FATAL);
		return false;
	}
	if (rq->kick & XENIB_POST_KICK_AT)	/* the sender is back */
		xd_rx_kick(rq, rq->kick & ~XENIB_POST_KICK_AT, rq->kick_at);
	xd_wqe_fetch_recv(rq, rx->max_sge, r);
	return true;
}

void xd_rx_kick(struct xd_ring *ring, uint32_t mode, uint32_t kick_idx)
{
	if (!ring->hdr || (ring->kick == mode && ring->kick_at == kick_idx))
		return;
	ring->kick = mode;
	ring->kick_at = kick_idx;
	xr_backend_post_kick(ring->hdr, mode, kick_idx);
}

bool xd_rx_ready(const struct xd_rx *rx, uint32_t want)
{
	struct xd_ring *rq = rx->ring;
	uint32_t n = xr_load_acquire(&rq->hdr->prod) - rq->idx;

	if (n > rq->entries)
		return false;	/* corrupt: the timer decides */
	if (want > rq->entries)
		want = rq->entries;
	if (n >= want && n)
		return true;
	/* Kick us when the guest's producer index reaches idx + want. */
	xd_rx_kick(rq, rq->kick | XENIB_POST_KICK_AT,
		   rq->idx + (want ? want : 1));
	return false;
}

static void rq_consume(const struct xd_rx *rx)
{
	struct xd_srq *srq = rx->srq;
	uint32_t left;

	/* We consume the guest's receive ring (RQ or SRQ): release the slot. */
	xd_ring_consumed(rx->ring, 1);
	if (!srq || !srq->limit)
		return;
	left = xr_load_acquire(&srq->ring.hdr->prod) - srq->ring.idx;
	if (left < srq->limit) {	/* armed limit crossed: fire once */
		srq->limit = 0;
		xd_ctx_post_async(srq->ctx, IBV_EVENT_SRQ_LIMIT_REACHED,
				  srq->h.id);
	}
}

/*
 * The receive buffers of r, translated: IBV_WC_SUCCESS, the status of a
 * malformed receive WQE, or LOC_PROT_ERR for a bad lkey / missing access.
 */
static uint32_t recv_buffers(const struct xd_rx *rx, const struct xd_rwqe *r,
			     struct xd_sgl *dst)
{
	if (r->status != IBV_WC_SUCCESS)
		return r->status;
	if (!xd_sgl_translate(dst, r->sge, r->w.num_sge, rx->recv_pd,
			      IBV_ACCESS_LOCAL_WRITE))
		return IBV_WC_LOC_PROT_ERR;
	return IBV_WC_SUCCESS;
}

void xd_rx_fail(const struct xd_rx *rx, const struct xd_rwqe *r,
		uint32_t status, uint32_t event)
{
	struct xd_qp_eng *e = rx->qp->eng;

	if (r) {
		struct xenib_cqe cqe = {
			.wr_id = r->w.wr_id, .status = status,
			.opcode = IBV_WC_RECV, .qp_num = rx->qp->h.id,
		};

		xd_complete(rx->qp, rx->cq, &cqe, true);
		if (r == &e->rx_wqe)
			e->rx_active = false;
	}
	xd_qp_to_error(rx->qp, event);
}

static void nak(struct xd_answer *ans, enum xd_ack ack)
{
	ans->ack = ack;
}

/* The receive completion of the message in progress at rx->qp. */
static void complete_recv(const struct xd_rx *rx, const struct xd_req *req)
{
	struct xd_qp_eng *e = rx->qp->eng;
	struct xenib_cqe cqe = {
		.wr_id = e->rx_wqe.w.wr_id,
		.status = IBV_WC_SUCCESS,
		.opcode = e->rx_opcode == IBV_WR_RDMA_WRITE_WITH_IMM ?
				  IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV,
		.byte_len = (uint32_t)e->rx_len,
		.qp_num = rx->qp->h.id,
		.src_qp = req->src_qpn,
		.slid = req->slid,
		.sl = req->sl,
	};

	if (e->rx_opcode == IBV_WR_SEND_WITH_IMM ||
	    e->rx_opcode == IBV_WR_RDMA_WRITE_WITH_IMM) {
		cqe.imm_data = req->imm_data;
		cqe.wc_flags = IBV_WC_WITH_IMM;
	} else if (e->rx_opcode == IBV_WR_SEND_WITH_INV) {
		cqe.imm_data = req->imm_data;	/* the invalidated rkey */
		cqe.wc_flags = IBV_WC_WITH_INV;
	}
	e->rx_active = false;
	xd_complete(rx->qp, rx->cq, &cqe, req->solicited);
}

bool xd_rx_take(const struct xd_rx *rx, struct xd_rwqe *r, struct xd_sgl *dst,
		struct xd_answer *ans)
{
	uint32_t status;

	if (!rq_peek(rx, r)) {
		/* No receive WQE: RNR NAK, unless the QP just failed. */
		nak(ans, rx->qp->attr.qp_state == IBV_QPS_ERR ? XD_NO_ANSWER :
								 XD_NAK_RNR);
		ans->rnr_timer = rx->qp->attr.min_rnr_timer;
		return false;
	}
	rq_consume(rx);
	status = recv_buffers(rx, r, dst);
	if (status != IBV_WC_SUCCESS) {
		xd_rx_fail(rx, r, status, 0);
		nak(ans, XD_NAK_OP);
		return false;
	}
	return true;
}

/*
 * A new message takes the next receive WQE (SEND, WRITE with immediate).
 * A message still in progress from before was given up by its sender
 * (it failed or was reset mid-message): its receive completes with
 * REM_ABORT_ERR.  False: *ans says why not.
 */
static bool recv_begin(const struct xd_rx *rx, const struct xd_req *req,
		       bool check_len, struct xd_sgl *dst,
		       struct xd_answer *ans)
{
	struct xd_qp_eng *e = rx->qp->eng;

	if (e->rx_active) {
		struct xenib_cqe cqe = {
			.wr_id = e->rx_wqe.w.wr_id,
			.status = IBV_WC_REM_ABORT_ERR,
			.opcode = IBV_WC_RECV, .qp_num = rx->qp->h.id,
		};

		e->rx_active = false;
		xd_complete(rx->qp, e->rx_cq, &cqe, true);
	}
	if (!xd_rx_take(rx, &e->rx_wqe, dst, ans))
		return false;
	if (check_len && dst->total < req->msg_len) {
		xd_rx_fail(rx, &e->rx_wqe, IBV_WC_LOC_LEN_ERR, 0);
		nak(ans, XD_NAK_INV_REQ);
		return false;
	}
	e->rx_active = true;
	e->rx_opcode = req->opcode;
	e->rx_len = req->msg_len;
	e->rx_cq = rx->cq;
	e->rx_srq = rx->srq;
	return true;
}

void xd_resp_send(const struct xd_rx *rx, const struct xd_req *req,
		  struct xd_answer *ans)
{
	struct xd_qp_eng *e = rx->qp->eng;
	struct xd_sgl dst, part;
	uint32_t status;

	ans->ack = XD_ACK;
	if (req->flags & XD_REQ_FIRST) {
		/* The buffers were translated just now. */
		if (!recv_begin(rx, req, true, &dst, ans))
			return;
	} else {
		if (!e->rx_active || e->rx_opcode != req->opcode) {
			nak(ans, XD_NAK_INV_REQ);	/* out of sequence */
			return;
		}
		/* The guest may have deregistered them since: look again. */
		status = recv_buffers(rx, &e->rx_wqe, &dst);
		if (status != IBV_WC_SUCCESS) {
			xd_rx_fail(rx, &e->rx_wqe, status, 0);
			nak(ans, XD_NAK_OP);
			return;
		}
	}
	xd_sgl_sub(&part, &dst, req->offset, req->len);
	xd_sgl_copy(&part, req->data);
	if (!(req->flags & XD_REQ_LAST))
		return;
	/* SEND_WITH_INV: the window goes before the receive completes. */
	if (e->rx_opcode == IBV_WR_SEND_WITH_INV &&
	    !xd_mw_remote_inv(rx, req->imm_data)) {
		xd_rx_fail(rx, &e->rx_wqe, IBV_WC_REM_INV_REQ_ERR, 0);
		nak(ans, XD_NAK_INV_REQ);
		return;
	}
	complete_recv(rx, req);
}

/*
 * The responder's buffer [addr + off, addr + off + len) of an RDMA or
 * atomic request, checked as IB's responder checks it; NULL if refused.
 */
static char *remote_buffer(const struct xd_rx *rx, const struct xd_req *req,
			   uint64_t off, uint64_t len, uint32_t access)
{
	if (!(rx->qp->attr.qp_access_flags & access))
		return NULL;
	if (!len)
		return (char *)1;	/* zero-length: nothing to reach */
	if (req->remote_addr > UINT64_MAX - off)
		return NULL;
	if (xd_mw_key(req->rkey))	/* a memory window's (mw.c) */
		return xd_mw_translate(req->rkey, rx->pd, rx->qp->h.id,
				       req->remote_addr + off, len, access);
	return xd_mr_translate(req->rkey, rx->pd, req->remote_addr + off, len,
			       access);
}

/*
 * A request the rkey or access rights refuse: on RC the responder fails
 * (QP_ACCESS_ERR) and NAKs; a UC responder drops it silently.
 */
static void access_refused(const struct xd_rx *rx, struct xd_answer *ans)
{
	if (!rx->reliable) {
		nak(ans, XD_DROPPED);
		return;
	}
	xd_rx_fail(rx, NULL, 0, IBV_EVENT_QP_ACCESS_ERR);
	nak(ans, XD_NAK_ACCESS);
}

/* An RDMA request's whole range, at its first request. */
static bool rdma_check(const struct xd_rx *rx, const struct xd_req *req,
		       uint32_t access, struct xd_answer *ans)
{
	if ((req->flags & XD_REQ_FIRST) &&
	    !remote_buffer(rx, req, 0, req->msg_len, access)) {
		access_refused(rx, ans);
		return false;
	}
	return true;
}

void xd_resp_write(const struct xd_rx *rx, const struct xd_req *req,
		   struct xd_answer *ans)
{
	bool imm = req->opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	struct xd_qp_eng *e = rx->qp->eng;
	struct xd_sgl rbuf;
	char *dst;

	ans->ack = XD_ACK;
	/* WRITE_WITH_IMM consumes a receive WQE: RNR applies before data. */
	if (imm && (req->flags & XD_REQ_FIRST) &&
	    !recv_begin(rx, req, false, &rbuf, ans))
		return;
	if (imm && (!e->rx_active || e->rx_opcode != req->opcode)) {
		nak(ans, XD_NAK_INV_REQ);
		return;
	}
	/* RC: the QP fails, and the flush completes its receive WQE. */
	if (!rdma_check(rx, req, IBV_ACCESS_REMOTE_WRITE, ans))
		return;
	dst = remote_buffer(rx, req, req->offset, req->len,
			    IBV_ACCESS_REMOTE_WRITE);
	if (!dst) {	/* deregistered since the first request */
		access_refused(rx, ans);
		return;
	}
	if (req->len)
		xd_sgl_to_buf(dst, req->data);
	if (imm && (req->flags & XD_REQ_LAST))
		complete_recv(rx, req);
}

void xd_resp_read(const struct xd_rx *rx, const struct xd_req *req,
		  struct xd_answer *ans)
{
	char *src;

	ans->ack = XD_ACK;
	if (!rdma_check(rx, req, IBV_ACCESS_REMOTE_READ, ans))
		return;
	src = remote_buffer(rx, req, req->offset, req->len,
			    IBV_ACCESS_REMOTE_READ);
	if (!src) {
		access_refused(rx, ans);
		return;
	}
	if (req->len)
		xd_sgl_from_buf(req->data, src);
}

void xd_resp_atomic(const struct xd_rx *rx, const struct xd_req *req,
		    struct xd_answer *ans)
{
	uint64_t *target, old;

	ans->ack = XD_ACK;
	if (req->remote_addr & 7) {
		xd_rx_fail(rx, NULL, 0, IBV_EVENT_QP_REQ_ERR);
		nak(ans, XD_NAK_INV_REQ);
		return;
	}
	target = (uint64_t *)remote_buffer(rx, req, 0, 8,
					   IBV_ACCESS_REMOTE_ATOMIC);
	if (!target) {
		access_refused(rx, ans);
		return;
	}
	if (req->opcode == IBV_WR_ATOMIC_CMP_AND_SWP) {
		old = req->compare_add;
		__atomic_compare_exchange_n(target, &old, req->swap, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	} else {
		old = __atomic_fetch_add(target, req->compare_add,
					 __ATOMIC_SEQ_CST);
	}
	ans->atomic_orig = old;
}

void xd_resp_flush(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;
	struct xenib_cqe cqe = {
		.status = IBV_WC_WR_FLUSH_ERR, .opcode = IBV_WC_RECV,
		.qp_num = qp->h.id,
	};

	if (!e || !e->rx_active)
		return;
	e->rx_active = false;
	cqe.wr_id = e->rx_wqe.w.wr_id;
	xd_cq_push(e->rx_cq, &cqe, false);
}
