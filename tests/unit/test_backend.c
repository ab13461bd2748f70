// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * In-process tests of xenibd's core: handle tables, the QP state machine,
 * key translation and the WQE engine, driven through the same functions the
 * control channel calls, with rings in real shared memory.  Each check
 * prints one line; the last line is "N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"

static int passed, failed;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (cond) {                                                \
			passed++;                                          \
		} else {                                                   \
			failed++;                                          \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);        \
			printf(__VA_ARGS__);                               \
			printf("\n");                                      \
		}                                                          \
	} while (0)

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

	/* RNR: no receive posted, rnr_retry 0 -> RNR_RETRY_EXC_ERR. */
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

static void test_teardown(struct side *s)
{
	long qps = xd.stats.qps, mrs = xd.stats.mrs;

	xd_ctx_destroy(s->ctx);
	CHECK(xd.stats.qps == qps - 1 && xd.stats.mrs == mrs - 1,
	      "context teardown frees its QP and MR");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct side a, b, c;

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
	test_errors(&a, &b);
	test_hostile(&a, &b, &c);
	test_teardown(&c);
	test_teardown(&b);
	test_teardown(&a);
	CHECK(!xd.stats.qps && !xd.stats.mrs && !xd.stats.cqs &&
	      !xd.stats.regions && !xd.stats.notifiers && !xd.stats.pds,
	      "all resources reclaimed");
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
