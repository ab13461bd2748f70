// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The WQE engine's rounds: every QP with queues gets a turn (its requester
 * runs, requester.c; a QP in ERR has its rings flushed), a bounded one, so
 * no guest's work delays another's by more than XD_SLICE_BYTES of copying
 * or XD_SQ_BATCH WQEs per QP.  Nothing here allocates, locks or makes a
 * system call, except signalling a guest that armed its CQ.
 */
#include <stdlib.h>

#include "util/xenib_ring.h"
#include "xenibd/engine/eng.h"

void (*xd_qp_gone_hook)(struct xd_qp *qp);
/* Incarnations of requester QPs: answers to an earlier one never match. */
static uint32_t next_epoch;

int xd_engine_qp_init(struct xd_qp *qp)
{
	qp->eng = calloc(1, sizeof(*qp->eng));
	if (!qp->eng)
		return ENOMEM;
	qp->eng->tx_epoch = ++next_epoch;
	return 0;
}

void xd_engine_qp_fini(struct xd_qp *qp)
{
	if (xd_qp_gone_hook)
		xd_qp_gone_hook(qp);
	free(qp->eng);
	qp->eng = NULL;
}

/* Guest-written producer index of ring: how many entries are waiting. */
static uint32_t ring_waiting(const struct xd_ring *ring)
{
	uint32_t d = xr_load_acquire(&ring->hdr->prod) - ring->idx;

	/* A corrupt index (more than the ring holds) means nothing to do. */
	return d <= ring->entries ? d : 0;
}

unsigned int xd_flush_ring(struct xd_qp *qp, struct xd_ring *ring,
			   struct xd_cq *cq, bool send)
{
	uint32_t n = ring_waiting(ring), i;

	if (n > XD_SQ_BATCH)
		n = XD_SQ_BATCH;	/* the rest next round */
	for (i = 0; i < n; i++) {
		const char *e = xr_entry(ring->hdr, ring->idx, ring->entries,
					 ring->stride);
		struct xenib_cqe cqe = {
			.status = IBV_WC_WR_FLUSH_ERR,
			.qp_num = qp->h.id,
		};

		if (send) {
			const struct xenib_send_wqe *w = (const void *)e;

			cqe.wr_id = w->wr_id;
			cqe.opcode = xd_wc_opcode(w->opcode);
		} else {
			const struct xenib_recv_wqe *w = (const void *)e;

			cqe.wr_id = w->wr_id;
			cqe.opcode = IBV_WC_RECV;
		}
		/* We consume the guest's ring: release the slot. */
		xd_ring_consumed(ring, 1);
		if (!xd_cq_push(cq, &cqe, false)) {
			/* CQ full: the rest cannot be reported. */
			xd_ring_consumed(ring, xr_load_acquire(&ring->hdr->prod) -
					       ring->idx);
			return i + 1;
		}
	}
	return n;
}

/* Does qp have a receive ring of its own (not SRQ, XRC_SEND, XRC_RECV)? */
static bool has_rq(const struct xd_qp *qp)
{
	return !qp->srq && qp->rq.hdr;
}

void xd_engine_flush_qp(struct xd_qp *qp)
{
	if (qp->eng)
		xd_req_reset(qp);
	xd_resp_flush(qp);	/* the receive in progress was taken first */
	if (qp->qp_type == IBV_QPT_XRC_RECV)
		return;	/* no queues: its SRQs belong to their domain */
	xd_flush_ring(qp, &qp->sq, qp->send_cq, true);
	if (qp->qp_type == IBV_QPT_XRC_SEND)
		return;	/* send-only */
	if (qp->srq) {	/* the shared SRQ is not flushed, the QP is done */
		xd_ctx_post_async(qp->ctx, IBV_EVENT_QP_LAST_WQE_REACHED,
				  qp->h.id);
	} else if (has_rq(qp)) {
		/* Receives posted from now on complete at once: kick us. */
		xd_rx_kick(&qp->rq, XENIB_POST_KICK_ALWAYS, 0);
		xd_flush_ring(qp, &qp->rq, qp->recv_cq, false);
	}
}

void xd_engine_srq_gone(struct xd_srq *srq)
{
	const struct xd_table *t = &srq->ctx->guest->qps;
	uint32_t i;

	/* XRC_RECV QPs hold no reference on the SRQs they receive into. */
	for (i = 1; i < t->size; i++) {
		struct xd_qp *qp = (struct xd_qp *)t->slot[i];

		if (qp && qp->eng && qp->eng->rx_active &&
		    qp->eng->rx_srq == srq)
			qp->eng->rx_active = false;
	}
}

void xd_engine_reset_qp(struct xd_qp *qp)
{
	if (has_rq(qp))	/* out of ERR: receives wait for SENDs again */
		xd_rx_kick(&qp->rq, 0, 0);
	if (qp->eng) {
		if (xd_qp_gone_hook)
			xd_qp_gone_hook(qp);
		xd_req_reset(qp);
		qp->eng->tx_epoch = ++next_epoch;
		qp->eng->rx_active = false;
	}
}

void xd_engine_ready_qp(struct xd_qp *qp)
{
	if (qp->eng)
		xd_rx_start(qp);
}

void xd_engine_start_qp(struct xd_qp *qp)
{
	if (qp->eng)
		xd_req_start(qp);
}

unsigned int xd_engine_poll(uint64_t *next_ns)
{
	struct list_node *pos, *tmp;
	unsigned int n = 0;

	list_for_each_safe(pos, tmp, &xd.qps) {
		struct xd_qp *qp = list_entry(pos, struct xd_qp, active);

		if (qp->ctx->frozen)	/* its rings are not mapped */
			continue;
		/* A QP's turn is one batch: its rings and CQs publish once. */
		xd_batch_begin();
		if (qp->attr.qp_state == IBV_QPS_ERR)
			n += xd_flush_ring(qp, &qp->sq, qp->send_cq, true) +
			     (has_rq(qp) ?
			      xd_flush_ring(qp, &qp->rq, qp->recv_cq, false) :
			      0);
		else
			n += xd_req_run(qp, next_ns);
		xd_batch_end();
	}
	xd.stats.wqes += n;
	return n;
}

bool xd_engine_has_work(void)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.qps) {
		struct xd_qp *qp = list_entry(pos, struct xd_qp, active);
		uint32_t state = qp->attr.qp_state;

		if (qp->ctx->frozen)
			continue;
		/* The same test as the consumers': a corrupt index is none. */
		if ((state == IBV_QPS_RTS || state == IBV_QPS_SQD) &&
		    xd_req_has_work(qp))
			return true;
		if (state == IBV_QPS_ERR &&
		    (ring_waiting(&qp->sq) ||
		     (has_rq(qp) && ring_waiting(&qp->rq))))
			return true;
	}
	return false;
}

void xd_engine_ctx_thawed(struct xd_ctx *ctx)
{
	struct list_node *pos, *tmp;
	struct xd_req_place p;

	list_for_each_safe(pos, tmp, &ctx->qps) {
		struct xd_qp *qp = list_entry(pos, struct xd_qp, link);

		if (!qp->eng || (qp->attr.qp_state != IBV_QPS_RTS &&
				 qp->attr.qp_state != IBV_QPS_SQD))
			continue;
		/* From its oldest unacknowledged request, nothing spent. */
		xd_req_place_get(qp, &p);
		xd_req_place_set(qp, &p);
	}
}
