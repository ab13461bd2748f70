// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IB semantics of memory windows, both sides: type 1 (ibv_bind_mw) and
 * type 2 (IBV_WR_BIND_MW) windows carry RDMA into the window and nowhere
 * else; a rebind changes the rkey and the old one is refused; LOCAL_INV
 * and a peer's SEND_WITH_INV free a type 2 window and its rkey is refused
 * after; the bad flows get IB's statuses (a bind to an MR without
 * IBV_ACCESS_MW_BIND: IBV_WC_MW_BIND_ERR; LOCAL_INV of a type 1 window:
 * IBV_WC_LOC_QP_OP_ERR; a SEND_WITH_INV naming no window: the receive
 * and the sender fail with IBV_WC_REM_INV_REQ_ERR); ibv_dereg_mr of an MR
 * with a bound window fails with EBUSY.
 *
 * Needs a running xenibd and the environment of scripts/xenib-env.sh
 * (tests/test_ib_errors.sh provides both).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/ib_pair.h"

#define WIN_OFF		1024
#define WIN_LEN		1024
#define RW (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

/* B's memory for windows: an MR with (or without) IBV_ACCESS_MW_BIND. */
struct winmem {
	char *buf;
	struct ibv_mr *mr;
};

static bool winmem_get(struct winmem *w, bool mw_bind)
{
	w->buf = aligned_alloc(4096, BUF_SIZE);
	if (!w->buf)
		return false;
	memset(w->buf, 0, BUF_SIZE);
	w->mr = ibv_reg_mr(B.pd, w->buf, BUF_SIZE, IBV_ACCESS_LOCAL_WRITE |
			   RW | (mw_bind ? IBV_ACCESS_MW_BIND : 0));
	return w->mr;
}

static void winmem_put(struct winmem *w)
{
	if (w->mr)
		ibv_dereg_mr(w->mr);
	free(w->buf);
}

static uint64_t wva(const struct winmem *w, size_t off)
{
	return (uintptr_t)w->buf + off;
}

static int bind1(struct ep *e, struct ibv_mw *mw, struct winmem *w,
		 uint64_t wr_id, uint64_t off, uint64_t len)
{
	struct ibv_mw_bind b = {
		.wr_id = wr_id, .send_flags = IBV_SEND_SIGNALED,
		.bind_info = { .mr = w->mr, .addr = wva(w, off),
			       .length = len, .mw_access_flags = RW },
	};

	return ibv_bind_mw(e->qp, mw, &b);
}

static int bind2(struct ep *e, struct ibv_mw *mw, struct winmem *w,
		 uint64_t wr_id, uint32_t rkey)
{
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .opcode = IBV_WR_BIND_MW,
		.send_flags = IBV_SEND_SIGNALED,
		.bind_mw = { .mw = mw, .rkey = rkey,
			     .bind_info = { .mr = w->mr,
					    .addr = wva(w, WIN_OFF),
					    .length = WIN_LEN,
					    .mw_access_flags = RW } },
	}, *bad;

	return ibv_post_send(e->qp, &wr, &bad);
}

static int post_inv(struct ep *e, uint64_t wr_id, enum ibv_wr_opcode op,
		    uint32_t rkey)
{
	struct ibv_sge sge = { .addr = va(e->s, 0), .length = 8,
			       .lkey = e->s->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .opcode = op, .send_flags = IBV_SEND_SIGNALED,
		.sg_list = op == IBV_WR_SEND_WITH_INV ? &sge : NULL,
		.num_sge = op == IBV_WR_SEND_WITH_INV,
		.invalidate_rkey = rkey,
	}, *bad;

	return ibv_post_send(e->qp, &wr, &bad);
}

/* A writes 8 bytes at off of w through rkey: the completion's status. */
static void write_through(struct ep *a, struct winmem *w, size_t off,
			  uint32_t rkey, enum ibv_wc_status want,
			  const char *what)
{
	memcpy(A.buf, "window!", 8);
	post_send(a, 50, IBV_WR_RDMA_WRITE, va(&A, 0), 8, A.mr->lkey,
		  wva(w, off), rkey);
	expect_wc(a->scq, what, 50, want, NULL);
}

