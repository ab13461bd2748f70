// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * In-process tests of xenibd's core: handle tables, the QP state machine,
 * key translation and the WQE engine, driven through the same functions the
 * control channel calls, with rings in real shared memory.  Each check
 * prints one line; the last line is "N passed, N failed".
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"

#include "tests/common/check.h"

#define ENTRIES 8
#define BUF_SIZE 8192

struct side {
	struct xd_ctx *ctx;
	struct hv_shm page, cqmem, qpmem, buf;
	uint32_t pd, cq, qpn, lkey, region_buf;
	struct xenib_ring_hdr *cqh, *sqh, *rqh;
	uint32_t sq_prod, rq_prod, cq_cons;
	int notify_guest_fd;
};

static uint32_t map(struct side *s, struct hv_shm *m, uint32_t flags)
{
	uint32_t h = 0;
	int err = xd_region_map(s->ctx, dup(m->fd), 0, m->len / 4096, flags, &h);

	CHECK(!err, "map region: %s", strerror(err));
	return h;
}

static void side_init(struct side *s, const char *name)
{
	struct xenib_create_cq_req cq = { 0 };
	struct xenib_create_qp_req qp = { 0 };
	struct {
		struct xenib_reg_mr_req r;
		struct xenib_mr_seg seg;
	} mr = { 0 };
	uint32_t h, cqreg, qpreg;
	int bfd;

	memset(s, 0, sizeof(*s));
	s->ctx = calloc(1, sizeof(*s->ctx));
	s->ctx->sock = -1;
	s->ctx->guest = xd_guest_get(name);
	list_add_tail(&xd.ctxs, &s->ctx->link);

	hv_shm_alloc(&s->page, 4096, "xenib-test");
	map(s, &s->page, XENIB_REGION_CTX_PAGE);
	hv_notify_pair(&s->notify_guest_fd, &bfd);
	CHECK(!xd_notify_bind(s->ctx, bfd, XENIB_NOTIFY_DOORBELL, &h), "doorbell");
	hv_notify_pair(&s->notify_guest_fd, &bfd);
	CHECK(!xd_notify_bind(s->ctx, bfd, XENIB_NOTIFY_ASYNC, &h), "async");
	CHECK(!xd_pd_alloc(s->ctx, &s->pd), "pd");

	hv_shm_alloc(&s->cqmem, xr_ring_bytes(ENTRIES, 64), "xenib-test");
	cqreg = map(s, &s->cqmem, 0);
	cq.ring = (struct xenib_ring_desc){ cqreg, ENTRIES, 0, 64, 0 };
	cq.notify = XENIB_INVALID_HANDLE;
	CHECK(!xd_cq_create(s->ctx, &cq, &s->cq), "cq");
	s->cqh = s->cqmem.va;

	hv_shm_alloc(&s->qpmem, 2 * xr_ring_bytes(ENTRIES, 128), "xenib-test");
	qpreg = map(s, &s->qpmem, 0);
	qp.pd = s->pd;
	qp.qp_type = IBV_QPT_RC;
	qp.send_cq = qp.recv_cq = s->cq;
	qp.srq = XENIB_INVALID_HANDLE;
	qp.max_send_sge = 2;
	qp.max_recv_sge = 2;
	qp.max_inline = 64;
	qp.sq = (struct xenib_ring_desc){ qpreg, ENTRIES, 0, 128, 0 };
	qp.rq = (struct xenib_ring_desc){ qpreg, ENTRIES,
					  xr_ring_bytes(ENTRIES, 128), 128, 0 };
	CHECK(!xd_qp_create(s->ctx, &qp, &s->qpn), "qp");
	CHECK(s->qpn > 1 && s->qpn <= 0xffffff, "qpn 0x%x is a 24-bit QPN",
	      s->qpn);
	s->sqh = s->qpmem.va;
	s->rqh = (void *)((char *)s->qpmem.va + xr_ring_bytes(ENTRIES, 128));

	hv_shm_alloc(&s->buf, BUF_SIZE, "xenib-test");
	s->region_buf = map(s, &s->buf, 0);
	mr.r.hdr.length = sizeof(mr);
	mr.r.pd = s->pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		      IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	mr.r.iova = 0x10000000;
	mr.r.length = BUF_SIZE;
	mr.r.nsegs = 1;
	mr.seg = (struct xenib_mr_seg){ s->region_buf, 0, 0, BUF_SIZE };
	CHECK(!xd_mr_reg(s->ctx, &mr.r, sizeof(mr), &s->lkey), "reg mr");
}

static int modify(struct side *s, uint32_t mask, struct xenib_qp_attr *a)
{
	struct xenib_modify_qp_req req = { .qpn = s->qpn, .attr_mask = mask };

	req.attr = *a;
	return xd_qp_modify(s->ctx, &req);
}

static void connect_qp(struct side *s, struct side *peer, uint8_t rnr_retry,
		       uint32_t access)
{
	struct xenib_qp_attr a = { 0 };

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = access;
	CHECK(!modify(s, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		      IBV_QP_ACCESS_FLAGS, &a), "RESET->INIT");
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = peer->qpn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	a.ah.dlid = peer->ctx->guest->lid;
	a.ah.port_num = 1;
	CHECK(!modify(s, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, &a),
	      "INIT->RTR");
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 2;
	a.rnr_retry = rnr_retry;
	a.max_rd_atomic = 1;
	CHECK(!modify(s, IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		      IBV_QP_MAX_QP_RD_ATOMIC, &a), "RTR->RTS");
}

static void post_send(struct side *s, uint64_t wr_id, uint32_t opcode,
		      uint64_t addr, uint32_t len, uint32_t lkey,
		      uint64_t raddr, uint32_t rkey)
{
	char *e = xr_entry(s->sqh, s->sq_prod, ENTRIES, 128);
	struct xenib_send_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));

	memset(e, 0, 128);
	w->wr_id = wr_id;
	w->opcode = opcode;
	w->send_flags = IBV_SEND_SIGNALED;
	w->num_sge = 1;
	w->remote_addr = raddr;
	w->rkey = rkey;
	sge->addr = addr;
	sge->length = len;
	sge->lkey = lkey;
	xr_store_release(&s->sqh->prod, ++s->sq_prod);
}

static void post_recv(struct side *s, uint64_t wr_id, uint64_t addr,
		      uint32_t len, uint32_t lkey)
{
	char *e = xr_entry(s->rqh, s->rq_prod, ENTRIES, 128);
	struct xenib_recv_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));

	w->wr_id = wr_id;
	w->num_sge = 1;
	sge->addr = addr;
	sge->length = len;
	sge->lkey = lkey;
	xr_store_release(&s->rqh->prod, ++s->rq_prod);
}

