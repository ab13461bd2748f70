// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The requester's window and what answers do to it (requester.c sends):
 * acknowledgements, completions in SQ order, going back to send again,
 * the retry budgets and the transport timer.
 *
 * Answers are cumulative, as IB's ACKs: an ACK covers every request up to
 * it, a NAK every request before it.  A WQE completes once its last request
 * is acknowledged (RC, XRC) or sent (UC, UD); a NAK fails its WQE; an RNR
 * NAK or silence (the QP's timeout) sends again from the first request not
 * acknowledged, within the retry budgets of docs/ib-semantics.md; a frozen
 * target holds the QP without spending them.
 *
 * The transport timer runs from the last time the window advanced (or a
 * wait ended), not from the last answer: answers that take nothing (a
 * "send again from N" that N never follows, a busy target, a duplicate's
 * ACK) would otherwise keep a QP that never completes anything alive for
 * ever.  Only progress gives a run of retries its budget back.
 *
 * Nothing here allocates, locks or makes a system call.
 */
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/engine/eng.h"

/* RNR NAK timer field (IB spec table 45), in microseconds. */
static const uint32_t rnr_timer_us[32] = {
	655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960,
	1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

/* With timeout 0 (wait forever), look again this often. */
#define XD_RETRY_FOREVER_NS	(1000 * 1000ull)

/*
 * UC and UD: a request no answer came for within this long counts as
 * sent (their peers answer "taken", "dropped" or "paused"; a peer that
 * is gone does not).
 */
#define XD_UNREL_ANSWER_NS	(50 * 1000 * 1000ull)

/* A congested path: send again after this long. */
#define XD_BUSY_NS		(50 * 1000ull)

/*
 * The end of the oldest WQE of the window: every fetched WQE ends here
 * exactly once, in SQ order.  The slot is released before the completion
 * is published, so a guest that sees the CQE may reuse the slot at once (as
 * on hardware), and before an error flush, which must not see it again.
 */
static void complete_head(struct xd_qp *qp, uint32_t status)
{
	struct xd_qp_eng *e = qp->eng;
	const struct xd_swqe *s = &xd_tx_at(e, e->tx_head)->wqe;
	bool signaled = qp->sq_sig_all || (s->w.send_flags & IBV_SEND_SIGNALED);
	struct xenib_cqe cqe = {
		.wr_id = s->w.wr_id,
		.status = status,
		.opcode = xd_wc_opcode(s->w.opcode),
		.byte_len = status == IBV_WC_SUCCESS ? (uint32_t)s->len : 0,
		.qp_num = qp->h.id,
	};

	e->tx_head++;
	if (status == IBV_WC_SUCCESS) {
		e->cnt.wqes++;
		e->cnt.bytes += s->len;
	}
	/*
	 * Already in ERR: the QP failed while executing this WQE (a loopback
	 * QP failing as its own responder, a CQ overrun) and that flush has
	 * completed it.  Nothing to add.
	 */
	if (qp->attr.qp_state == IBV_QPS_ERR)
		return;
	/* We consume the guest's send ring: release the slot (batch.c). */
	xd_ring_consumed(&qp->sq, 1);
	if (status == IBV_WC_SUCCESS && !signaled)
		return;
	xd_complete(qp, qp->send_cq, &cqe, false);
	if (status != IBV_WC_SUCCESS)
		xd_qp_to_error(qp, 0);
}

/* Complete the WQEs at the head whose every request was answered. */
void xd_req_retire(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;

	while (e->tx_head != e->tx_tail && qp->attr.qp_state != IBV_QPS_ERR) {
		struct xd_tx *t = xd_tx_at(e, e->tx_head);

		if (t->acked < xd_tx_nreqs(t))
			break;
		complete_head(qp, IBV_WC_SUCCESS);
	}
}

/*
 * Send again from request seq on (an RNR NAK, silence, a paused target):
 * every WQE of the window from the one holding seq rewinds to it.
 */
static void rewind_to(struct xd_qp_eng *e, uint32_t seq)
{
	uint32_t i;

	for (i = e->tx_head; i != e->tx_tail; i++) {
		struct xd_tx *t = xd_tx_at(e, i);

		if (!t->sent || t->bad_status)
			break;
		if (t->local)
			continue;
		if (xd_seq_before(seq, t->seq0)) {
			t->sent = 0;
		} else if (xd_seq_before(seq, t->seq0 + t->sent)) {
			t->sent = seq - t->seq0;
		}
	}
	if (xd_seq_before(seq, e->next_seq))
		e->next_seq = seq;
	e->rewound = true;
	e->rewound_to = seq;
}

/* Everything before seq was taken: mark it acknowledged; anything new? */
static bool ack_before(struct xd_qp_eng *e, uint32_t seq)
{
	bool advanced = false;
	uint32_t i;

	for (i = e->tx_head; i != e->tx_tail; i++) {
		struct xd_tx *t = xd_tx_at(e, i);
		uint32_t n;

		if (t->local && !t->bad_status)
			continue;
		if (t->bad_status || !t->sent || !xd_seq_before(t->seq0, seq))
			break;
		n = seq - t->seq0;
		if (n > t->sent)
			n = t->sent;
		if (n > t->acked) {
			t->acked = n;
			advanced = true;
		}
	}
	return advanced;
}

/* Is the QP waiting now (an RNR timer, a retry's wait, a hold)? */
bool xd_req_waiting(const struct xd_qp_eng *e)
{
	return e->stall && xd.now_ns < e->stall_until_ns;
}

/*
 * The window advanced: the responder takes requests.  A run of RNR or
 * transport retries ends (the next one starts with its whole budget), and
 * so does its wait; the transport timer starts again.
 */
static void progress(struct xd_qp_eng *e)
{
	e->last_answer_ns = xd.now_ns;
	e->told_unsendable = false;
	e->rewound = false;
	if (e->stall == XD_STALL_RNR || e->stall == XD_STALL_RETRY)
		e->stall = XD_STALL_NONE;
}

void xd_req_fail_head(struct xd_qp *qp, uint32_t status)
{
	qp->eng->stall = XD_STALL_NONE;
	complete_head(qp, status);
}

/*
 * The responder did not answer (gone, not ready, not connected to us):
 * retry for the transport timeout, retry_cnt + 1 times, then fail.  The
 * transport timer then runs from the end of the wait.
 */
static void stall_retry(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;
	uint64_t period;

	if (!qp->attr.timeout) {	/* 0 means wait forever */
		e->stall = XD_STALL_RETRY;
		e->stall_until_ns = xd.now_ns + XD_RETRY_FOREVER_NS;
		e->last_answer_ns = e->stall_until_ns;
		e->timer_at_send = true;
		return;
	}
	period = 4096ull << (qp->attr.timeout & 31);	/* 4.096 us * 2^t */
	if (e->stall != XD_STALL_RETRY) {
		e->stall = XD_STALL_RETRY;
		e->stall_count = 0;
	} else if (++e->stall_count > qp->attr.retry_cnt) {
		const struct xd_tx *t = xd_tx_at(e, e->tx_head);

		xd_ctx_log(qp->ctx, "QP 0x%x: retries exceeded at request %u "
			   "(WQE %u of %u requests, %u sent, %u acked; next "
			   "%u; %llu no-answers, %llu seq NAKs, %llu paused)",
			   qp->h.id, t->seq0 + t->acked, qp->sq.idx,
			   xd_tx_nreqs(t),
			   t->sent, t->acked, e->next_seq,
			   (unsigned long long)e->cnt.no_answer,
			   (unsigned long long)e->cnt.seq_naks,
			   (unsigned long long)e->cnt.paused);
		xd_req_fail_head(qp, IBV_WC_RETRY_EXC_ERR);
		return;
	}
	e->stall_until_ns = xd.now_ns + period;
	e->last_answer_ns = e->stall_until_ns;
	e->timer_at_send = true;
}

/*
 * The responder had no receive WQE: RNR NAK.  The NAK is an answer, so
 * the requester fails as soon as a NAK finds its rnr_retry retries spent
 * (at once for rnr_retry 0, after rnr_retry RNR timer periods otherwise).
 */
static void stall_rnr(struct xd_qp *qp, uint8_t rnr_timer)
{
	struct xd_qp_eng *e = qp->eng;

	if (e->stall == XD_STALL_RNR && e->rnr_early) {
		/*
		 * A look before the timer (rnr_ready): it still runs, and the
		 * transport timer from the resend at its end, as before the
		 * look (which started it).
		 */
		e->rnr_early = false;
		e->last_answer_ns = e->stall_until_ns;
		e->timer_at_send = true;
		return;
	}
	if (e->stall != XD_STALL_RNR) {
		e->stall = XD_STALL_RNR;
		e->stall_count = 0;
	}
	if (qp->attr.rnr_retry != 7 &&	/* 7 means retry forever */
	    e->stall_count >= qp->attr.rnr_retry) {
		xd_req_fail_head(qp, IBV_WC_RNR_RETRY_EXC_ERR);
		return;
	}
	e->stall_count++;
	e->stall_until_ns = xd.now_ns + rnr_timer_us[rnr_timer & 31] * 1000ull;
	e->last_answer_ns = e->stall_until_ns;	/* the timer: from the resend */
	e->timer_at_send = true;
}

/*
 * The target belongs to a frozen guest (its memory is not mapped): hold
 * and look again later; no retry budget is spent (the guest is not
 * unreachable, only paused), so a peer does not fail while its partner
 * migrates.
 */
static void hold_frozen(struct xd_qp *qp)
{
	qp->eng->stall = XD_STALL_FROZEN;
	qp->eng->stall_until_ns = xd.now_ns + XD_FROZEN_RETRY_NS;
	qp->eng->last_answer_ns = qp->eng->stall_until_ns;
	qp->eng->timer_at_send = true;
}

/* Put the original value of an atomic into the requester's buffer. */
static void atomic_result(struct xd_qp *qp, struct xd_tx *t, uint64_t orig)
{
	struct xd_sgl d;

	if (xd_sgl_translate(&d, t->wqe.sge, 1, qp->pd,
			     IBV_ACCESS_LOCAL_WRITE) &&
	    d.n == 1 && d.e[0].len == 8)
		memcpy(d.e[0].va, &orig, 8);
}

/* The WQE of the window that request seq belongs to, or NULL. */
static struct xd_tx *tx_of(struct xd_qp_eng *e, uint32_t seq)
{
	uint32_t i;

	for (i = e->tx_head; i != e->tx_tail; i++) {
		struct xd_tx *t = xd_tx_at(e, i);

		if (t->bad_status)
			break;
		if (t->local)
			continue;
		if (t->sent && !xd_seq_before(seq, t->seq0) &&
		    xd_seq_before(seq, t->seq0 + t->sent))
			return t;
	}
	return NULL;
}

static void count_answer(struct xd_qp_eng *e, enum xd_ack ack)
{
	switch (ack) {
	case XD_NAK_RNR:
		e->cnt.rnr_naks++;
		break;
	case XD_NAK_ACCESS:
		e->cnt.access_naks++;
		break;
	case XD_NAK_INV_REQ:
		e->cnt.inv_naks++;
		break;
	case XD_NAK_OP:
		e->cnt.op_naks++;
		break;
	case XD_BUSY:
		e->cnt.seq_naks++;
		break;
	case XD_PAUSED:
		e->cnt.paused++;
		break;
	case XD_NO_ANSWER:
		e->cnt.no_answer++;
		break;
	default:
		break;
	}
}

/*
 * The first request of the window not acknowledged yet (local WQEs, memory
 * windows, have no number: passed by).
 */
static uint32_t first_unacked(struct xd_qp_eng *e)
{
	uint32_t i;

	for (i = e->tx_head; i != e->tx_tail; i++) {
		const struct xd_tx *t = xd_tx_at(e, i);

		if (t->bad_status)
			break;
		if (t->local)
			continue;
		if (t->sent || t->acked)
			return t->seq0 + t->acked;
		break;
	}
	return e->next_seq;
}

/*
 * "Send again from seq", and the window holds no request seq that was
 * sent: one of a rewind already under way (sent again soon), or one this
 * QP cannot send: already acknowledged (its WQE may have completed), or
 * never numbered.  The responder and this requester disagree for good:
 * nothing here can make the responder take anything, so the answer moves
 * nothing, the transport timer runs on and ends the QP with
 * RETRY_EXC_ERR (never with timeout 0: wait for ever).  Said once per run
 * of retries.
 */
static void resend_unsendable(struct xd_qp *qp, uint32_t seq)
{
	struct xd_qp_eng *e = qp->eng;
	uint32_t first = first_unacked(e);

	if (e->told_unsendable || (!xd_seq_before(seq, first) &&
				   xd_seq_before(seq, e->max_seq)))
		return;
	e->told_unsendable = true;
	xd_ctx_log(qp->ctx, "QP 0x%x: the responder expects request %u, "
		   "which this QP cannot send (%s; it waits for %u..%u): it "
		   "fails when its transport retries run out", qp->h.id, seq,
		   xd_seq_before(seq, first) ? "acknowledged already" :
					       "never sent", first,
		   e->max_seq - 1);
}

void xd_req_answer(struct xd_qp *qp, uint32_t seq,
		   const struct xd_answer *ans)
{
	static const struct xd_answer sent = { .ack = XD_ACK };
	struct xd_qp_eng *e = qp->eng;
	bool advanced = false;
	struct xd_tx *t;

	if (qp->attr.qp_state == IBV_QPS_ERR || qp->attr.qp_state ==
	    IBV_QPS_RESET || e->tx_head == e->tx_tail)
		return;		/* nothing waits for it any more */
	/*
	 * Frozen (suspended, or moving to another host): its rings are not
	 * ours to write, and a snapshot may already say where it stands.
	 * The answer is dropped; the request is sent again when the QP runs
	 * (here after a thaw, or at its new host) and answered as a
	 * duplicate.
	 */
	if (qp->ctx->frozen)
		return;
	if (!xd_req_reliable(qp) && ans->ack != XD_PAUSED &&
	    ans->ack != XD_BUSY)
		ans = &sent;	/* UC, UD: "sent" is all there is */
	if (ans->ack == XD_BUSY && ans->resend)
		seq = ans->resend_from;	/* it took every one before */
	t = tx_of(e, seq);
	if (!t) {
		/* A duplicate, older than a rewind, or nothing to send. */
		if (ans->ack == XD_BUSY && ans->resend && xd_req_reliable(qp))
			resend_unsendable(qp, seq);
		return;
	}
	/*
	 * A responder that looked at seq in order (it executed it, or NAKed
	 * it: RNR, errors, "send again from here") took every request before
	 * it.  One that did not get that far (paused, busy, no such QP)
	 * says nothing about the earlier ones, whose own answers decide.
	 */
	if (ans->ack == XD_ACK)
		advanced = ack_before(e, seq + 1);
	else if (ans->ack != XD_PAUSED && ans->ack != XD_NO_ANSWER &&
		 ans->ack != XD_DROPPED && (ans->ack != XD_BUSY || ans->resend))
		advanced = ack_before(e, seq);
	if (advanced) {
		/* An early look's request taken (rnr_ready): the run ends. */
		if (ans->ack == XD_ACK && e->stall == XD_STALL_RNR)
			xd.stats.rnr_early += e->rnr_early;
		progress(e);
	} else if (!xd_req_reliable(qp)) {
		e->last_answer_ns = xd.now_ns;	/* no budget: any answer */
	}
	count_answer(e, ans->ack);
	/*
	 * "Send again from seq" that takes nothing new, after the window went
	 * back to seq already: the NAK of a request sent before that (the
	 * responder NAKs each one behind the missing one).  Going back again
	 * would cancel what is on its way now; if that is lost too, the
	 * transport timer sends it again.
	 */
	if (ans->ack == XD_BUSY && ans->resend && !advanced && e->rewound &&
	    e->rewound_to == seq)
		return;
	switch (ans->ack) {
	case XD_ACK:
		if (xd_is_atomic(t->wqe.w.opcode))
			atomic_result(qp, t, ans->atomic_orig);
		break;
	case XD_NAK_RNR:
		rewind_to(e, seq);
		stall_rnr(qp, ans->rnr_timer);
		break;
	case XD_PAUSED:
		rewind_to(e, seq);
		hold_frozen(qp);
		break;
	case XD_BUSY:
		rewind_to(e, seq);
		if (!e->stall || e->stall == XD_STALL_BUSY) {
			e->stall = XD_STALL_BUSY;
			e->stall_until_ns = xd.now_ns + XD_BUSY_NS;
		}
		break;
	case XD_NO_ANSWER:
	case XD_DROPPED:
		rewind_to(e, seq);
		stall_retry(qp);
		break;
	case XD_NAK_ACCESS:
	case XD_NAK_INV_REQ:
	case XD_NAK_OP:
		/* Every WQE before it completed; it fails, the rest flush. */
		xd_req_retire(qp);
		xd_req_fail_head(qp, ans->ack == XD_NAK_ACCESS ?
					     IBV_WC_REM_ACCESS_ERR :
				     ans->ack == XD_NAK_INV_REQ ?
					     IBV_WC_REM_INV_REQ_ERR :
					     IBV_WC_REM_OP_ERR);
		return;
	case XD_PENDING:
		return;
	}
	xd_req_retire(qp);
}

bool xd_req_read_dest(struct xd_qp *qp, uint32_t seq, uint32_t len,
		      struct xd_sgl *dst)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_tx *t = tx_of(e, seq);
	struct xd_sgl all;
	uint64_t off;

	if (!t || t->wqe.w.opcode != IBV_WR_RDMA_READ || qp->ctx->frozen)
		return false;	/* frozen: its memory is not ours to write */
	off = (uint64_t)(seq - t->seq0) * XD_SLICE_BYTES;
	if (off > t->wqe.len || len > t->wqe.len - off ||
	    !xd_sgl_translate(&all, t->wqe.sge, t->wqe.w.num_sge, qp->pd,
			      IBV_ACCESS_LOCAL_WRITE))
		return false;
	xd_sgl_sub(dst, &all, off, len);
	return true;
}

/* Requests sent and not answered yet? */
bool xd_req_outstanding(struct xd_qp_eng *e)
{
	uint32_t i;

	for (i = e->tx_head; i != e->tx_tail; i++) {
		struct xd_tx *t = xd_tx_at(e, i);

		if (t->bad_status)
			break;
		if (t->acked < t->sent)
			return true;
	}
	return false;
}

/* The oldest WQE with a request sent and not acknowledged, or NULL. */
static struct xd_tx *oldest_outstanding(struct xd_qp_eng *e)
{
	uint32_t i;

	for (i = e->tx_head; i != e->tx_tail; i++) {
		struct xd_tx *t = xd_tx_at(e, i);

		if (t->bad_status)
			break;
		if (t->acked < t->sent)
			return t;
	}
	return NULL;
}

/*
 * No progress for the QP's timeout: send again from the oldest unanswered
 * request.  Whatever came meanwhile (answers that took nothing, an RNR
 * run whose wait is over), only a frozen target's hold or a wait under way
 * stops the timer.
 */
void xd_req_check_timeout(struct xd_qp *qp)
{
	struct xd_qp_eng *e = qp->eng;
	struct xd_tx *t;
	uint64_t period;

	if (e->stall == XD_STALL_FROZEN || xd_req_waiting(e))
		return;
	t = oldest_outstanding(e);
	if (!t)
		return;		/* nothing is waiting for an answer */
	if (!xd_req_reliable(qp)) {
		if (xd.now_ns >= e->last_answer_ns + XD_UNREL_ANSWER_NS) {
			static const struct xd_answer sent = { .ack = XD_ACK };

			xd_req_answer(qp, e->next_seq - 1, &sent);
		}
		return;
	}
	period = qp->attr.timeout ? 4096ull << (qp->attr.timeout & 31) :
				    XD_RETRY_FOREVER_NS;
	/* (last_answer_ns is in the future while a wait's resend is due) */
	if (xd.now_ns < e->last_answer_ns + period)
		return;
	/*
	 * Transmission stall_count of the oldest request has timed out (the
	 * first one is number 0).  Unlike a request refused at once
	 * (stall_retry), whose period is waited after it, this one's period
	 * has passed already: with retry_cnt retries spent it fails now, at
	 * (retry_cnt + 1) periods, as an HCA's does.
	 */
	if (e->stall != XD_STALL_RETRY) {
		e->stall = XD_STALL_RETRY;
		e->stall_count = 0;
	} else {
		e->stall_count++;
	}
	if (qp->attr.timeout && e->stall_count >= qp->attr.retry_cnt) {
		xd_req_fail_head(qp, IBV_WC_RETRY_EXC_ERR);
		return;
	}
	rewind_to(e, t->seq0 + t->acked);
	/* The timeout was the wait; the timer runs from the resend. */
	e->stall_until_ns = xd.now_ns;
	e->last_answer_ns = xd.now_ns;
	e->timer_at_send = true;
}

void xd_req_timers(struct xd_qp *qp, uint64_t *next_ns)
{
	struct xd_qp_eng *e = qp->eng;
	uint64_t end;

	/*
	 * A wait under way ends at stall_until_ns; past it, requests wait for
	 * answers under the transport timer (a past wait is no timer: the
	 * loop would never sleep).
	 */
	if (xd_req_waiting(e)) {
		end = e->stall_until_ns;
	} else if (e->stall != XD_STALL_FROZEN && xd_req_outstanding(e)) {
		end = e->last_answer_ns + (!xd_req_reliable(qp) ?
			XD_UNREL_ANSWER_NS : qp->attr.timeout ?
			4096ull << (qp->attr.timeout & 31) :
			XD_RETRY_FOREVER_NS);
	} else {
		return;
	}
	if (end < *next_ns)
		*next_ns = end;
}
