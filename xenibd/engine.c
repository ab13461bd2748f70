// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The WQE engine: consumes send queues, moves data between guests' pages and
 * produces completions, with RC semantics (ordering, RNR and transport
 * retry, error and flush completions).
 *
 * Every WQE is copied out of guest memory before it is validated and used,
 * so a guest rewriting its ring concurrently can only confuse itself.  Data
 * moves with one memcpy from the source guest's pages to the destination
 * guest's pages through the MR views (mr.c).  Nothing here allocates, locks
 * or makes a system call, except signalling a guest that armed its CQ.
 */
#include <endian.h>
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"

#define XD_SQ_BATCH	64	/* WQEs per QP per round, for fairness */

/* RNR NAK timer field (IB spec table 45), in microseconds. */
static const uint32_t rnr_timer_us[32] = {
	655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960,
	1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

/* A scatter/gather list translated to backend addresses. */
struct xd_sgl {
	uint32_t n;
	uint64_t total;
	struct {
		char *va;
		uint32_t len;
	} e[XENIB_MAX_SGE];
};

/* A send WQE copied out of the guest ring. */
struct xd_swqe {
	struct xenib_send_wqe w;
	union {
		struct xenib_sge sge[XENIB_MAX_SGE];
		char inl[XENIB_MAX_INLINE];
	};
};

struct xd_rwqe {
	struct xenib_recv_wqe w;
	struct xenib_sge sge[XENIB_MAX_SGE];
};

enum exec_result {
	EXEC_DONE,	/* WQE consumed (completed or failed) */
	EXEC_STALL,	/* retry later; head of SQ stays */
};

static uint32_t wc_opcode(uint32_t wr_opcode)
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
	default:
		return IBV_WC_SEND;
	}
}

/* Translate guest SGEs; false if any is not a valid local buffer. */
static bool sgl_translate(struct xd_sgl *sgl, const struct xenib_sge *sge,
			  uint32_t n, const struct xd_pd *pd, uint32_t access)
{
	uint32_t i;

	sgl->n = 0;
	sgl->total = 0;
	for (i = 0; i < n; i++) {
		char *va;

		if (!sge[i].length)
			continue;
		va = xd_mr_translate(sge[i].lkey, pd, sge[i].addr,
				     sge[i].length, access);
		if (!va)
			return false;
		sgl->e[sgl->n].va = va;
		sgl->e[sgl->n].len = sge[i].length;
		sgl->n++;
		sgl->total += sge[i].length;
	}
	return true;
}

/* Copy src's bytes into dst's buffers (dst->total >= src->total). */
static void sgl_copy(struct xd_sgl *dst, const struct xd_sgl *src)
{
	uint32_t si = 0, di = 0, soff = 0, doff = 0;

	while (si < src->n && di < dst->n) {
		uint32_t n = src->e[si].len - soff;

		if (n > dst->e[di].len - doff)
			n = dst->e[di].len - doff;
		memcpy(dst->e[di].va + doff, src->e[si].va + soff, n);
		soff += n;
		doff += n;
		if (soff == src->e[si].len) {
			si++;
			soff = 0;
		}
		if (doff == dst->e[di].len) {
			di++;
			doff = 0;
		}
	}
}

static void complete(struct xd_qp *qp, struct xd_cq *cq, uint64_t wr_id,
		     uint32_t status, uint32_t opcode, uint32_t byte_len,
		     bool solicited)
{
	struct xenib_cqe cqe = {
		.wr_id = wr_id,
		.status = status,
		.opcode = opcode,
		.byte_len = byte_len,
		.qp_num = qp->h.id,
	};

	if (!xd_cq_push(cq, &cqe, solicited))
		xd_qp_to_error(qp, IBV_EVENT_QP_FATAL);
}

/*
 * Requester-side end of the WQE at the head of qp's SQ: every executed WQE
 * ends here exactly once.  The slot is released before the completion is
 * published, so a guest that sees the CQE may reuse the slot at once (as on
 * hardware), and before an error flush, which must not see it again.
 */
static void complete_send(struct xd_qp *qp, const struct xd_swqe *s,
			  uint32_t status, uint32_t byte_len)
{
	bool signaled = qp->sq_sig_all || (s->w.send_flags & IBV_SEND_SIGNALED);

	/*
	 * Already in ERR: the QP failed while executing this WQE (a loopback
	 * QP failing as its own responder, a CQ overrun) and that flush has
	 * completed this WQE.  Nothing to add.
	 */
	if (qp->attr.qp_state == IBV_QPS_ERR)
		return;
	/* We consume the guest's send ring: release the slot. */
	xr_store_release(&qp->sq.hdr->cons, ++qp->sq.idx);
	if (status == IBV_WC_SUCCESS && !signaled)
		return;
	complete(qp, qp->send_cq, s->w.wr_id, status, wc_opcode(s->w.opcode),
		 byte_len, false);
	if (status != IBV_WC_SUCCESS)
		xd_qp_to_error(qp, 0);
}

