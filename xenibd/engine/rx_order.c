// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The responder's order of a reliable connection (RC, XRC): which request
 * it takes next, and what it answers for one it has seen before.
 *
 * A requester numbers its requests from its sq_psn; the responder expects
 * them from its rq_psn, one after the other, whichever way they come (the
 * local peer, another host's backend).  The expected one is executed; an
 * earlier one is a duplicate (its answer was lost, or the requester went
 * back after a migration) and is answered again without a second effect:
 * SEND and WRITE acknowledged, READ read again, an atomic answered from the
 * cache of recent results (IB's max_dest_rd_atomic of them); a later one
 * means one before it went missing: "send again from the expected one".
 *
 * The state lives in the QP (not in a path's), so that it stays right when
 * the requester's path changes: a peer that moves between hosts, a guest of
 * ours that moves away and back.
 */
#include <string.h>

#include "xenibd/engine/eng.h"

void xd_rx_start(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;

	e->rx_expected = qp->attr.rq_psn;	/* the sender's sq_psn */
	memset(e->atomics, 0, sizeof(e->atomics));
	e->next_atomic = 0;
}

enum xd_rx_order xd_rx_order(const struct xd_qp *qp, uint32_t seq)
{
	uint32_t expected = qp->eng->rx_expected;

	if (seq == expected)
		return XD_RX_NEXT;
	return xd_seq_before(seq, expected) ? XD_RX_DUP : XD_RX_AHEAD;
}

void xd_rx_answered(struct xd_qp *qp, const struct xd_req *req,
		    const struct xd_answer *ans)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_rx_atomic *a;

	switch (ans->ack) {
	case XD_ACK:
		if (req->opcode == IBV_WR_ATOMIC_CMP_AND_SWP ||
		    req->opcode == IBV_WR_ATOMIC_FETCH_AND_ADD) {
			a = &e->atomics[e->next_atomic++ % XD_ATOMIC_CACHE];
			a->seq = req->seq;
			a->orig = ans->atomic_orig;
			a->valid = true;
		}
		e->rx_expected++;
		break;
	case XD_NAK_ACCESS:
	case XD_NAK_INV_REQ:
	case XD_NAK_OP:
		e->rx_expected++;	/* it was taken, and failed */
		break;
	default:		/* RNR, not ready, paused, busy: not taken */
		break;
	}
}

bool xd_rx_atomic_again(const struct xd_qp *qp, uint32_t seq, uint64_t *orig)
{
	const struct xd_qp_eng *e = qp->eng;
	unsigned int i;

	for (i = 0; i < XD_ATOMIC_CACHE; i++)
		if (e->atomics[i].valid && e->atomics[i].seq == seq) {
			*orig = e->atomics[i].orig;
			return true;
		}
	return false;
}

void xd_rx_again(const struct xd_rx *rx, const struct xd_req *req,
		 struct xd_answer *ans)
{
	ans->ack = XD_ACK;
	switch (req->opcode) {
	case IBV_WR_RDMA_READ:
		/* Reading again changes nothing: the bytes as they are now. */
		xd_resp_read(rx, req, ans);
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		if (!xd_rx_atomic_again(rx->qp, req->seq, &ans->atomic_orig))
			ans->ack = XD_NAK_INV_REQ;	/* too old to answer */
		break;
	default:
		break;		/* SEND, WRITE: acknowledged again */
	}
}

void xd_rx_resend_from(const struct xd_qp *qp, struct xd_answer *ans)
{
	ans->ack = XD_BUSY;
	ans->resend = true;
	ans->resend_from = qp->eng->rx_expected;
}