/* A case's objects: a on A, b on B, B's window memory and a window. */
struct wcase {
	const char *what;
	struct ep a, b;
	struct winmem m;
	struct ibv_mw *mw;
};

/*
 * A connected pair, window memory (with IBV_ACCESS_MW_BIND or not) and a
 * window of type on B's PD: false (a failed check) if any is missing.
 */
static bool wcase_open(struct wcase *c, const char *what, bool mw_bind,
		       enum ibv_mw_type type)
{
	memset(&c->m, 0, sizeof(c->m));
	c->what = what;
	c->mw = NULL;
	if (!pair(&c->a, &c->b, &dflt, &dflt))
		return false;
	if (!winmem_get(&c->m, mw_bind)) {
		result(false, "%s: window memory", what);
		return false;
	}
	c->mw = ibv_alloc_mw(B.pd, type);
	result(c->mw && c->mw->type == type, "%s: ibv_alloc_mw type %d", what,
	       type);
	return c->mw;
}

static void wcase_close(struct wcase *c)
{
	if (c->mw)
		ibv_dealloc_mw(c->mw);
	unpair(&c->a, &c->b);
	winmem_put(&c->m);
}

/* A new pair for c after its QPs went to ERR (a failed check if not). */
static bool wcase_repair(struct wcase *c)
{
	unpair(&c->a, &c->b);
	async_drain(&B);
	return pair(&c->a, &c->b, &dflt, &dflt);
}

/* Bind c's type 2 window with IBV_WR_BIND_MW (wr_id 7): its rkey. */
static uint32_t wcase_bind2(struct wcase *c)
{
	uint32_t rkey = ibv_inc_rkey(c->mw->rkey);
	struct ibv_wc wc;

	result(!bind2(&c->b, c->mw, &c->m, 7, rkey),
	       "%s: IBV_WR_BIND_MW posted", c->what);
	expect_wc(c->b.scq, c->what, 7, IBV_WC_SUCCESS, &wc);
	result(wc.opcode == IBV_WC_BIND_MW, "%s: completion opcode BIND_MW",
	       c->what);
	return rkey;
}

static void case_type1(void)
{
	const char *w = "type 1 window";
	struct wcase c;
	struct ibv_wc wc;
	uint32_t old;

	if (!wcase_open(&c, w, true, IBV_MW_TYPE_1))
		goto out;
	old = c.mw->rkey;
	result(!bind1(&c.b, c.mw, &c.m, 7, WIN_OFF, WIN_LEN),
	       "%s: ibv_bind_mw", w);
	result(c.mw->rkey != old && (c.mw->rkey & ~0xffu) == (old & ~0xffu),
	       "%s: the bind gives a new rkey tag (%#x -> %#x)", w, old,
	       c.mw->rkey);
	expect_wc(c.b.scq, w, 7, IBV_WC_SUCCESS, &wc);
	result(wc.opcode == IBV_WC_BIND_MW, "%s: completion opcode BIND_MW", w);
	write_through(&c.a, &c.m, WIN_OFF + 8, c.mw->rkey, IBV_WC_SUCCESS,
		      "RDMA_WRITE into a type 1 window");
	result(!memcmp(c.m.buf + WIN_OFF + 8, "window!", 8),
	       "%s: the bytes landed in the window", w);

	/* Rebind elsewhere: the old rkey is refused. */
	old = c.mw->rkey;
	result(!bind1(&c.b, c.mw, &c.m, 8, 0, 512), "%s: rebind", w);
	expect_wc(c.b.scq, w, 8, IBV_WC_SUCCESS, NULL);
	write_through(&c.a, &c.m, WIN_OFF, old, IBV_WC_REM_ACCESS_ERR,
		      "RDMA_WRITE with a type 1 window's rkey from before a rebind");
	expect_state(c.a.qp, "requester", IBV_QPS_ERR);
	expect_state(c.b.qp, "responder", IBV_QPS_ERR);
	async_drain(&B);
out:
	wcase_close(&c);
}

