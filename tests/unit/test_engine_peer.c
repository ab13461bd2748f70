// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The requester half of the engine through a test peer: xd_peer_ops is
 * replaced by one that records every request and answers as the test
 * scripts it, so what the requester sends and how it treats each answer
 * is seen without any responder: RC ordering and slicing (requests in WQE
 * order, each message cut into XD_SLICE_BYTES pieces at contiguous offsets,
 * FIRST and LAST flags, the right bytes), every NAK's status, RNR and
 * transport retry with their timers, a frozen target held without retries,
 * a NAK in the middle of a message, and fairness between two QPs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/check.h"
#include "tests/common/eng_guest.h"

#define BUF	(8u << 20)
#define MAXLOG	256

/* ------------------------------------------------------------------ */
/* The test peer                                                       */

struct logged {
	uint32_t qpn, opcode, flags, len, seq;
	uint64_t offset, msg_len;
	unsigned char first, last;	/* the request's first and last byte */
};

static struct logged logbook[MAXLOG];
static unsigned int nlog;
static enum xd_ack script[MAXLOG];	/* answer to request i */
static unsigned int nscript;
static enum xd_ack ready_answer = XD_ACK;
static bool async_mode;		/* answer later, by xd_req_answer() */

static enum xd_ack next_answer(void)
{
	return nlog - 1 < nscript ? script[nlog - 1] : XD_ACK;
}

static enum xd_ack t_ready(struct xd_peer *p, struct xd_qp *qp,
			   const struct xd_req *req)
{
	return ready_answer;
}

static void t_op(struct xd_peer *p, struct xd_qp *qp, const struct xd_req *req,
		 struct xd_answer *ans)
{
	struct logged *l = &logbook[nlog < MAXLOG ? nlog : MAXLOG - 1];
	unsigned char b[1];
	struct xd_sgl one;

	memset(l, 0, sizeof(*l));
	l->qpn = qp->h.id;
	l->seq = req->seq;
	l->opcode = req->opcode;
	l->flags = req->flags;
	l->len = req->len;
	l->offset = req->offset;
	l->msg_len = req->msg_len;
	if (req->len && req->data->n) {
		l->first = *(unsigned char *)req->data->e[0].va;
		l->last = *(unsigned char *)(req->data->e[req->data->n - 1].va +
					     req->data->e[req->data->n - 1].len -
					     1);
	}
	if (req->opcode == IBV_WR_RDMA_READ && req->len) {
		/* The responder's bytes land in the requester's memory. */
		b[0] = 0xee;
		xd_sgl_one(&one, b, 1);
		xd_sgl_copy(req->data, &one);
	}
	nlog++;
	ans->ack = async_mode ? XD_PENDING : next_answer();
	ans->rnr_timer = 1;	/* 10 us */
	ans->atomic_orig = 0x1122334455667788ull;
}

/* ------------------------------------------------------------------ */
/* The guest (tests/common/eng_guest.h)                                */

static struct eg_guest g;

static void qp_up(struct eg_qp *q, uint8_t timeout, uint8_t retry, uint8_t rnr)
{
	eg_qp_up(&g, q, IBV_QPT_RC, timeout, retry, rnr);
}

static void reset_log(void)
{
	nlog = 0;
	nscript = 0;
	ready_answer = XD_ACK;
	async_mode = false;
}

static unsigned char src_byte(uint64_t off)
{
	return (unsigned char)(off * 7 + off / 4096);
}

/* ------------------------------------------------------------------ */

