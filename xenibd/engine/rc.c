// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RC: reliable connected.  A responder takes requests only from the QP
 * it is connected to (its dest_qp_num and DLID), in RTR, RTS or SQD; its
 * receives come from its RQ or its SRQ.  The requester counts answers:
 * RNR NAKs and no answer are retried, other NAKs fail the WQE.
 */
#include "xenibd/engine/eng.h"

bool xd_connected_back(const struct xd_qp *resp, const struct xd_req *req)
{
	return resp->attr.dest_qp_num == req->src_qpn &&
	       resp->attr.ah.dlid == req->slid;
}

void xd_rx_own(struct xd_qp *resp, bool reliable, struct xd_rx *rx)
{
	rx->qp = resp;
	rx->reliable = reliable;
	rx->srq = resp->srq;
	rx->ring = resp->srq ? &resp->srq->ring : &resp->rq;
	rx->max_sge = resp->srq ? resp->srq->max_sge : resp->max_recv_sge;
	rx->recv_pd = resp->srq ? resp->srq->pd : resp->pd;
	rx->pd = resp->pd;
	rx->cq = resp->recv_cq;
}

static enum xd_ack rc_accept(const struct xd_qp *resp,
			     const struct xd_req *req)
{
	if (resp->qp_type != IBV_QPT_RC || !xd_connected_back(resp, req) ||
	    !xd_qp_receiving(resp))
		return XD_NO_ANSWER;
	return XD_ACK;
}

static enum xd_ack rc_rx(struct xd_qp *resp, const struct xd_req *req,
			 struct xd_rx *rx)
{
	xd_rx_own(resp, true, rx);
	return XD_ACK;
}

const struct xd_type_ops xd_rc_type = {
	.reliable = true,
	.accept = rc_accept,
	.rx = rc_rx,
};

const struct xd_type_ops *xd_type_of(uint32_t qp_type)
{
	switch (qp_type) {
	case IBV_QPT_UC:
		return &xd_uc_type;
	case IBV_QPT_UD:
		return &xd_ud_type;
	case IBV_QPT_XRC_SEND:
		return &xd_xrc_type;
	default:
		return &xd_rc_type;
	}
}