static void case_type1_bounds_unbind(void)
{
	const char *w = "type 1 window, outside and unbound";
	struct wcase c;
	uint32_t rk;

	if (!wcase_open(&c, w, true, IBV_MW_TYPE_1) ||
	    bind1(&c.b, c.mw, &c.m, 7, WIN_OFF, WIN_LEN))
		goto out;
	expect_wc(c.b.scq, w, 7, IBV_WC_SUCCESS, NULL);
	/* Inside the MR but past the window: refused. */
	write_through(&c.a, &c.m, WIN_OFF + WIN_LEN - 4, c.mw->rkey,
		      IBV_WC_REM_ACCESS_ERR,
		      "RDMA_WRITE across a type 1 window's end");
	if (!wcase_repair(&c))
		goto out;
	/* A zero-length bind unbinds a type 1 window. */
	result(!ibv_bind_mw(c.b.qp, c.mw, &(struct ibv_mw_bind){
				.wr_id = 9, .send_flags = IBV_SEND_SIGNALED }),
	       "%s: ibv_bind_mw length 0", w);
	rk = c.mw->rkey;
	expect_wc(c.b.scq, w, 9, IBV_WC_SUCCESS, NULL);
	write_through(&c.a, &c.m, WIN_OFF, rk, IBV_WC_REM_ACCESS_ERR,
		      "RDMA_WRITE through an unbound type 1 window");
	async_drain(&B);
out:
	wcase_close(&c);
}

static void case_bind_without_mw_bind(void)
{
	const char *w = "type 1 bind to an MR without IBV_ACCESS_MW_BIND";
	struct wcase c;

	if (!wcase_open(&c, w, false, IBV_MW_TYPE_1))
		goto out;
	result(!bind1(&c.b, c.mw, &c.m, 7, WIN_OFF, WIN_LEN), "%s: posted", w);
	expect_wc(c.b.scq, w, 7, IBV_WC_MW_BIND_ERR, NULL);
	expect_state(c.b.qp, "binding QP", IBV_QPS_ERR);
out:
	wcase_close(&c);
	async_drain(&B);
}

static void case_type2_local_inv(void)
{
	const char *w = "type 2 window, LOCAL_INV";
	struct wcase c;
	struct ibv_wc wc;
	uint32_t rkey;

	if (!wcase_open(&c, w, true, IBV_MW_TYPE_2))
		goto out;
	result(ibv_bind_mw(c.b.qp, c.mw, &(struct ibv_mw_bind){ 0 }) == EINVAL,
	       "%s: ibv_bind_mw refuses a type 2 window (EINVAL)", w);
	rkey = wcase_bind2(&c);
	memcpy(c.m.buf + WIN_OFF, "readme!", 8);
	post_send(&c.a, 20, IBV_WR_RDMA_READ, va(&A, 100), 8, A.mr->lkey,
		  wva(&c.m, WIN_OFF), rkey);
	expect_wc(c.a.scq, "RDMA_READ through a type 2 window", 20,
		  IBV_WC_SUCCESS, NULL);
	result(!memcmp(A.buf + 100, "readme!", 8), "%s: READ data", w);
	result(!post_inv(&c.b, 8, IBV_WR_LOCAL_INV, rkey),
	       "%s: LOCAL_INV posted", w);
	expect_wc(c.b.scq, w, 8, IBV_WC_SUCCESS, &wc);
	result(wc.opcode == IBV_WC_LOCAL_INV, "%s: completion opcode LOCAL_INV",
	       w);
	write_through(&c.a, &c.m, WIN_OFF, rkey, IBV_WC_REM_ACCESS_ERR,
		      "RDMA_WRITE with a type 2 rkey after LOCAL_INV");
	expect_state(c.b.qp, "responder", IBV_QPS_ERR);
	async_drain(&B);
out:
	wcase_close(&c);
}

