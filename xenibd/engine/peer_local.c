// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The local peer: the destination QP is served by this backend, so a
 * request is delivered by calling its responder (responder.c) directly and
 * the answer is there when the call returns.  A destination is found by
 * (LID, QPN) in the guests of this backend: the connection's DLID and
 * dest_qp_num for RC, UC and XRC, the address handle's LID (or GID) and the
 * WQE's remote QPN for UD.
 */
#include "xenibd/engine/eng.h"
#include "xenibd/migrate/migrate.h"

/*
 * A destination whose guest is between two hosts (migrate/adopt.c): not
 * gone, only paused; its requesters hold their work.
 */
static enum xd_ack paused_ready(struct xd_peer *p, struct xd_qp *qp,
				const struct xd_req *req)
{
	return XD_PAUSED;
}

const struct xd_peer_ops xd_paused_peer = {
	.name = "paused",
	.ready = paused_ready,
};

static bool local_resolve(struct xd_qp *qp, const struct xd_req *req,
			  struct xd_peer *out)
{
	uint16_t lid = qp->qp_type == IBV_QPT_UD ? req->ah->dlid :
		       qp->attr.ah.dlid;
	struct xd_qp *resp;

	if (qp->qp_type == IBV_QPT_UD)
		resp = xd_ud_resolve(req->ah, req->remote_qpn);
	else
		resp = xd_qp_find(qp->attr.ah.dlid, qp->attr.dest_qp_num);
	if (!resp && lid && xm_lid_paused(lid)) {
		out->ops = &xd_paused_peer;
		out->priv = NULL;
		return true;
	}
	if (!resp)
		return false;
	out->ops = &xd_local_peer;
	out->priv = resp;
	return true;
}

static enum xd_ack local_ready(struct xd_peer *p, struct xd_qp *qp,
			       const struct xd_req *req)
{
	struct xd_qp *resp = p->priv;

	/* Its memory is not mapped: hold, whatever the request. */
	if (resp->ctx->frozen)
		return XD_PAUSED;
	return xd_type_of(qp->qp_type)->accept(resp, req);
}

/* The receive side at the responder, then the request itself. */
static void deliver(struct xd_peer *p, struct xd_qp *qp,
		    const struct xd_req *req, struct xd_answer *ans,
		    void (*fn)(const struct xd_rx *, const struct xd_req *,
			       struct xd_answer *))
{
	const struct xd_type_ops *type = xd_type_of(qp->qp_type);
	struct xd_qp *resp = p->priv;
	struct xd_rx rx;

	ans->ack = type->rx(resp, req, &rx);
	if (ans->ack != XD_ACK)
		return;
	if (type->reliable) {
		switch (xd_rx_order(rx.qp, req->seq)) {
		case XD_RX_DUP:
			xd_rx_again(&rx, req, ans);
			return;
		case XD_RX_AHEAD:
			xd_rx_resend_from(rx.qp, ans);
			return;
		case XD_RX_NEXT:
			break;
		}
	}
	fn(&rx, req, ans);
	if (type->reliable)
		xd_rx_answered(rx.qp, req, ans);
	if (ans->ack == XD_ACK) {
		resp->eng->cnt.rx_reqs++;
		resp->eng->cnt.rx_bytes += req->len;
	}
}

static void local_send(struct xd_peer *p, struct xd_qp *qp,
		       const struct xd_req *req, struct xd_answer *ans)
{
	deliver(p, qp, req, ans, qp->qp_type == IBV_QPT_UD ?
				 xd_resp_datagram : xd_resp_send);
}

static void local_write(struct xd_peer *p, struct xd_qp *qp,
			const struct xd_req *req, struct xd_answer *ans)
{
	deliver(p, qp, req, ans, xd_resp_write);
}

static void local_read(struct xd_peer *p, struct xd_qp *qp,
		       const struct xd_req *req, struct xd_answer *ans)
{
	deliver(p, qp, req, ans, xd_resp_read);
}

static void local_atomic(struct xd_peer *p, struct xd_qp *qp,
			 const struct xd_req *req, struct xd_answer *ans)
{
	deliver(p, qp, req, ans, xd_resp_atomic);
}

static bool local_rx_ready(struct xd_peer *p, struct xd_qp *qp,
			   const struct xd_req *req, uint32_t want)
{
	const struct xd_type_ops *type = xd_type_of(qp->qp_type);
	struct xd_qp *resp = p->priv;
	struct xd_rx rx;

	if (resp->ctx->frozen || type->accept(resp, req) != XD_ACK ||
	    type->rx(resp, req, &rx) != XD_ACK)
		return false;
	return xd_rx_ready(&rx, want);
}

const struct xd_peer_ops xd_local_peer = {
	.name = "local",
	.resolve = local_resolve,
	.ready = local_ready,
	.send = local_send,
	.write = local_write,
	.read = local_read,
	.atomic = local_atomic,
	.rx_ready = local_rx_ready,
};

const struct xd_peer_ops *xd_peer_ops = &xd_local_peer;
