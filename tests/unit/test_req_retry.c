// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The requester's retry budgets and its numbering, through a test peer
 * that answers later (as another host does) only what the test says:
 *
 *   - "send again from N" answers that never make N arrive: the transport
 *     timer still ends the QP (RETRY_EXC_ERR), it does not run from the
 *     last answer;
 *   - "send again from N" for an N the QP cannot send (acknowledged
 *     already, never numbered): RETRY_EXC_ERR, not a silent hang;
 *   - after an RNR NAK's wait, the request sent again is under the
 *     transport timer (silence fails it), and the engine's next timer is
 *     in the future (not a past wait the loop would spin on); the timer
 *     runs from that request, however late the loop comes to send it;
 *   - an early look during an RNR wait (the responder says it has
 *     receives, rx_ready) NAKed again: the request sent at the wait's end
 *     is timed from then, not from the early look;
 *   - RNR NAKs for ever with rnr_retry 7 never fail the QP;
 *   - progress gives the RNR budget back, whichever answer brought it;
 *   - UD: a datagram for a frozen target stays held, and one answered
 *     "busy" is sent again, not taken for sent (no retry budget there);
 *   - a QP's place (xd_req_place_get/set, what a move and a thaw carry)
 *     numbers the requests sent again exactly as before and the next new
 *     one right after them: no gap, no reuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/engine/engine.h"
#include "tests/common/check.h"
#include "tests/common/eng_guest.h"

#define BUF	(4u << 20)
#define MAXLOG	4096

/* timeout 10: 4.096 us * 2^10 */
#define PERIOD	(4096ull << 10)

/* ------------------------------------------------------------------ */
/* The test peer: records every request, answers none by itself        */

struct logged {
	uint32_t seq;
	uint64_t offset;
};

static struct logged logbook[MAXLOG];
static unsigned int nlog;
static bool rx_ready_now;	/* what the peer's rx_ready says */

static void t_op(struct xd_peer *p, struct xd_qp *qp, const struct xd_req *req,
		 struct xd_answer *ans)
{
	if (nlog < MAXLOG)
		logbook[nlog++] = (struct logged){ req->seq, req->offset };
	ans->ack = XD_PENDING;
}

static bool t_rx_ready(struct xd_peer *p, struct xd_qp *qp,
		       const struct xd_req *req, uint32_t want)
{
	return rx_ready_now;
}

/* ------------------------------------------------------------------ */
/* The guest (tests/common/eng_guest.h) and its UD address handle      */

static struct eg_guest g;
static uint32_t ud_ah;	/* the AH of UD WQEs */

static void setup(void)
{
	struct xenib_create_ah_req ah = {
		.pd = g.pd, .ah = { .dlid = EG_DLID, .port_num = 1 },
	};

	CHECK(!xd_ah_create(g.ctx, &ah, &ud_ah), "ah");
}

/* A QP up to RTS, the peer's log emptied. */
static void qp_up_type(struct eg_qp *q, uint32_t type, uint8_t timeout,
		       uint8_t retry, uint8_t rnr)
{
	eg_qp_up(&g, q, type, timeout, retry, rnr);
	nlog = 0;
}

static void qp_up(struct eg_qp *q, uint8_t timeout, uint8_t retry,
		  uint8_t rnr)
{
	qp_up_type(q, IBV_QPT_RC, timeout, retry, rnr);
}

/* A WQE of len bytes, numbered by its place; UD: towards ud_ah. */
static void post(struct eg_qp *q, uint32_t opcode, uint32_t len)
{
	struct xenib_send_wqe *w = eg_wqe(q, q->sq_prod, opcode, 0, len);

	w->ah = ud_ah;
	w->remote_qpn = EG_DEST_QPN;
	w->remote_qkey = EG_RKEY;
	eg_publish(q);
}

/* "Request seq came, expected is the one I take next" (XF_NAK_SEQ). */
static void nak_seq(struct eg_qp *q, uint32_t seq, uint32_t expected)
{
	struct xd_answer a = {
		.ack = XD_BUSY, .resend = true, .resend_from = expected,
	};

	xd_req_answer(eg_qp(q), seq, &a);
}

/* ------------------------------------------------------------------ */

/*
 * The responder never gets request s0 (lost each time, as a payload whose
 * landing fails) and answers each later one "send again from s0".
 */