static void test_ordering(void)
{
	const uint32_t mib = 1u << 20;
	struct xenib_cqe c;
	struct eg_qp q;
	unsigned int i;
	bool ok = true;
	uint64_t expect_off = 0;

	reset_log();
	qp_up(&q, 14, 7, 7);
	eg_post(&q, 1, IBV_WR_SEND, 0, 3 * mib);
	eg_post(&q, 2, IBV_WR_RDMA_WRITE, 100, 100);
	eg_post(&q, 3, IBV_WR_RDMA_READ, 4 * mib, 2 * mib + 5);
	eg_run(20);
	CHECK(nlog == 3 + 1 + 3, "3 + 1 + 3 requests (got %u)", nlog);
	/* SEND: 1 MiB slices at contiguous offsets, FIRST then LAST. */
	for (i = 0; i < 3 && i < nlog; i++) {
		ok &= logbook[i].opcode == IBV_WR_SEND &&
		      logbook[i].offset == expect_off &&
		      logbook[i].len == mib && logbook[i].msg_len == 3 * mib &&
		      logbook[i].flags == ((i == 0 ? XD_REQ_FIRST : 0) |
					   (i == 2 ? XD_REQ_LAST : 0)) &&
		      logbook[i].first == src_byte(expect_off) &&
		      logbook[i].last == src_byte(expect_off + mib - 1);
		expect_off += mib;
	}
	CHECK(ok, "SEND cut into FIRST, MIDDLE, LAST with the right bytes");
	CHECK(nlog > 3 && logbook[3].opcode == IBV_WR_RDMA_WRITE &&
	      logbook[3].flags == (XD_REQ_FIRST | XD_REQ_LAST) &&
	      logbook[3].len == 100 && logbook[3].first == src_byte(100),
	      "then the WRITE, whole");
	CHECK(nlog > 6 && logbook[4].opcode == IBV_WR_RDMA_READ &&
	      logbook[6].offset == 2 * mib && logbook[6].len == 5 &&
	      (logbook[6].flags & XD_REQ_LAST),
	      "then the READ, its last request 5 bytes at 2 MiB");
	CHECK(((unsigned char *)g.buf.va)[4 * mib] == 0xee &&
	      ((unsigned char *)g.buf.va)[6 * mib] == 0xee,
	      "READ data landed in each slice's part of the local buffer");
	for (i = 1; i <= 3; i++)
		ok &= eg_poll_cqe(&g, &c) && c.wr_id == i &&
		      c.status == IBV_WC_SUCCESS;
	CHECK(ok, "three successful completions, in order");
	CHECK(!eg_poll_cqe(&g, &c), "no more");
	eg_qp_destroy(&q);
}

/* One WQE (a 2 MiB WRITE) answered with ans at request at_req: status. */
static void nak_case(const char *what, enum xd_ack ans, unsigned int at_req,
		     uint32_t status)
{
	struct xenib_cqe c;
	struct eg_qp q;
	unsigned int i;

	reset_log();
	for (i = 0; i < MAXLOG; i++)
		script[i] = XD_ACK;
	script[at_req] = ans;
	nscript = at_req + 1;
	qp_up(&q, 14, 0, 0);
	eg_post(&q, 10, IBV_WR_RDMA_WRITE, 0, 2u << 20);
	eg_post(&q, 11, IBV_WR_RDMA_WRITE, 0, 8);
	eg_run(10);
	CHECK(eg_poll_cqe(&g, &c) && c.wr_id == 10 && c.status == status,
	      "%s: WQE fails with %s (got %s)", what, ibv_wc_status_str(status),
	      ibv_wc_status_str(c.status));
	CHECK(eg_poll_cqe(&g, &c) && c.wr_id == 11 &&
	      c.status == IBV_WC_WR_FLUSH_ERR, "%s: the next is flushed", what);
	CHECK(eg_qp(&q)->attr.qp_state == IBV_QPS_ERR &&
	      nlog == at_req + 1, "%s: QP in ERR, no request after it (%u)",
	      what, nlog);
	eg_qp_destroy(&q);
}

static void test_naks(void)
{
	nak_case("NAK access", XD_NAK_ACCESS, 0, IBV_WC_REM_ACCESS_ERR);
	nak_case("NAK invalid request", XD_NAK_INV_REQ, 0,
		 IBV_WC_REM_INV_REQ_ERR);
	nak_case("NAK remote operational", XD_NAK_OP, 0, IBV_WC_REM_OP_ERR);
	nak_case("NAK access mid-message", XD_NAK_ACCESS, 1,
		 IBV_WC_REM_ACCESS_ERR);
	nak_case("RNR NAK, rnr_retry 0", XD_NAK_RNR, 0,
		 IBV_WC_RNR_RETRY_EXC_ERR);
}

