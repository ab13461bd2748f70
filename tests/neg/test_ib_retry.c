// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IB error semantics, RNR and transport retries: retries exhausted after
 * rnr_retry RNR timers, rnr_retry 0 and 7 (infinite), a peer QP destroyed,
 * in ERR or in RESET, a responder that comes up late, and a fresh retry
 * budget for every WQE.
 *
 * Needs a running xenibd and the environment of scripts/xenib-env.sh
 * (tests/test_ib_errors.sh provides both).
 */
#include <string.h>
#include <unistd.h>

#include "tests/common/ib_pair.h"

/* min_rnr_timer 18 is 5.12 ms (IB spec table 45). */
#define RNR_TIMER_CODE	18
#define RNR_TIMER_MS	5.12

static void case_rnr_exceeded(void)
{
	const char *w = "RNR retries exhausted";
	struct qp_opts o = dflt;
	struct ep a, b;
	double t0, dt;

	o.min_rnr_timer = RNR_TIMER_CODE;
	o.rnr_retry = 2;
	if (!pair(&a, &b, &o, &o))
		goto out;
	t0 = now_ms();
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	expect_wc(a.scq, w, 1, IBV_WC_RNR_RETRY_EXC_ERR, NULL);
	dt = now_ms() - t0;
	result(dt >= RNR_TIMER_MS * o.rnr_retry && dt < 2000,
	       "%s: after %.1f ms (expected ~%.1f = rnr_retry x %.2f ms)",
	       w, dt, RNR_TIMER_MS * o.rnr_retry, RNR_TIMER_MS);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	expect_state(b.qp, "responder (unaffected)", IBV_QPS_RTS);
	expect_no_async(&A, w);
	expect_no_async(&B, w);
out:
	unpair(&a, &b);
}

/* rnr_retry 0: the first RNR NAK is final, no RNR timer is waited. */
static void case_rnr_zero(void)
{
	const char *w = "RNR with rnr_retry 0";
	struct qp_opts o = dflt;
	struct ep a, b;
	double t0, dt;

	o.min_rnr_timer = 0;	/* 655.36 ms */
	o.rnr_retry = 0;
	if (!pair(&a, &b, &o, &o))
		goto out;
	t0 = now_ms();
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	expect_wc(a.scq, w, 1, IBV_WC_RNR_RETRY_EXC_ERR, NULL);
	dt = now_ms() - t0;
	result(dt < 300, "%s: fails at the first NAK (%.1f ms, timer 655 ms)",
	       w, dt);
out:
	unpair(&a, &b);
}

static void case_rnr_infinite(void)
{
	const char *w = "RNR with rnr_retry 7 (infinite)";
	struct qp_opts o = dflt;
	struct ibv_wc wc;
	struct ep a, b;

	o.min_rnr_timer = RNR_TIMER_CODE;
	o.rnr_retry = 7;
	if (!pair(&a, &b, &o, &o))
		goto out;
	memcpy(A.buf, "late rnr", 8);
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	result(no_wc(a.scq, 80), "%s: still waiting after 80 ms", w);
	post_recv(&b, 100, va(&B, 256), 64, B.mr->lkey);
	expect_wc(a.scq, w, 1, IBV_WC_SUCCESS, NULL);
	expect_wc(b.rcq, w, 100, IBV_WC_SUCCESS, &wc);
	result(wc.byte_len == 8 && !memcmp(B.buf + 256, "late rnr", 8),
	       "%s: late receive got the data", w);
out:
	unpair(&a, &b);
}

enum peer_fault { PF_DESTROYED, PF_ERR, PF_RESET };

