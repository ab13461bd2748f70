// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IB error semantics, through the whole stack (libibverbs -> xenib provider
 * -> xenibd): every error case an RC QP can meet, checked for the exact
 * ibv_wc status on each side, the QP states afterwards and the affiliated
 * asynchronous events, as a real HCA reports them.
 *
 * Two contexts of xenib0 in one process play requester (A) and responder
 * (B); their QPs are connected with ibv_modify_qp directly.  Each case
 * builds fresh CQs and QPs.  One PASS/FAIL line per check, then
 * "N passed, N failed"; the exit status is non-zero on any failure.
 *
 * Needs a running xenibd and the environment of scripts/xenib-env.sh
 * (tests/test_ib_errors.sh provides both).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#define BUF_SIZE	8192
#define QP_DEPTH	16
#define WAIT_MS		3000	/* bound of every wait for an event */
#define BAD_KEY		0xdeadbeefu

static int passed, failed;

static void result(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

/* One side: a context with a PD and a buffer registered for everything. */
struct side {
	const char *name;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	char *buf;
	struct ibv_mr *mr;
	uint16_t lid;
};

/* An endpoint: an RC QP with its own send and receive CQs. */
struct ep {
	struct side *s;
	struct ibv_cq *scq, *rcq;
	struct ibv_qp *qp;
};

/* Connection parameters of one QP. */
struct qp_opts {
	unsigned int access;		/* qp_access_flags */
	uint8_t min_rnr_timer;		/* responder's RNR NAK timer */
	uint8_t timeout, retry_cnt, rnr_retry;
};

static struct side A = { .name = "A" }, B = { .name = "B" };

static const struct qp_opts dflt = {
	.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
		  IBV_ACCESS_REMOTE_ATOMIC,
	.min_rnr_timer = 1,
	.timeout = 10,
	.retry_cnt = 2,
	.rnr_retry = 2,
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *st(enum ibv_wc_status s)
{
	return ibv_wc_status_str(s);
}

static const char *qps_name(int s)
{
	static const char *const n[] = { "RESET", "INIT", "RTR", "RTS",
					  "SQD", "SQE", "ERR" };

	return s >= 0 && s <= IBV_QPS_ERR ? n[s] : "?";
}

static bool side_open(struct side *s, struct ibv_device *dev)
{
	struct ibv_port_attr pa;
	int fl;

	s->ctx = ibv_open_device(dev);
	if (!s->ctx)
		return false;
	if (ibv_query_port(s->ctx, 1, &pa))
		return false;
	s->lid = pa.lid;
	/* get_async_event must never block: readiness comes from poll(). */
	fl = fcntl(s->ctx->async_fd, F_GETFL);
	if (fl < 0 || fcntl(s->ctx->async_fd, F_SETFL, fl | O_NONBLOCK))
		return false;
	s->pd = ibv_alloc_pd(s->ctx);
	if (!s->pd)
		return false;
	s->buf = aligned_alloc(4096, BUF_SIZE);
	if (!s->buf)
		return false;
	memset(s->buf, 0, BUF_SIZE);
	s->mr = ibv_reg_mr(s->pd, s->buf, BUF_SIZE,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC);
	return s->mr;
}

static void side_close(struct side *s)
{
	if (s->mr)
		ibv_dereg_mr(s->mr);
	if (s->pd)
		ibv_dealloc_pd(s->pd);
	if (s->ctx)
		ibv_close_device(s->ctx);
	free(s->buf);
}

static uint64_t va(const struct side *s, size_t off)
{
	return (uintptr_t)s->buf + off;
}

static bool ep_create(struct ep *e, struct side *s, int scq_entries)
{
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = QP_DEPTH,
			.max_recv_wr = QP_DEPTH,
			.max_send_sge = 2,
			.max_recv_sge = 2,
			.max_inline_data = 64,
		},
	};

	memset(e, 0, sizeof(*e));
	e->s = s;
	e->scq = ibv_create_cq(s->ctx, scq_entries, NULL, NULL, 0);
	e->rcq = ibv_create_cq(s->ctx, 32, NULL, NULL, 0);
	if (!e->scq || !e->rcq)
		return false;
	ia.send_cq = e->scq;
	ia.recv_cq = e->rcq;
	e->qp = ibv_create_qp(s->pd, &ia);
	return e->qp;
}

static void ep_destroy(struct ep *e)
{
	if (e->qp && ibv_destroy_qp(e->qp))
		result(false, "destroy QP of %s: %s", e->s->name,
		       strerror(errno));
	if (e->scq)
		ibv_destroy_cq(e->scq);
	if (e->rcq)
		ibv_destroy_cq(e->rcq);
	memset(e, 0, sizeof(*e));
}

