// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IB error semantics, remote errors: what the responder refuses (a receive
 * too short or with a bad lkey, remote access faults of every kind, a
 * misaligned atomic), checked on both sides: the ibv_wc statuses, the QP
 * states, and the affiliated async events on the responder's context.
 *
 * Needs a running xenibd and the environment of scripts/xenib-env.sh
 * (tests/test_ib_errors.sh provides both).
 */
#include <stdint.h>

#include "tests/common/ib_pair.h"

static void case_recv_too_short(void)
{
	const char *w = "SEND longer than receive buffer";
	struct ibv_wc wc;
	struct ep a, b;

	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	post_recv(&b, 100, va(&B, 0), 16, B.mr->lkey);
	post_recv(&b, 101, va(&B, 64), 16, B.mr->lkey);
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 64, A.mr->lkey, 0, 0);
	expect_wc(b.rcq, w, 100, IBV_WC_LOC_LEN_ERR, &wc);
	result(wc.qp_num == b.qp->qp_num, "%s: responder CQE names its QP", w);
	expect_wc(b.rcq, w, 101, IBV_WC_WR_FLUSH_ERR, NULL);
	expect_wc(a.scq, w, 1, IBV_WC_REM_INV_REQ_ERR, NULL);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	expect_state(b.qp, "responder", IBV_QPS_ERR);
	expect_no_async(&B, w);
out:
	unpair(&a, &b);
}

static void case_recv_bad_lkey(void)
{
	const char *w = "receive WQE with bad lkey";
	struct ep a, b;

	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	post_recv(&b, 100, va(&B, 0), 64, BAD_KEY);
	post_send(&a, 1, IBV_WR_SEND, va(&A, 0), 8, A.mr->lkey, 0, 0);
	expect_wc(b.rcq, w, 100, IBV_WC_LOC_PROT_ERR, NULL);
	expect_wc(a.scq, w, 1, IBV_WC_REM_OP_ERR, NULL);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	expect_state(b.qp, "responder", IBV_QPS_ERR);
out:
	unpair(&a, &b);
}

enum remote_fault { WF_RKEY, WF_MR_ACCESS, WF_QP_ACCESS, WF_BOUNDS,
		   WF_READ_RKEY, WF_ATOMIC_ACCESS };

static void case_remote_access(enum remote_fault f)
{
	static const char *const names[] = {
		"RDMA_WRITE bad rkey", "RDMA_WRITE to MR without REMOTE_WRITE",
		"RDMA_WRITE to QP without remote write",
		"RDMA_WRITE out of MR bounds",
		"RDMA_READ bad rkey",
		"atomic to MR without REMOTE_ATOMIC",
	};
	enum ibv_wr_opcode op = f == WF_READ_RKEY ? IBV_WR_RDMA_READ :
				f == WF_ATOMIC_ACCESS ?
				IBV_WR_ATOMIC_FETCH_AND_ADD : IBV_WR_RDMA_WRITE;
	const char *w = names[f];
	struct qp_opts ob = dflt;
	struct ibv_mr *ro = NULL;
	uint64_t raddr = va(&B, 0);
	uint32_t rkey = B.mr->rkey;
	struct ep a, b;

	if (f == WF_QP_ACCESS)
		ob.access = IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	if (!pair(&a, &b, &dflt, &ob))
		goto out;
	switch (f) {
	case WF_RKEY:
	case WF_READ_RKEY:
		rkey = BAD_KEY;
		break;
	case WF_MR_ACCESS:
	case WF_ATOMIC_ACCESS:
		ro = ibv_reg_mr(B.pd, B.buf + 4096, 4096,
				IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
		if (!ro) {
			result(false, "%s: register MR", w);
			goto out;
		}
		rkey = ro->rkey;
		raddr = va(&B, 4096);
		break;
	case WF_QP_ACCESS:
		break;
	case WF_BOUNDS:
		raddr = va(&B, BUF_SIZE - 8);
		break;
	}
	async_drain(&B);
	result(!async_readable(&B, 0), "%s: async_fd not readable before", w);
	post_send(&a, 1, op, va(&A, 0), op == IBV_WR_RDMA_WRITE ? 64 : 8,
		  A.mr->lkey, raddr, rkey);
	expect_wc(a.scq, w, 1, IBV_WC_REM_ACCESS_ERR, NULL);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	result(async_readable(&B, WAIT_MS),
	       "%s: responder's async_fd becomes readable (poll)", w);
	expect_async(&B, w, IBV_EVENT_QP_ACCESS_ERR, b.qp, NULL);
	result(!async_readable(&B, 0),
	       "%s: async_fd quiet after get+ack of the only event", w);
	expect_state(b.qp, "responder", IBV_QPS_ERR);
	expect_no_async(&A, w);
	result(no_wc(b.rcq, 0), "%s: no responder completion", w);
out:
	if (ro)
		ibv_dereg_mr(ro);
	unpair(&a, &b);
}

static void case_atomic_misaligned(void)
{
	const char *w = "atomic to misaligned address";
	struct ep a, b;

	if (!pair(&a, &b, &dflt, &dflt))
		goto out;
	async_drain(&B);
	post_send(&a, 1, IBV_WR_ATOMIC_FETCH_AND_ADD, va(&A, 0), 8, A.mr->lkey,
		  va(&B, 64), B.mr->rkey);
	expect_wc(a.scq, "aligned atomic (control)", 1, IBV_WC_SUCCESS, NULL);
	post_send(&a, 2, IBV_WR_ATOMIC_CMP_AND_SWP, va(&A, 0), 8, A.mr->lkey,
		  va(&B, 4), B.mr->rkey);
	expect_wc(a.scq, w, 2, IBV_WC_REM_INV_REQ_ERR, NULL);
	expect_state(a.qp, "requester", IBV_QPS_ERR);
	expect_state(b.qp, "responder", IBV_QPS_ERR);
	expect_async(&B, w, IBV_EVENT_QP_REQ_ERR, b.qp, NULL);
out:
	unpair(&a, &b);
}

static void cases(void)
{
	case_recv_too_short();
	case_recv_bad_lkey();
	case_remote_access(WF_RKEY);
	case_remote_access(WF_MR_ACCESS);
	case_remote_access(WF_QP_ACCESS);
	case_remote_access(WF_BOUNDS);
	case_remote_access(WF_READ_RKEY);
	case_remote_access(WF_ATOMIC_ACCESS);
	case_atomic_misaligned();
}

int main(void)
{
	return ib_pair_main(cases);
}