static void case_type2_rules(void)
{
	const char *w = "type 2 window rules";
	struct ibv_mw *mw1 = NULL;
	struct wcase c;
	struct ep a2, b2;
	uint32_t rkey;
	bool two = false;

	memset(&a2, 0, sizeof(a2));
	memset(&b2, 0, sizeof(b2));
	if (!wcase_open(&c, w, true, IBV_MW_TYPE_2))
		goto out;
	rkey = wcase_bind2(&c);
	result(ibv_dereg_mr(c.m.mr) == EBUSY,
	       "%s: ibv_dereg_mr of an MR with a bound window: EBUSY", w);
	/* 2B: through another QP of the same PD, the rkey is refused. */
	two = pair(&a2, &b2, &dflt, &dflt);
	if (two)
		write_through(&a2, &c.m, WIN_OFF, rkey, IBV_WC_REM_ACCESS_ERR,
			      "type 2 rkey used through a QP that did not bind it");
	async_drain(&B);
	/* A bound type 2 window cannot be bound again. */
	bind2(&c.b, c.mw, &c.m, 8, ibv_inc_rkey(rkey));
	expect_wc(c.b.scq, "bind of a bound type 2 window", 8,
		  IBV_WC_MW_BIND_ERR, NULL);
	expect_state(c.b.qp, "binding QP", IBV_QPS_ERR);
	/* LOCAL_INV of a type 1 window is refused (o10-37.2.26). */
	if (!wcase_repair(&c))
		goto out;
	mw1 = ibv_alloc_mw(B.pd, IBV_MW_TYPE_1);
	if (mw1 && !bind1(&c.b, mw1, &c.m, 9, 0, 64)) {
		expect_wc(c.b.scq, w, 9, IBV_WC_SUCCESS, NULL);
		post_inv(&c.b, 10, IBV_WR_LOCAL_INV, mw1->rkey);
		expect_wc(c.b.scq, "LOCAL_INV of a type 1 window", 10,
			  IBV_WC_LOC_QP_OP_ERR, NULL);
	}
	async_drain(&B);
out:
	if (c.mw)
		ibv_dealloc_mw(c.mw);
	c.mw = NULL;
	if (mw1)
		ibv_dealloc_mw(mw1);
	result(!c.m.mr || !ibv_dereg_mr(c.m.mr),
	       "%s: ibv_dereg_mr once its windows are gone", w);
	c.m.mr = NULL;
	wcase_close(&c);
	if (two)
		unpair(&a2, &b2);
}

static void case_remote_invalidate(void)
{
	const char *w = "SEND_WITH_INV of a type 2 window";
	const char *none = "SEND_WITH_INV of an rkey that names no window";
	struct wcase c;
	struct ibv_wc wc;
	uint32_t rkey;

	if (!wcase_open(&c, w, true, IBV_MW_TYPE_2))
		goto out;
	rkey = wcase_bind2(&c);
	write_through(&c.a, &c.m, WIN_OFF, rkey, IBV_WC_SUCCESS,
		      "RDMA_WRITE through the window before the invalidation");
	post_recv(&c.b, 100, va(&B, 0), 64, B.mr->lkey);
	result(!post_inv(&c.a, 30, IBV_WR_SEND_WITH_INV, rkey),
	       "%s: posted", w);
	expect_wc(c.a.scq, w, 30, IBV_WC_SUCCESS, NULL);
	expect_wc(c.b.rcq, w, 100, IBV_WC_SUCCESS, &wc);
	result((wc.wc_flags & IBV_WC_WITH_INV) && wc.invalidated_rkey == rkey &&
	       wc.opcode == IBV_WC_RECV && wc.byte_len == 8,
	       "%s: receive has IBV_WC_WITH_INV and the rkey (%#x, got %#x)",
	       w, rkey, wc.invalidated_rkey);
	write_through(&c.a, &c.m, WIN_OFF, rkey, IBV_WC_REM_ACCESS_ERR,
		      "RDMA_WRITE with a type 2 rkey after remote invalidation");

	/* Naming no window: class J, both sides fail. */
	if (!wcase_repair(&c))
		goto out;
	post_recv(&c.b, 101, va(&B, 0), 64, B.mr->lkey);
	post_inv(&c.a, 31, IBV_WR_SEND_WITH_INV, BAD_KEY);
	expect_wc(c.b.rcq, none, 101, IBV_WC_REM_INV_REQ_ERR, NULL);
	expect_wc(c.a.scq, none, 31, IBV_WC_REM_INV_REQ_ERR, NULL);
	expect_state(c.a.qp, "requester", IBV_QPS_ERR);
	expect_state(c.b.qp, "responder", IBV_QPS_ERR);
	async_drain(&B);
out:
	wcase_close(&c);
}