/* Pop one CQE; false if none. */
static bool poll_one(struct side *s, struct xenib_cqe *cqe)
{
	if (xr_load_acquire(&s->cqh->prod) == s->cq_cons)
		return false;
	memcpy(cqe, xr_entry(s->cqh, s->cq_cons, ENTRIES, 64), sizeof(*cqe));
	xr_store_release(&s->cqh->cons, ++s->cq_cons);
	return true;
}

static void run_engine(void)
{
	uint64_t next = UINT64_MAX;

	xd.now_ns = xd_now_ns();
	xd_engine_poll(&next);
}

static uint32_t async_event(struct side *s, uint32_t *handle)
{
	struct xenib_ctx_page *p = s->page.va;
	uint32_t cons = xr_load_relaxed(&p->async_cons);
	struct xenib_async_event ev;

	if (xr_load_acquire(&p->async_prod) == cons)
		return 0;
	ev = p->async_ev[cons & (XENIB_ASYNC_RING - 1)];
	xr_store_release(&p->async_cons, cons + 1);
	if (handle)
		*handle = ev.handle;
	return ev.event_type;
}

static void test_handles(void)
{
	struct xd_table t;
	struct xd_handle a, b, c;
	uint32_t old;

	xd_table_init(&t, "test", 2);
	CHECK(!xd_table_add(&t, &a) && !xd_table_add(&t, &b), "two handles");
	CHECK(xd_table_add(&t, &c) == ENOMEM, "limit enforced");
	CHECK(xd_table_get(&t, a.id) == &a && xd_table_get(&t, b.id) == &b,
	      "lookup");
	old = a.id;
	xd_table_del(&t, &a);
	CHECK(!xd_table_get(&t, old), "deleted handle no longer resolves");
	CHECK(!xd_table_add(&t, &c) && c.id != old,
	      "reused slot gets a new generation (0x%x vs 0x%x)", c.id, old);
	CHECK(!xd_table_get(&t, old), "stale handle misses the new object");
	CHECK(!xd_table_get(&t, 0) && !xd_table_get(&t, XENIB_INVALID_HANDLE),
	      "0 and INVALID never resolve");
	free(t.slot);
	free(t.gen);
}

static void test_state_machine(void)
{
	const uint32_t init = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			      IBV_QP_ACCESS_FLAGS;

	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
				      init), "RC RESET->INIT");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
				     init & ~IBV_QP_PORT) == EINVAL,
	      "RESET->INIT without PORT is rejected");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_INIT,
				     init | IBV_QP_SQ_PSN) == EINVAL,
	      "RESET->INIT with a foreign attribute is rejected");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RESET, IBV_QPS_RTR,
				     IBV_QP_STATE) == EINVAL,
	      "RESET->RTR does not exist");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_INIT, IBV_QPS_RTR,
				     IBV_QP_STATE | IBV_QP_AV) == EINVAL,
	      "INIT->RTR needs its attributes");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_ERR,
				      IBV_QP_STATE), "RTS->ERR");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_ERR, IBV_QPS_RESET,
				      IBV_QP_STATE), "ERR->RESET");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_ERR, IBV_QPS_RTS,
				     IBV_QP_STATE) == EINVAL, "ERR->RTS rejected");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_SQE, IBV_QPS_RTS,
				     IBV_QP_STATE) == EINVAL,
	      "RC has no SQE state");
	CHECK(!xd_qp_check_transition(IBV_QPT_UC, IBV_QPS_SQE, IBV_QPS_RTS,
				      IBV_QP_STATE), "UC SQE->RTS");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_SQD,
				      IBV_QP_STATE), "RTS->SQD");
	CHECK(!xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_SQD, IBV_QPS_RTS,
				      IBV_QP_STATE), "SQD->RTS");
	CHECK(xd_qp_check_transition(IBV_QPT_RC, IBV_QPS_RTS, IBV_QPS_ERR,
				     IBV_QP_STATE | IBV_QP_PORT) == EINVAL,
	      "to-ERR takes no attributes");
}

static void test_translate(struct side *a, struct side *b)
{
	struct xd_pd *pd = xd_pd_lookup(a->ctx, a->pd);
	struct xd_pd *bpd = xd_pd_lookup(b->ctx, b->pd);
	const uint64_t base = 0x10000000;

	char *v = xd_mr_translate(a->lkey, pd, base, BUF_SIZE, 0);

	/* The backend's view and the guest's mapping are the same pages. */
	memcpy((char *)a->buf.va + 100, "same page", 10);
	CHECK(v && !memcmp(v + 100, "same page", 10),
	      "MR view reaches the guest's pages");
	CHECK(xd_mr_translate(a->lkey, pd, base + 100, 10, 0) == v + 100,
	      "offset translates");
	CHECK(!xd_mr_translate(a->lkey, pd, base - 1, 10, 0), "below MR");
	CHECK(!xd_mr_translate(a->lkey, pd, base + BUF_SIZE - 4, 5, 0),
	      "past MR end");
	CHECK(!xd_mr_translate(a->lkey, pd, base, (uint64_t)-1, 0),
	      "huge length");
	CHECK(!xd_mr_translate(a->lkey, bpd, base, 8, 0),
	      "key used through another guest's PD");
	CHECK(!xd_mr_translate(a->lkey ^ 0x100, pd, base, 8, 0), "wrong key");
	CHECK(!xd_mr_translate(a->lkey + 1, pd, base, 8, 0),
	      "wrong key generation");
}

static void test_send_recv(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;

	memcpy(a->buf.va, "hello, xenib", 13);
	post_recv(b, 77, base + 100, 64, b->lkey);
	post_send(a, 42, IBV_WR_SEND, base, 13, a->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RECV && cqe.wr_id == 77 &&
	      cqe.byte_len == 13 && cqe.qp_num == b->qpn &&
	      cqe.src_qp == a->qpn && cqe.slid == a->ctx->guest->lid,
	      "receive completion fields");
	CHECK(!memcmp((char *)b->buf.va + 100, "hello, xenib", 13),
	      "payload landed in the receiver's pages");
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_SEND && cqe.wr_id == 42,
	      "send completion");

	/* RDMA write into B, then read it back. */
	memcpy(a->buf.va, "written!", 8);
	post_send(a, 43, IBV_WR_RDMA_WRITE, base, 8, a->lkey, base + 4096,
		  b->lkey);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RDMA_WRITE, "rdma write completion");
	CHECK(!memcmp((char *)b->buf.va + 4096, "written!", 8),
	      "rdma write data");
	post_send(a, 44, IBV_WR_RDMA_READ, base + 2048, 8, a->lkey,
		  base + 4096, b->lkey);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RDMA_READ && cqe.byte_len == 8 &&
	      !memcmp((char *)a->buf.va + 2048, "written!", 8), "rdma read");
	CHECK(!poll_one(b, &cqe), "one-sided ops leave no responder CQE");
}