static void test_nak_loop(void)
{
	const char *got = "";
	unsigned int seen = 0, i;
	uint64_t t0 = xd.now_ns;
	struct eg_qp q;
	uint32_t s0;

	qp_up(&q, 10, 2, 7);
	post(&q, IBV_WR_SEND, 64);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	s0 = logbook[0].seq;
	CHECK(nlog == 2 && logbook[1].seq == s0 + 1, "two requests out");
	for (i = 0; i < 4000 && !*got; i++) {
		for (; seen < nlog; seen++)
			if (logbook[seen].seq != s0)
				nak_seq(&q, logbook[seen].seq, s0);
		got = eg_cqes(&g);
		xd.now_ns += 10000;
		eg_run(1);
		if (!*got)
			got = eg_cqes(&g);
	}
	CHECK(!strcmp(got, "RF"), "NAKs that never bring s0: RETRY_EXC_ERR, "
	      "the next flushed (%s after %u requests)", got, nlog);
	CHECK(xd.now_ns - t0 >= 3 * PERIOD && xd.now_ns - t0 <= 6 * PERIOD,
	      "after retry_cnt + 1 timeouts of no progress (%llu us)",
	      (unsigned long long)(xd.now_ns - t0) / 1000);
	eg_qp_destroy(&q);
}

/* "Send again from" a request this QP cannot send again. */
static void unsendable(const char *what, int32_t off)
{
	const char *got = "";
	unsigned int seen = 0, i;
	struct eg_qp q;
	uint32_t s0;

	qp_up(&q, 10, 1, 7);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	s0 = logbook[0].seq;
	for (i = 0; i < 4000 && !*got; i++) {
		for (; seen < nlog; seen++)
			nak_seq(&q, logbook[seen].seq, s0 + off);
		xd.now_ns += 10000;
		eg_run(1);
		got = eg_cqes(&g);
	}
	CHECK(!strcmp(got, "R"), "%s: RETRY_EXC_ERR, not a hang (%s, %u "
	      "requests)", what, got, nlog);
	eg_qp_destroy(&q);
}

static void test_unsendable(void)
{
	unsendable("expects one acknowledged already", -3);
	unsendable("expects one never sent", 5);
}

/* An RNR NAK, its wait, the request sent again, then silence. */
static void test_rnr_then_silence(void)
{
	uint64_t next, t0;
	const char *got = "";
	struct eg_qp q;
	int i;

	qp_up(&q, 10, 1, 7);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	eg_answer(&q, logbook[0].seq, XD_NAK_RNR);
	xd.now_ns += 10000;		/* the RNR timer */
	next = eg_run(1);
	CHECK(nlog == 2 && logbook[1].seq == logbook[0].seq,
	      "sent again after the RNR timer");
	CHECK(next > xd.now_ns && next <= xd.now_ns + PERIOD,
	      "the next timer is the transport timer, ahead (%lld us)",
	      (long long)(next - xd.now_ns) / 1000);
	t0 = xd.now_ns;
	for (i = 0; i < 10 && !*got; i++) {
		xd.now_ns += PERIOD;
		eg_run(1);
		got = eg_cqes(&g);
	}
	CHECK(!strcmp(got, "R"), "silence after an RNR NAK: RETRY_EXC_ERR "
	      "(%s after %llu us)", got,
	      (unsigned long long)(xd.now_ns - t0) / 1000);
	eg_qp_destroy(&q);

	/* The loop comes two timeouts after the RNR wait ended. */
	qp_up(&q, 10, 1, 7);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	eg_answer(&q, logbook[0].seq, XD_NAK_RNR);
	xd.now_ns += 10000 + 2 * PERIOD;
	eg_run(1);
	CHECK(nlog == 2, "sent again, late (%u)", nlog);
	xd.now_ns += PERIOD / 2;
	eg_run(1);
	CHECK(nlog == 2 && !*eg_cqes(&g), "its timer runs from then: no retry "
	      "half a timeout later (%u requests)", nlog);
	eg_answer(&q, logbook[1].seq, XD_ACK);
	CHECK(!strcmp(eg_cqes(&g), "S"), "then it completes");
	eg_qp_destroy(&q);
}

/*
 * An RNR NAK with a timer longer than the transport timeout (655 ms, 4 ms);
 * the responder says it has receives, the early look is NAKed again (another
 * sender took them); the resend at the wait's end is timed from then.
 */
