// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The requester half of the engine: a QP's send queue.
 *
 * WQEs are copied out of the SQ and checked once (wqe_check.c) into the
 * QP's window of XD_TX_WQES, then cut into requests at multiples of
 * XD_SLICE_BYTES, numbered by a sequence number that starts at the QP's
 * sq_psn, and handed in order to the peer their destination resolves to
 * (peer.h).  The local peer answers each at once; another host's answers
 * later (xd_req_answer, req_retry.c, which keeps the window: what is
 * acknowledged, completed, sent again, and the retry budgets).
 *
 * A round gives a QP one budget of XD_SLICE_BYTES, so a 1 GiB message
 * takes a thousand rounds and every other QP gets its turn in between.
 * Nothing here allocates, locks or makes a system call.
 */
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/engine/eng.h"

uint32_t xd_wc_opcode(uint32_t wr_opcode)
{
	switch (wr_opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return IBV_WC_RDMA_WRITE;
	case IBV_WR_RDMA_READ:
		return IBV_WC_RDMA_READ;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
		return IBV_WC_COMP_SWAP;
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return IBV_WC_FETCH_ADD;
	case IBV_WR_BIND_MW:
		return IBV_WC_BIND_MW;
	case IBV_WR_LOCAL_INV:
		return IBV_WC_LOCAL_INV;
	default:
		return IBV_WC_SEND;
	}
}

/* The request for bytes [off, off + len) of WQE s. */
static void build_req(struct xd_qp *qp, const struct xd_swqe *s,
		      uint64_t off, uint32_t len, struct xd_req *req)
{
	memset(req, 0, sizeof(*req));
	req->src_qpn = qp->h.id;
	req->slid = qp->ctx->guest->lid;
	req->sl = qp->attr.ah.sl;
	req->src_guid = qp->ctx->guest->guid;
	req->opcode = s->w.opcode;
	req->solicited = s->w.send_flags & IBV_SEND_SOLICITED;
	req->imm_data = s->w.imm_data;
	req->msg_len = s->len;
	req->offset = off;
	req->len = len;
	req->flags = (off == 0 ? XD_REQ_FIRST : 0) |
		     (off + len == s->len ? XD_REQ_LAST : 0);
	req->remote_addr = s->w.remote_addr;
	req->rkey = s->w.rkey;
	req->compare_add = s->w.compare_add;
	req->swap = s->w.swap;
	req->remote_srqn = s->w.remote_srqn;
	if (qp->qp_type == IBV_QPT_UD) {
		/* The high bit of the WQE's Q_Key: use the QP's own. */
		req->qkey = (s->w.remote_qkey & 0x80000000u) ? qp->attr.qkey :
							      s->w.remote_qkey;
		req->remote_qpn = s->w.remote_qpn;
	}
}

/*
 * The requester's memory for a request: the bytes it sends, or where READ
 * data or an atomic's result lands.  False: a bad local buffer.
 */
static bool req_data(struct xd_qp *qp, struct xd_swqe *s, struct xd_req *req,
		     struct xd_sgl *data)
{
	struct xd_sgl all;
	uint32_t access = 0;

	if (s->w.send_flags & IBV_SEND_INLINE) {
		xd_sgl_one(&all, s->inl, s->w.inline_len);
	} else {
		if (s->w.opcode == IBV_WR_RDMA_READ ||
		    xd_is_atomic(s->w.opcode))
			access = IBV_ACCESS_LOCAL_WRITE;
		if (!xd_sgl_translate(&all, s->sge, s->w.num_sge, qp->pd,
				      access))
			return false;
	}
	xd_sgl_sub(data, &all, req->offset, req->len);
	req->data = data;
	return true;
}

/*
 * The WQE of the window whose next request goes out next, or a malformed
 * one before it (nothing after a malformed WQE may leave), or NULL.
 */
static struct xd_tx *next_unsent(struct xd_qp_eng *e)
{
	uint32_t i;

	for (i = e->tx_head; i != e->tx_tail; i++) {
		struct xd_tx *t = xd_tx_at(e, i);

		if (t->bad_status || t->sent < xd_tx_nreqs(t))
			return t;
	}
	return NULL;
}

/* Fetch the next WQE of the SQ into the window; false if none. */
static bool fetch(struct xd_qp *qp, uint32_t prod)
{
	struct xd_qp_eng *e = qp->eng;
	uint32_t in_window = e->tx_tail - e->tx_head, status;
	struct xd_tx *t;

	if (in_window >= XD_TX_WQES || qp->sq.idx + in_window == prod ||
	    qp->attr.qp_state != IBV_QPS_RTS)
		return false;
	t = xd_tx_at(e, e->tx_tail);
	memset(t, 0, offsetof(struct xd_tx, wqe));
	status = xd_wqe_fetch_send(qp, &t->wqe, qp->sq.idx + in_window);
	e->tx_tail++;
	if (status != IBV_WC_SUCCESS) {
		/* Malformed: it fails once every WQE before it completed. */
		t->bad_status = status;
		t->sent = xd_tx_nreqs(t);
	} else if (e->resume_skip && !in_window) {
		/*
		 * A migrated QP's oldest WQE: its first requests were
		 * acknowledged at the other host (xd_req_place_set).
		 */
		t->seq0 = e->next_seq;
		t->sent = t->acked = e->resume_skip < xd_tx_nreqs(t) ?
				     e->resume_skip : xd_tx_nreqs(t);
		e->next_seq += t->sent;
	}
	e->resume_skip = 0;
	return true;
}

