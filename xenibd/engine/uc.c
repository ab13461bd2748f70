// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UC: unreliable connected.  SEND and RDMA WRITE (with immediate) without
 * acknowledgement: a message the responder cannot take (not ready, no
 * receive WQE, bad rkey) is dropped and the requester still completes
 * successfully.  A responder's own receive errors still fail it.
 */
#include "xenibd/engine/eng.h"

static enum xd_ack uc_accept(const struct xd_qp *resp,
			     const struct xd_req *req)
{
	if (resp->qp_type != IBV_QPT_UC || !xd_connected_back(resp, req) ||
	    !xd_qp_receiving(resp))
		return XD_DROPPED;
	return XD_ACK;
}

static enum xd_ack uc_rx(struct xd_qp *resp, const struct xd_req *req,
			 struct xd_rx *rx)
{
	xd_rx_own(resp, false, rx);
	return XD_ACK;
}

const struct xd_type_ops xd_uc_type = {
	.reliable = false,
	.accept = uc_accept,
	.rx = uc_rx,
};