/* B's endpoint with an ibv_qp_ex offering the window operations. */
static bool ep_ex(struct ep *e)
{
	struct ibv_qp_init_attr_ex ia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = QP_DEPTH, .max_recv_wr = QP_DEPTH,
			 .max_send_sge = 1, .max_recv_sge = 1 },
		.comp_mask = IBV_QP_INIT_ATTR_PD |
			     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = B.pd,
		.send_ops_flags = IBV_QP_EX_WITH_BIND_MW |
				  IBV_QP_EX_WITH_LOCAL_INV |
				  IBV_QP_EX_WITH_SEND,
	};

	memset(e, 0, sizeof(*e));
	e->s = &B;
	e->scq = ibv_create_cq(B.ctx, 32, NULL, NULL, 0);
	e->rcq = ibv_create_cq(B.ctx, 32, NULL, NULL, 0);
	if (!e->scq || !e->rcq)
		return false;
	ia.send_cq = e->scq;
	ia.recv_cq = e->rcq;
	e->qp = ibv_create_qp_ex(B.ctx, &ia);
	return e->qp;
}

static void case_wr_api(void)
{
	const char *w = "ibv_wr_bind_mw / ibv_wr_local_inv";
	struct ibv_mw *mw = NULL;
	struct winmem m = { 0 };
	struct ibv_mw_bind_info bi;
	struct ibv_qp_ex *x;
	struct ep a, b;
	uint32_t rkey;

	memset(&a, 0, sizeof(a));
	if (!ep_ex(&b) || !ep_create(&a, &A, 32) || !ep_connect(&a, &b, &dflt) ||
	    !ep_connect(&b, &a, &dflt) || !winmem_get(&m, true)) {
		result(false, "%s: set up", w);
		goto out;
	}
	x = ibv_qp_to_qp_ex(b.qp);
	mw = ibv_alloc_mw(B.pd, IBV_MW_TYPE_2);
	if (!x || !mw)
		goto out;
	rkey = ibv_inc_rkey(mw->rkey);
	bi = (struct ibv_mw_bind_info){ .mr = m.mr, .addr = wva(&m, WIN_OFF),
					.length = WIN_LEN,
					.mw_access_flags = RW };
	ibv_wr_start(x);
	x->wr_id = 60;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_bind_mw(x, mw, rkey, &bi);
	result(!ibv_wr_complete(x), "%s: bind posted", w);
	expect_wc(b.scq, w, 60, IBV_WC_SUCCESS, NULL);
	write_through(&a, &m, WIN_OFF, rkey, IBV_WC_SUCCESS,
		      "RDMA_WRITE through a window bound with ibv_wr_bind_mw");
	ibv_wr_start(x);
	x->wr_id = 61;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_local_inv(x, rkey);
	result(!ibv_wr_complete(x), "%s: local_inv posted", w);
	expect_wc(b.scq, w, 61, IBV_WC_SUCCESS, NULL);
	write_through(&a, &m, WIN_OFF, rkey, IBV_WC_REM_ACCESS_ERR,
		      "RDMA_WRITE after ibv_wr_local_inv");
	async_drain(&B);
out:
	if (mw)
		ibv_dealloc_mw(mw);
	unpair(&a, &b);
	winmem_put(&m);
}

static void cases(void)
{
	case_wr_api();
	case_type1();
	case_type1_bounds_unbind();
	case_bind_without_mw_bind();
	case_type2_local_inv();
	case_type2_rules();
	case_remote_invalidate();
}

int main(void)
{
	return ib_pair_main(cases);
}
