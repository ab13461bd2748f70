// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cases of xh_errors (xh.h): those of tests/neg with the requester on
 * one host and the responder on another, each side checking the statuses,
 * QP states and async events docs/ib-semantics.md gives for one host, and
 * data moved across hosts compared byte for byte.  The client is the
 * requester; the server the responder.
 */
#include <string.h>

#include "tests/fabric/xh.h"

/* The bytes a server keeps where a refused request must not write. */
#define CANARY		0x5a
#define CANARY_LEN	4096u

/* Tags of the steps at which the two sides meet (xh_sync). */
enum {
	T_POSTED = 1,	/* the server's receives are posted */
	T_CHECKED,	/* the client has judged its side */
	T_LATE,		/* the server may post its late receive now */
	T_SEED,		/* the pattern of data just moved */
	T_VALUE,	/* an atomic's word at the server */
};

/* min_rnr_timer 18 is 5.12 ms; 0 is 655.36 ms (IB spec table 45). */
#define RNR_TIMER_CODE	18
#define RNR_TIMER_MS	5.12
#define RNR_TIMER_0_MS	655.36

static bool canary_intact(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != CANARY)
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Remote access faults                                                */

enum fault { F_WRITE_RKEY, F_WRITE_BOUNDS, F_WRITE_MR, F_WRITE_QP,
	     F_READ_MR, F_READ_RKEY, F_ATOMIC_MR };

/*
 * Where the client aims a refused request, and the server's bytes that
 * must stay as they are (a failing message writes nothing).
 */
static void fault_target(const struct xh *x, int f, uint64_t *raddr,
			 uint32_t *rkey)
{
	*raddr = x->peer.addr;
	*rkey = x->peer.rkey;
	switch (f) {
	case F_WRITE_RKEY:
	case F_READ_RKEY:
		*rkey = BAD_KEY;
		break;
	case F_WRITE_BOUNDS:
		/* 8 bytes inside, 56 past the MR's end */
		*raddr = x->peer.addr + x->peer.len - 8;
		break;
	case F_WRITE_MR:
	case F_READ_MR:
	case F_ATOMIC_MR:
		*raddr = x->peer.addr2;
		*rkey = x->peer.rkey2;
		break;
	default:
		break;
	}
}

static void remote_fault(struct xh *x)
{
	const char *w = x->c->name;
	int f = x->c->arg;
	enum ibv_wr_opcode op = f == F_READ_MR || f == F_READ_RKEY ?
				IBV_WR_RDMA_READ : f == F_ATOMIC_MR ?
				IBV_WR_ATOMIC_FETCH_AND_ADD :
				IBV_WR_RDMA_WRITE;
	uint32_t len = op == IBV_WR_ATOMIC_FETCH_AND_ADD ? 8 : 64, rkey;
	struct side *s = &x->s;
	uint64_t raddr;

	if (x->server) {
		memset(s->buf, CANARY, CANARY_LEN);
		memset(s->buf + s->len - CANARY_LEN, CANARY, CANARY_LEN);
		memset(s->buf + XH_MR2_OFF, CANARY, XH_MR2_LEN);
		xh_sync(x, T_POSTED);
		result(async_readable(s, WAIT_MS),
		       "%s: responder's async_fd becomes readable", w);
		expect_async(s, w, IBV_EVENT_QP_ACCESS_ERR, x->e.qp, NULL);
		expect_state(x->e.qp, "responder", IBV_QPS_ERR);
		result(no_wc(x->e.rcq, 0), "%s: no responder completion", w);
		result(canary_intact(s->buf, CANARY_LEN) &&
		       canary_intact(s->buf + s->len - CANARY_LEN,
				     CANARY_LEN) &&
		       canary_intact(s->buf + XH_MR2_OFF, XH_MR2_LEN),
		       "%s: nothing written at the responder", w);
		return;
	}
	fault_target(x, f, &raddr, &rkey);
	memset(s->buf, 0xab, len);
	memset(s->buf + 4096, CANARY, len);
	xh_sync(x, T_POSTED);
	if (op == IBV_WR_RDMA_WRITE)
		post_send(&x->e, 1, op, va(s, 0), len, s->mr->lkey, raddr,
			  rkey);
	else
		post_send(&x->e, 1, op, va(s, 4096), len, s->mr->lkey, raddr,
			  rkey);
	expect_wc(x->e.scq, w, 1, IBV_WC_REM_ACCESS_ERR, NULL);
	expect_state(x->e.qp, "requester", IBV_QPS_ERR);
	if (op != IBV_WR_RDMA_WRITE)
		result(canary_intact(s->buf + 4096, len),
		       "%s: nothing landed in the requester's buffer", w);
	expect_no_async(s, w);
}