/* The PD receive WQEs of qp are checked against (its SRQ's, if any). */
static const struct xd_pd *recv_pd(const struct xd_qp *qp)
{
	return qp->srq ? qp->srq->pd : qp->pd;
}

/* Copy the next receive WQE of qp (RQ or SRQ) out of its ring; false if none. */
static bool rq_peek(struct xd_qp *qp, struct xd_rwqe *r)
{
	struct xd_ring *rq = qp->srq ? &qp->srq->ring : &qp->rq;
	uint32_t max_sge = qp->srq ? qp->srq->max_sge : qp->max_recv_sge;
	uint32_t prod = xr_load_acquire(&rq->hdr->prod);	/* guest produces */
	const struct xd_rwqe *src;

	if (prod == rq->idx)
		return false;
	if (prod - rq->idx > rq->entries) {
		if (qp->srq)	/* shared: only the SRQ's users starve */
			return false;
		xd_ctx_log(qp->ctx, "QP 0x%x: receive queue index corrupt",
			   qp->h.id);
		xd_qp_to_error(qp, IBV_EVENT_QP_FATAL);
		return false;
	}
	src = xr_entry(rq->hdr, rq->idx, rq->entries, rq->stride);
	memcpy(&r->w, &src->w, sizeof(r->w));
	if (r->w.num_sge > max_sge) {
		r->w.num_sge = 0;
		r->w.reserved = 1;	/* marks a malformed WQE */
		return true;
	}
	memcpy(r->sge, src->sge, r->w.num_sge * sizeof(r->sge[0]));
	r->w.reserved = 0;
	return true;
}

static void rq_consume(struct xd_qp *qp)
{
	struct xd_srq *srq = qp->srq;
	uint32_t left;

	if (!srq) {
		/* We consume the guest's receive ring: release the slot. */
		xr_store_release(&qp->rq.hdr->cons, ++qp->rq.idx);
		return;
	}
	/* We consume the guest's SRQ ring: release the slot. */
	xr_store_release(&srq->ring.hdr->cons, ++srq->ring.idx);
	if (!srq->limit)
		return;
	left = xr_load_acquire(&srq->ring.hdr->prod) - srq->ring.idx;
	if (left < srq->limit) {	/* armed limit crossed: fire once */
		srq->limit = 0;
		xd_ctx_post_async(srq->ctx, IBV_EVENT_SRQ_LIMIT_REACHED,
				  srq->h.id);
	}
}

/* Can qp's packets reach peer, and does peer accept them? */
static bool rc_peer_ready(const struct xd_qp *qp, const struct xd_qp *peer)
{
	/* RC talks to RC, an XRC_SEND QP to an XRC_RECV QP. */
	uint32_t type = qp->qp_type == IBV_QPT_XRC_SEND ? IBV_QPT_XRC_RECV :
							  IBV_QPT_RC;

	if (!peer || peer->qp_type != type)
		return false;
	if (qp->attr.ah.dlid != peer->ctx->guest->lid ||
	    peer->attr.dest_qp_num != qp->h.id ||
	    peer->attr.ah.dlid != qp->ctx->guest->lid)
		return false;
	return peer->attr.qp_state == IBV_QPS_RTR ||
	       peer->attr.qp_state == IBV_QPS_RTS ||
	       peer->attr.qp_state == IBV_QPS_SQD;
}

/*
 * The responder did not answer (gone, not ready, not connected to us):
 * retry for the transport timeout, retry_cnt + 1 times, then fail.
 */
static enum exec_result stall_retry(struct xd_qp *qp, const struct xd_swqe *s)
{
	uint64_t period;

	if (!qp->attr.timeout) {	/* 0 means wait forever */
		qp->stall = XD_STALL_RETRY;
		qp->stall_until_ns = xd.now_ns + 1000000;
		return EXEC_STALL;
	}
	period = 4096ull << qp->attr.timeout;	/* 4.096 us * 2^timeout */
	if (qp->stall != XD_STALL_RETRY) {
		qp->stall = XD_STALL_RETRY;
		qp->stall_count = 0;
	} else if (++qp->stall_count > qp->attr.retry_cnt) {
		qp->stall = XD_STALL_NONE;
		complete_send(qp, s, IBV_WC_RETRY_EXC_ERR, 0);
		return EXEC_DONE;
	}
	qp->stall_until_ns = xd.now_ns + period;
	return EXEC_STALL;
}

/*
 * The responder had no receive WQE: RNR NAK.  The NAK is an answer, so
 * the requester fails as soon as a NAK finds its rnr_retry retries spent
 * (at once for rnr_retry 0, after rnr_retry RNR timer periods otherwise).
 */