static void test_errors(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;

	/* RNR: no receive posted, rnr_retry 1 -> one RNR timer, then
	 * RNR_RETRY_EXC_ERR. */
	xd_qp_find(a->qpn)->attr.rnr_retry = 1;
	post_send(a, 50, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	run_engine();
	CHECK(!poll_one(a, &cqe), "RNR NAK: nothing completes at once");
	usleep(100);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_RNR_RETRY_EXC_ERR &&
	      cqe.wr_id == 50, "RNR retries exhausted (status %u)",
	      cqe.status);
	CHECK(xd_qp_find(a->qpn)->attr.qp_state == IBV_QPS_ERR,
	      "requester QP in ERR");
	post_send(a, 51, IBV_WR_SEND, base, 8, a->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_WR_FLUSH_ERR &&
	      cqe.wr_id == 51, "WR posted in ERR is flushed");
	CHECK(!poll_one(a, &cqe), "no duplicate completion");
}

static void test_hostile(struct side *a, struct side *b, struct side *c)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;
	uint32_t h;

	/* Another guest's lkey is not ours. */
	post_recv(c, 60, base, 64, c->lkey);
	post_send(b, 61, IBV_WR_SEND, base, 8, c->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_LOC_PROT_ERR,
	      "foreign lkey -> LOC_PROT_ERR (got %u)", cqe.status);

	/* A corrupt producer index breaks only the guest's own QP. */
	xr_store_release(&c->sqh->prod, c->sq_prod + 1000);
	run_engine();
	CHECK(xd_qp_find(c->qpn)->attr.qp_state == IBV_QPS_ERR,
	      "corrupt SQ index puts the QP in ERR");
	CHECK(async_event(c, &h) == IBV_EVENT_QP_FATAL && h == c->qpn,
	      "QP_FATAL async event");

	/* Handles of another guest are not found. */
	CHECK(xd_pd_dealloc(a->ctx, c->pd) == ENOENT, "foreign PD");
	CHECK(xd_qp_destroy(a->ctx, c->qpn) == ENOENT, "foreign QP");
	CHECK(xd_mr_dereg(a->ctx, c->lkey) == ENOENT, "foreign MR");
	CHECK(xd_region_unmap(c->ctx, c->region_buf) == EBUSY,
	      "region in use by an MR cannot be unmapped");
}

/* Our SQ/RQ consumer index equals the guest's producer index. */
static bool rings_drained(const struct side *s)
{
	return xr_load_acquire(&s->sqh->cons) == s->sq_prod &&
	       xr_load_acquire(&s->rqh->cons) == s->rq_prod;
}

/* A QP connected to itself fails as responder and requester at once. */
static void test_loopback_error(struct side *d)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;
	int sends = 0, recvs = 0;

	post_recv(d, 80, base, 64, d->lkey ^ 0x100);	/* bad lkey */
	post_send(d, 81, IBV_WR_SEND, base, 8, d->lkey, 0, 0);
	run_engine();
	while (poll_one(d, &cqe)) {
		if (cqe.wr_id == 80)
			recvs += cqe.status == IBV_WC_LOC_PROT_ERR;
		else if (cqe.wr_id == 81)
			sends++;
	}
	CHECK(recvs == 1 && sends == 1,
	      "loopback QP: one LOC_PROT_ERR receive, one send completion (%d, %d)",
	      recvs, sends);
	CHECK(rings_drained(d), "loopback QP: ring indices sane after error");
	post_send(d, 82, IBV_WR_SEND, base, 8, d->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(d, &cqe) && cqe.wr_id == 82 &&
	      cqe.status == IBV_WC_WR_FLUSH_ERR && !poll_one(d, &cqe) &&
	      rings_drained(d), "loopback QP: later WR flushed once");
}

/* rnr_retry 0: the first RNR NAK fails the WQE, without waiting. */
static void test_rnr_zero(struct side *i, struct side *j)
{
	const uint64_t base = 0x10000000;
	struct xenib_cqe cqe;

	post_send(i, 95, IBV_WR_SEND, base, 8, i->lkey, 0, 0);
	run_engine();
	CHECK(poll_one(i, &cqe) && cqe.wr_id == 95 &&
	      cqe.status == IBV_WC_RNR_RETRY_EXC_ERR,
	      "rnr_retry 0: RNR_RETRY_EXC_ERR at the first RNR NAK");
	CHECK(xd_qp_find(j->qpn)->attr.qp_state == IBV_QPS_RTS,
	      "RNR leaves the responder alone");
}

/* A retry that ended well leaves no count behind for the next WQE. */
static void test_retry_fresh(struct side *e, struct side *f)
{
	const uint64_t base = 0x10000000;
	struct xd_qp *fq = xd_qp_find(f->qpn);
	struct xenib_cqe cqe;
	int i;

	fq->attr.qp_state = IBV_QPS_INIT;	/* not ready: requester retries */
	post_send(e, 90, IBV_WR_RDMA_READ, base, 8, e->lkey, base, f->lkey);
	run_engine();
	for (i = 0; i < 2; i++) {	/* two of retry_cnt 2 retries spent */
		usleep(20);
		run_engine();
	}
	CHECK(!poll_one(e, &cqe), "READ still retrying");
	fq->attr.qp_state = IBV_QPS_RTS;
	usleep(20);	/* past the retry timer */
	run_engine();
	CHECK(poll_one(e, &cqe) && cqe.wr_id == 90 &&
	      cqe.status == IBV_WC_SUCCESS, "READ succeeds once peer is ready");
	fq->attr.qp_state = IBV_QPS_ERR;
	post_send(e, 91, IBV_WR_SEND, base, 8, e->lkey, 0, 0);
	run_engine();
	CHECK(!poll_one(e, &cqe),
	      "next WQE gets a fresh retry budget (got status %u at once)",
	      cqe.status);
	for (i = 0; i < 50 && !poll_one(e, &cqe); i++) {
		usleep(20);
		run_engine();
	}
	CHECK(cqe.wr_id == 91 && cqe.status == IBV_WC_RETRY_EXC_ERR,
	      "RETRY_EXC_ERR after the retries (status %u)", cqe.status);
}