static void opts_qp_no_write(const struct xh *x, struct qp_opts *o)
{
	if (x->server)
		o->access = IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
}

/* ------------------------------------------------------------------ */
/* The responder's receives                                            */

static void recv_too_short(struct xh *x)
{
	const char *w = x->c->name;
	struct side *s = &x->s;
	struct ibv_wc wc;

	if (x->server) {
		post_recv(&x->e, 100, va(s, 0), 16, s->mr->lkey);
		post_recv(&x->e, 101, va(s, 64), 16, s->mr->lkey);
		xh_sync(x, T_POSTED);
		expect_wc(x->e.rcq, w, 100, IBV_WC_LOC_LEN_ERR, &wc);
		result(wc.qp_num == x->e.qp->qp_num,
		       "%s: responder CQE names its QP", w);
		expect_wc(x->e.rcq, w, 101, IBV_WC_WR_FLUSH_ERR, NULL);
		expect_state(x->e.qp, "responder", IBV_QPS_ERR);
		expect_no_async(s, w);
		return;
	}
	xh_sync(x, T_POSTED);
	post_send(&x->e, 1, IBV_WR_SEND, va(s, 0), 64, s->mr->lkey, 0, 0);
	expect_wc(x->e.scq, w, 1, IBV_WC_REM_INV_REQ_ERR, NULL);
	expect_state(x->e.qp, "requester", IBV_QPS_ERR);
	expect_no_async(s, w);
}

static void recv_bad_lkey(struct xh *x)
{
	const char *w = x->c->name;
	struct side *s = &x->s;

	if (x->server) {
		post_recv(&x->e, 100, va(s, 0), 64, BAD_KEY);
		xh_sync(x, T_POSTED);
		expect_wc(x->e.rcq, w, 100, IBV_WC_LOC_PROT_ERR, NULL);
		expect_state(x->e.qp, "responder", IBV_QPS_ERR);
		return;
	}
	xh_sync(x, T_POSTED);
	post_send(&x->e, 1, IBV_WR_SEND, va(s, 0), 8, s->mr->lkey, 0, 0);
	expect_wc(x->e.scq, w, 1, IBV_WC_REM_OP_ERR, NULL);
	expect_state(x->e.qp, "requester", IBV_QPS_ERR);
}

/* ------------------------------------------------------------------ */
/* Atomics                                                             */

static void atomic_misaligned(struct xh *x)
{
	const char *w = x->c->name;
	struct side *s = &x->s;

	if (x->server) {
		expect_async(s, w, IBV_EVENT_QP_REQ_ERR, x->e.qp, NULL);
		expect_state(x->e.qp, "responder", IBV_QPS_ERR);
		return;
	}
	post_atomic(&x->e, 1, IBV_WR_ATOMIC_FETCH_AND_ADD, va(s, 0),
		    s->mr->lkey, x->peer.addr + 64, x->peer.rkey, 1, 0);
	expect_wc(x->e.scq, "aligned atomic (control)", 1, IBV_WC_SUCCESS,
		  NULL);
	post_atomic(&x->e, 2, IBV_WR_ATOMIC_CMP_AND_SWP, va(s, 0),
		    s->mr->lkey, x->peer.addr + 4, x->peer.rkey, 0, 1);
	expect_wc(x->e.scq, w, 2, IBV_WC_REM_INV_REQ_ERR, NULL);
	expect_state(x->e.qp, "requester", IBV_QPS_ERR);
}

static uint64_t word(const struct side *s, size_t off)
{
	uint64_t v;

	memcpy(&v, s->buf + off, 8);
	return v;
}

