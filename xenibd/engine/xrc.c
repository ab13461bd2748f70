// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XRC: RC from an XRC_SEND QP towards an XRC_RECV QP, whose receive side
 * is the XRC SRQ the request names (remote_srqn).  The SRQ must exist in
 * the XRC_RECV QP's guest and belong to its domain (a keyed domain may
 * span contexts of one guest, so the SRQ may be another process's), else
 * the responder rejects the request (IB spec 9.7.5.2.8, invalid XRCETH:
 * NAK Invalid Request): the requester completes with REM_INV_REQ_ERR and
 * goes to ERR; the XRC_RECV QP, which has no queue of its own, is left as
 * it is.  Receive buffers and rkeys are checked against the SRQ's PD, and
 * receive completions go to its CQ, carrying the XRC_RECV QP's number.
 */
#include "xenibd/engine/eng.h"

static enum xd_ack xrc_accept(const struct xd_qp *resp,
			      const struct xd_req *req)
{
	if (resp->qp_type != IBV_QPT_XRC_RECV ||
	    !xd_connected_back(resp, req) || !xd_qp_receiving(resp))
		return XD_NO_ANSWER;
	return XD_ACK;
}

static enum xd_ack xrc_rx(struct xd_qp *resp, const struct xd_req *req,
			  struct xd_rx *rx)
{
	struct xd_srq *srq = (struct xd_srq *)xd_table_get(
		&resp->ctx->guest->srqs, req->remote_srqn);

	if (srq && srq->ctx->frozen)
		return XD_PAUSED;
	if (!srq || !srq->xrcd || srq->xrcd->dom != resp->xrcd->dom)
		return XD_NAK_INV_REQ;
	rx->qp = resp;
	rx->reliable = true;
	rx->srq = srq;
	rx->ring = &srq->ring;
	rx->max_sge = srq->max_sge;
	rx->recv_pd = srq->pd;
	rx->pd = srq->pd;
	rx->cq = srq->cq;
	return XD_ACK;
}

const struct xd_type_ops xd_xrc_type = {
	.reliable = true,
	.accept = xrc_accept,
	.rx = xrc_rx,
};