static enum exec_result stall_rnr(struct xd_qp *qp, const struct xd_qp *peer,
				  const struct xd_swqe *s)
{
	if (qp->stall != XD_STALL_RNR) {
		qp->stall = XD_STALL_RNR;
		qp->stall_count = 0;
	}
	if (qp->attr.rnr_retry != 7 &&	/* 7 means retry forever */
	    qp->stall_count >= qp->attr.rnr_retry) {
		qp->stall = XD_STALL_NONE;
		complete_send(qp, s, IBV_WC_RNR_RETRY_EXC_ERR, 0);
		return EXEC_DONE;
	}
	qp->stall_count++;
	qp->stall_until_ns = xd.now_ns +
		rnr_timer_us[peer->attr.min_rnr_timer & 31] * 1000ull;
	return EXEC_STALL;
}

/*
 * The target (QP, SRQ, MR) belongs to a frozen guest (xen.c, RESUME): its
 * memory is not mapped.  The WQE stays at the head of the SQ and is looked
 * at again later; no retry budget is spent (the guest is not unreachable,
 * only paused), so a peer does not fail while its partner migrates.
 */
static enum exec_result hold_frozen(struct xd_qp *qp)
{
	qp->stall = XD_STALL_FROZEN;
	qp->stall_until_ns = xd.now_ns + XD_FROZEN_RETRY_NS;
	return EXEC_STALL;
}

static bool qp_frozen(const struct xd_qp *qp)
{
	return qp && qp->ctx->frozen;
}

/* Responder-side fatal error: error CQE on its RQ, QP to error. */
static void responder_fail(struct xd_qp *peer, const struct xd_rwqe *r,
			   uint32_t status, uint32_t event)
{
	if (r) {
		rq_consume(peer);
		complete(peer, peer->recv_cq, r->w.wr_id, status, IBV_WC_RECV,
			 0, true);
	}
	xd_qp_to_error(peer, event);
}

static void complete_recv(struct xd_qp *qp, struct xd_qp *peer,
			  const struct xd_rwqe *r, const struct xd_swqe *s,
			  uint32_t byte_len, uint32_t opcode)
{
	struct xenib_cqe cqe = {
		.wr_id = r->w.wr_id,
		.status = IBV_WC_SUCCESS,
		.opcode = opcode,
		.byte_len = byte_len,
		.qp_num = peer->h.id,
		.src_qp = qp->h.id,
		.slid = qp->ctx->guest->lid,
		.sl = qp->attr.ah.sl,
	};

	if (s->w.opcode == IBV_WR_SEND_WITH_IMM ||
	    s->w.opcode == IBV_WR_RDMA_WRITE_WITH_IMM) {
		cqe.imm_data = s->w.imm_data;
		cqe.wc_flags = IBV_WC_WITH_IMM;
	}
	rq_consume(peer);
	if (!xd_cq_push(peer->recv_cq, &cqe,
			s->w.send_flags & IBV_SEND_SOLICITED))
		xd_qp_to_error(peer, IBV_EVENT_QP_FATAL);
}

/* The source bytes of a SEND / WRITE: inline copy or local SGEs. */
static bool send_source(struct xd_qp *qp, struct xd_swqe *s, struct xd_sgl *src)
{
	if (s->w.send_flags & IBV_SEND_INLINE) {
		src->n = s->w.inline_len ? 1 : 0;
		src->total = s->w.inline_len;
		src->e[0].va = s->inl;
		src->e[0].len = s->w.inline_len;
		return true;
	}
	return sgl_translate(src, s->sge, s->w.num_sge, qp->pd, 0);
}

static enum exec_result exec_send(struct xd_qp *qp, struct xd_qp *peer,
				  struct xd_swqe *s, struct xd_sgl *src)
{
	struct xd_rwqe r;
	struct xd_sgl dst;

	if (!rq_peek(peer, &r))
		return peer->attr.qp_state == IBV_QPS_ERR ?
			stall_retry(qp, s) : stall_rnr(qp, peer, s);
	qp->stall = XD_STALL_NONE;
	if (r.w.reserved ||
	    !sgl_translate(&dst, r.sge, r.w.num_sge, recv_pd(peer),
			   IBV_ACCESS_LOCAL_WRITE)) {
		responder_fail(peer, &r, IBV_WC_LOC_PROT_ERR, 0);
		complete_send(qp, s, IBV_WC_REM_OP_ERR, 0);
		return EXEC_DONE;
	}
	if (dst.total < src->total) {
		responder_fail(peer, &r, IBV_WC_LOC_LEN_ERR, 0);
		complete_send(qp, s, IBV_WC_REM_INV_REQ_ERR, 0);
		return EXEC_DONE;
	}
	sgl_copy(&dst, src);
	complete_recv(qp, peer, &r, s, src->total, IBV_WC_RECV);
	complete_send(qp, s, IBV_WC_SUCCESS, src->total);
	return EXEC_DONE;
}