static void atomics_data(struct xh *x)
{
	const char *w = x->c->name;
	const uint64_t v0 = 0x1111111111111111ull, v1 = 0x2222222222222222ull;
	struct side *s = &x->s;
	uint64_t raddr = x->peer.addr + XH_ATOMIC_OFF, got;

	if (x->server) {
		memcpy(s->buf + XH_ATOMIC_OFF, &v0, 8);
		xh_put(x, T_VALUE, v0);
		got = xh_get(x, T_VALUE);
		result(word(s, XH_ATOMIC_OFF) == v1 + 5 && got == v1 + 5,
		       "%s: the responder's word is CAS'd and added to "
		       "(%#llx)", w,
		       (unsigned long long)word(s, XH_ATOMIC_OFF));
		return;
	}
	got = xh_get(x, T_VALUE);
	post_atomic(&x->e, 1, IBV_WR_ATOMIC_CMP_AND_SWP, va(s, 0),
		    s->mr->lkey, raddr, x->peer.rkey, got, v1);
	expect_wc(x->e.scq, "CAS that matches", 1, IBV_WC_SUCCESS, NULL);
	result(word(s, 0) == v0, "%s: CAS returns the old value (%#llx)", w,
	       (unsigned long long)word(s, 0));
	post_atomic(&x->e, 2, IBV_WR_ATOMIC_CMP_AND_SWP, va(s, 8),
		    s->mr->lkey, raddr, x->peer.rkey, v0, 0x3333);
	expect_wc(x->e.scq, "CAS that does not match", 2, IBV_WC_SUCCESS,
		  NULL);
	result(word(s, 8) == v1, "%s: a failing CAS returns the value it "
	       "found (%#llx)", w, (unsigned long long)word(s, 8));
	post_atomic(&x->e, 3, IBV_WR_ATOMIC_FETCH_AND_ADD, va(s, 16),
		    s->mr->lkey, raddr, x->peer.rkey, 5, 0);
	expect_wc(x->e.scq, "FAA", 3, IBV_WC_SUCCESS, NULL);
	result(word(s, 16) == v1, "%s: FAA returns the value before (%#llx)",
	       w, (unsigned long long)word(s, 16));
	post_send(&x->e, 4, IBV_WR_RDMA_READ, va(s, 24), 8, s->mr->lkey,
		  raddr, x->peer.rkey);
	expect_wc(x->e.scq, "READ of the word", 4, IBV_WC_SUCCESS, NULL);
	result(word(s, 24) == v1 + 5, "%s: READ sees the sum (%#llx)", w,
	       (unsigned long long)word(s, 24));
	xh_put(x, T_VALUE, word(s, 24));
}

/* ------------------------------------------------------------------ */
/* RNR                                                                 */

static void opts_rnr(const struct xh *x, struct qp_opts *o)
{
	static const uint8_t retry[] = { 0, 2, 7 };
	int a = x->c->arg;

	if (x->server)	/* the responder's timer goes in its RNR NAKs */
		o->min_rnr_timer = a == 0 ? 0 : RNR_TIMER_CODE;
	else
		o->rnr_retry = retry[a];
}

/* No receive: rnr_retry 0 fails at the first NAK, 2 after two timers. */
static void rnr_exceeded(struct xh *x)
{
	const char *w = x->c->name;
	struct side *s = &x->s;
	double t0, dt;

	if (x->server) {
		xh_sync(x, T_CHECKED);
		expect_state(x->e.qp, "responder (unaffected)", IBV_QPS_RTS);
		expect_no_async(s, w);
		return;
	}
	t0 = now_ms();
	post_send(&x->e, 1, IBV_WR_SEND, va(s, 0), 8, s->mr->lkey, 0, 0);
	expect_wc(x->e.scq, w, 1, IBV_WC_RNR_RETRY_EXC_ERR, NULL);
	dt = now_ms() - t0;
	if (x->o.rnr_retry == 0)
		result(dt < RNR_TIMER_0_MS, "%s: fails at the first NAK "
		       "(%.1f ms; an RNR timer is %.0f ms)", w, dt,
		       RNR_TIMER_0_MS);
	else
		result(dt >= RNR_TIMER_MS * x->o.rnr_retry,
		       "%s: after %.1f ms (at least rnr_retry %u x %.2f ms)",
		       w, dt, x->o.rnr_retry, RNR_TIMER_MS);
	expect_state(x->e.qp, "requester", IBV_QPS_ERR);
	expect_no_async(s, w);
	xh_sync(x, T_CHECKED);
}

/* rnr_retry 7 waits for ever: a receive posted late takes the SEND. */
static void rnr_late(struct xh *x)
{
	const char *w = x->c->name;
	static const char msg[8] = "late rnr";
	struct side *s = &x->s;
	struct ibv_wc wc;

	if (x->server) {
		xh_sync(x, T_LATE);
		post_recv(&x->e, 100, va(s, 256), 64, s->mr->lkey);
		if (expect_wc(x->e.rcq, w, 100, IBV_WC_SUCCESS, &wc))
			result(wc.byte_len == 8 &&
			       !memcmp(s->buf + 256, msg, 8),
			       "%s: the late receive got the data", w);
		return;
	}
	memcpy(s->buf, msg, 8);
	post_send(&x->e, 1, IBV_WR_SEND, va(s, 0), 8, s->mr->lkey, 0, 0);
	result(no_wc(x->e.scq, 200), "%s: still waiting after 200 ms", w);
	xh_sync(x, T_LATE);
	expect_wc(x->e.scq, w, 1, IBV_WC_SUCCESS, NULL);
}