static void test_retry(void)
{
	struct xenib_cqe c;
	struct eg_qp q;
	uint64_t t0;
	int i;

	/* No answer: retry_cnt 2, timeout 10 (4.2 ms): 3 tries, then fail. */
	reset_log();
	ready_answer = XD_NO_ANSWER;
	qp_up(&q, 10, 2, 0);
	eg_post(&q, 20, IBV_WR_RDMA_WRITE, 0, 8);
	t0 = xd.now_ns;
	for (i = 0; i < 3; i++) {
		eg_run(1);
		CHECK(!eg_poll_cqe(&g, &c), "no answer: still retrying (%d)", i);
		xd.now_ns += 4096ull << 10;
	}
	eg_run(1);
	CHECK(eg_poll_cqe(&g, &c) && c.wr_id == 20 &&
	      c.status == IBV_WC_RETRY_EXC_ERR,
	      "RETRY_EXC_ERR after retry_cnt + 1 periods (%llu ns)",
	      (unsigned long long)(xd.now_ns - t0));
	eg_qp_destroy(&q);

	/* RNR, then the responder takes it: completes. */
	reset_log();
	script[0] = XD_NAK_RNR;
	script[1] = XD_NAK_RNR;
	nscript = 2;
	qp_up(&q, 14, 0, 3);
	eg_post(&q, 21, IBV_WR_SEND, 0, 8);
	for (i = 0; i < 3; i++) {
		eg_run(1);
		xd.now_ns += 10000;	/* the 10 us RNR timer */
	}
	CHECK(eg_poll_cqe(&g, &c) && c.wr_id == 21 && c.status == IBV_WC_SUCCESS &&
	      nlog == 3, "two RNR NAKs, then success (%u requests)", nlog);
	eg_qp_destroy(&q);

	/* A frozen target: held for long, no retry budget spent. */
	reset_log();
	ready_answer = XD_PAUSED;
	qp_up(&q, 1, 0, 0);
	eg_post(&q, 22, IBV_WR_RDMA_WRITE, 0, 8);
	for (i = 0; i < 20; i++) {
		eg_run(1);
		xd.now_ns += 1000000000ull;
	}
	CHECK(!eg_poll_cqe(&g, &c) && nlog == 0 &&
	      eg_qp(&q)->attr.qp_state == IBV_QPS_RTS,
	      "frozen target: WQE held 20 s, no failure");
	ready_answer = XD_ACK;
	xd.now_ns += 1000000000ull;
	eg_run(1);
	CHECK(eg_poll_cqe(&g, &c) && c.wr_id == 22 && c.status == IBV_WC_SUCCESS,
	      "thawed: completes");
	eg_qp_destroy(&q);
}

/*
 * Answers that come later, as from another host: a window of requests in
 * flight, cumulative ACKs, completions in order, a timeout sending again
 * from the oldest unanswered request, stale and duplicate answers ignored,
 * an RNR NAK rewinding, a NAK in the middle of the window.
 */
static void test_window(void)
{
	struct eg_qp q;
	uint32_t s0;
	const char *got;
	int i;

	reset_log();
	async_mode = true;
	qp_up(&q, 10, 3, 3);
	for (i = 0; i < 5; i++)
		eg_post(&q, 40 + i, IBV_WR_RDMA_WRITE, 0, 64);
	eg_run(1);
	s0 = nlog ? logbook[0].seq : 0;
	CHECK(nlog == 5 && logbook[4].seq == s0 + 4 && !*eg_cqes(&g),
	      "5 requests in flight at once, numbered in order, none done");
	eg_answer(&q, s0 + 2, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SSS"), "ACK of the third completes three (%s)",
	      got);
	eg_answer(&q, s0 + 1, XD_ACK);	/* older: nothing new */
	eg_answer(&q, s0 + 4, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SS"), "a stale ACK ignored, the last two (%s)",
	      got);

	/* Silence: after the timeout, the oldest unanswered goes again. */
	nlog = 0;
	eg_post(&q, 50, IBV_WR_RDMA_WRITE, 0, 64);
	eg_post(&q, 51, IBV_WR_RDMA_WRITE, 0, 64);
	eg_run(1);
	CHECK(nlog == 2, "two more in flight");
	xd.now_ns += (4096ull << 10) + 1;
	eg_run(2);
	CHECK(nlog == 4 && logbook[2].seq == logbook[0].seq &&
	      logbook[3].seq == logbook[1].seq,
	      "after the timeout both sent again with their numbers (%u)",
	      nlog);
	eg_answer(&q, logbook[1].seq, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SS"), "the retransmission's ACK completes (%s)",
	      got);

	/* RNR NAK of the second of three: the first done, two again later. */
	nlog = 0;
	for (i = 0; i < 3; i++)
		eg_post(&q, 60 + i, IBV_WR_SEND, 0, 8);
	eg_run(1);
	eg_answer(&q, logbook[1].seq, XD_NAK_RNR);
	got = eg_cqes(&g);
	CHECK(nlog == 3 && !strcmp(got, "S"),
	      "RNR NAK of the 2nd: the 1st completes (%s)", got);
	eg_run(1);
	CHECK(nlog == 3, "nothing sent during the RNR timer");
	xd.now_ns += 10000;
	eg_run(1);
	CHECK(nlog == 5 && logbook[3].seq == logbook[1].seq,
	      "after it, the 2nd and 3rd again (%u)", nlog);
	eg_answer(&q, logbook[4].seq, XD_ACK);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SS"), "then they complete (%s)", got);

	/* A NAK in the middle: before it done, it fails, the rest flush. */
	nlog = 0;
	for (i = 0; i < 4; i++)
		eg_post(&q, 70 + i, IBV_WR_RDMA_WRITE, 0, 64);
	eg_run(1);
	eg_answer(&q, logbook[2].seq, XD_NAK_ACCESS);
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "SSAF"), "NAK of the 3rd of 4: SSAF (%s)", got);
	CHECK(eg_qp(&q)->attr.qp_state == IBV_QPS_ERR, "QP in ERR");
	eg_answer(&q, logbook[3].seq, XD_ACK);
	CHECK(!*eg_cqes(&g), "an answer after the error changes nothing");
	eg_qp_destroy(&q);

	/* Retries spent: RETRY_EXC_ERR on the oldest, the rest flush. */
	reset_log();
	async_mode = true;
	qp_up(&q, 10, 1, 0);
	eg_post(&q, 80, IBV_WR_RDMA_WRITE, 0, 64);
	eg_post(&q, 81, IBV_WR_RDMA_WRITE, 0, 64);
	for (i = 0; i < 6; i++) {
		eg_run(1);
		xd.now_ns += (4096ull << 10) + 1;
	}
	got = eg_cqes(&g);
	CHECK(!strcmp(got, "RF"), "silence past retry_cnt: RF (%s)", got);
	eg_qp_destroy(&q);
	reset_log();
}