/* Remote buffer of an RDMA/atomic operation, checked like the responder. */
static char *remote_buffer(struct xd_qp *peer, const struct xd_swqe *s,
			   uint64_t len, uint32_t access)
{
	if (!(peer->attr.qp_access_flags & access))
		return NULL;
	if (!len)
		return (char *)1;	/* zero-length: nothing to reach */
	return xd_mr_translate(s->w.rkey, peer->pd, s->w.remote_addr, len,
			       access);
}

static enum exec_result exec_write(struct xd_qp *qp, struct xd_qp *peer,
				   struct xd_swqe *s, struct xd_sgl *src)
{
	bool imm = s->w.opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	struct xd_rwqe r;
	char *dst;
	uint32_t i;
	uint64_t off = 0;

	/* WRITE_WITH_IMM consumes a receive WQE: RNR applies before data. */
	if (imm && !rq_peek(peer, &r))
		return stall_rnr(qp, peer, s);
	qp->stall = XD_STALL_NONE;
	dst = remote_buffer(peer, s, src->total, IBV_ACCESS_REMOTE_WRITE);
	if (!dst) {
		responder_fail(peer, NULL, 0, IBV_EVENT_QP_ACCESS_ERR);
		complete_send(qp, s, IBV_WC_REM_ACCESS_ERR, 0);
		return EXEC_DONE;
	}
	for (i = 0; i < src->n; i++) {
		memcpy(dst + off, src->e[i].va, src->e[i].len);
		off += src->e[i].len;
	}
	if (imm)
		complete_recv(qp, peer, &r, s, src->total,
			      IBV_WC_RECV_RDMA_WITH_IMM);
	complete_send(qp, s, IBV_WC_SUCCESS, src->total);
	return EXEC_DONE;
}

static enum exec_result exec_read(struct xd_qp *qp, struct xd_qp *peer,
				  struct xd_swqe *s)
{
	struct xd_sgl dst;
	char *src;
	uint32_t i;
	uint64_t off = 0;

	if (!sgl_translate(&dst, s->sge, s->w.num_sge, qp->pd,
			   IBV_ACCESS_LOCAL_WRITE)) {
		complete_send(qp, s, IBV_WC_LOC_PROT_ERR, 0);
		return EXEC_DONE;
	}
	src = remote_buffer(peer, s, dst.total, IBV_ACCESS_REMOTE_READ);
	if (!src) {
		responder_fail(peer, NULL, 0, IBV_EVENT_QP_ACCESS_ERR);
		complete_send(qp, s, IBV_WC_REM_ACCESS_ERR, 0);
		return EXEC_DONE;
	}
	for (i = 0; i < dst.n; i++) {
		memcpy(dst.e[i].va, src + off, dst.e[i].len);
		off += dst.e[i].len;
	}
	complete_send(qp, s, IBV_WC_SUCCESS, dst.total);
	return EXEC_DONE;
}

static enum exec_result exec_atomic(struct xd_qp *qp, struct xd_qp *peer,
				    struct xd_swqe *s)
{
	struct xd_sgl dst;
	uint64_t *target, old;

	if (s->w.num_sge != 1 || s->sge[0].length != 8 ||
	    !sgl_translate(&dst, s->sge, 1, qp->pd, IBV_ACCESS_LOCAL_WRITE)) {
		complete_send(qp, s, IBV_WC_LOC_PROT_ERR, 0);
		return EXEC_DONE;
	}
	if (s->w.remote_addr & 7) {
		responder_fail(peer, NULL, 0, IBV_EVENT_QP_REQ_ERR);
		complete_send(qp, s, IBV_WC_REM_INV_REQ_ERR, 0);
		return EXEC_DONE;
	}
	target = (uint64_t *)remote_buffer(peer, s, 8, IBV_ACCESS_REMOTE_ATOMIC);
	if (!target) {
		responder_fail(peer, NULL, 0, IBV_EVENT_QP_ACCESS_ERR);
		complete_send(qp, s, IBV_WC_REM_ACCESS_ERR, 0);
		return EXEC_DONE;
	}
	if (s->w.opcode == IBV_WR_ATOMIC_CMP_AND_SWP) {
		old = s->w.compare_add;
		__atomic_compare_exchange_n(target, &old, s->w.swap, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	} else {
		old = __atomic_fetch_add(target, s->w.compare_add,
					 __ATOMIC_SEQ_CST);
	}
	memcpy(dst.e[0].va, &old, 8);
	complete_send(qp, s, IBV_WC_SUCCESS, 8);
	return EXEC_DONE;
}

/* Copy the WQE at the SQ head out of guest memory; false if malformed. */
static bool sq_fetch(struct xd_qp *qp, struct xd_swqe *s)
{
	struct xd_ring *sq = &qp->sq;
	const char *src = xr_entry(sq->hdr, sq->idx, sq->entries, sq->stride);
	size_t body;

	memcpy(&s->w, src, sizeof(s->w));
	if (s->w.send_flags & IBV_SEND_INLINE) {
		body = s->w.inline_len;
		if (body > qp->max_inline)
			return false;
	} else {
		if (s->w.num_sge > qp->max_send_sge)
			return false;
		body = s->w.num_sge * sizeof(struct xenib_sge);
	}
	memcpy(s->inl, src + sizeof(s->w), body);
	return true;
}

static enum exec_result exec_rc(struct xd_qp *qp, struct xd_swqe *s)
{
	struct xd_qp *peer = xd_qp_find(qp->attr.dest_qp_num);
	struct xd_sgl src;
	uint32_t op = s->w.opcode;