static int qp_init(struct ibv_qp *qp, unsigned int access)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = access,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

static int rtr_mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;

static void rtr_attr(struct ibv_qp_attr *a, const struct ep *peer,
		     uint8_t min_rnr_timer)
{
	memset(a, 0, sizeof(*a));
	a->qp_state = IBV_QPS_RTR;
	a->path_mtu = IBV_MTU_1024;
	a->dest_qp_num = peer->qp->qp_num;
	a->rq_psn = 0;
	a->max_dest_rd_atomic = 1;
	a->min_rnr_timer = min_rnr_timer;
	a->ah_attr.dlid = peer->s->lid;
	a->ah_attr.port_num = 1;
}

static int qp_rtr(struct ep *e, const struct ep *peer, uint8_t min_rnr_timer)
{
	struct ibv_qp_attr a;

	rtr_attr(&a, peer, min_rnr_timer);
	return ibv_modify_qp(e->qp, &a, rtr_mask);
}

static int rts_mask = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		      IBV_QP_MAX_QP_RD_ATOMIC;

static int qp_rts(struct ep *e, const struct qp_opts *o)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTS,
		.timeout = o->timeout,
		.retry_cnt = o->retry_cnt,
		.rnr_retry = o->rnr_retry,
		.max_rd_atomic = 1,
	};

	return ibv_modify_qp(e->qp, &a, rts_mask);
}

static int qp_to(struct ibv_qp *qp, enum ibv_qp_state s)
{
	struct ibv_qp_attr a = { .qp_state = s };

	return ibv_modify_qp(qp, &a, IBV_QP_STATE);
}

/* One endpoint all the way to RTS against peer. */
static bool ep_connect(struct ep *e, const struct ep *peer,
		       const struct qp_opts *o)
{
	return !qp_init(e->qp, o->access) &&
	       !qp_rtr(e, peer, o->min_rnr_timer) && !qp_rts(e, o);
}

/* Fresh endpoints a (on A) and b (on B), connected to each other. */
static bool pair(struct ep *a, struct ep *b, const struct qp_opts *oa,
		 const struct qp_opts *ob)
{
	bool ok = ep_create(a, &A, 32) && ep_create(b, &B, 32) &&
		  ep_connect(a, b, oa) && ep_connect(b, a, ob);

	if (!ok)
		result(false, "set up a connected QP pair: %s",
		       strerror(errno));
	return ok;
}

static int qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;

	if (ibv_query_qp(qp, &a, IBV_QP_STATE, &ia))
		return -1;
	return a.qp_state;
}

