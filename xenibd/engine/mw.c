// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory windows on the fast path: the local operations a send queue
 * executes in its order (BIND_MW, LOCAL_INV) and the remote invalidation
 * a SEND_WITH_INV asks of its responder.  The rules are IB's (IBA 10.6.7,
 * the numbered ones as cited); docs/ib-semantics.md has the statuses:
 *
 *   a bind that breaks a rule	-> IBV_WC_MW_BIND_ERR, QP to ERR
 *   a LOCAL_INV that cannot	-> IBV_WC_LOC_QP_OP_ERR, QP to ERR
 *   a remote invalidation that cannot (class J): the receive completes
 *   with IBV_WC_REM_INV_REQ_ERR, the responder QP goes to ERR and an RC
 *   requester gets IBV_WC_REM_INV_REQ_ERR.
 *
 * A WQE reaches here validated (wqe_check.c) but its handles and keys are
 * the guest's words: each is looked up, and only the guest's own objects
 * are found.
 */
#include "xenibd/engine/eng.h"

#define MW_ACCESS	(IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | \
			 IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_ZERO_BASED)
#define MW_TAG_MASK	0xffu

/* Every rule a bind must pass; true if it may be done. */
static bool bind_ok(const struct xd_qp *qp, const struct xd_mw *mw,
		    const struct xd_mr *mr, const struct xenib_send_wqe *w)
{
	uint64_t addr = w->remote_addr, len = w->bind_length;
	uint32_t access = w->bind_access;

	/* The new rkey keeps the window's index; only the tag is new. */
	if ((w->rkey & ~MW_TAG_MASK) != (mw->rkey & ~MW_TAG_MASK))
		return false;
	if (access & ~MW_ACCESS)
		return false;
	if (mw->type == IBV_MW_TYPE_1) {
		if (access & IBV_ACCESS_ZERO_BASED)	/* o10-36.2.2 */
			return false;
		if (!len)
			return true;	/* unbinds a type 1 window */
	} else {
		if (mw->mr || mw->pd != qp->pd)	/* o10-37.2.30, C10-72 */
			return false;
		if (!len)			/* o10-37.2.40 */
			return false;
	}
	if (!mr || mr->pd != mw->pd)
		return false;
	if (!(mr->access & IBV_ACCESS_MW_BIND))		/* C10-73 */
		return false;
	if ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(mr->access & IBV_ACCESS_LOCAL_WRITE))	/* C10-74 */
		return false;
	/* C10-75: inside the MR. */
	return addr >= mr->iova && len <= mr->length &&
	       addr - mr->iova <= mr->length - len;
}

static uint32_t bind(struct xd_qp *qp, const struct xenib_send_wqe *w)
{
	struct xd_mw *mw = xd_obj_lookup(qp->ctx, XD_KIND_MW, w->bind_mw);
	struct xd_mr *mr = NULL;

	if (!mw)
		return IBV_WC_MW_BIND_ERR;
	if (w->bind_length)
		mr = xd_obj_lookup(qp->ctx, XD_KIND_MR, w->bind_lkey);
	if (!bind_ok(qp, mw, mr, w))
		return IBV_WC_MW_BIND_ERR;
	xd_mw_unbind(mw);	/* a type 1 window may be bound again */
	mw->rkey = w->rkey;
	if (!w->bind_length)
		return IBV_WC_SUCCESS;
	mw->mr = mr;
	mr->mw_binds++;
	mw->addr = w->remote_addr;
	mw->length = w->bind_length;
	mw->access = w->bind_access;
	if (mw->type == IBV_MW_TYPE_2)
		mw->qpn = qp->h.id;
	return IBV_WC_SUCCESS;
}

/*
 * Invalidate the type 2 window rkey names in pd (o10-37.2.26: never a
 * type 1 window; our MRs are not invalidatable, they are no FRMRs), if it
 * is bound; qpn, when not 0, must be the QP it was bound through.
 */
static bool invalidate(const struct xd_pd *pd, uint32_t rkey, uint32_t qpn)
{
	struct xd_mw *mw = xd_mw_of_rkey(pd, rkey);

	if (!mw || mw->type != IBV_MW_TYPE_2 || !mw->mr || mw->pd != pd ||
	    (qpn && mw->qpn != qpn))
		return false;
	xd_mw_unbind(mw);
	return true;
}

uint32_t xd_mw_local_op(struct xd_qp *qp, const struct xd_swqe *s)
{
	switch (s->w.opcode) {
	case IBV_WR_BIND_MW:
		return bind(qp, &s->w);
	case IBV_WR_LOCAL_INV:
		return invalidate(qp->pd, s->w.invalidate_rkey, 0) ?
		       IBV_WC_SUCCESS : IBV_WC_LOC_QP_OP_ERR;
	}
	return IBV_WC_LOC_QP_OP_ERR;
}

bool xd_mw_remote_inv(const struct xd_rx *rx, uint32_t rkey)
{
	return invalidate(rx->pd, rkey, rx->qp->h.id);
}
