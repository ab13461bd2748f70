// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IB error semantics, local errors: what the requester finds wrong in its
 * own work requests (a bad lkey, an RDMA READ into memory without
 * LOCAL_WRITE, a bad lkey in the receive of a QP connected to itself),
 * checked for the exact ibv_wc status, the flushes that follow, the QP
 * states and the absence of async events, as a real HCA reports them.
 *
 * Needs a running xenibd and the environment of scripts/xenib-env.sh
 * (tests/test_ib_errors.sh provides both).
 */
#include <string.h>

#include "tests/common/ib_pair.h"

static void case_send_bad_lkey(void)
{
	const char *w = "SEND bad lkey";
	struct ibv_sge sg[3];
	struct ibv_send_wr wr[3], *bad = NULL;
	struct ibv_wc wc[4];
	struct ep a, b;
	int i, n;
	bool ok;

	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	post_recv(&b, 100, va(&B, 0), 64, B.mr->lkey);
	post_recv(&a, 200, va(&A, 1024), 64, A.mr->lkey);
	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 3; i++) {
		sg[i] = (struct ibv_sge){ va(&A, 0), 8,
					  i ? A.mr->lkey : BAD_KEY };
		wr[i].wr_id = i + 1;
		wr[i].sg_list = &sg[i];
		wr[i].num_sge = 1;
		wr[i].opcode = IBV_WR_SEND;
		/* Errors and flushes complete even unsignaled WRs. */
		wr[i].send_flags = i == 1 ? IBV_SEND_SIGNALED : 0;
		wr[i].next = i < 2 ? &wr[i + 1] : NULL;
	}
	result(!ibv_post_send(a.qp, wr, &bad), "%s: post of 3 WRs accepted", w);
	expect_wc(a.scq, w, 1, IBV_WC_LOC_PROT_ERR, NULL);
	n = wait_wc(a.scq, wc, 2, WAIT_MS);
	ok = n == 2;
	for (i = 0; ok && i < 2; i++)
		ok = wc[i].wr_id == (uint64_t)i + 2 &&
		     wc[i].status == IBV_WC_WR_FLUSH_ERR &&
		     wc[i].qp_num == a.qp->qp_num &&
		     wc[i].opcode == IBV_WC_SEND;
	result(ok, "%s: outstanding WRs 2, 3 (unsignaled) flushed in order with qp_num and opcode SEND",
	       w);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	result(!post_send(&a, 4, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
			  va(&B, 0), B.mr->rkey),
	       "%s: post to a QP in ERR is accepted", w);
	n = wait_wc(a.scq, wc, 1, WAIT_MS);
	result(n == 1 && wc[0].wr_id == 4 &&
	       wc[0].status == IBV_WC_WR_FLUSH_ERR &&
	       wc[0].opcode == IBV_WC_RDMA_WRITE,
	       "%s: WR posted in ERR flushed (opcode RDMA_WRITE)", w);
	n = wait_wc(a.rcq, wc, 1, WAIT_MS);
	result(n == 1 && wc[0].wr_id == 200 &&
	       wc[0].status == IBV_WC_WR_FLUSH_ERR &&
	       wc[0].qp_num == a.qp->qp_num && wc[0].opcode == IBV_WC_RECV,
	       "%s: requester's posted receive flushed", w);
	result(no_wc(a.scq, 50) && no_wc(a.rcq, 0),
	       "%s: no duplicate or extra completions", w);
	expect_state(b.qp, "responder (unaffected)", IBV_QPS_RTS);
	result(no_wc(b.rcq, 0) && no_wc(b.scq, 0),
	       "%s: responder has no completion", w);
	expect_no_async(&A, w);
	expect_no_async(&B, w);
out:
	unpair(&a, &b);
}

static void case_read_no_local_write(void)
{
	const char *w = "RDMA_READ into MR without LOCAL_WRITE";
	struct ibv_mr *nolw;
	struct ep a, b;

	nolw = ibv_reg_mr(A.pd, A.buf + 4096, 4096, 0);
	if (!nolw) {
		result(false, "%s: register MR: %s", w, strerror(errno));
		return;
	}
	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	post_send(&a, 1, IBV_WR_RDMA_READ, va(&A, 4096), 64, nolw->lkey,
		  va(&B, 0), B.mr->rkey);
	expect_wc(a.scq, w, 1, IBV_WC_LOC_PROT_ERR, NULL);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	expect_state(b.qp, "responder (unaffected)", IBV_QPS_RTS);
	expect_no_async(&B, w);
out:
	unpair(&a, &b);
	ibv_dereg_mr(nolw);
}

/* A QP connected to itself fails as responder and requester at once. */
static void case_loopback_self(void)
{
	const char *w = "QP connected to itself";
	struct ibv_wc wc[2];
	struct ep a;
	int n, err;

	if (!ep_create(&a, &A, 32) || !ep_connect(&a, &a, &dflt)) {
		result(false, "%s: setup", w);
		goto out;
	}
	post_recv(&a, 100, va(&A, 512), 64, A.mr->lkey);
	memcpy(A.buf, "self", 5);
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 5, A.mr->lkey, 0, 0);
	expect_wc(a.scq, "loopback SEND to itself", 1, IBV_WC_SUCCESS, NULL);
	expect_wc(a.rcq, "loopback receive", 100, IBV_WC_SUCCESS, NULL);
	post_recv(&a, 101, va(&A, 512), 64, BAD_KEY);
	post_send(&a, 2, IBV_WR_SEND, va(&A, 0), 5, A.mr->lkey, 0, 0);
	expect_wc(a.rcq, w, 101, IBV_WC_LOC_PROT_ERR, NULL);
	n = wait_wc(a.scq, wc, 2, 200);
	result(n == 1 && wc[0].wr_id == 2 &&
	       (wc[0].status == IBV_WC_REM_OP_ERR ||
		wc[0].status == IBV_WC_WR_FLUSH_ERR),
	       "%s: exactly one error completion for the SEND (%d, %s)", w, n,
	       n ? st(wc[0].status) : "-");
	expect_state(a.qp, "loopback", IBV_QPS_ERR);
	err = post_send(&a, 3, IBV_WR_SEND, va(&A, 0), 5, A.mr->lkey, 0, 0);
	result(!err, "%s: post in ERR accepted (%s)", w, strerror(err));
	expect_wc(a.scq, w, 3, IBV_WC_WR_FLUSH_ERR, NULL);
	err = post_recv(&a, 102, va(&A, 512), 64, A.mr->lkey);
	result(!err, "%s: post_recv in ERR accepted", w);
	expect_wc(a.rcq, w, 102, IBV_WC_WR_FLUSH_ERR, NULL);
out:
	ep_destroy(&a);
}

static void cases(void)
{
	case_send_bad_lkey();
	case_read_no_local_write();
	case_loopback_self();
}

int main(void)
{
	return ib_pair_main(cases);
}