/* An error completion that finds the CQ full. */
static void test_cq_full_error(struct side *g, struct side *h)
{
	const uint64_t base = 0x10000000;
	uint32_t handle = 0;
	int i;

	for (i = 0; i < ENTRIES; i++)
		post_send(g, 100 + i, IBV_WR_RDMA_WRITE, base, 8, g->lkey,
			  base, h->lkey);
	run_engine();
	CHECK(xr_load_acquire(&g->cqh->prod) - g->cq_cons == ENTRIES,
	      "CQ full, not yet overrun");
	post_send(g, 200, IBV_WR_RDMA_WRITE, base, 8, g->lkey ^ 0x100, base,
		  h->lkey);
	run_engine();
	CHECK(async_event(g, &handle) == IBV_EVENT_CQ_ERR && handle == g->cq,
	      "error CQE into a full CQ: CQ_ERR");
	CHECK(xd_qp_find(g->qpn)->attr.qp_state == IBV_QPS_ERR,
	      "QP in ERR after the overrun");
	CHECK(rings_drained(g), "SQ index sane after an overrun on error (cons %u, prod %u)",
	      xr_load_acquire(&g->sqh->cons), g->sq_prod);
}

static void test_teardown(struct side *s)
{
	long qps = xd.stats.qps, mrs = xd.stats.mrs;

	xd_ctx_destroy(s->ctx);
	CHECK(xd.stats.qps == qps - 1 && xd.stats.mrs == mrs - 1,
	      "context teardown frees its QP and MR");
}

/* ------------------------------------------------------------------ */
/* UD, UC and SRQ: extra QPs on the sides' contexts, PDs and CQs.       */

struct tqp {
	struct side *s;
	struct hv_shm mem;
	uint32_t qpn;
	struct xenib_ring_hdr *sqh, *rqh;
	uint32_t sq_prod, rq_prod;
};

static int tqp_create(struct tqp *q, struct side *s, uint32_t type,
		      uint32_t srq)
{
	struct xenib_create_qp_req req = { 0 };
	uint32_t reg;
	int err;

	memset(q, 0, sizeof(*q));
	q->s = s;
	hv_shm_alloc(&q->mem, 2 * xr_ring_bytes(ENTRIES, 128), "xenib-test");
	reg = map(s, &q->mem, 0);
	req.pd = s->pd;
	req.qp_type = type;
	req.send_cq = req.recv_cq = s->cq;
	req.srq = srq;
	req.max_send_sge = 2;
	req.max_inline = 64;
	req.sq = (struct xenib_ring_desc){ reg, ENTRIES, 0, 128, 0 };
	if (srq == XENIB_INVALID_HANDLE) {
		req.max_recv_sge = 2;
		req.rq = (struct xenib_ring_desc){ reg, ENTRIES,
			xr_ring_bytes(ENTRIES, 128), 128, 0 };
	}
	err = xd_qp_create(s->ctx, &req, &q->qpn);
	q->sqh = q->mem.va;
	q->rqh = (void *)((char *)q->mem.va + xr_ring_bytes(ENTRIES, 128));
	return err;
}

static void tqp_destroy(struct tqp *q)
{
	CHECK(!xd_qp_destroy(q->s->ctx, q->qpn), "destroy test QP 0x%x",
	      q->qpn);
}

static int tqp_modify(struct tqp *q, uint32_t mask, struct xenib_qp_attr *a)
{
	struct xenib_modify_qp_req req = { .qpn = q->qpn, .attr_mask = mask };

	req.attr = *a;
	return xd_qp_modify(q->s->ctx, &req);
}

/* A zeroed send WQE with one SGE at the SQ head; tqp_send_go posts it. */
static struct xenib_send_wqe *tqp_wqe(struct tqp *q, uint64_t wr_id,
				      uint32_t opcode, uint64_t addr,
				      uint32_t len)
{
	char *e = xr_entry(q->sqh, q->sq_prod, ENTRIES, 128);
	struct xenib_send_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));

	memset(e, 0, 128);
	w->wr_id = wr_id;
	w->opcode = opcode;
	w->send_flags = IBV_SEND_SIGNALED;
	w->num_sge = 1;
	sge->addr = addr;
	sge->length = len;
	sge->lkey = q->s->lkey;
	return w;
}

static void tqp_send_go(struct tqp *q)
{
	xr_store_release(&q->sqh->prod, ++q->sq_prod);
}

static void ring_recv(struct xenib_ring_hdr *h, uint32_t *prod,
		      uint32_t stride, uint64_t wr_id, uint64_t addr,
		      uint32_t len, uint32_t lkey)
{
	char *e = xr_entry(h, *prod, ENTRIES, stride);
	struct xenib_recv_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));

	w->wr_id = wr_id;
	w->num_sge = 1;
	sge->addr = addr;
	sge->length = len;
	sge->lkey = lkey;
	xr_store_release(&h->prod, ++*prod);
}

static void ud_up(struct tqp *q, uint32_t qkey)
{
	struct xenib_qp_attr a = { 0 };

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qkey = qkey;
	CHECK(tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT,
			 &a) == EINVAL, "UD RESET->INIT requires QKEY");
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			  IBV_QP_QKEY, &a), "UD RESET->INIT");
	a.qp_state = IBV_QPS_RTR;
	CHECK(!tqp_modify(q, IBV_QP_STATE, &a), "UD INIT->RTR");
	a.qp_state = IBV_QPS_RTS;
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_SQ_PSN, &a), "UD RTR->RTS");
}

static void conn_up(struct tqp *q, struct tqp *peer, uint32_t type)
{
	struct xenib_qp_attr a = { 0 };
	uint32_t rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	uint32_t rts = IBV_QP_STATE | IBV_QP_SQ_PSN;

	if (type == IBV_QPT_RC) {
		rtr |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
		rts |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC;
	}
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			  IBV_QP_ACCESS_FLAGS, &a), "RESET->INIT (type %u)",
	      type);
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = peer->qpn;
	a.min_rnr_timer = 1;
	a.ah.dlid = peer->s->ctx->guest->lid;
	a.ah.port_num = 1;
	CHECK(!tqp_modify(q, rtr, &a), "INIT->RTR (type %u)", type);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 1;
	CHECK(!tqp_modify(q, rts, &a), "RTR->RTS (type %u)", type);
}

static int make_ah(struct side *s, uint32_t pd, const struct xenib_ah_attr *a,
		   uint32_t *h)
{
	struct xenib_create_ah_req req = { .pd = pd, .ah = *a };

	return xd_ah_create(s->ctx, &req, h);
}

static void drain(struct side *s)
{
	struct xenib_cqe cqe;

	while (poll_one(s, &cqe))
		;
}

