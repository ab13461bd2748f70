// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Fast path: posting work requests (VMM-bypass).
 *
 * A post writes WQEs into the shared ring, publishes the producer index
 * once per call and kicks the doorbell only if the backend said it is
 * asleep (and, for receives, that it wants to know: util/xenib_ring.h).
 * No allocation, no system call while the backend is polling.
 */
#include <errno.h>
#include <string.h>

#include "xenib.h"

#define XENIB_SEND_FLAGS (IBV_SEND_SIGNALED | IBV_SEND_SOLICITED | \
			  IBV_SEND_INLINE | IBV_SEND_FENCE)

/* Which operations a QP type offers (as a real HCA, reject at post). */
static inline bool op_allowed(enum ibv_qp_type type, enum ibv_wr_opcode op)
{
	switch (type) {
	case IBV_QPT_UD:
		return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM;
	case IBV_QPT_UC:
		return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM ||
		       op == IBV_WR_RDMA_WRITE ||
		       op == IBV_WR_RDMA_WRITE_WITH_IMM ||
		       op == IBV_WR_SEND_WITH_INV || op == IBV_WR_LOCAL_INV ||
		       op == IBV_WR_BIND_MW;
	default:
		return true;
	}
}

#define XENIB_MW_ACCESS (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | \
			 IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_ZERO_BASED)

/*
 * BIND_MW (type 2 through ibv_post_send, type 1 from ibv_bind_mw): no
 * SGEs; the backend checks the IB rules (engine/mw.c) and completes a bad
 * bind with IBV_WC_MW_BIND_ERR, as an HCA does.
 */
static inline int build_bind(struct ibv_qp *qp, const struct ibv_send_wr *wr,
			     struct xenib_send_wqe *wqe)
{
	const struct ibv_mw_bind_info *bi = &wr->bind_mw.bind_info;
	struct ibv_mw *mw = wr->bind_mw.mw;

	if (!mw || mw->context != qp->context ||
	    (bi->mr && bi->mr->context != qp->context) ||
	    (!bi->mr && bi->length) || (bi->mw_access_flags & ~XENIB_MW_ACCESS))
		return EINVAL;
	wqe->bind_mw = mw->handle;
	wqe->rkey = wr->bind_mw.rkey;
	wqe->remote_addr = bi->addr;
	wqe->bind_length = bi->length;
	wqe->bind_access = bi->mw_access_flags;
	wqe->bind_lkey = bi->mr ? bi->mr->lkey : 0;
	return 0;
}

static inline int build_send_wqe(struct ibv_qp *qp, struct xenib_wq *sq,
				 const struct ibv_send_wr *wr,
				 struct xenib_send_wqe *wqe)
{
	enum ibv_qp_type type = qp->qp_type;
	bool is_inline = wr->send_flags & IBV_SEND_INLINE;
	struct xenib_sge *sge;
	uint32_t i, total;
	char *dst;

	if ((uint32_t)wr->num_sge > sq->max_sge || wr->num_sge < 0 ||
	    !op_allowed(type, wr->opcode))
		return EINVAL;

	wqe->wr_id = wr->wr_id;
	wqe->opcode = wr->opcode;
	wqe->send_flags = wr->send_flags & XENIB_SEND_FLAGS;
	wqe->imm_data = 0;
	wqe->remote_addr = 0;
	wqe->rkey = 0;
	wqe->compare_add = 0;
	wqe->swap = 0;
	wqe->ah = 0;
	wqe->remote_qpn = 0;
	if (type == IBV_QPT_XRC_SEND)	/* the target XRC SRQ, every opcode */
		wqe->remote_srqn = wr->qp_type.xrc.remote_srqn;

	switch (wr->opcode) {
	case IBV_WR_BIND_MW:
		wqe->num_sge = 0;
		wqe->inline_len = 0;
		return is_inline ? EINVAL : build_bind(qp, wr, wqe);
	case IBV_WR_LOCAL_INV:
		wqe->invalidate_rkey = wr->invalidate_rkey;
		wqe->num_sge = 0;
		wqe->inline_len = 0;
		return is_inline ? EINVAL : 0;
	case IBV_WR_SEND_WITH_INV:
		wqe->invalidate_rkey = wr->invalidate_rkey;
		break;
	case IBV_WR_SEND_WITH_IMM:
		wqe->imm_data = wr->imm_data;	/* network order as given */
		/* fall through */
	case IBV_WR_SEND:
		if (type != IBV_QPT_UD)
			break;
		if (!wr->wr.ud.ah)
			return EINVAL;
		wqe->ah = wr->wr.ud.ah->handle;	/* backend AH handle */
		wqe->remote_qpn = wr->wr.ud.remote_qpn;
		wqe->remote_qkey = wr->wr.ud.remote_qkey;
		break;
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		wqe->imm_data = wr->imm_data;
		/* fall through */
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_READ:
		wqe->remote_addr = wr->wr.rdma.remote_addr;
		wqe->rkey = wr->wr.rdma.rkey;
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		wqe->remote_addr = wr->wr.atomic.remote_addr;
		wqe->rkey = wr->wr.atomic.rkey;
		wqe->compare_add = wr->wr.atomic.compare_add;
		wqe->swap = wr->wr.atomic.swap;
		break;
	default:
		return EINVAL;
	}

	if (!is_inline) {
		wqe->num_sge = wr->num_sge;
		wqe->inline_len = 0;
		sge = (struct xenib_sge *)(wqe + 1);
		for (i = 0; i < (uint32_t)wr->num_sge; i++) {
			sge[i].addr = wr->sg_list[i].addr;
			sge[i].length = wr->sg_list[i].length;
			sge[i].lkey = wr->sg_list[i].lkey;
		}
		return 0;
	}

