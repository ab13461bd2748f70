// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Migration's view of a requester (engine.h, struct xd_req_place): where
 * its send queue stands, in terms another backend can continue from with
 * the same guest memory, and the requester made from such a place.  Kept
 * apart from requester.c, which is the data path.
 */
#include <string.h>

#include "xenibd/engine/eng.h"
#include "xenibd/engine/engine.h"

void xd_req_place_get(const struct xd_qp *qp, struct xd_req_place *p)
{
	const struct xd_qp_eng *e = qp->eng;
	const struct xd_tx *head = &e->tx[e->tx_head % XD_TX_WQES];

	memset(p, 0, sizeof(*p));
	p->seq0 = e->next_seq;
	if (e->tx_head != e->tx_tail && head->sent && !head->bad_status) {
		p->seq0 = head->seq0;
		p->acked = head->acked;
	} else if (e->tx_head == e->tx_tail && e->resume_skip) {
		p->acked = e->resume_skip;	/* moved again before a fetch */
	}
	p->max_seq = e->max_seq;
	p->stall = e->stall;
	p->stall_count = e->stall_count;
	if (e->stall && e->stall_until_ns > xd.now_ns)
		p->stall_left_ns = e->stall_until_ns - xd.now_ns;
}

void xd_req_place_set(struct xd_qp *qp, const struct xd_req_place *p)
{
	struct xd_qp_eng *e = qp->eng;

	xd_req_reset(qp);
	e->next_seq = p->seq0;
	e->max_seq = p->max_seq;
	e->resume_skip = p->acked;
	/*
	 * RNR and retry timers go on where they were; a hold on a paused or
	 * busy path is looked at again at once (the path is new).
	 */
	e->stall = p->stall == XD_STALL_RNR || p->stall == XD_STALL_RETRY ?
		   p->stall : XD_STALL_NONE;
	e->stall_count = p->stall_count;
	e->stall_until_ns = xd.now_ns + p->stall_left_ns;
	/* The transport timer runs from the move (or its wait), not before. */
	e->last_answer_ns = e->stall_until_ns;
	e->timer_at_send = true;
}
