// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Malformed WQEs, written into our own rings with the wire ABI (the honest
 * provider refuses to post any of them).  The first is the one that used to
 * smash xenibd's stack: an RDMA READ with IBV_SEND_INLINE, a huge num_sge
 * and inline bytes shaped like valid SGEs of our own MR, on RC and on
 * XRC_SEND.  Then its neighbours: every malformed shape of send, receive
 * and SRQ WQE (docs/ib-semantics.md, "Malformed work requests").  Each must
 * complete on the attacker's own QP with the documented status and leave
 * that QP in ERR; nothing may reach anyone else (test_wqe_attack.sh runs a
 * victim pingpong beside it and watches xenibd).
 *
 * Usage: wqe_attack [STOP_FILE]   (XENIB_EMU_DIR names the xenibd)
 * With STOP_FILE, the stack-smash attack goes on after the checks until
 * that file exists (at most 300 s), so a victim runs beside it however
 * fast the machine is.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/xenib_ring.h"
#include "tests/common/check.h"
#include "tests/common/wire_guest.h"

#define N	16		/* entries of every ring */
#define SQ_STRIDE 512		/* as the provider's default (max_inline 448) */
#define RQ_STRIDE 512
#define MAX_INLINE 448
#define MAX_SGE	16
#define BUF	(64 * 1024)
#define IOVA	0x7e0000000000ull

static struct wg g;
static struct hv_shm qmem, buf;
static uint32_t pd, qregion, bregion, cq, lkey, srq, xrcd, xsrq, xrecv;
static struct xenib_ring_hdr *cqh, *srqh, *xsrqh;
static uint32_t cq_cons, srq_prod, xsrq_prod;

/* Offsets in qmem: CQ, then rings for two QPs, an SRQ and an XRC SRQ. */
static uint64_t cq_off, sq_off[2], rq_off[2], srq_off, xsrq_off, qmem_len;

struct qp {
	uint32_t qpn, type;
	struct xenib_ring_hdr *sqh, *rqh;
	uint32_t sq_prod, rq_prod;
};

static void layout(void)
{
	uint64_t o = 0;
	int i;

	cq_off = o;
	o += xr_ring_bytes(4 * N, sizeof(struct xenib_cqe));
	for (i = 0; i < 2; i++) {
		sq_off[i] = o;
		o += xr_ring_bytes(N, SQ_STRIDE);
		rq_off[i] = o;
		o += xr_ring_bytes(N, RQ_STRIDE);
	}
	srq_off = o;
	o += xr_ring_bytes(N, RQ_STRIDE);
	xsrq_off = o;
	o += xr_ring_bytes(N, RQ_STRIDE);
	qmem_len = o;
}

static void *at(uint64_t off)
{
	return (char *)qmem.va + off;
}

static uint32_t create_srq(uint64_t off, uint32_t type)
{
	struct xenib_create_srq_req r = {
		.hdr.opcode = XENIB_CMD_CREATE_SRQ, .pd = pd,
		.srq_type = type, .max_sge = MAX_SGE,
		.xrcd = type == IBV_SRQT_XRC ? xrcd : XENIB_INVALID_HANDLE,
		.cq = type == IBV_SRQT_XRC ? cq : XENIB_INVALID_HANDLE,
		.ring = { qregion, N, off, RQ_STRIDE, 0 },
	};

	return wg_cmd_handle(&g, &r, sizeof(r), -1);
}

static void setup(void)
{
	struct xenib_open_xrcd_req x = { .hdr.opcode = XENIB_CMD_OPEN_XRCD,
					 .flags = XENIB_XRCD_CREAT };
	struct xenib_create_qp_req r = {
		.hdr.opcode = XENIB_CMD_CREATE_QP,
		.qp_type = IBV_QPT_XRC_RECV, .xrcd = 0,
		.pd = XENIB_INVALID_HANDLE, .send_cq = XENIB_INVALID_HANDLE,
		.recv_cq = XENIB_INVALID_HANDLE, .srq = XENIB_INVALID_HANDLE,
	};

	layout();
	if (wg_open(&g, "wqe-attacker") ||
	    hv_shm_alloc(&qmem, qmem_len, "xenib-ring") ||
	    hv_shm_alloc(&buf, BUF, "xenib-mr")) {
		printf("FAIL: context setup\n");
		exit(1);
	}
	pd = wg_alloc_pd(&g);
	qregion = wg_map_region(&g, &qmem, 0);
	bregion = wg_map_region(&g, &buf, 0);
	cq = wg_create_cq(&g, qregion, 4 * N, cq_off);
	lkey = wg_reg_mr(&g, pd, bregion, IOVA, BUF,
			 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC);
	cqh = at(cq_off);
	srq = create_srq(srq_off, IBV_SRQT_BASIC);
	srqh = at(srq_off);
	xrcd = wg_cmd_handle(&g, &x, sizeof(x), -1);
	xsrq = create_srq(xsrq_off, IBV_SRQT_XRC);
	xsrqh = at(xsrq_off);
	r.xrcd = xrcd;
	xrecv = wg_cmd_handle(&g, &r, sizeof(r), -1);
	if (lkey == XENIB_INVALID_HANDLE || cq == XENIB_INVALID_HANDLE ||
	    srq == XENIB_INVALID_HANDLE || xsrq == XENIB_INVALID_HANDLE ||
	    xrecv == XENIB_INVALID_HANDLE) {
		printf("FAIL: objects setup\n");
		exit(1);
	}
}

