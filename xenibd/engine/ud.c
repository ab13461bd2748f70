// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * UD: SEND (with immediate) of at most one path MTU to the QP an address
 * handle and remote QPN name.  A datagram that finds no ready UD QP with
 * the same Q_Key, or no receive WQE, is dropped; the sender completes
 * anyway.  Every receive buffer starts with 40 bytes for the GRH, written
 * (and IBV_WC_GRH set) when the sender's address handle is global.
 */
#include <endian.h>
#include <string.h>

#include "xenibd/engine/eng.h"

const struct xenib_ah_attr *xd_ud_ah(struct xd_qp *qp, uint32_t handle)
{
	struct xd_ah *ah = xd_ah_get(qp->ctx, qp->pd, handle);

	return ah ? &ah->attr : NULL;
}

static enum xd_ack ud_accept(const struct xd_qp *resp,
			     const struct xd_req *req)
{
	if (resp->qp_type != IBV_QPT_UD || resp->attr.qkey != req->qkey ||
	    !xd_qp_receiving(resp))
		return XD_DROPPED;
	return XD_ACK;
}

static enum xd_ack ud_rx(struct xd_qp *resp, const struct xd_req *req,
			 struct xd_rx *rx)
{
	xd_rx_own(resp, false, rx);
	return XD_ACK;
}

const struct xd_type_ops xd_ud_type = {
	.reliable = false,
	.accept = ud_accept,
	.rx = ud_rx,
};

/* The GRH a datagram sent through a global AH carries (IBA 8.3). */
static void write_grh(struct xd_sgl *dst, const struct xd_req *req)
{
	const struct xenib_ah_attr *ah = req->ah;
	uint64_t guid_be = htobe64(req->src_guid);
	struct ibv_grh grh;
	struct xd_sgl src;

	memset(&grh, 0, sizeof(grh));
	grh.version_tclass_flow = htobe32((6u << 28) |
					  ((uint32_t)ah->traffic_class << 20) |
					  (ah->flow_label & 0xfffff));
	/* IBA: payload, ICRC excluded, plus the BTH and DETH that follow. */
	grh.paylen = htobe16(req->len + 12 + 8);
	grh.next_hdr = 0x1b;	/* IBA transport header */
	grh.hop_limit = ah->hop_limit;
	grh.sgid.raw[0] = 0xfe;
	grh.sgid.raw[1] = 0x80;
	memcpy(&grh.sgid.raw[8], &guid_be, 8);
	memcpy(grh.dgid.raw, ah->dgid, 16);
	xd_sgl_one(&src, &grh, sizeof(grh));
	xd_sgl_copy(dst, &src);
}

void xd_resp_datagram(const struct xd_rx *rx, const struct xd_req *req,
		      struct xd_answer *ans)
{
	struct xd_sgl dst, payload;
	struct xd_rwqe r;
	struct xenib_cqe cqe;

	ans->ack = XD_ACK;
	if (!xd_rx_take(rx, &r, &dst, ans))
		return;		/* no RNR for UD: dropped */
	if (dst.total < req->len + XENIB_UD_GRH_BYTES) {
		xd_rx_fail(rx, &r, IBV_WC_LOC_LEN_ERR, 0);
		ans->ack = XD_DROPPED;
		return;
	}
	if (req->ah->is_global)
		write_grh(&dst, req);
	xd_sgl_sub(&payload, &dst, XENIB_UD_GRH_BYTES, req->len);
	xd_sgl_copy(&payload, req->data);
	memset(&cqe, 0, sizeof(cqe));
	cqe.wr_id = r.w.wr_id;
	cqe.status = IBV_WC_SUCCESS;
	cqe.opcode = IBV_WC_RECV;
	cqe.byte_len = req->len + XENIB_UD_GRH_BYTES;
	cqe.qp_num = rx->qp->h.id;
	cqe.src_qp = req->src_qpn;
	cqe.slid = req->slid;
	cqe.sl = req->ah->sl;
	cqe.wc_flags = req->ah->is_global ? IBV_WC_GRH : 0;
	if (req->opcode == IBV_WR_SEND_WITH_IMM) {
		cqe.imm_data = req->imm_data;
		cqe.wc_flags |= IBV_WC_WITH_IMM;
	}
	xd_complete(rx->qp, rx->cq, &cqe, req->solicited);
}
