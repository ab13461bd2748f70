// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The WQE validator: one place that decides whether a work request a guest
 * wrote is well formed, run on the backend's private copy before the engine
 * uses any field of it.  The honest provider never writes a malformed WQE
 * (it rejects such work requests in ibv_post_send with EINVAL), so what
 * arrives here malformed comes from a buggy or hostile guest, and it is
 * completed with the status an HCA gives a WQE it cannot execute:
 *
 *   structure (opcode the QP type lacks, unknown send_flags, INLINE on an
 *   opcode without payload or together with SGEs, more SGEs or inline bytes
 *   than the QP was created with, an atomic without exactly one SGE, a
 *   BIND_MW or LOCAL_INV with SGEs or inline data)
 *	-> IBV_WC_LOC_QP_OP_ERR
 *   length (message over XENIB_MAX_MSG_SZ, a UD datagram over the path MTU,
 *   an atomic SGE that is not 8 bytes)
 *	-> IBV_WC_LOC_LEN_ERR
 *
 * The header is checked before the body is copied, so the body copy is
 * bounded by the QP's own limits (which CREATE_QP checked against the ABI's
 * and the ring stride).
 */
#include <string.h>
#include <infiniband/verbs.h>

#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"
#include "xenibd/engine/wqe.h"

/* send_flags a WQE may carry; xenib0 offers no checksum offload. */
#define XD_SEND_FLAGS	(IBV_SEND_SIGNALED | IBV_SEND_SOLICITED | \
			 IBV_SEND_INLINE | IBV_SEND_FENCE)

static bool op_has_payload(uint32_t op)
{
	return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM ||
	       op == IBV_WR_SEND_WITH_INV ||
	       op == IBV_WR_RDMA_WRITE || op == IBV_WR_RDMA_WRITE_WITH_IMM;
}

/*
 * Operations a send queue executes itself (engine/mw.c): on the
 * connected types that have memory windows, never with SGEs or inline
 * data, never on the wire.
 */
static bool local_op_allowed(uint32_t qp_type, uint32_t op)
{
	return (op == IBV_WR_BIND_MW || op == IBV_WR_LOCAL_INV) &&
	       (qp_type == IBV_QPT_RC || qp_type == IBV_QPT_UC ||
		qp_type == IBV_QPT_XRC_SEND);
}

static bool op_is_atomic(uint32_t op)
{
	return op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/*
 * The operations each QP type sends (IBA 11.4.1.1, transport services):
 * what a WQE may ask to travel and a request from another host may carry.
 */
bool xd_wqe_op_allowed(uint32_t qp_type, uint32_t op)
{
	switch (qp_type) {
	case IBV_QPT_UD:
		return op == IBV_WR_SEND || op == IBV_WR_SEND_WITH_IMM;
	case IBV_QPT_UC:	/* SEND_WITH_INV included */
		return op_has_payload(op);
	case IBV_QPT_RC:
	case IBV_QPT_XRC_SEND:
		return op_has_payload(op) || op == IBV_WR_RDMA_READ ||
		       op_is_atomic(op);
	default:
		return false;	/* XRC_RECV has no send queue */
	}
}

/* Everything decided by the fixed-size header alone. */
static uint32_t check_send_hdr(const struct xd_qp *qp,
			       const struct xenib_send_wqe *w)
{
	if (w->send_flags & ~XD_SEND_FLAGS)
		return IBV_WC_LOC_QP_OP_ERR;
	if (local_op_allowed(qp->qp_type, w->opcode))
		return (w->send_flags & IBV_SEND_INLINE) || w->num_sge ?
		       IBV_WC_LOC_QP_OP_ERR : IBV_WC_SUCCESS;
	if (!xd_wqe_op_allowed(qp->qp_type, w->opcode))
		return IBV_WC_LOC_QP_OP_ERR;
	if (w->send_flags & IBV_SEND_INLINE) {
		/* In this ABI inline data replaces the SGEs. */
		if (!op_has_payload(w->opcode) || w->num_sge ||
		    w->inline_len > qp->max_inline)
			return IBV_WC_LOC_QP_OP_ERR;
		return IBV_WC_SUCCESS;
	}
	if (w->num_sge > qp->max_send_sge)
		return IBV_WC_LOC_QP_OP_ERR;
	if (op_is_atomic(w->opcode) && w->num_sge != 1)
		return IBV_WC_LOC_QP_OP_ERR;
	return IBV_WC_SUCCESS;
}

static uint64_t sge_sum(const struct xenib_sge *sge, uint32_t n)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < n && i < XENIB_MAX_SGE; i++)
		sum += sge[i].length;	/* 16 x 32 bits: cannot wrap */
	return sum;
}

uint32_t xd_wqe_fetch_send(const struct xd_qp *qp, struct xd_swqe *s,
			   uint32_t idx)
{
	const struct xd_ring *sq = &qp->sq;
	const char *src = xr_entry(sq->hdr, idx, sq->entries, sq->stride);
	uint32_t status;
	size_t body;

	memcpy(&s->w, src, sizeof(s->w));
	s->len = 0;
	status = check_send_hdr(qp, &s->w);
	if (status != IBV_WC_SUCCESS)
		return status;
	if (s->w.send_flags & IBV_SEND_INLINE) {
		body = s->w.inline_len;		/* <= max_inline <= 512 */
		s->len = s->w.inline_len;
	} else {
		body = s->w.num_sge * sizeof(struct xenib_sge);	/* <= 16 */
	}
	memcpy(s->inl, src + sizeof(s->w), body);
	if (!(s->w.send_flags & IBV_SEND_INLINE))
		s->len = sge_sum(s->sge, s->w.num_sge);
	if (op_is_atomic(s->w.opcode))
		return s->sge[0].length == 8 ? IBV_WC_SUCCESS :
					       IBV_WC_LOC_LEN_ERR;
	if (s->len > XENIB_MAX_MSG_SZ ||
	    (qp->qp_type == IBV_QPT_UD && s->len > XENIB_UD_MAX_MSG))
		return IBV_WC_LOC_LEN_ERR;
	return IBV_WC_SUCCESS;
}

void xd_wqe_fetch_recv(const struct xd_ring *ring, uint32_t max_sge,
		       struct xd_rwqe *r)
{
	const char *src = xr_entry(ring->hdr, ring->idx, ring->entries,
				   ring->stride);

	memcpy(&r->w, src, sizeof(r->w));
	r->len = 0;
	/* max_sge <= XENIB_MAX_SGE, checked when the ring was created. */
	if (r->w.num_sge > max_sge || r->w.num_sge > XENIB_MAX_SGE) {
		r->w.num_sge = 0;
		r->status = IBV_WC_LOC_QP_OP_ERR;
		return;
	}
	memcpy(r->sge, src + sizeof(r->w), r->w.num_sge * sizeof(r->sge[0]));
	r->len = sge_sum(r->sge, r->w.num_sge);
	r->status = IBV_WC_SUCCESS;
}
