// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IB error semantics, QP states and flushes: posts and transitions that
 * the current state forbids, IBV_QP_CUR_STATE, flush on a move to ERR,
 * a QP reborn through RESET, a CQ overrun (CQ_ERR, QP_FATAL), an error
 * completion into a full CQ, and a non-blocking async_fd.
 *
 * Needs a running xenibd and the environment of scripts/xenib-env.sh
 * (tests/test_ib_errors.sh provides both).
 */
#include <errno.h>
#include <string.h>

#include "tests/common/ib_pair.h"

static void case_cq_overrun(void)
{
	const char *w = "CQ overrun";
	struct ibv_async_event ev;
	bool cq_err = false, qp_fatal = false;
	struct ibv_send_wr wr[QP_DEPTH], *bad = NULL;
	struct ibv_sge sge;
	struct ep a, b;
	int i, n;

	if (!ep_create(&a, &A, 4) || !ep_create(&b, &B, 32) ||
	    !ep_connect(&a, &b, &dflt) || !ep_connect(&b, &a, &dflt)) {
		result(false, "%s: setup", w);
		goto out;
	}
	n = a.scq->cqe + 3;	/* the ring holds cqe + 1 at most */
	if (n > QP_DEPTH) {
		result(false, "%s: CQ of %d entries too big", w, a.scq->cqe);
		goto out;
	}
	async_drain(&A);
	sge = (struct ibv_sge){ va(&A, 0), 8, A.mr->lkey };
	memset(wr, 0, sizeof(wr));
	for (i = 0; i < n; i++) {
		wr[i].wr_id = i + 1;
		wr[i].sg_list = &sge;
		wr[i].num_sge = 1;
		wr[i].opcode = IBV_WR_RDMA_WRITE;
		wr[i].send_flags = IBV_SEND_SIGNALED;
		wr[i].wr.rdma.remote_addr = va(&B, 0);
		wr[i].wr.rdma.rkey = B.mr->rkey;
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
	}
	result(!ibv_post_send(a.qp, wr, &bad), "%s: %d signaled WRs on a CQ of %d",
	       w, n, a.scq->cqe);
	while (async_next(&A, cq_err && qp_fatal ? 0 : WAIT_MS, &ev)) {
		if (ev.event_type == IBV_EVENT_CQ_ERR && ev.element.cq == a.scq)
			cq_err = true;
		if (ev.event_type == IBV_EVENT_QP_FATAL && ev.element.qp == a.qp)
			qp_fatal = true;
		if (cq_err && qp_fatal)
			break;
	}
	result(cq_err, "%s: IBV_EVENT_CQ_ERR on the CQ", w);
	result(qp_fatal, "%s: IBV_EVENT_QP_FATAL on the QP that overran it", w);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	expect_state(b.qp, "responder (unaffected)", IBV_QPS_RTS);
out:
	unpair(&a, &b);
}

/* An error completion that finds its CQ full: the SQ must stay sane. */
static void case_cq_full_error(void)
{
	const char *w = "error completion into a full CQ";
	struct ibv_send_wr wr[QP_DEPTH], *bad = NULL;
	struct ibv_async_event ev;
	struct ibv_sge sge, badsge;
	bool cq_err = false;
	struct ep a, b;
	int i, n, err;

	if (!ep_create(&a, &A, 4) || !ep_create(&b, &B, 32) ||
	    !ep_connect(&a, &b, &dflt) || !ep_connect(&b, &a, &dflt)) {
		result(false, "%s: setup", w);
		goto out;
	}
	n = a.scq->cqe + 1;	/* exactly fills the ring */
	async_drain(&A);
	sge = (struct ibv_sge){ va(&A, 0), 8, A.mr->lkey };
	badsge = (struct ibv_sge){ va(&A, 0), 8, BAD_KEY };
	memset(wr, 0, sizeof(wr));
	for (i = 0; i <= n; i++) {
		wr[i].wr_id = i + 1;
		wr[i].sg_list = i < n ? &sge : &badsge;
		wr[i].num_sge = 1;
		wr[i].opcode = IBV_WR_RDMA_WRITE;
		wr[i].send_flags = IBV_SEND_SIGNALED;
		wr[i].wr.rdma.remote_addr = va(&B, 0);
		wr[i].wr.rdma.rkey = B.mr->rkey;
		wr[i].next = i < n ? &wr[i + 1] : NULL;
	}
	result(!ibv_post_send(a.qp, wr, &bad), "%s: post %d good + 1 bad WR",
	       w, n);
	while (!cq_err && async_next(&A, WAIT_MS, &ev))
		cq_err = ev.event_type == IBV_EVENT_CQ_ERR;
	result(cq_err, "%s: IBV_EVENT_CQ_ERR", w);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	err = post_send(&a, 99, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
			va(&B, 0), B.mr->rkey);
	result(!err, "%s: SQ still accepts posts in ERR (%s)", w,
	       strerror(err));
	result(!qp_to(a.qp, IBV_QPS_RESET) && ep_connect(&a, &b, &dflt),
	       "%s: QP reusable after RESET", w);
out:
	async_drain(&A);
	unpair(&a, &b);
}

