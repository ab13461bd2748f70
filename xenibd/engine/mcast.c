// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Multicast: a UD send whose address handle names a group (an MLID, or a
 * GRH with a multicast DGID) and whose remote QPN is 0xffffff reaches
 * every UD QP attached to the group (dev/mcast.c) that takes it: the same
 * Q_Key, ready to receive, a receive posted; the sender's own QP included
 * if attached.  Like any UD datagram a copy that finds no receive is
 * dropped, and so is one for a QP whose guest is frozen (no hold: UD is
 * unreliable, and one member must not stall the others).  The sender
 * completes in every case.
 *
 * The groups are this backend's: members on other hosts are not reached
 * (the fabric carries no multicast).
 */
#include "xenibd/engine/eng.h"

struct fanout {
	const struct xd_req *req;
	unsigned int copies;
};

static void deliver_one(struct xd_qp *member, void *arg)
{
	const struct xd_type_ops *ud = xd_type_of(IBV_QPT_UD);
	struct fanout *f = arg;
	struct xd_answer ans = { .ack = XD_DROPPED };
	struct xd_rx rx;

	if (member->ctx->frozen || !member->eng ||
	    ud->accept(member, f->req) != XD_ACK)
		return;
	if (ud->rx(member, f->req, &rx) != XD_ACK)
		return;
	xd_resp_datagram(&rx, f->req, &ans);
	if (ans.ack == XD_ACK) {
		member->eng->cnt.rx_reqs++;
		member->eng->cnt.rx_bytes += f->req->len;
		f->copies++;
	}
}

static enum xd_ack mcast_ready(struct xd_peer *p, struct xd_qp *qp,
			       const struct xd_req *req)
{
	return XD_ACK;
}

static void mcast_send(struct xd_peer *p, struct xd_qp *qp,
		       const struct xd_req *req, struct xd_answer *ans)
{
	struct fanout f = { .req = req };

	xd_mcast_for_each(req->ah, deliver_one, &f);
	ans->ack = f.copies ? XD_ACK : XD_DROPPED;
}

/* Only SEND reaches a group (UD has nothing else). */
static void mcast_other(struct xd_peer *p, struct xd_qp *qp,
			const struct xd_req *req, struct xd_answer *ans)
{
	ans->ack = XD_DROPPED;
}

static const struct xd_peer_ops mcast_peer = {
	.name = "multicast",
	.ready = mcast_ready,
	.send = mcast_send,
	.write = mcast_other,
	.read = mcast_other,
	.atomic = mcast_other,
};

bool xd_mcast_resolve(struct xd_qp *qp, const struct xd_req *req,
		      struct xd_peer *out)
{
	if (qp->qp_type != IBV_QPT_UD || !req->ah ||
	    req->remote_qpn != XENIB_MCAST_QPN || !xd_mcast_addr(req->ah))
		return false;
	out->ops = &mcast_peer;
	out->priv = NULL;
	return true;
}