enum step { STEP_SENT, STEP_WAIT, STEP_DONE };

/*
 * A local operation (mw.c) at its turn in the SQ: done now, completed in
 * order like the rest; a failing one fails the QP once it is the head.
 */
static enum step run_local(struct xd_qp *qp, struct xd_tx *t)
{
	uint32_t status = xd_mw_local_op(qp, &t->wqe);

	t->local = true;
	t->sent = 1;
	if (status != IBV_WC_SUCCESS) {
		t->bad_status = status;
		return STEP_DONE;
	}
	t->acked = 1;
	xd_req_retire(qp);
	return STEP_SENT;
}

/* Send the next request of t. */
static enum step send_one(struct xd_qp *qp, struct xd_tx *t, uint64_t *budget)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_swqe *s = &t->wqe;
	struct xd_answer ans = { .ack = XD_NO_ANSWER };
	uint64_t off = (uint64_t)t->sent * XD_SLICE_BYTES;
	uint32_t len = s->len - off < XD_SLICE_BYTES ?
		       (uint32_t)(s->len - off) : XD_SLICE_BYTES;
	struct xd_peer peer;
	struct xd_sgl data;
	struct xd_req req;
	uint32_t seq;

	if (xd_wqe_is_local(s->w.opcode))
		return run_local(qp, t);
	build_req(qp, s, off, len, &req);
	if (qp->qp_type == IBV_QPT_UD) {
		req.ah = xd_ud_ah(qp, s->w.ah);
		if (!req.ah) {
			t->bad_status = IBV_WC_LOC_QP_OP_ERR;
			t->sent = xd_tx_nreqs(t);
			return STEP_DONE;
		}
	}
	/* The requester reads its buffers before anything leaves it. */
	if (!req_data(qp, s, &req, &data)) {
		t->bad_status = IBV_WC_LOC_PROT_ERR;
		t->sent = xd_tx_nreqs(t);
		return STEP_DONE;
	}
	if (t->sent == 0)
		t->seq0 = e->next_seq;
	seq = e->next_seq;
	req.seq = seq;
	if (xd_mcast_resolve(qp, &req, &peer) ||
	    xd_peer_ops->resolve(qp, &req, &peer))
		ans.ack = peer.ops->ready(&peer, qp, &req);
	if (ans.ack != XD_ACK) {
		/* Not sent: treat it as this request's answer. */
		t->sent++;
		e->next_seq++;
		xd_req_answer(qp, seq, &ans);
		return STEP_WAIT;
	}
	/*
	 * The timeout runs from the oldest request waiting for an answer: a
	 * new one when none waits, or the first one sent after a wait (RNR
	 * timer, retry, hold), however late the loop comes to send it.  An
	 * RC request sent again otherwise ("send again from", busy) does not
	 * start it: its run of retries has a timer already.  UC and UD have
	 * no retries to count: any request starts it.
	 */
	if (!xd_req_outstanding(e) &&
	    (e->timer_at_send || !xd_req_reliable(qp) ||
	     !xd_seq_before(seq, e->max_seq)))
		e->last_answer_ns = xd.now_ns;
	e->timer_at_send = false;
	t->sent++;
	e->next_seq++;
	e->cnt.reqs++;
	if (xd_seq_before(seq, e->max_seq))
		e->cnt.retransmits++;
	else
		e->max_seq = seq + 1;
	switch (req.opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
	case IBV_WR_SEND_WITH_INV:
		peer.ops->send(&peer, qp, &req, &ans);
		break;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		peer.ops->write(&peer, qp, &req, &ans);
		break;
	case IBV_WR_RDMA_READ:
		peer.ops->read(&peer, qp, &req, &ans);
		break;
	default:
		peer.ops->atomic(&peer, qp, &req, &ans);
		break;
	}
	*budget -= len < *budget ? len : *budget;
	if (ans.ack != XD_PENDING)
		xd_req_answer(qp, seq, &ans);
	return STEP_SENT;
}

/* A WQE at the head that failed before anything left (bad_status). */
static bool fail_bad_head(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_tx *t;

	if (e->tx_head == e->tx_tail)
		return false;
	t = xd_tx_at(e, e->tx_head);
	if (!t->bad_status)
		return false;
	xd_req_fail_head(qp, t->bad_status);
	return true;
}