static void test_rnr_early_look(void)
{
	struct xd_answer rnr = { .ack = XD_NAK_RNR, .rnr_timer = 0 };
	uint64_t t0;
	struct eg_qp q;

	qp_up(&q, 10, 1, 7);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	t0 = xd.now_ns;
	xd_req_answer(eg_qp(&q), logbook[0].seq, &rnr);
	xd.now_ns += 1000;
	rx_ready_now = true;
	eg_run(1);
	rx_ready_now = false;
	CHECK(nlog == 2 && logbook[1].seq == logbook[0].seq,
	      "the early look sends it again (%u)", nlog);
	xd_req_answer(eg_qp(&q), logbook[1].seq, &rnr);
	xd.now_ns = t0 + 655360ull * 1000 + 1;	/* the RNR timer's end */
	eg_run(1);
	CHECK(nlog == 3, "sent again at the RNR timer's end (%u)", nlog);
	xd.now_ns += PERIOD / 2;
	eg_run(1);
	CHECK(nlog == 3 && !*eg_cqes(&g), "timed from then: no retry half a "
	      "timeout later (%u requests)", nlog);
	eg_answer(&q, logbook[2].seq, XD_ACK);
	CHECK(!strcmp(eg_cqes(&g), "S"), "then it completes");
	eg_qp_destroy(&q);
}

/* rnr_retry 7: RNR NAKs for far longer than the transport budget. */
static void test_rnr_forever(void)
{
	unsigned int seen = 0, i;
	const char *got;
	struct eg_qp q;

	qp_up(&q, 10, 1, 7);
	post(&q, IBV_WR_SEND, 64);
	for (i = 0; i < 2000; i++) {
		eg_run(1);
		for (; seen < nlog; seen++)
			eg_answer(&q, logbook[seen].seq, XD_NAK_RNR);
		xd.now_ns += 10000;
	}
	got = eg_cqes(&g);
	CHECK(!*got && nlog > 1000 && eg_qp(&q)->attr.qp_state == IBV_QPS_RTS,
	      "RNR for %llu ms with rnr_retry 7: still retrying (%u requests)",
	      2000ull * 10 / 1000, nlog);
	eg_run(1);
	eg_answer(&q, logbook[nlog - 1].seq, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "S"), "then taken: completes (%s)", got);
	eg_qp_destroy(&q);
}

/*
 * rnr_retry 1: an RNR NAK of A, then a cumulative ACK (of B) completes A
 * and B; the RNR NAK of a later C starts a run of its own.
 */
static void test_rnr_budget_renews(void)
{
	const char *got;
	struct eg_qp q;

	qp_up(&q, 14, 7, 1);
	post(&q, IBV_WR_SEND, 64);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	eg_answer(&q, logbook[0].seq, XD_NAK_RNR);
	xd.now_ns += 10000;
	eg_run(1);
	CHECK(nlog == 4, "both sent again after the RNR timer (%u)", nlog);
	eg_answer(&q, logbook[3].seq, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SS"), "a cumulative ACK completes both (%s)", got);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	eg_answer(&q, logbook[4].seq, XD_NAK_RNR);
	got = eg_cqes(&g);
	CHECK(!*got, "an RNR NAK after progress: retried, not failed (%s)",
	      got);
	xd.now_ns += 10000;
	eg_run(1);
	eg_answer(&q, logbook[nlog - 1].seq, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "S"), "and then it completes (%s)", got);
	eg_qp_destroy(&q);
}

/* UD: held while its target is frozen; sent again while it is busy. */
static void test_ud(void)
{
	struct xd_answer busy = { .ack = XD_BUSY };
	unsigned int seen = 0, i;
	const char *got;
	struct eg_qp q;

	qp_up_type(&q, IBV_QPT_UD, 0, 0, 0);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	CHECK(nlog == 1, "UD: a datagram out (%u)", nlog);
	eg_answer(&q, logbook[0].seq, XD_PAUSED);
	xd.now_ns += XD_FROZEN_RETRY_NS + 100 * 1000 * 1000ull;
	eg_run(1);			/* the loop comes late */
	eg_run(1);
	CHECK(nlog == 2 && !*eg_cqes(&g), "UD: held, sent again late, not taken "
	      "for sent at once (%u)", nlog);
	eg_answer(&q, logbook[1].seq, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "S"), "UD: then taken (%s)", got);

	/* Each "busy" comes a round late: the datagram waits meanwhile. */
	post(&q, IBV_WR_SEND, 64);
	for (i = 0; i < 400; i++) {	/* 200 ms of "busy" */
		unsigned int before = nlog;

		eg_run(1);
		for (; seen < before; seen++)
			xd_req_answer(eg_qp(&q), logbook[seen].seq, &busy);
		xd.now_ns += 500 * 1000;
	}
	got = eg_cqes(&g);
	CHECK(!*got && nlog > 100, "UD: answered busy for 200 ms: sent "
	      "again, not taken for sent (%s, %u requests)", got, nlog);
	eg_run(1);
	eg_answer(&q, logbook[nlog - 1].seq, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "S"), "UD: then taken (%s)", got);
	eg_qp_destroy(&q);
}