	if (qp_frozen(peer))
		return hold_frozen(qp);
	if (op != IBV_WR_SEND && op != IBV_WR_SEND_WITH_IMM &&
	    op != IBV_WR_RDMA_WRITE && op != IBV_WR_RDMA_WRITE_WITH_IMM &&
	    op != IBV_WR_RDMA_READ && op != IBV_WR_ATOMIC_CMP_AND_SWP &&
	    op != IBV_WR_ATOMIC_FETCH_AND_ADD) {
		complete_send(qp, s, IBV_WC_LOC_QP_OP_ERR, 0);
		return EXEC_DONE;
	}
	if (op == IBV_WR_RDMA_READ || op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	    op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		if (!rc_peer_ready(qp, peer))
			return stall_retry(qp, s);
		qp->stall = XD_STALL_NONE;	/* the responder answered */
		return op == IBV_WR_RDMA_READ ? exec_read(qp, peer, s) :
						exec_atomic(qp, peer, s);
	}
	/* The requester reads its buffers before anything leaves it. */
	if (!send_source(qp, s, &src)) {
		complete_send(qp, s, IBV_WC_LOC_PROT_ERR, 0);
		return EXEC_DONE;
	}
	if (src.total > (1u << 30)) {
		complete_send(qp, s, IBV_WC_LOC_LEN_ERR, 0);
		return EXEC_DONE;
	}
	if (!rc_peer_ready(qp, peer))
		return stall_retry(qp, s);
	if (op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM)
		return exec_send(qp, peer, s, &src);
	return exec_write(qp, peer, s, &src);
}

/* Can qp's UC packets reach peer, and does peer accept them? */
static bool uc_peer_ready(const struct xd_qp *qp, const struct xd_qp *peer)
{
	if (!peer || peer->qp_type != IBV_QPT_UC)
		return false;
	if (qp->attr.ah.dlid != peer->ctx->guest->lid ||
	    peer->attr.dest_qp_num != qp->h.id ||
	    peer->attr.ah.dlid != qp->ctx->guest->lid)
		return false;
	return peer->attr.qp_state == IBV_QPS_RTR ||
	       peer->attr.qp_state == IBV_QPS_RTS ||
	       peer->attr.qp_state == IBV_QPS_SQD;
}

/*
 * UC: SEND and RDMA WRITE (with immediate) without acknowledgement.  A
 * message the responder cannot take (not ready, no receive WQE, bad rkey)
 * is dropped and the requester still completes successfully.
 */
static enum exec_result exec_uc(struct xd_qp *qp, struct xd_swqe *s)
{
	struct xd_qp *peer = xd_qp_find(qp->attr.dest_qp_num);
	uint32_t op = s->w.opcode;
	struct xd_sgl src, dst;
	struct xd_rwqe r;
	char *buf;
	uint32_t i;
	uint64_t off = 0;