/* ------------------------------------------------------------------ */
/* Data                                                                */

/* WRITE and READ of 3 MiB each way, SEND of a bit less. */
static void data_moves(struct xh *x)
{
	const char *w = x->c->name;
	const uint32_t send_len = XH_DATA_LEN - 3;
	struct side *s = &x->s;
	struct ibv_wc wc;
	uint64_t seed;

	if (x->server) {
		seed = xh_get(x, T_SEED);
		result(xh_holds(s->buf, XH_DATA_LEN, seed),
		       "%s: 3 MiB RDMA WRITE landed intact", w);
		seed = now_ms();
		xh_fill(s->buf + XH_READ_OFF, XH_DATA_LEN, seed);
		xh_put(x, T_SEED, seed);
		post_recv(&x->e, 100, va(s, 0), XH_DATA_LEN, s->mr->lkey);
		xh_sync(x, T_POSTED);
		seed = xh_get(x, T_SEED);
		if (expect_wc(x->e.rcq, "SEND of 3 MiB - 3", 100,
			      IBV_WC_SUCCESS, &wc))
			result(wc.byte_len == send_len &&
			       xh_holds(s->buf, send_len, seed),
			       "%s: SEND of %u bytes received intact (%u)", w,
			       send_len, wc.byte_len);
		return;
	}
	seed = now_ms();
	xh_fill(s->buf, XH_DATA_LEN, seed);
	post_send(&x->e, 1, IBV_WR_RDMA_WRITE, va(s, 0), XH_DATA_LEN,
		  s->mr->lkey, x->peer.addr, x->peer.rkey);
	expect_wc(x->e.scq, "RDMA WRITE of 3 MiB", 1, IBV_WC_SUCCESS, NULL);
	xh_put(x, T_SEED, seed);
	seed = xh_get(x, T_SEED);
	memset(s->buf + XH_READ_OFF, 0, XH_DATA_LEN);
	post_send(&x->e, 2, IBV_WR_RDMA_READ, va(s, XH_READ_OFF), XH_DATA_LEN,
		  s->mr->lkey, x->peer.addr + XH_READ_OFF, x->peer.rkey);
	if (expect_wc(x->e.scq, "RDMA READ of 3 MiB", 2, IBV_WC_SUCCESS,
		      &wc))
		result(xh_holds(s->buf + XH_READ_OFF, XH_DATA_LEN, seed),
		       "%s: 3 MiB RDMA READ brought the responder's bytes",
		       w);
	seed = now_ms() + 1;
	xh_fill(s->buf, send_len, seed);
	xh_sync(x, T_POSTED);
	xh_put(x, T_SEED, seed);
	post_send(&x->e, 3, IBV_WR_SEND, va(s, 0), send_len, s->mr->lkey, 0,
		  0);
	expect_wc(x->e.scq, "SEND of 3 MiB - 3", 3, IBV_WC_SUCCESS, NULL);
}

/* ------------------------------------------------------------------ */
/* Flush                                                               */

static bool flushed(const struct ibv_wc *wc, uint64_t wr_id,
		    const struct ibv_qp *qp, enum ibv_wc_opcode op)
{
	return wc->wr_id == wr_id && wc->status == IBV_WC_WR_FLUSH_ERR &&
	       wc->qp_num == qp->qp_num && wc->opcode == op &&
	       wc->byte_len == 0;
}