	/* Inline data only makes sense for operations that carry a payload. */
	if (wr->opcode != IBV_WR_SEND && wr->opcode != IBV_WR_SEND_WITH_IMM &&
	    wr->opcode != IBV_WR_SEND_WITH_INV &&
	    wr->opcode != IBV_WR_RDMA_WRITE &&
	    wr->opcode != IBV_WR_RDMA_WRITE_WITH_IMM)
		return EINVAL;
	total = 0;
	for (i = 0; i < (uint32_t)wr->num_sge; i++) {
		total += wr->sg_list[i].length;
		if (total > sq->max_inline || total < wr->sg_list[i].length)
			return EINVAL;
	}
	dst = (char *)(wqe + 1);
	for (i = 0; i < (uint32_t)wr->num_sge; i++) {
		memcpy(dst, (void *)(uintptr_t)wr->sg_list[i].addr,
		       wr->sg_list[i].length);
		dst += wr->sg_list[i].length;
	}
	wqe->num_sge = 0;
	wqe->inline_len = total;
	return 0;
}

int xenib_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		    struct ibv_send_wr **bad_wr)
{
	struct xenib_qp *qp = to_xqp(ibqp);
	struct xenib_wq *sq = &qp->sq;
	struct xenib_ring_hdr *hdr = sq->ring.hdr;
	uint32_t prod, cons;
	bool published;
	int err = 0;

	switch (ibqp->state) {
	case IBV_QPS_RESET:
	case IBV_QPS_INIT:
	case IBV_QPS_RTR:
		*bad_wr = wr;
		return EINVAL;
	default:
		break;
	}
	if (ibqp->qp_type == IBV_QPT_XRC_RECV) {	/* no send queue */
		*bad_wr = wr;
		return EINVAL;
	}

	pthread_spin_lock(&sq->lock);
	prod = sq->prod;
	/*
	 * SQ ring: guest produces (prod), backend consumes (cons).  The
	 * consumer index is read only when the ring looks full: the line the
	 * backend writes is not pulled over at every post.
	 */
	cons = sq->cons;
	for (; wr; wr = wr->next) {
		if (prod - cons >= sq->ring.entries) {
			cons = sq->cons = xr_load_acquire(&hdr->cons);
			if (prod - cons >= sq->ring.entries) {
				err = ENOMEM;
				break;
			}
		}
		err = build_send_wqe(ibqp, sq, wr,
				     xr_entry(hdr, prod, sq->ring.entries,
					      sq->ring.stride));
		if (err)
			break;
		prod++;
	}
	if (err)
		*bad_wr = wr;
	published = prod != sq->prod;
	if (published) {
		sq->prod = prod;
		/* Release: the WQEs are complete before the index moves. */
		xr_store_release(&hdr->prod, prod);
	}
	pthread_spin_unlock(&sq->lock);
	if (published)
		xenib_ring_doorbell(to_xctx(ibqp->context), NULL);
	return err;
}

/* Post receive WQEs into a QP's RQ or an SRQ (srq.c). */
int xenib_wq_post_recv(struct ibv_context *ibctx, struct xenib_wq *rq,
		       struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	struct xenib_ring_hdr *hdr = rq->ring.hdr;
	uint32_t prod, cons, i;
	bool published;
	int err = 0;

	pthread_spin_lock(&rq->lock);
	prod = rq->prod;
	/* RQ ring: guest produces (prod), backend consumes (cons); as above. */
	cons = rq->cons;
	for (; wr; wr = wr->next) {
		struct xenib_recv_wqe *wqe;
		struct xenib_sge *sge;

		if (prod - cons >= rq->ring.entries) {
			cons = rq->cons = xr_load_acquire(&hdr->cons);
			if (prod - cons >= rq->ring.entries) {
				err = ENOMEM;
				break;
			}
		}
		if (wr->num_sge < 0 || (uint32_t)wr->num_sge > rq->max_sge) {
			err = EINVAL;
			break;
		}
		wqe = xr_entry(hdr, prod, rq->ring.entries, rq->ring.stride);
		wqe->wr_id = wr->wr_id;
		wqe->num_sge = wr->num_sge;
		wqe->reserved = 0;
		sge = (struct xenib_sge *)(wqe + 1);
		for (i = 0; i < (uint32_t)wr->num_sge; i++) {
			sge[i].addr = wr->sg_list[i].addr;
			sge[i].length = wr->sg_list[i].length;
			sge[i].lkey = wr->sg_list[i].lkey;
		}
		prod++;
	}
	if (err)
		*bad_wr = wr;
	published = prod != rq->prod;
	if (published) {
		rq->prod = prod;
		/* Release: the WQEs are complete before the index moves. */
		xr_store_release(&hdr->prod, prod);
	}
	pthread_spin_unlock(&rq->lock);
	if (published)
		xenib_ring_doorbell(to_xctx(ibctx), hdr);
	return err;
}

int xenib_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		    struct ibv_recv_wr **bad_wr)
{
	/* A QP on an SRQ, or an XRC QP, has no receive queue of its own. */
	if (ibqp->state == IBV_QPS_RESET || ibqp->srq ||
	    ibqp->qp_type == IBV_QPT_XRC_SEND ||
	    ibqp->qp_type == IBV_QPT_XRC_RECV) {
		*bad_wr = wr;
		return EINVAL;
	}
	return xenib_wq_post_recv(ibqp->context, &to_xqp(ibqp)->rq, wr,
				  bad_wr);
}