/* A QP on ring slot i (its SQ/RQ), of the given type, in RESET. */
static void qp_create(struct qp *q, int i, uint32_t type, bool with_srq)
{
	struct xenib_create_qp_req r = {
		.hdr.opcode = XENIB_CMD_CREATE_QP, .pd = pd, .qp_type = type,
		.send_cq = cq, .recv_cq = cq, .srq = XENIB_INVALID_HANDLE,
		.max_send_sge = MAX_SGE, .max_recv_sge = MAX_SGE,
		.max_inline = MAX_INLINE,
		.sq = { qregion, N, sq_off[i], SQ_STRIDE, 0 },
		.rq = { qregion, N, rq_off[i], RQ_STRIDE, 0 },
	};

	if (type == IBV_QPT_XRC_SEND || with_srq) {
		memset(&r.rq, 0, sizeof(r.rq));
		r.max_recv_sge = 0;
		if (with_srq)
			r.srq = srq;
		else
			r.recv_cq = XENIB_INVALID_HANDLE;
	}
	memset(q, 0, sizeof(*q));
	q->type = type;
	q->sqh = at(sq_off[i]);
	q->rqh = at(rq_off[i]);
	/* A fresh QP starts at the indices its rings hold. */
	q->sq_prod = xr_load_relaxed(&q->sqh->prod);
	q->rq_prod = xr_load_relaxed(&q->rqh->prod);
	q->qpn = wg_cmd_handle(&g, &r, sizeof(r), -1);
}

static void qp_destroy(struct qp *q)
{
	wg_handle_cmd(&g, XENIB_CMD_DESTROY_QP, q->qpn);
}

/* The next CQE within 5 s, or false. */
static bool next_cqe(struct xenib_cqe *c)
{
	int i;

	for (i = 0; i < 5000; i++) {
		/* xenibd produces CQEs; we consume. */
		if (xr_load_acquire(&cqh->prod) != cq_cons) {
			memcpy(c, xr_entry(cqh, cq_cons, 4 * N, sizeof(*c)),
			       sizeof(*c));
			xr_store_release(&cqh->cons, ++cq_cons);
			return true;
		}
		usleep(1000);
	}
	return false;
}

/* Drain what is left of the CQ (flushes) after a case. */
static void drain(void)
{
	struct xenib_cqe c;

	usleep(20000);
	while (xr_load_acquire(&cqh->prod) != cq_cons)
		next_cqe(&c);
}

/* Expect a CQE for wr_id with status on qpn. */
static void expect(const char *what, uint64_t wr_id, uint32_t qpn,
		   uint32_t status)
{
	struct xenib_cqe c;

	if (!next_cqe(&c)) {
		CHECK(false, "%s: no completion", what);
		return;
	}
	CHECK(c.wr_id == wr_id && c.qp_num == qpn && c.status == status,
	      "%s: wr_id %llx qp 0x%x %s (want %llx 0x%x %s)", what,
	      (unsigned long long)c.wr_id, c.qp_num,
	      ibv_wc_status_str(c.status), (unsigned long long)wr_id, qpn,
	      ibv_wc_status_str(status));
}

static void expect_err_state(const char *what, const struct qp *q)
{
	int st = wg_qp_state(&g, q->qpn);

	CHECK(st == IBV_QPS_ERR, "%s: QP 0x%x in ERR (state %d)", what,
	      q->qpn, st);
}