static void test_ud(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_ah_attr av = { .dlid = b->ctx->guest->lid, .port_num = 1 };
	struct xenib_ah_attr bad;
	struct xenib_send_wqe *w;
	struct xenib_cqe cqe;
	struct tqp ua, ub;
	uint32_t ah, gah, h;
	uint64_t guid_be = htobe64(b->ctx->guest->guid);
	long ahs = xd.stats.ahs;
	char *rb = (char *)b->buf.va + 1024;

	bad = av;
	bad.port_num = 2;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH on port 2");
	bad = av;
	bad.sl = 16;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH with sl 16");
	bad = av;
	bad.dlid = 0;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH without LID or GRH");
	bad.is_global = 1;
	bad.sgid_index = 1;
	CHECK(make_ah(a, a->pd, &bad, &h) == EINVAL, "AH with sgid_index 1");
	CHECK(make_ah(a, b->pd, &av, &h) == ENOENT, "AH on a foreign PD");
	CHECK(!make_ah(a, a->pd, &av, &ah), "AH by LID");
	bad.sgid_index = 0;
	bad.hop_limit = 64;
	bad.dgid[0] = 0xfe;
	bad.dgid[1] = 0x80;
	memcpy(&bad.dgid[8], &guid_be, 8);
	CHECK(!make_ah(a, a->pd, &bad, &gah), "AH by GID only");
	CHECK(xd.stats.ahs == ahs + 2, "stats count AHs");

	CHECK(!tqp_create(&ua, a, IBV_QPT_UD, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&ub, b, IBV_QPT_UD, XENIB_INVALID_HANDLE),
	      "UD QPs");
	ud_up(&ua, 0x1234);
	ud_up(&ub, 0x1234);

	memcpy(a->buf.va, "datagram!", 10);
	ring_recv(ub.rqh, &ub.rq_prod, 128, 80, base + 1024, 40 + 64, b->lkey);
	w = tqp_wqe(&ua, 81, IBV_WR_SEND_WITH_IMM, base, 10);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x1234;
	w->imm_data = htonl(7);
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.opcode == IBV_WC_RECV && cqe.wr_id == 80 &&
	      cqe.byte_len == 40 + 10 && cqe.qp_num == ub.qpn &&
	      cqe.src_qp == ua.qpn && cqe.slid == a->ctx->guest->lid &&
	      cqe.wc_flags == IBV_WC_WITH_IMM && cqe.imm_data == htonl(7),
	      "UD receive CQE (len %u flags %u)", cqe.byte_len, cqe.wc_flags);
	CHECK(!memcmp(rb + 40, "datagram!", 10), "UD data after the GRH room");
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 81 && cqe.opcode == IBV_WC_SEND, "UD send CQE");

	/* Wrong Q_Key: dropped, the sender still succeeds. */
	ring_recv(ub.rqh, &ub.rq_prod, 128, 82, base + 1024, 40 + 64, b->lkey);
	w = tqp_wqe(&ua, 83, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x4321;
	tqp_send_go(&ua);
	run_engine();
	CHECK(!poll_one(b, &cqe), "wrong Q_Key: datagram dropped");
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 83, "wrong Q_Key: sender completes");

	/* High bit: the QP's own Q_Key; GID-only AH: GRH written. */
	memset(rb, 0, 40);
	w = tqp_wqe(&ua, 84, IBV_WR_SEND, base, 10);
	w->ah = gah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x80000000u;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 82 && cqe.wc_flags == IBV_WC_GRH,
	      "GRH flag, QP's own Q_Key used (flags %u)", cqe.wc_flags);
	CHECK((uint8_t)rb[0] == 0x60 && (uint8_t)rb[6] == 0x1b &&
	      !memcmp(rb + 24, bad.dgid, 16), "GRH: version, next header, dgid");
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 84, "sender CQE");

	/* No receive WQE: dropped (no RNR for UD); unknown QPN likewise. */
	w = tqp_wqe(&ua, 85, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	w->remote_qkey = 0x1234;
	tqp_send_go(&ua);
	w = tqp_wqe(&ua, 86, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = 0xfffff0;
	w->remote_qkey = 0x1234;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.status == IBV_WC_SUCCESS &&
	      cqe.wr_id == 85 && poll_one(a, &cqe) &&
	      cqe.status == IBV_WC_SUCCESS && cqe.wr_id == 86 &&
	      !poll_one(b, &cqe), "no RQ WQE / no QP: silently dropped");

	/* Another guest's AH handle is not usable. */
	w = tqp_wqe(&ub, 87, IBV_WR_SEND, base, 10);
	w->ah = ah;
	w->remote_qpn = ua.qpn;
	tqp_send_go(&ub);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 87 &&
	      cqe.status == IBV_WC_LOC_QP_OP_ERR, "foreign AH handle (%u)",
	      cqe.status);
	drain(b);

	/* More than one MTU: local length error. */
	w = tqp_wqe(&ua, 88, IBV_WR_SEND, base, XENIB_UD_MAX_MSG + 1);
	w->ah = ah;
	w->remote_qpn = ub.qpn;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 88 &&
	      cqe.status == IBV_WC_LOC_LEN_ERR, "UD message > MTU (%u)",
	      cqe.status);
	drain(a);

	CHECK(!xd_ah_destroy(a->ctx, ah) && !xd_ah_destroy(a->ctx, gah) &&
	      xd_ah_destroy(a->ctx, ah) == ENOENT, "AH destroy");
	CHECK(xd.stats.ahs == ahs, "AH stats back");
	tqp_destroy(&ua);
	tqp_destroy(&ub);
}