/* The QP goes to its place, as a move's destination or a thaw puts it. */
static void replace(struct eg_qp *q, struct xd_req_place *p)
{
	xd_req_place_get(eg_qp(q), p);
	xd_req_place_set(eg_qp(q), p);
	nlog = 0;
}

static void test_place(void)
{
	struct xd_req_place p, again;
	const char *got;
	struct eg_qp q;
	uint32_t s0, i;
	bool ok = true;

	/* Two of five SENDs completed, three in flight, then a move. */
	qp_up(&q, 14, 7, 7);
	for (i = 0; i < 5; i++)
		post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	s0 = logbook[0].seq;
	eg_answer(&q, s0 + 1, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SS"), "two of five done (%s)", got);
	replace(&q, &p);
	CHECK(p.seq0 == s0 + 2 && !p.acked, "the place: from s0 + 2 (%u, %u)",
	      p.seq0 - s0, p.acked);
	eg_run(1);
	for (i = 0; i < 3; i++)
		ok &= i < nlog && logbook[i].seq == s0 + 2 + i;
	CHECK(ok && nlog == 3, "the three sent again with their numbers");
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	CHECK(nlog == 4 && logbook[3].seq == s0 + 5,
	      "the next new one right after them (%u)",
	      nlog == 4 ? logbook[3].seq - s0 : 0);
	eg_answer(&q, s0 + 5, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SSSS"), "all done (%s)", got);
	eg_qp_destroy(&q);

	/* A 2 MiB WRITE (two requests) half acknowledged, a SEND after. */
	qp_up(&q, 14, 7, 7);
	post(&q, IBV_WR_RDMA_WRITE, 2u << 20);
	post(&q, IBV_WR_SEND, 64);
	for (i = 0; i < 3; i++)
		eg_run(1);		/* one slice (1 MiB) a round */
	s0 = logbook[0].seq;
	CHECK(nlog == 3, "three requests out (%u)", nlog);
	eg_answer(&q, s0, XD_ACK);
	replace(&q, &p);
	CHECK(p.seq0 == s0 && p.acked == 1, "the place: the WRITE, 1 of 2 "
	      "acknowledged (%u, %u)", p.seq0 - s0, p.acked);
	/* Moved on again before it ran: the same place. */
	replace(&q, &again);
	CHECK(again.seq0 == p.seq0 && again.acked == p.acked,
	      "moved again before it ran: the same place (%u, %u)",
	      again.seq0 - s0, again.acked);
	eg_run(1);
	eg_run(1);
	CHECK(nlog == 2 && logbook[0].seq == s0 + 1 &&
	      logbook[0].offset == 1u << 20 && logbook[1].seq == s0 + 2,
	      "only the WRITE's second half again, then the SEND (%u: %u %u)",
	      nlog, nlog ? logbook[0].seq - s0 : 0,
	      nlog > 1 ? logbook[1].seq - s0 : 0);
	eg_answer(&q, s0 + 2, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SS"), "both done (%s)", got);
	post(&q, IBV_WR_SEND, 64);
	eg_run(1);
	CHECK(nlog == 3 && logbook[2].seq == s0 + 3,
	      "the next new one is s0 + 3 (%u)",
	      nlog == 3 ? logbook[2].seq - s0 : 0);
	eg_answer(&q, s0 + 3, XD_ACK);
	CHECK(!strcmp(eg_cqes(&g), "S"), "done");
	eg_qp_destroy(&q);
}

int main(void)
{
	eg_start(&g, "retry-test", BUF);
	setup();
	eg_peer_install(NULL, t_op, t_rx_ready);
	test_nak_loop();
	test_unsendable();
	test_rnr_then_silence();
	test_rnr_early_look();
	test_rnr_forever();
	test_rnr_budget_renews();
	test_ud();
	test_place();
	return eg_end(&g);
}