static int post_send(struct ep *e, uint64_t wr_id, enum ibv_wr_opcode op,
		     uint64_t addr, uint32_t len, uint32_t lkey,
		     uint64_t raddr, uint32_t rkey)
{
	struct ibv_sge sge = { .addr = addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad = NULL;

	if (op == IBV_WR_ATOMIC_CMP_AND_SWP || op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		wr.wr.atomic.remote_addr = raddr;
		wr.wr.atomic.rkey = rkey;
		wr.wr.atomic.compare_add = 0;
		wr.wr.atomic.swap = 1;
	} else {
		wr.wr.rdma.remote_addr = raddr;
		wr.wr.rdma.rkey = rkey;
	}
	return ibv_post_send(e->qp, &wr, &bad);
}

static int post_recv(struct ep *e, uint64_t wr_id, uint64_t addr,
		     uint32_t len, uint32_t lkey)
{
	struct ibv_sge sge = { .addr = addr, .length = len, .lkey = lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = &sge,
				  .num_sge = 1 }, *bad = NULL;

	return ibv_post_recv(e->qp, &wr, &bad);
}

/* Poll cq until n completions arrived or ms passed; returns the count. */
static int wait_wc(struct ibv_cq *cq, struct ibv_wc *wc, int n, int ms)
{
	double end = now_ms() + ms;
	int got = 0;

	while (got < n) {
		int r = ibv_poll_cq(cq, n - got, wc + got);

		if (r < 0)
			return got;
		got += r;
		if (got < n) {
			if (now_ms() > end)
				break;
			usleep(200);
		}
	}
	return got;
}

/* Nothing completes on cq within ms. */
static bool no_wc(struct ibv_cq *cq, int ms)
{
	struct ibv_wc wc;

	return wait_wc(cq, &wc, 1, ms) == 0;
}

/* One completion on cq within WAIT_MS with the given wr_id and status. */
static bool expect_wc(struct ibv_cq *cq, const char *what, uint64_t wr_id,
		      enum ibv_wc_status status, struct ibv_wc *out)
{
	struct ibv_wc wc;
	bool ok;

	memset(&wc, 0, sizeof(wc));
	if (wait_wc(cq, &wc, 1, WAIT_MS) != 1) {
		result(false, "%s: %s (wr_id %llu): no completion", what,
		       st(status), (unsigned long long)wr_id);
		return false;
	}
	ok = wc.wr_id == wr_id && wc.status == status;
	result(ok, "%s: %s (wr_id %llu; got %s, wr_id %llu)", what, st(status),
	       (unsigned long long)wr_id, st(wc.status),
	       (unsigned long long)wc.wr_id);
	if (out)
		*out = wc;
	return ok;
}

static bool async_readable(struct side *s, int ms)
{
	struct pollfd p = { .fd = s->ctx->async_fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Next async event of s within ms (acknowledged); false if none. */
static bool async_next(struct side *s, int ms, struct ibv_async_event *out)
{
	struct ibv_async_event ev;
	double end = now_ms() + ms;

	for (;;) {
		double left = end - now_ms();

		if (!async_readable(s, left > 0 ? (int)left : 0))
			return false;
		if (!ibv_get_async_event(s->ctx, &ev)) {
			*out = ev;
			ibv_ack_async_event(&ev);
			return true;
		}
		if (errno != EAGAIN || now_ms() > end)
			return false;
	}
}

static void async_drain(struct side *s)
{
	struct ibv_async_event ev;

	while (async_next(s, 0, &ev))
		;
}

/* The next async event of s is type, about qp (or cq). */
static void expect_async(struct side *s, const char *what,
			 enum ibv_event_type type, struct ibv_qp *qp,
			 struct ibv_cq *cq)
{
	struct ibv_async_event ev;

	if (!async_next(s, WAIT_MS, &ev)) {
		result(false, "%s: async event %s on %s: none", what,
		       ibv_event_type_str(type), s->name);
		return;
	}
	result(ev.event_type == type &&
	       (qp ? ev.element.qp == qp : ev.element.cq == cq),
	       "%s: async event %s on %s's context (got %s)", what,
	       ibv_event_type_str(type), s->name,
	       ibv_event_type_str(ev.event_type));
}

static void expect_state(struct ibv_qp *qp, const char *who, int want)
{
	int s = qp_state(qp);

	result(s == want, "%s QP state %s (got %s)", who, qps_name(want),
	       qps_name(s));
}

static void expect_no_async(struct side *s, const char *what)
{
	struct ibv_async_event ev;
	bool got = async_next(s, 0, &ev);

	result(!got, "%s: no async event on %s%s%s", what, s->name,
	       got ? "; got " : "", got ? ibv_event_type_str(ev.event_type) : "");
}

/* ------------------------------------------------------------- cases */

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
	ep_destroy(&a);
	ep_destroy(&b);
}

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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
	ibv_dereg_mr(nolw);
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
	ep_destroy(&a);
	ep_destroy(&b);
}

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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
}

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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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
	ep_destroy(&a);
	ep_destroy(&b);
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

int main(void)
{
	struct ibv_device **list;
	struct ibv_device *dev = NULL;
	int i, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	list = ibv_get_device_list(&n);
	for (i = 0; list && i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), "xenib0"))
			dev = list[i];
	if (!dev) {
		fprintf(stderr, "xenib0 not found (is xenibd running and the environment set?)\n");
		return 2;
	}
	if (!side_open(&A, dev) || !side_open(&B, dev)) {
		fprintf(stderr, "cannot open xenib0 twice: %s\n",
			strerror(errno));
		return 2;
	}

	case_async_nonblock();
	case_send_bad_lkey();
	case_recv_too_short();
	case_recv_bad_lkey();
	case_remote_access(WF_RKEY);
	case_remote_access(WF_MR_ACCESS);
	case_remote_access(WF_QP_ACCESS);
	case_remote_access(WF_BOUNDS);
	case_remote_access(WF_READ_RKEY);
	case_remote_access(WF_ATOMIC_ACCESS);
	case_read_no_local_write();
	case_atomic_misaligned();
	case_rnr_exceeded();
	case_rnr_zero();
	case_rnr_infinite();
	case_retry_exceeded(PF_DESTROYED);
	case_retry_exceeded(PF_ERR);
	case_retry_exceeded(PF_RESET);
	case_retry_resume();
	case_cq_overrun();
	case_cq_full_error();
	case_retry_count_fresh();
	case_loopback_self();
	case_wrong_state();

	side_close(&B);
	side_close(&A);
	ibv_free_device_list(list);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