static void test_uc(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_send_wqe *w;
	struct xenib_cqe cqe;
	struct tqp ua, ub;

	CHECK(!tqp_create(&ua, a, IBV_QPT_UC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&ub, b, IBV_QPT_UC, XENIB_INVALID_HANDLE),
	      "UC QPs");
	conn_up(&ua, &ub, IBV_QPT_UC);
	conn_up(&ub, &ua, IBV_QPT_UC);

	memcpy(a->buf.va, "uc send", 8);
	ring_recv(ub.rqh, &ub.rq_prod, 128, 90, base + 512, 64, b->lkey);
	tqp_wqe(&ua, 91, IBV_WR_SEND, base, 8);
	tqp_send_go(&ua);
	/* A second SEND finds no receive WQE: dropped, no RNR. */
	tqp_wqe(&ua, 92, IBV_WR_SEND, base, 8);
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 90 &&
	      cqe.status == IBV_WC_SUCCESS && cqe.byte_len == 8 &&
	      !memcmp((char *)b->buf.va + 512, "uc send", 8), "UC send");
	CHECK(!poll_one(b, &cqe), "UC: second send dropped");
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 91 && poll_one(a, &cqe) &&
	      cqe.wr_id == 92 && cqe.status == IBV_WC_SUCCESS,
	      "UC: both sends complete successfully");

	memcpy(a->buf.va, "uc write", 9);
	w = tqp_wqe(&ua, 93, IBV_WR_RDMA_WRITE, base, 9);
	w->remote_addr = base + 6000;
	w->rkey = b->lkey;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 93 &&
	      cqe.status == IBV_WC_SUCCESS &&
	      !memcmp((char *)b->buf.va + 6000, "uc write", 9), "UC write");

	w = tqp_wqe(&ua, 94, IBV_WR_RDMA_READ, base, 8);
	w->remote_addr = base;
	w->rkey = b->lkey;
	tqp_send_go(&ua);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 94 &&
	      cqe.status == IBV_WC_LOC_QP_OP_ERR, "UC RDMA read rejected (%u)",
	      cqe.status);
	drain(a);
	drain(b);
	tqp_destroy(&ua);
	tqp_destroy(&ub);
}

static void test_srq(struct side *a, struct side *b)
{
	const uint64_t base = 0x10000000;
	struct xenib_create_srq_req req = { 0 };
	struct xenib_modify_srq_req mod = { 0 };
	struct xenib_query_srq_resp q;
	struct xenib_ring_hdr *sh;
	struct xenib_cqe cqe;
	struct hv_shm mem;
	struct tqp a1, a2, b1, b2, bad;
	uint32_t srq, h, prod = 0, cons;
	long srqs = xd.stats.srqs;
	int i;

	hv_shm_alloc(&mem, xr_ring_bytes(ENTRIES, 64), "xenib-test");
	req.pd = b->pd;
	req.srq_type = IBV_SRQT_BASIC;
	req.max_sge = 1;
	req.xrcd = req.cq = XENIB_INVALID_HANDLE;
	req.ring = (struct xenib_ring_desc){ map(b, &mem, 0), ENTRIES, 0, 64,
					     0 };
	req.srq_type = IBV_SRQT_XRC;
	CHECK(xd_srq_create(b->ctx, &req, &srq) == ENOENT,
	      "XRC SRQ without an XRC domain: ENOENT");
	req.srq_type = IBV_SRQT_BASIC;
	req.srq_limit = ENTRIES;
	CHECK(xd_srq_create(b->ctx, &req, &srq) == EINVAL,
	      "srq_limit >= entries");
	req.srq_limit = 0;
	CHECK(!xd_srq_create(b->ctx, &req, &srq), "create SRQ");
	CHECK(xd.stats.srqs == srqs + 1, "stats count SRQs");
	sh = mem.va;

	CHECK(tqp_create(&bad, a, IBV_QPT_RC, srq) == ENOENT,
	      "another guest's SRQ");
	CHECK(!tqp_create(&a1, a, IBV_QPT_RC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&a2, a, IBV_QPT_UC, XENIB_INVALID_HANDLE) &&
	      !tqp_create(&b1, b, IBV_QPT_RC, srq) &&
	      !tqp_create(&b2, b, IBV_QPT_UC, srq), "QPs on the SRQ");
	conn_up(&a1, &b1, IBV_QPT_RC);
	conn_up(&b1, &a1, IBV_QPT_RC);
	conn_up(&a2, &b2, IBV_QPT_UC);
	conn_up(&b2, &a2, IBV_QPT_UC);
	CHECK(xd_srq_destroy(b->ctx, srq) == EBUSY, "SRQ in use: EBUSY");

	for (i = 0; i < 3; i++)
		ring_recv(sh, &prod, 64, 100 + i, base + 256 * i, 64, b->lkey);
	mod.handle = srq;
	mod.attr_mask = IBV_SRQ_MAX_WR;
	mod.max_wr = 16;
	CHECK(xd_srq_modify(b->ctx, &mod) == EOPNOTSUPP, "SRQ resize");
	mod.attr_mask = IBV_SRQ_LIMIT;
	mod.srq_limit = 2;
	CHECK(!xd_srq_modify(b->ctx, &mod), "arm SRQ limit 2");

	memcpy(a->buf.va, "via srq", 8);
	tqp_wqe(&a1, 110, IBV_WR_SEND, base, 8);
	tqp_send_go(&a1);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 100 && cqe.qp_num == b1.qpn,
	      "RC receive from the SRQ");
	CHECK(!async_event(b, NULL), "2 WQEs left: limit not reached");
	tqp_wqe(&a2, 111, IBV_WR_SEND, base, 8);
	tqp_send_go(&a2);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 101 && cqe.qp_num == b2.qpn &&
	      !memcmp((char *)b->buf.va + 256, "via srq", 8),
	      "UC receive from the same SRQ");
	CHECK(async_event(b, &h) == IBV_EVENT_SRQ_LIMIT_REACHED && h == srq,
	      "SRQ_LIMIT_REACHED with the SRQ handle");
	CHECK(!xd_srq_query(b->ctx, srq, &q) && q.srq_limit == 0 &&
	      q.max_wr == ENTRIES && q.max_sge == 1, "limit disarmed");
	drain(a);

	/* A QP on the SRQ going to ERR does not flush the shared WQEs. */
	cons = xr_load_acquire(&sh->cons);
	xd_qp_to_error(xd_qp_find(b2.qpn), 0);
	CHECK(async_event(b, &h) == IBV_EVENT_QP_LAST_WQE_REACHED &&
	      h == b2.qpn, "LAST_WQE_REACHED");
	CHECK(xr_load_acquire(&sh->cons) == cons && !poll_one(b, &cqe),
	      "SRQ not flushed by a QP error");
	tqp_wqe(&a1, 112, IBV_WR_SEND, base, 8);
	tqp_send_go(&a1);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 102 && cqe.qp_num == b1.qpn,
	      "the other QP still receives from the SRQ");
	drain(a);
	drain(b);

	tqp_destroy(&a1);
	tqp_destroy(&a2);
	tqp_destroy(&b1);
	tqp_destroy(&b2);
	CHECK(!xd_srq_destroy(b->ctx, srq), "destroy SRQ");
	CHECK(xd.stats.srqs == srqs, "SRQ stats back");
	hv_shm_release(&mem, 1);
}

/* ------------------------------------------------------------------ */
/* XRC: domains, XRC SRQs, XRC_SEND -> XRC_RECV                         */

static int xrcd_open(struct side *s, uint32_t flags, uint64_t dev,
		     uint64_t ino, uint32_t *h)
{
	struct xenib_open_xrcd_req req = { .flags = flags, .dev = dev,
					   .ino = ino };

	return xd_xrcd_open(s->ctx, &req, h);
}