/* A send WQE: header, then body bytes (SGEs or inline data). */
static void post_send(struct qp *q, const struct xenib_send_wqe *w,
		      const void *body, size_t body_len)
{
	char *e = xr_entry(q->sqh, q->sq_prod, N, SQ_STRIDE);
	size_t room = SQ_STRIDE - sizeof(*w);

	memcpy(e, w, sizeof(*w));
	if (body_len)	/* body may be NULL; memcpy(NULL) is UB even for 0 */
		memcpy(e + sizeof(*w), body,
		       body_len < room ? body_len : room);
	wg_publish(&g, q->sqh, ++q->sq_prod);
}

static void post_recv_raw(struct xenib_ring_hdr *h, uint32_t *prod,
			  uint64_t wr_id, uint32_t num_sge)
{
	char *e = xr_entry(h, *prod, N, RQ_STRIDE);
	struct xenib_recv_wqe w = { .wr_id = wr_id, .num_sge = num_sge };
	struct xenib_sge s = { IOVA, 64, lkey };
	uint32_t i;

	memcpy(e, &w, sizeof(w));
	for (i = 0; i < MAX_SGE; i++)
		memcpy(e + sizeof(w) + i * sizeof(s), &s, sizeof(s));
	wg_publish(&g, h, ++*prod);
}

/* SGEs of our own MR, as many as fit in a WQE's body. */
static struct xenib_sge sges[(SQ_STRIDE - 64) / sizeof(struct xenib_sge)];

static void fill_sges(uint32_t len)
{
	size_t i;

	for (i = 0; i < sizeof(sges) / sizeof(sges[0]); i++)
		sges[i] = (struct xenib_sge){ IOVA + i * 64, len, lkey };
}

/* Up one QP of ours, connected to itself (RC) or to our XRC_RECV QP. */
static void up(struct qp *q, uint32_t type, int slot)
{
	qp_create(q, slot, type, false);
	wg_connect_qp(&g, q->qpn, type,
		      type == IBV_QPT_XRC_SEND ? xrecv : q->qpn, g.lid);
}

/*
 * The attack of the issue: READ + INLINE, num_sge n, inline bytes shaped
 * like n SGEs of our MR.
 */
static void attack_inline_read(uint32_t type, uint32_t n)
{
	struct xenib_send_wqe w = {
		.wr_id = 0xa77ac000 + n, .opcode = IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_INLINE | IBV_SEND_SIGNALED,
		.num_sge = n, .remote_addr = IOVA + 32768, .rkey = lkey,
		.remote_srqn = xsrq,
	};
	char what[96];
	struct qp q;
	uint32_t k = n < 24 ? n : 24;

	snprintf(what, sizeof(what), "%s READ+INLINE num_sge %u",
		 type == IBV_QPT_RC ? "RC" : "XRC_SEND", n);
	up(&q, type, 0);
	fill_sges(64);
	w.inline_len = k * sizeof(struct xenib_sge);
	post_send(&q, &w, sges, w.inline_len);
	expect(what, w.wr_id, q.qpn, IBV_WC_LOC_QP_OP_ERR);
	expect_err_state(what, &q);
	drain();
	qp_destroy(&q);
}

/* One malformed send WQE on a fresh QP of type: its status, QP in ERR. */
static void bad_send(const char *what, uint32_t type,
		     struct xenib_send_wqe w, const void *body, size_t len,
		     uint32_t status)
{
	struct qp q;

	up(&q, type, 0);
	w.wr_id = 0xbad0000 + (rand() & 0xffff);
	w.send_flags |= IBV_SEND_SIGNALED;
	if (type == IBV_QPT_XRC_SEND)
		w.remote_srqn = xsrq;
	post_send(&q, &w, body, len);
	expect(what, w.wr_id, q.qpn, status);
	expect_err_state(what, &q);
	drain();
	qp_destroy(&q);
}