	if (qp_frozen(peer))
		return hold_frozen(qp);
	if (op != IBV_WR_SEND && op != IBV_WR_SEND_WITH_IMM &&
	    op != IBV_WR_RDMA_WRITE && op != IBV_WR_RDMA_WRITE_WITH_IMM) {
		complete_send(qp, s, IBV_WC_LOC_QP_OP_ERR, 0);
		return EXEC_DONE;
	}
	if (!send_source(qp, s, &src)) {
		complete_send(qp, s, IBV_WC_LOC_PROT_ERR, 0);
		return EXEC_DONE;
	}
	if (src.total > (1u << 30)) {
		complete_send(qp, s, IBV_WC_LOC_LEN_ERR, 0);
		return EXEC_DONE;
	}
	if (!uc_peer_ready(qp, peer))
		goto done;
	if (op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM) {
		if (!rq_peek(peer, &r))
			goto done;
		if (r.w.reserved ||
		    !sgl_translate(&dst, r.sge, r.w.num_sge, recv_pd(peer),
				   IBV_ACCESS_LOCAL_WRITE)) {
			responder_fail(peer, &r, IBV_WC_LOC_PROT_ERR, 0);
			goto done;
		}
		if (dst.total < src.total) {
			responder_fail(peer, &r, IBV_WC_LOC_LEN_ERR, 0);
			goto done;
		}
		sgl_copy(&dst, &src);
		complete_recv(qp, peer, &r, s, src.total, IBV_WC_RECV);
		goto done;
	}
	if (op == IBV_WR_RDMA_WRITE_WITH_IMM && !rq_peek(peer, &r))
		goto done;
	buf = remote_buffer(peer, s, src.total, IBV_ACCESS_REMOTE_WRITE);
	if (!buf)
		goto done;	/* UC responder drops a bad request */
	for (i = 0; i < src.n; i++) {
		memcpy(buf + off, src.e[i].va, src.e[i].len);
		off += src.e[i].len;
	}
	if (op == IBV_WR_RDMA_WRITE_WITH_IMM)
		complete_recv(qp, peer, &r, s, src.total,
			      IBV_WC_RECV_RDMA_WITH_IMM);
done:
	complete_send(qp, s, IBV_WC_SUCCESS, src.total);
	return EXEC_DONE;
}

/* Drop the first n bytes (n <= total) of an SGL. */
static void sgl_skip(struct xd_sgl *sgl, uint32_t n)
{
	uint32_t i = 0, j;

	sgl->total -= n;
	while (n && i < sgl->n) {
		if (sgl->e[i].len <= n) {
			n -= sgl->e[i].len;
			i++;
			continue;
		}
		sgl->e[i].va += n;
		sgl->e[i].len -= n;
		n = 0;
	}
	for (j = 0; i + j < sgl->n; j++)
		sgl->e[j] = sgl->e[i + j];
	sgl->n = j;
}

/* The GRH a datagram sent through a global AH carries (IBA 8.3). */
static void ud_write_grh(struct xd_sgl *dst, const struct xd_qp *qp,
			 const struct xenib_ah_attr *ah, uint32_t len)
{
	uint64_t guid_be = htobe64(qp->ctx->guest->guid);
	struct ibv_grh grh;
	struct xd_sgl src = { .n = 1, .total = sizeof(grh) };

	memset(&grh, 0, sizeof(grh));
	grh.version_tclass_flow = htobe32((6u << 28) |
					  ((uint32_t)ah->traffic_class << 20) |
					  (ah->flow_label & 0xfffff));
	/* IBA: payload, ICRC excluded, plus the BTH and DETH that follow. */
	grh.paylen = htobe16(len + 12 + 8);
	grh.next_hdr = 0x1b;	/* IBA transport header */
	grh.hop_limit = ah->hop_limit;
	grh.sgid.raw[0] = 0xfe;
	grh.sgid.raw[1] = 0x80;
	memcpy(&grh.sgid.raw[8], &guid_be, 8);
	memcpy(grh.dgid.raw, ah->dgid, 16);
	src.e[0].va = (char *)&grh;
	src.e[0].len = sizeof(grh);
	sgl_copy(dst, &src);
}

/*
 * UD: SEND (with immediate) of at most one path MTU to the QP named by the
 * AH and remote QPN.  A datagram that finds no ready UD QP with the same
 * Q_Key, or no receive WQE, is dropped; the sender completes anyway.
 */
static enum exec_result exec_ud(struct xd_qp *qp, struct xd_swqe *s)
{
	uint32_t op = s->w.opcode, qkey;
	struct xd_sgl src, dst;
	struct xd_qp *peer;
	struct xd_rwqe r;
	struct xd_ah *ah;
	struct xenib_cqe cqe;