static int xrc_srq(struct side *s, struct hv_shm *mem, uint32_t xrcd,
		   uint32_t *srq)
{
	struct xenib_create_srq_req req = { 0 };

	hv_shm_alloc(mem, xr_ring_bytes(ENTRIES, 64), "xenib-test");
	req.pd = s->pd;
	req.srq_type = IBV_SRQT_XRC;
	req.max_sge = 1;
	req.xrcd = xrcd;
	req.cq = s->cq;
	req.ring = (struct xenib_ring_desc){ map(s, mem, 0), ENTRIES, 0, 64,
					     0 };
	return xd_srq_create(s->ctx, &req, srq);
}

static int xrc_recv_qp(struct side *s, uint32_t xrcd, struct tqp *q)
{
	struct xenib_create_qp_req req = { 0 };

	memset(q, 0, sizeof(*q));
	q->s = s;
	req.qp_type = IBV_QPT_XRC_RECV;
	req.pd = req.send_cq = req.recv_cq = req.srq = XENIB_INVALID_HANDLE;
	req.xrcd = xrcd;
	return xd_qp_create(s->ctx, &req, &q->qpn);
}

static int xrc_send_qp(struct side *s, struct tqp *q)
{
	struct xenib_create_qp_req req = { 0 };

	memset(q, 0, sizeof(*q));
	q->s = s;
	hv_shm_alloc(&q->mem, xr_ring_bytes(ENTRIES, 128), "xenib-test");
	req.pd = s->pd;
	req.qp_type = IBV_QPT_XRC_SEND;
	req.send_cq = s->cq;
	req.recv_cq = req.srq = XENIB_INVALID_HANDLE;
	req.max_send_sge = 2;
	req.max_inline = 64;
	req.sq = (struct xenib_ring_desc){ map(s, &q->mem, 0), ENTRIES, 0,
					   128, 0 };
	q->sqh = q->mem.va;
	return xd_qp_create(s->ctx, &req, &q->qpn);
}

/* The kernel's XRC_INI / XRC_TGT attribute sets (ibv_modify_qp(3)). */
static void xrc_up(struct tqp *q, struct tqp *peer, bool send)
{
	struct xenib_qp_attr a = { 0 };
	uint32_t rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	uint32_t rts = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT;
	uint32_t rd = IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	CHECK(!tqp_modify(q, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			  IBV_QP_ACCESS_FLAGS, &a), "XRC %s RESET->INIT",
	      send ? "send" : "recv");
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = peer->qpn;
	a.min_rnr_timer = 1;
	a.ah.dlid = peer->s->ctx->guest->lid;
	a.ah.port_num = 1;
	CHECK(tqp_modify(q, send ? rtr | rd : rtr, &a) == EINVAL,
	      "XRC %s INIT->RTR attribute set enforced",
	      send ? "send" : "recv");
	CHECK(!tqp_modify(q, send ? rtr : rtr | rd, &a), "XRC %s INIT->RTR",
	      send ? "send" : "recv");
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 1;
	if (send)
		rts |= IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC;
	CHECK(!tqp_modify(q, rts, &a), "XRC %s RTR->RTS",
	      send ? "send" : "recv");
}