static void neighbours(uint32_t type)
{
	static const uint32_t ops[] = {
		IBV_WR_SEND, IBV_WR_SEND_WITH_IMM, IBV_WR_RDMA_WRITE,
		IBV_WR_RDMA_WRITE_WITH_IMM, IBV_WR_RDMA_READ,
		IBV_WR_ATOMIC_CMP_AND_SWP, IBV_WR_ATOMIC_FETCH_AND_ADD,
		IBV_WR_SEND_WITH_INV,
	};
	struct xenib_send_wqe w;
	char what[96], body[SQ_STRIDE] = { 0 };
	const char *t = type == IBV_QPT_RC ? "RC" : "XRC_SEND";
	size_t i;

	fill_sges(64);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		bool atomic = ops[i] == IBV_WR_ATOMIC_CMP_AND_SWP ||
			      ops[i] == IBV_WR_ATOMIC_FETCH_AND_ADD;

		memset(&w, 0, sizeof(w));
		w.opcode = ops[i];
		w.remote_addr = IOVA + 32768;
		w.rkey = lkey;
		/* num_sge past the QP's max_send_sge, every opcode */
		w.num_sge = MAX_SGE + 1;
		snprintf(what, sizeof(what), "%s op %u num_sge 17", t, ops[i]);
		bad_send(what, type, w, sges, sizeof(sges),
			 IBV_WC_LOC_QP_OP_ERR);
		/* INLINE with SGEs, every opcode */
		w.send_flags = IBV_SEND_INLINE;
		w.num_sge = 24;
		w.inline_len = 24 * sizeof(struct xenib_sge);
		snprintf(what, sizeof(what), "%s op %u INLINE num_sge 24", t,
			 ops[i]);
		bad_send(what, type, w, sges, sizeof(sges),
			 IBV_WC_LOC_QP_OP_ERR);
		/* INLINE alone on an opcode without payload */
		w.num_sge = 0;
		w.inline_len = 8;
		snprintf(what, sizeof(what), "%s op %u INLINE num_sge 0", t,
			 ops[i]);
		if (ops[i] == IBV_WR_RDMA_READ || atomic)
			bad_send(what, type, w, body, 8, IBV_WC_LOC_QP_OP_ERR);
		/* num_sge 0xffffffff without INLINE */
		w.send_flags = 0;
		w.num_sge = 0xffffffffu;
		snprintf(what, sizeof(what), "%s op %u num_sge 0xffffffff", t,
			 ops[i]);
		bad_send(what, type, w, sges, sizeof(sges),
			 IBV_WC_LOC_QP_OP_ERR);
	}
	memset(&w, 0, sizeof(w));
	w.opcode = IBV_WR_SEND;
	w.send_flags = IBV_SEND_INLINE;
	w.inline_len = MAX_INLINE + 1;
	bad_send("inline_len past max_inline", type, w, body, sizeof(body),
		 IBV_WC_LOC_QP_OP_ERR);
	w.inline_len = 0xfffffff0u;
	bad_send("inline_len 0xfffffff0", type, w, body, sizeof(body),
		 IBV_WC_LOC_QP_OP_ERR);
	w.send_flags = IBV_SEND_IP_CSUM;
	w.inline_len = 0;
	bad_send("IBV_SEND_IP_CSUM (not offered)", type, w, NULL, 0,
		 IBV_WC_LOC_QP_OP_ERR);
	w.send_flags = 0x80000000u;
	bad_send("unknown send_flags bit", type, w, NULL, 0,
		 IBV_WC_LOC_QP_OP_ERR);
	w.send_flags = 0;
	w.opcode = IBV_WR_LOCAL_INV;
	bad_send("LOCAL_INV of an rkey that names no window", type, w, NULL, 0,
		 IBV_WC_LOC_QP_OP_ERR);
	w.invalidate_rkey = lkey;
	bad_send("LOCAL_INV of an MR's key (no FRMR here)", type, w, NULL, 0,
		 IBV_WC_LOC_QP_OP_ERR);
	w.send_flags = IBV_SEND_INLINE;
	w.inline_len = 8;
	bad_send("LOCAL_INV with inline data", type, w, body, 8,
		 IBV_WC_LOC_QP_OP_ERR);
	/* Window binds: malformed, then naming what is not there. */
	memset(&w, 0, sizeof(w));
	w.opcode = IBV_WR_BIND_MW;
	w.num_sge = 1;
	fill_sges(8);
	bad_send("BIND_MW with an SGE", type, w, sges, 16,
		 IBV_WC_LOC_QP_OP_ERR);
	w.num_sge = 0;
	w.bind_mw = 0xffffffffu;
	w.rkey = 0xffffffffu;
	w.bind_length = ~0ull;
	w.remote_addr = ~0ull;
	w.bind_access = ~0u;
	w.bind_lkey = lkey;
	bad_send("BIND_MW of a window that does not exist, all ones", type, w,
		 NULL, 0, IBV_WC_MW_BIND_ERR);
	w.bind_mw = 0x100;
	w.bind_access = IBV_ACCESS_REMOTE_READ;
	w.bind_length = 64;
	w.remote_addr = IOVA;
	bad_send("BIND_MW of a handle no window has", type, w, NULL, 0,
		 IBV_WC_MW_BIND_ERR);
	memset(&w, 0, sizeof(w));
	w.opcode = 0x55;
	bad_send("unknown opcode", type, w, NULL, 0, IBV_WC_LOC_QP_OP_ERR);
	/* Lengths: READ over 1 GiB in two SGEs, atomic SGE not 8 bytes. */
	w.opcode = IBV_WR_RDMA_READ;
	w.num_sge = 2;
	w.remote_addr = IOVA;
	w.rkey = lkey;
	fill_sges(0x80000000u);
	bad_send("READ of 4 GiB in two SGEs", type, w, sges, 2 * 16,
		 IBV_WC_LOC_LEN_ERR);
	w.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	w.num_sge = 1;
	fill_sges(16);
	bad_send("atomic with a 16-byte SGE", type, w, sges, 16,
		 IBV_WC_LOC_LEN_ERR);
	w.num_sge = 2;
	fill_sges(8);
	bad_send("atomic with two SGEs", type, w, sges, 32,
		 IBV_WC_LOC_QP_OP_ERR);
}