	if (op != IBV_WR_SEND && op != IBV_WR_SEND_WITH_IMM) {
		complete_send(qp, s, IBV_WC_LOC_QP_OP_ERR, 0);
		return EXEC_DONE;
	}
	ah = xd_ah_get(qp->ctx, qp->pd, s->w.ah);
	if (!ah) {
		complete_send(qp, s, IBV_WC_LOC_QP_OP_ERR, 0);
		return EXEC_DONE;
	}
	if (!send_source(qp, s, &src)) {
		complete_send(qp, s, IBV_WC_LOC_PROT_ERR, 0);
		return EXEC_DONE;
	}
	if (src.total > XENIB_UD_MAX_MSG) {
		complete_send(qp, s, IBV_WC_LOC_LEN_ERR, 0);
		return EXEC_DONE;
	}
	qkey = (s->w.remote_qkey & 0x80000000u) ? qp->attr.qkey :
						    s->w.remote_qkey;
	peer = xd_ud_resolve(&ah->attr, s->w.remote_qpn);
	if (qp_frozen(peer))
		return hold_frozen(qp);
	if (!peer || peer->qp_type != IBV_QPT_UD || peer->attr.qkey != qkey ||
	    (peer->attr.qp_state != IBV_QPS_RTR &&
	     peer->attr.qp_state != IBV_QPS_RTS &&
	     peer->attr.qp_state != IBV_QPS_SQD))
		goto done;
	if (!rq_peek(peer, &r))
		goto done;	/* no RNR for UD: dropped */
	if (r.w.reserved ||
	    !sgl_translate(&dst, r.sge, r.w.num_sge, recv_pd(peer),
			   IBV_ACCESS_LOCAL_WRITE)) {
		responder_fail(peer, &r, IBV_WC_LOC_PROT_ERR, 0);
		goto done;
	}
	if (dst.total < src.total + XENIB_UD_GRH_BYTES) {
		responder_fail(peer, &r, IBV_WC_LOC_LEN_ERR, 0);
		goto done;
	}
	if (ah->attr.is_global)
		ud_write_grh(&dst, qp, &ah->attr, src.total);
	sgl_skip(&dst, XENIB_UD_GRH_BYTES);
	sgl_copy(&dst, &src);
	memset(&cqe, 0, sizeof(cqe));
	cqe.wr_id = r.w.wr_id;
	cqe.status = IBV_WC_SUCCESS;
	cqe.opcode = IBV_WC_RECV;
	cqe.byte_len = src.total + XENIB_UD_GRH_BYTES;
	cqe.qp_num = peer->h.id;
	cqe.src_qp = qp->h.id;
	cqe.slid = qp->ctx->guest->lid;
	cqe.sl = ah->attr.sl;
	cqe.wc_flags = ah->attr.is_global ? IBV_WC_GRH : 0;
	if (op == IBV_WR_SEND_WITH_IMM) {
		cqe.imm_data = s->w.imm_data;
		cqe.wc_flags |= IBV_WC_WITH_IMM;
	}
	rq_consume(peer);
	if (!xd_cq_push(peer->recv_cq, &cqe,
			s->w.send_flags & IBV_SEND_SOLICITED))
		xd_qp_to_error(peer, IBV_EVENT_QP_FATAL);
done:
	complete_send(qp, s, IBV_WC_SUCCESS, src.total);
	return EXEC_DONE;
}

/*
 * XRC_SEND: RC towards an XRC_RECV QP, whose receive side is the XRC SRQ
 * the WQE names (remote_srqn).  The SRQ must exist and belong to the
 * XRC_RECV QP's domain (a keyed domain may span contexts of one guest,
 * so the SRQ may be another process's), else the responder rejects the request (IB spec
 * 9.7.5.2.8, invalid XRCETH: NAK Invalid Request), the requester completes
 * with IBV_WC_REM_INV_REQ_ERR and goes to ERR; the XRC_RECV QP, which has
 * no queue of its own, is left as it is.  While the WQE executes, the
 * XRC_RECV QP borrows the SRQ, its CQ and its PD (receive buffers and
 * rkeys are checked against the SRQ's PD); receive completions carry the
 * XRC_RECV QP's number.
 */
static enum exec_result exec_xrc(struct xd_qp *qp, struct xd_swqe *s)
{
	struct xd_qp *peer = xd_qp_find(qp->attr.dest_qp_num);
	struct xd_srq *srq;
	enum exec_result res;

	if (qp_frozen(peer))
		return hold_frozen(qp);
	if (!rc_peer_ready(qp, peer))
		return stall_retry(qp, s);
	srq = (struct xd_srq *)xd_table_get(&xd.srqs, s->w.remote_srqn);
	if (srq && srq->ctx->frozen)
		return hold_frozen(qp);
	if (!srq || !srq->xrcd || srq->xrcd->dom != peer->xrcd->dom) {
		qp->stall = XD_STALL_NONE;
		complete_send(qp, s, IBV_WC_REM_INV_REQ_ERR, 0);
		return EXEC_DONE;
	}
	peer->srq = srq;
	peer->recv_cq = srq->cq;
	peer->pd = srq->pd;
	res = exec_rc(qp, s);
	peer->srq = NULL;
	peer->recv_cq = NULL;
	peer->pd = NULL;
	return res;
}

static enum exec_result exec_wqe(struct xd_qp *qp, struct xd_swqe *s)
{
	if (qp->stall == XD_STALL_FROZEN)	/* look again, from scratch */
		qp->stall = XD_STALL_NONE;
	switch (qp->qp_type) {
	case IBV_QPT_UD:
		return exec_ud(qp, s);
	case IBV_QPT_UC:
		return exec_uc(qp, s);
	case IBV_QPT_XRC_SEND:
		return exec_xrc(qp, s);
	default:
		return exec_rc(qp, s);
	}
}

static unsigned int qp_run_sq(struct xd_qp *qp, uint64_t *next_ns)
{
	struct xd_ring *sq = &qp->sq;
	unsigned int n = 0;
	struct xd_swqe s;
	uint32_t prod;

	if (qp->attr.qp_state != IBV_QPS_RTS)
		return 0;
	prod = xr_load_acquire(&sq->hdr->prod);		/* guest produces */
	if (prod - sq->idx > sq->entries) {
		xd_ctx_log(qp->ctx, "QP 0x%x: send queue index corrupt",
			   qp->h.id);
		xd_qp_to_error(qp, IBV_EVENT_QP_FATAL);
		return 1;
	}
	while (sq->idx != prod && n < XD_SQ_BATCH &&
	       qp->attr.qp_state == IBV_QPS_RTS) {
		if (qp->stall && xd.now_ns < qp->stall_until_ns) {
			if (qp->stall_until_ns < *next_ns)
				*next_ns = qp->stall_until_ns;
			break;
		}
		if (!sq_fetch(qp, &s)) {
			complete_send(qp, &s, IBV_WC_LOC_LEN_ERR, 0);
		} else if (exec_wqe(qp, &s) == EXEC_STALL) {
			if (qp->stall_until_ns < *next_ns)
				*next_ns = qp->stall_until_ns;
			break;
		}
		if (qp->attr.qp_state == IBV_QPS_ERR)
			break;	/* the flush consumed the ring */
		n++;	/* complete_send() released the slot */
	}
	return n;
}

/* Complete every outstanding WQE of a ring with IBV_WC_WR_FLUSH_ERR. */
static unsigned int flush_ring(struct xd_qp *qp, struct xd_ring *ring,
			       struct xd_cq *cq, bool send)
{
	uint32_t prod = xr_load_acquire(&ring->hdr->prod);	/* guest produces */
	unsigned int n = 0;