static void case_wrong_state(void)
{
	const char *w = "wrong state";
	struct ibv_sge sge = { va(&A, 0), 8, 0 };
	struct ibv_send_wr swr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_SEND }, *sbad;
	struct ibv_recv_wr rwr = { .wr_id = 2, .sg_list = &sge,
				   .num_sge = 1 }, *rbad;
	struct ibv_qp_attr at;
	struct ibv_wc wc;
	struct ep a, b;
	int err;

	sge.lkey = A.mr->lkey;
	if (!ep_create(&a, &A, 32) || !ep_create(&b, &B, 32)) {
		result(false, "%s: setup", w);
		goto out;
	}
	sbad = NULL;
	err = ibv_post_send(a.qp, &swr, &sbad);
	result(err == EINVAL && sbad == &swr, "post_send in RESET -> EINVAL, bad_wr set (%d)",
	       err);
	rbad = NULL;
	err = ibv_post_recv(a.qp, &rwr, &rbad);
	result(err == EINVAL && rbad == &rwr, "post_recv in RESET -> EINVAL, bad_wr set (%d)",
	       err);

	rtr_attr(&at, &b, 1);
	err = ibv_modify_qp(a.qp, &at, rtr_mask);
	result(err == EINVAL, "modify RESET->RTR -> EINVAL (%d)", err);
	expect_state(a.qp, "after RESET->RTR:", IBV_QPS_RESET);
	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_INIT;
	at.port_num = 1;
	err = ibv_modify_qp(a.qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_ACCESS_FLAGS);
	result(err == EINVAL, "modify RESET->INIT without PORT -> EINVAL (%d)",
	       err);
	err = ibv_modify_qp(a.qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS | IBV_QP_SQ_PSN);
	result(err == EINVAL,
	       "modify RESET->INIT with SQ_PSN (not allowed) -> EINVAL (%d)",
	       err);
	at.cur_qp_state = IBV_QPS_RTS;
	err = ibv_modify_qp(a.qp, &at, IBV_QP_STATE | IBV_QP_CUR_STATE |
			    IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			    IBV_QP_ACCESS_FLAGS);
	result(err == EINVAL, "modify with IBV_QP_CUR_STATE mismatch -> EINVAL (%d)",
	       err);
	expect_state(a.qp, "after rejected RESET->INIT:", IBV_QPS_RESET);

	result(!qp_init(a.qp, dflt.access), "modify RESET->INIT");
	sbad = NULL;
	err = ibv_post_send(a.qp, &swr, &sbad);
	result(err == EINVAL && sbad == &swr, "post_send in INIT -> EINVAL (%d)",
	       err);
	result(!ibv_post_recv(a.qp, &rwr, &rbad), "post_recv in INIT accepted");
	err = qp_rts(&a, &dflt);
	result(err == EINVAL, "modify INIT->RTS -> EINVAL (%d)", err);
	rtr_attr(&at, &b, 1);
	err = ibv_modify_qp(a.qp, &at, rtr_mask & ~IBV_QP_DEST_QPN);
	result(err == EINVAL, "modify INIT->RTR without DEST_QPN -> EINVAL (%d)",
	       err);
	expect_state(a.qp, "after rejected INIT->RTR:", IBV_QPS_INIT);

	result(!qp_rtr(&a, &b, 1), "modify INIT->RTR");
	sbad = NULL;
	err = ibv_post_send(a.qp, &swr, &sbad);
	result(err == EINVAL && sbad == &swr, "post_send in RTR -> EINVAL (%d)",
	       err);
	memset(&at, 0, sizeof(at));
	at.qp_state = IBV_QPS_RTS;
	at.cur_qp_state = IBV_QPS_INIT;
	at.timeout = 10;
	at.retry_cnt = 2;
	at.rnr_retry = 2;
	at.max_rd_atomic = 1;
	err = ibv_modify_qp(a.qp, &at, rts_mask | IBV_QP_CUR_STATE);
	result(err == EINVAL, "modify RTR->RTS with CUR_STATE INIT -> EINVAL (%d)",
	       err);
	expect_state(a.qp, "after rejected RTR->RTS:", IBV_QPS_RTR);
	at.cur_qp_state = IBV_QPS_RTR;
	result(!ibv_modify_qp(a.qp, &at, rts_mask | IBV_QP_CUR_STATE),
	       "modify RTR->RTS with matching CUR_STATE");

	/* To ERR by the user: everything outstanding is flushed. */
	result(!qp_to(a.qp, IBV_QPS_ERR), "modify RTS->ERR");
	expect_wc(a.rcq, "modify to ERR flushes the RQ", 2, IBV_WC_WR_FLUSH_ERR,
		  &wc);
	result(wc.qp_num == a.qp->qp_num, "flush CQE names the QP");
	result(!ibv_post_send(a.qp, &swr, &sbad), "post_send in ERR accepted");
	expect_wc(a.scq, "post_send in ERR", 1, IBV_WC_WR_FLUSH_ERR, NULL);
	err = qp_rts(&a, &dflt);
	result(err == EINVAL, "modify ERR->RTS -> EINVAL (%d)", err);
	expect_state(a.qp, "after rejected ERR->RTS:", IBV_QPS_ERR);

	/* ERR -> RESET -> INIT -> RTR -> RTS: the QP is as good as new. */
	result(!qp_to(a.qp, IBV_QPS_RESET), "modify ERR->RESET");
	expect_state(a.qp, "after ERR->RESET:", IBV_QPS_RESET);
	result(ep_connect(&a, &b, &dflt) && ep_connect(&b, &a, &dflt),
	       "reconnect after RESET");
	memcpy(A.buf, "reborn", 7);
	post_recv(&b, 100, va(&B, 512), 64, B.mr->lkey);
	post_send(&a, 3, IBV_WR_SEND, va(&A, 0), 7, A.mr->lkey, 0, 0);
	expect_wc(a.scq, "SEND on the reset QP", 3, IBV_WC_SUCCESS, NULL);
	expect_wc(b.rcq, "receive from the reset QP", 100, IBV_WC_SUCCESS, &wc);
	result(wc.src_qp == a.qp->qp_num && !memcmp(B.buf + 512, "reborn", 7),
	       "reset QP delivers the data");
	result(no_wc(a.scq, 20) && no_wc(a.rcq, 0),
	       "no stale completions after RESET");
out:
	unpair(&a, &b);
}

static void case_async_nonblock(void)
{
	struct ibv_async_event ev;
	int r;

	async_drain(&A);
	r = ibv_get_async_event(A.ctx, &ev);
	result(r == -1 && errno == EAGAIN,
	       "ibv_get_async_event on an empty O_NONBLOCK async_fd -> EAGAIN");
}

static void cases(void)
{
	case_async_nonblock();
	case_cq_overrun();
	case_cq_full_error();
	case_wrong_state();
}

int main(void)
{
	return ib_pair_main(cases);
}