/*
 * Malformed receive WQEs (RQ, SRQ, XRC SRQ): the responder completes them
 * with LOC_QP_OP_ERR and goes to ERR; the requester gets REM_OP_ERR.
 */
static void bad_recv(const char *what, uint32_t num_sge, int where)
{
	struct xenib_send_wqe w = { .opcode = IBV_WR_SEND,
				    .send_flags = IBV_SEND_SIGNALED,
				    .num_sge = 1 };
	struct xenib_sge s = { IOVA, 8, lkey };
	struct qp a, b;
	uint64_t rid = 0x4ecd000 + num_sge % 0xfff;

	if (where == 2) {	/* XRC: our XRC_SEND to our XRC SRQ */
		up(&a, IBV_QPT_XRC_SEND, 0);
		wg_connect_qp(&g, xrecv, IBV_QPT_XRC_RECV, a.qpn, g.lid);
		post_recv_raw(xsrqh, &xsrq_prod, rid, num_sge);
		w.remote_srqn = xsrq;
		w.wr_id = 1;
		post_send(&a, &w, &s, sizeof(s));
		expect(what, rid, xrecv, IBV_WC_LOC_QP_OP_ERR);
		expect(what, 1, a.qpn, IBV_WC_REM_OP_ERR);
		drain();
		qp_destroy(&a);
		return;
	}
	qp_create(&a, 0, IBV_QPT_RC, false);
	qp_create(&b, 1, IBV_QPT_RC, where == 1);
	wg_connect_qp(&g, a.qpn, IBV_QPT_RC, b.qpn, g.lid);
	wg_connect_qp(&g, b.qpn, IBV_QPT_RC, a.qpn, g.lid);
	if (where == 1)
		post_recv_raw(srqh, &srq_prod, rid, num_sge);
	else
		post_recv_raw(b.rqh, &b.rq_prod, rid, num_sge);
	w.wr_id = 2;
	post_send(&a, &w, &s, sizeof(s));
	expect(what, rid, b.qpn, IBV_WC_LOC_QP_OP_ERR);
	expect(what, 2, a.qpn, IBV_WC_REM_OP_ERR);
	expect_err_state(what, &b);
	expect_err_state(what, &a);
	drain();
	qp_destroy(&a);
	qp_destroy(&b);
}

int main(int argc, char **argv)
{
	time_t end = time(NULL) + 300;
	static const uint32_t counts[] = { 17, 24, 32, 0xffffffffu };
	static const char *const where[] = { "RQ", "SRQ", "XRC SRQ" };
	char what[64];
	size_t i;
	int k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	srand(getpid());
	setup();
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		attack_inline_read(IBV_QPT_RC, counts[i]);
		attack_inline_read(IBV_QPT_XRC_SEND, counts[i]);
	}
	neighbours(IBV_QPT_RC);
	neighbours(IBV_QPT_XRC_SEND);
	for (k = 0; k < 3; k++)
		for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
			snprintf(what, sizeof(what), "%s WQE num_sge %u",
				 where[k], counts[i]);
			bad_recv(what, counts[i], k);
		}
	while (argc > 1 && access(argv[1], F_OK) && time(NULL) < end)
		for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
			attack_inline_read(IBV_QPT_RC, counts[i]);
			attack_inline_read(IBV_QPT_XRC_SEND, counts[i]);
		}
	wg_close(&g);
	printf("wqe_attack: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