/* Four WRs, the first refused: the other three flush, and later ones. */
static void flush_after_error(struct xh *x)
{
	static const enum ibv_wr_opcode ops[4] = {
		IBV_WR_RDMA_WRITE, IBV_WR_SEND, IBV_WR_RDMA_WRITE,
		IBV_WR_RDMA_READ,
	};
	static const enum ibv_wc_opcode wcops[4] = {
		IBV_WC_RDMA_WRITE, IBV_WC_SEND, IBV_WC_RDMA_WRITE,
		IBV_WC_RDMA_READ,
	};
	const char *w = x->c->name;
	struct ibv_send_wr wr[4], *bad = NULL;
	struct side *s = &x->s;
	struct ibv_sge sge[4];
	struct ibv_wc wc[3];
	int i, n;
	bool ok;

	if (x->server) {
		post_recv(&x->e, 100, va(s, 0), 64, s->mr->lkey);
		post_recv(&x->e, 101, va(s, 64), 64, s->mr->lkey);
		xh_sync(x, T_POSTED);
		expect_async(s, w, IBV_EVENT_QP_ACCESS_ERR, x->e.qp, NULL);
		expect_state(x->e.qp, "responder", IBV_QPS_ERR);
		n = wait_wc(x->e.rcq, wc, 2, WAIT_MS);
		result(n == 2 && flushed(&wc[0], 100, x->e.qp, IBV_WC_RECV) &&
		       flushed(&wc[1], 101, x->e.qp, IBV_WC_RECV),
		       "%s: the responder's receives flush in order (%d)", w,
		       n);
		result(!post_recv(&x->e, 102, va(s, 0), 64, s->mr->lkey) &&
		       wait_wc(x->e.rcq, wc, 1, WAIT_MS) == 1 &&
		       flushed(&wc[0], 102, x->e.qp, IBV_WC_RECV),
		       "%s: a receive posted in ERR flushes", w);
		return;
	}
	memset(wr, 0, sizeof(wr));
	for (i = 0; i < 4; i++) {
		sge[i] = (struct ibv_sge){ va(s, 0), 8, s->mr->lkey };
		wr[i].wr_id = i + 1;
		wr[i].sg_list = &sge[i];
		wr[i].num_sge = 1;
		wr[i].opcode = ops[i];
		/* Flushes complete unsignaled WRs too. */
		wr[i].send_flags = i % 2 ? 0 : IBV_SEND_SIGNALED;
		wr[i].wr.rdma.remote_addr = x->peer.addr;
		wr[i].wr.rdma.rkey = i ? x->peer.rkey : BAD_KEY;
		wr[i].next = i < 3 ? &wr[i + 1] : NULL;
	}
	xh_sync(x, T_POSTED);
	result(!ibv_post_send(x->e.qp, wr, &bad), "%s: 4 WRs posted", w);
	expect_wc(x->e.scq, w, 1, IBV_WC_REM_ACCESS_ERR, NULL);
	n = wait_wc(x->e.scq, wc, 3, WAIT_MS);
	ok = n == 3;
	for (i = 0; ok && i < 3; i++)
		ok = flushed(&wc[i], i + 2, x->e.qp, wcops[i + 1]);
	result(ok, "%s: WRs 2..4 flushed in order with qp_num, opcode, "
	       "byte_len 0 (%d)", w, n);
	expect_state(x->e.qp, "requester", IBV_QPS_ERR);
	result(!post_send(&x->e, 5, IBV_WR_SEND, va(s, 0), 8, s->mr->lkey,
			  0, 0) &&
	       wait_wc(x->e.scq, wc, 1, WAIT_MS) == 1 &&
	       flushed(&wc[0], 5, x->e.qp, IBV_WC_SEND),
	       "%s: a SEND posted in ERR flushes", w);
	result(!post_recv(&x->e, 200, va(s, 0), 8, s->mr->lkey) &&
	       wait_wc(x->e.rcq, wc, 1, WAIT_MS) == 1 &&
	       flushed(&wc[0], 200, x->e.qp, IBV_WC_RECV),
	       "%s: the requester's receive posted in ERR flushes", w);
}

/* ------------------------------------------------------------------ */

#define RO	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ)
#define WO	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

const struct xh_case xh_cases[] = {
	{ "RDMA_WRITE bad rkey", remote_fault, F_WRITE_RKEY },
	{ "RDMA_WRITE out of MR bounds", remote_fault, F_WRITE_BOUNDS },
	{ "RDMA_WRITE to MR without REMOTE_WRITE", remote_fault, F_WRITE_MR,
	  NULL, RO },
	{ "RDMA_WRITE to QP without remote write", remote_fault, F_WRITE_QP,
	  opts_qp_no_write },
	{ "RDMA_READ of MR without REMOTE_READ", remote_fault, F_READ_MR,
	  NULL, WO },
	{ "RDMA_READ bad rkey", remote_fault, F_READ_RKEY },
	{ "atomic to MR without REMOTE_ATOMIC", remote_fault, F_ATOMIC_MR,
	  NULL, RO },
	{ "SEND longer than the receive buffer", recv_too_short },
	{ "receive WQE with bad lkey", recv_bad_lkey },
	{ "atomic to misaligned address", atomic_misaligned },
	{ "RNR with rnr_retry 0", rnr_exceeded, 0, opts_rnr },
	{ "RNR with rnr_retry 2 exhausted", rnr_exceeded, 1, opts_rnr },
	{ "RNR with rnr_retry 7, receive posted late", rnr_late, 2,
	  opts_rnr },
	{ "data: WRITE, READ, SEND of 3 MiB", data_moves },
	{ "data: CAS and FAA", atomics_data },
	{ "flush after an error", flush_after_error },
};

const unsigned int xh_ncases = sizeof(xh_cases) / sizeof(xh_cases[0]);