	if (prod - ring->idx > ring->entries)
		prod = ring->idx;	/* corrupt index: nothing to flush */
	while (ring->idx != prod) {
		const char *e = xr_entry(ring->hdr, ring->idx, ring->entries,
					 ring->stride);
		struct xenib_cqe cqe = {
			.status = IBV_WC_WR_FLUSH_ERR,
			.qp_num = qp->h.id,
			.vendor_err = 0,
		};

		if (send) {
			const struct xenib_send_wqe *w = (const void *)e;

			cqe.wr_id = w->wr_id;
			cqe.opcode = wc_opcode(w->opcode);
		} else {
			const struct xenib_recv_wqe *w = (const void *)e;

			cqe.wr_id = w->wr_id;
			cqe.opcode = IBV_WC_RECV;
		}
		if (!xd_cq_push(cq, &cqe, false))
			prod = ring->idx + 1;	/* CQ full: drop the rest */
		xr_store_release(&ring->hdr->cons, ++ring->idx);
		n++;
	}
	return n;
}

/* Does qp have a receive ring of its own (not SRQ, XRC_SEND, XRC_RECV)? */
static bool has_rq(const struct xd_qp *qp)
{
	return !qp->srq && qp->rq.hdr;
}

void xd_engine_flush_qp(struct xd_qp *qp)
{
	if (qp->qp_type == IBV_QPT_XRC_RECV)
		return;	/* no queues: its SRQs belong to their domain */
	flush_ring(qp, &qp->sq, qp->send_cq, true);
	if (qp->qp_type == IBV_QPT_XRC_SEND)
		return;	/* send-only */
	if (qp->srq)	/* the shared SRQ is not flushed, the QP is done */
		xd_ctx_post_async(qp->ctx, IBV_EVENT_QP_LAST_WQE_REACHED,
				  qp->h.id);
	else
		flush_ring(qp, &qp->rq, qp->recv_cq, false);
}

unsigned int xd_engine_poll(uint64_t *next_ns)
{
	struct list_node *pos, *tmp;
	unsigned int n = 0;

	list_for_each_safe(pos, tmp, &xd.qps) {
		struct xd_qp *qp = list_entry(pos, struct xd_qp, active);

		if (qp->ctx->frozen)	/* its rings are not mapped */
			continue;
		if (qp->attr.qp_state == IBV_QPS_ERR)
			n += flush_ring(qp, &qp->sq, qp->send_cq, true) +
			     (has_rq(qp) ?
			      flush_ring(qp, &qp->rq, qp->recv_cq, false) : 0);
		else
			n += qp_run_sq(qp, next_ns);
	}
	xd.stats.wqes += n;
	return n;
}

bool xd_engine_has_work(void)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.qps) {
		struct xd_qp *qp = list_entry(pos, struct xd_qp, active);
		uint32_t state = qp->attr.qp_state;

		if (qp->ctx->frozen)
			continue;
		/* A stalled QP waits for its timer, which bounds the sleep. */
		if (state == IBV_QPS_RTS && qp->stall &&
		    xd.now_ns < qp->stall_until_ns)
			continue;
		if ((state == IBV_QPS_RTS || state == IBV_QPS_ERR) &&
		    xr_load_acquire(&qp->sq.hdr->prod) != qp->sq.idx)
			return true;
		if (state == IBV_QPS_ERR && has_rq(qp) &&
		    xr_load_acquire(&qp->rq.hdr->prod) != qp->rq.idx)
			return true;
	}
	return false;
}