static void test_xrc(struct side *a, struct side *b, struct side *c)
{
	const uint64_t base = 0x10000000;
	struct hv_shm m1, m2;
	struct tqp snd, rcv, rcv_c, bad;
	struct xenib_cqe cqe;
	uint32_t x1, x1b, x2, xc, srq1, srq2, h, prod1 = 0;
	long xrcds = xd.stats.xrcds, srqs = xd.stats.srqs;

	/* Domains: private, keyed (shared inside a guest), flags checked. */
	CHECK(xrcd_open(b, 0, 0, 0, &h) == EINVAL,
	      "private XRC domain without CREAT: EINVAL");
	CHECK(xrcd_open(b, XENIB_XRCD_KEYED, 1, 2, &h) == ENOENT,
	      "keyed XRC domain that does not exist, no CREAT: ENOENT");
	CHECK(!xrcd_open(b, XENIB_XRCD_KEYED | XENIB_XRCD_CREAT, 1, 2, &x1),
	      "open keyed XRC domain");
	CHECK(xrcd_open(b, XENIB_XRCD_KEYED | XENIB_XRCD_CREAT |
			XENIB_XRCD_EXCL, 1, 2, &h) == EEXIST,
	      "O_EXCL on an existing domain: EEXIST");
	CHECK(!xrcd_open(b, XENIB_XRCD_KEYED, 1, 2, &x1b) && x1b != x1 &&
	      xd_xrcd_lookup(b->ctx, x1)->dom ==
	      xd_xrcd_lookup(b->ctx, x1b)->dom,
	      "same key, same guest: same domain, new handle");
	CHECK(!xrcd_open(b, XENIB_XRCD_CREAT, 0, 0, &x2), "private domain");
	CHECK(!xrcd_open(c, XENIB_XRCD_KEYED | XENIB_XRCD_CREAT, 1, 2, &xc) &&
	      xd_xrcd_lookup(c->ctx, xc)->dom !=
	      xd_xrcd_lookup(b->ctx, x1)->dom,
	      "same key in another guest: another domain");
	CHECK(xd_xrcd_close(a->ctx, x1) == ENOENT,
	      "another guest's XRC domain handle: ENOENT");

	/* Hostile field combinations. */
	{
		struct xenib_create_qp_req r = { 0 };
		struct xenib_create_srq_req sr = { 0 };
		uint32_t qpn;

		r.qp_type = IBV_QPT_XRC_RECV;
		r.pd = b->pd;	/* XRC_RECV has no PD of its own */
		r.send_cq = r.recv_cq = r.srq = XENIB_INVALID_HANDLE;
		r.xrcd = x1;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "XRC_RECV with a PD: EINVAL");
		r.pd = XENIB_INVALID_HANDLE;
		r.max_send_sge = 1;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "XRC_RECV with send capabilities: EINVAL");
		r.max_send_sge = 0;
		r.xrcd = 0xdead;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == ENOENT,
		      "XRC_RECV with an unknown domain: ENOENT");
		r.qp_type = IBV_QPT_XRC_SEND;
		r.pd = b->pd;
		r.send_cq = r.recv_cq = b->cq;
		r.xrcd = 0;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "XRC_SEND with a receive CQ: EINVAL");
		r.qp_type = IBV_QPT_RC;
		r.xrcd = x1;
		CHECK(xd_qp_create(b->ctx, &r, &qpn) == EINVAL,
		      "RC QP naming an XRC domain: EINVAL");
		sr.pd = b->pd;
		sr.srq_type = IBV_SRQT_XRC;
		sr.max_sge = 1;
		sr.xrcd = x1;
		sr.cq = a->cq;	/* another guest's CQ */
		sr.ring = (struct xenib_ring_desc){ 0, ENTRIES, 0, 64, 0 };
		CHECK(xd_srq_create(b->ctx, &sr, &h) == ENOENT,
		      "XRC SRQ on another guest's CQ: ENOENT");
		sr.srq_type = IBV_SRQT_BASIC;
		sr.cq = b->cq;
		CHECK(xd_srq_create(b->ctx, &sr, &h) == EINVAL,
		      "basic SRQ naming an XRC domain and CQ: EINVAL");
	}
	CHECK(!xrc_srq(b, &m1, x1, &srq1), "XRC SRQ in the keyed domain");
	CHECK(!xrc_srq(b, &m2, x2, &srq2), "XRC SRQ in the private domain");
	CHECK(xrc_recv_qp(b, xc, &bad) == ENOENT,
	      "XRC_RECV QP in another guest's domain: ENOENT");
	CHECK(!xrc_recv_qp(b, x1b, &rcv), "XRC_RECV QP (through 2nd handle)");
	CHECK(!xrc_recv_qp(c, xc, &rcv_c), "XRC_RECV QP of another guest");
	CHECK(!xrc_send_qp(a, &snd), "XRC_SEND QP");
	CHECK(xd_xrcd_close(b->ctx, x1) == EBUSY &&
	      xd_xrcd_close(b->ctx, x1b) == EBUSY,
	      "XRC domain handles in use: EBUSY");
	xrc_up(&snd, &rcv, true);
	xrc_up(&rcv, &snd, false);

	/* Data: into the named SRQ, completion on its CQ, XRC_RECV's QPN. */
	ring_recv(m1.va, &prod1, 64, 300, base + 1024, 64, b->lkey);
	memcpy(a->buf.va, "xrc payload", 12);
	tqp_wqe(&snd, 310, IBV_WR_SEND, base, 12)->remote_srqn = srq1;
	tqp_send_go(&snd);
	run_engine();
	CHECK(poll_one(b, &cqe) && cqe.wr_id == 300 && !cqe.status &&
	      cqe.opcode == IBV_WC_RECV && cqe.byte_len == 12 &&
	      cqe.qp_num == rcv.qpn && cqe.src_qp == snd.qpn &&
	      !memcmp((char *)b->buf.va + 1024, "xrc payload", 12),
	      "XRC send lands in the named SRQ (qp_num = XRC_RECV QP)");
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 310 && !cqe.status &&
	      cqe.qp_num == snd.qpn, "XRC send completes");

	/* An SRQ outside the XRC_RECV QP's domain: invalid request. */
	tqp_wqe(&snd, 311, IBV_WR_SEND, base, 12)->remote_srqn = srq2;
	tqp_send_go(&snd);
	run_engine();
	CHECK(poll_one(a, &cqe) && cqe.wr_id == 311 &&
	      cqe.status == IBV_WC_REM_INV_REQ_ERR,
	      "SRQ of another domain: REM_INV_REQ_ERR");
	CHECK(xd_qp_find(snd.qpn)->attr.qp_state == IBV_QPS_ERR,
	      "requester in ERR");
	CHECK(xd_qp_find(rcv.qpn)->attr.qp_state == IBV_QPS_RTS &&
	      !poll_one(b, &cqe), "responder untouched");
	drain(a);

	tqp_destroy(&snd);
	tqp_destroy(&rcv);
	tqp_destroy(&rcv_c);
	CHECK(!xd_srq_destroy(b->ctx, srq1) && !xd_srq_destroy(b->ctx, srq2),
	      "destroy XRC SRQs");
	CHECK(!xd_xrcd_close(b->ctx, x1) && !xd_xrcd_close(b->ctx, x1b) &&
	      !xd_xrcd_close(b->ctx, x2) && !xd_xrcd_close(c->ctx, xc),
	      "close XRC domains");
	CHECK(xd.stats.xrcds == xrcds && xd.stats.srqs == srqs,
	      "XRC stats back");
	hv_shm_release(&snd.mem, 1);
	hv_shm_release(&m1, 1);
	hv_shm_release(&m2, 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct side a, b, c, d, e, f, g, h, i, j;

	xd.cfg.max_guests = 16;
	if (xd_state_init())
		return 1;
	test_handles();
	test_state_machine();
	side_init(&a, "alice");
	side_init(&b, "bob");
	side_init(&c, "carol");
	connect_qp(&a, &b, 0, IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	connect_qp(&b, &a, 0, IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	connect_qp(&c, &b, 0, 0);
	test_translate(&a, &b);
	test_send_recv(&a, &b);
	test_ud(&a, &b);
	test_uc(&a, &b);
	test_srq(&a, &b);
	test_xrc(&a, &b, &c);
	test_errors(&a, &b);
	test_hostile(&a, &b, &c);
	side_init(&d, "dave");
	connect_qp(&d, &d, 0, IBV_ACCESS_REMOTE_WRITE);
	test_loopback_error(&d);
	side_init(&e, "erin");
	side_init(&f, "frank");
	connect_qp(&e, &f, 0, IBV_ACCESS_REMOTE_READ);
	connect_qp(&f, &e, 0, IBV_ACCESS_REMOTE_READ);
	test_retry_fresh(&e, &f);
	side_init(&g, "grace");
	side_init(&h, "heidi");
	connect_qp(&g, &h, 0, IBV_ACCESS_REMOTE_WRITE);
	connect_qp(&h, &g, 0, IBV_ACCESS_REMOTE_WRITE);
	test_cq_full_error(&g, &h);
	side_init(&i, "ivan");
	side_init(&j, "judy");
	connect_qp(&i, &j, 0, 0);
	connect_qp(&j, &i, 0, 0);
	test_rnr_zero(&i, &j);
	test_teardown(&j);
	test_teardown(&i);
	test_teardown(&h);
	test_teardown(&g);
	test_teardown(&f);
	test_teardown(&e);
	test_teardown(&d);
	test_teardown(&c);
	test_teardown(&b);
	test_teardown(&a);
	CHECK(!xd.stats.qps && !xd.stats.mrs && !xd.stats.cqs &&
	      !xd.stats.regions && !xd.stats.notifiers && !xd.stats.pds &&
	      !xd.stats.srqs && !xd.stats.xrcds,
	      "all resources reclaimed");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