static void case_retry_exceeded(enum peer_fault f)
{
	static const char *const names[] = {
		"transport retry: peer QP destroyed",
		"transport retry: peer QP in ERR",
		"transport retry: peer QP in RESET",
	};
	const char *w = names[f];
	/* 4.096 us * 2^timeout */
	const double period = 4.096e-3 * (1 << dflt.timeout);
	struct ep a, b;
	double t0, dt;

	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	switch (f) {
	case PF_DESTROYED:
		ibv_destroy_qp(b.qp);
		b.qp = NULL;
		break;
	case PF_ERR:
		qp_to(b.qp, IBV_QPS_ERR);
		break;
	case PF_RESET:
		qp_to(b.qp, IBV_QPS_RESET);
		break;
	}
	t0 = now_ms();
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	expect_wc(a.scq, w, 1, IBV_WC_RETRY_EXC_ERR, NULL);
	dt = now_ms() - t0;
	result(dt >= period * dflt.retry_cnt && dt < 2000,
	       "%s: after %.1f ms (expected ~%.1f = (retry_cnt+1) x %.2f ms)",
	       w, dt, period * (dflt.retry_cnt + 1), period);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	expect_no_async(&A, w);
out:
	unpair(&a, &b);
}

/* The responder comes up while the requester is retrying: no error. */
static void case_retry_resume(void)
{
	const char *w = "transport retry: late responder";
	struct qp_opts oa = dflt;
	struct ep a, b;

	oa.timeout = 14;	/* 67 ms */
	oa.retry_cnt = 7;
	if (!ep_create(&a, &A, 32) || !ep_create(&b, &B, 32) ||
	    !ep_connect(&a, &b, &oa) || qp_init(b.qp, dflt.access)) {
		result(false, "%s: setup", w);
		goto out;
	}
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	result(no_wc(a.scq, 30), "%s: nothing completes while peer is in INIT",
	       w);
	result(!post_recv(&b, 100, va(&B, 0), 64, B.mr->lkey),
	       "%s: post_recv in INIT accepted", w);
	result(!qp_rtr(&b, &a, 1), "%s: peer INIT->RTR", w);
	expect_wc(a.scq, w, 1, IBV_WC_SUCCESS, NULL);
	expect_wc(b.rcq, w, 100, IBV_WC_SUCCESS, NULL);
out:
	unpair(&a, &b);
}

/* A retry that ended well must not shorten the next one. */
static void case_retry_count_fresh(void)
{
	const char *w = "transport retry count restarts per WQE";
	struct qp_opts oa = dflt;
	const double period = 4.096e-3 * (1 << 12);
	struct ep a, b;
	double t0, dt;

	oa.timeout = 12;	/* 16.8 ms */
	oa.retry_cnt = 3;
	if (!ep_create(&a, &A, 32) || !ep_create(&b, &B, 32) ||
	    !ep_connect(&a, &b, &oa) || qp_init(b.qp, dflt.access)) {
		result(false, "%s: setup", w);
		goto out;
	}
	post_send(&a, 1, IBV_WR_RDMA_READ, va(&A, 0), 8, A.mr->lkey, va(&B, 0),
		  B.mr->rkey);
	usleep(40000);	/* two retries spent */
	result(!qp_rtr(&b, &a, 1), "%s: peer INIT->RTR", w);
	expect_wc(a.scq, w, 1, IBV_WC_SUCCESS, NULL);
	qp_to(b.qp, IBV_QPS_ERR);
	t0 = now_ms();
	post_send(&a, 2, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	expect_wc(a.scq, w, 2, IBV_WC_RETRY_EXC_ERR, NULL);
	dt = now_ms() - t0;
	result(dt >= period * oa.retry_cnt,
	       "%s: full retry budget after a retried READ (%.1f ms >= %.1f)",
	       w, dt, period * oa.retry_cnt);
out:
	unpair(&a, &b);
}

static void cases(void)
{
	case_rnr_exceeded();
	case_rnr_zero();
	case_rnr_infinite();
	case_retry_exceeded(PF_DESTROYED);
	case_retry_exceeded(PF_ERR);
	case_retry_exceeded(PF_RESET);
	case_retry_resume();
	case_retry_count_fresh();
}

int main(void)
{
	return ib_pair_main(cases);
}