/*
 * The transport timer's budget when answers can come late (another
 * host): a request that is never answered goes retry_cnt + 1 times and
 * fails at (retry_cnt + 1) periods, not a period later; the same when the
 * path refuses the retransmissions at once (the peer host went down).
 */
static void silence_case(uint8_t retry_cnt, bool then_refused)
{
	const uint64_t period = 4096ull << 10;
	const char *got = "";
	struct eg_qp q;
	uint64_t t0;
	unsigned int i;

	reset_log();
	async_mode = true;
	qp_up(&q, 10, retry_cnt, 0);
	eg_post(&q, 90, IBV_WR_SEND, 0, 8);
	t0 = xd.now_ns;
	eg_run(1);
	for (i = 1; i <= retry_cnt + 1u && !*got; i++) {
		if (then_refused)
			ready_answer = XD_NO_ANSWER;
		xd.now_ns = t0 + i * period + 1;
		eg_run(1);
		got = eg_cqes(&g);
	}
	CHECK(!strcmp(got, "R") && i - 1 == retry_cnt + 1u,
	      "%s, retry_cnt %u: RETRY_EXC_ERR after %u periods (%s after %u)",
	      then_refused ? "silence, then refused" : "silence", retry_cnt,
	      retry_cnt + 1, got, i - 1);
	CHECK(nlog == (then_refused ? 1u : retry_cnt + 1u),
	      "%s, retry_cnt %u: %u transmissions (%u)",
	      then_refused ? "silence, then refused" : "silence", retry_cnt,
	      then_refused ? 1u : retry_cnt + 1u, nlog);
	eg_qp_destroy(&q);
	reset_log();
}

static void test_timeout_budget(void)
{
	silence_case(0, false);
	silence_case(2, false);
	silence_case(7, false);
	silence_case(2, true);
}

/* A 64 MiB WRITE does not hold up another QP's small ones. */
static void test_fairness(void)
{
	struct xenib_cqe c;
	struct eg_qp big, small;
	unsigned int i, big_reqs = 0, small_reqs = 0;

	reset_log();
	qp_up(&big, 14, 7, 7);
	qp_up(&small, 14, 7, 7);
	eg_post(&big, 30, IBV_WR_RDMA_WRITE, 0, 8u << 20);
	for (i = 0; i < 4; i++)
		eg_post(&small, 31 + i, IBV_WR_RDMA_WRITE, 0, 64);
	eg_run(1);
	for (i = 0; i < nlog; i++) {
		big_reqs += logbook[i].qpn == big.qpn;
		small_reqs += logbook[i].qpn == small.qpn;
	}
	CHECK(big_reqs == 1 && small_reqs == 4,
	      "one round: one slice of the big WRITE, all 4 small (%u, %u)",
	      big_reqs, small_reqs);
	eg_run(10);
	while (eg_poll_cqe(&g, &c))
		;
	eg_qp_destroy(&big);
	eg_qp_destroy(&small);
}

int main(void)
{
	size_t i;

	eg_start(&g, "peer-test", BUF);
	for (i = 0; i < BUF; i++)	/* src_byte() says what is where */
		((unsigned char *)g.buf.va)[i] = src_byte(i);
	eg_peer_install(t_ready, t_op, NULL);
	test_ordering();
	test_naks();
	test_retry();
	test_window();
	test_timeout_budget();
	test_fairness();
	return eg_end(&g);
}