/*
 * An RNR stall may end before its timer once the responder has receives
 * for everything waiting here (the peer's rx_ready): the timer is the
 * longest a sender waits, and the receiver posting them is what it waits
 * for.  Such an early look that is NAKed again spends no retry (stall_rnr),
 * so rnr_retry still counts whole RNR timer periods.
 */
static bool rnr_ready(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_tx *t = next_unsent(e);
	uint32_t waiting;
	struct xd_peer peer;
	struct xd_req req;

	if (!t || t->bad_status)
		return false;
	waiting = xr_load_acquire(&qp->sq.hdr->prod) - qp->sq.idx;
	if (waiting > qp->sq.entries)
		return false;
	build_req(qp, &t->wqe, (uint64_t)t->sent * XD_SLICE_BYTES, 0, &req);
	return xd_peer_ops->resolve(qp, &req, &peer) && peer.ops->rx_ready &&
	       peer.ops->rx_ready(&peer, qp, &req, waiting);
}

void xd_req_reset(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;

	e->drain_notify = false;
	e->tx_head = e->tx_tail = 0;
	e->resume_skip = 0;
	e->stall = XD_STALL_NONE;
	e->rnr_early = false;
	e->next_seq = qp->attr.sq_psn;
	e->last_answer_ns = 0;
	e->timer_at_send = false;
	e->told_unsendable = false;
	e->rewound = false;
}

void xd_req_start(struct xd_qp *qp)
{
	qp->eng->next_seq = qp->attr.sq_psn;
	qp->eng->max_seq = qp->attr.sq_psn;
}

unsigned int xd_req_run(struct xd_qp *qp, uint64_t *next_ns)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_ring *sq = &qp->sq;
	uint64_t budget = XD_SLICE_BYTES;
	unsigned int n = 0;
	uint32_t prod;

	if (qp->attr.qp_state != IBV_QPS_RTS &&
	    !(qp->attr.qp_state == IBV_QPS_SQD && e->tx_head != e->tx_tail))
		return 0;
	prod = xr_load_acquire(&sq->hdr->prod);		/* guest produces */
	if (prod - sq->idx > sq->entries) {
		xd_ctx_log(qp->ctx, "QP 0x%x: send queue index corrupt",
			   qp->h.id);
		xd_qp_to_error(qp, IBV_EVENT_QP_FATAL);
		return 1;
	}
	xd_req_retire(qp);	/* a moved QP's oldest WQE may be done */
	xd_req_check_timeout(qp);
	while (n < XD_SQ_BATCH && budget &&
	       (qp->attr.qp_state == IBV_QPS_RTS ||
		qp->attr.qp_state == IBV_QPS_SQD)) {
		struct xd_tx *t;

		if (fail_bad_head(qp)) {
			n++;
			continue;
		}
		if (e->stall && xd.now_ns < e->stall_until_ns) {
			if (e->stall != XD_STALL_RNR || !rnr_ready(qp))
				break;
			e->rnr_early = true;
		} else {
			e->rnr_early = false;
		}
		if (e->stall == XD_STALL_FROZEN || e->stall == XD_STALL_BUSY)
			e->stall = XD_STALL_NONE;	/* look again */
		t = next_unsent(e);
		if (!t) {
			if (!fetch(qp, prod))
				break;
			xd_req_retire(qp);	/* (as above) */
			continue;
		}
		if (t->bad_status) {
			if (t == xd_tx_at(e, e->tx_head))
				continue;
			break;	/* fails once the WQEs before it are done */
		}
		if (send_one(qp, t, &budget) == STEP_WAIT)
			break;
		n++;
	}
	xd_req_timers(qp, next_ns);
	if (qp->attr.qp_state == IBV_QPS_SQD && e->tx_head == e->tx_tail &&
	    e->drain_notify) {
		e->drain_notify = false;
		xd_ctx_post_async(qp->ctx, IBV_EVENT_SQ_DRAINED, qp->h.id);
	}
	return n;
}

void xd_engine_drain_qp(struct xd_qp *qp, bool notify)
{
	struct xd_qp_eng *e = qp->eng;

	if (e->tx_head != e->tx_tail)
		e->drain_notify = notify;	/* when they completed */
	else if (notify)
		xd_ctx_post_async(qp->ctx, IBV_EVENT_SQ_DRAINED, qp->h.id);
}

bool xd_req_has_work(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;
	uint32_t in_window = e->tx_tail - e->tx_head;

	/* A stalled QP waits for its timer, which bounds the sleep. */
	if (e->stall && xd.now_ns < e->stall_until_ns)
		return e->stall == XD_STALL_RNR && rnr_ready(qp);
	if (next_unsent(e))
		return true;
	return qp->attr.qp_state == IBV_QPS_RTS && in_window < XD_TX_WQES &&
	       xr_load_acquire(&qp->sq.hdr->prod) - qp->sq.idx > in_window &&
	       xr_load_acquire(&qp->sq.hdr->prod) - qp->sq.idx <=
		       qp->sq.entries;
}
