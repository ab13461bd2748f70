// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_wqe: two in-process guests with connected RC QPs; the input is a
 * program that writes their SQ/RQ ring entries, producer indices, CQ
 * consumer index and armed flag, tears objects down under in-flight WQEs,
 * and runs xd_engine_poll().  Rings and buffers live in real sealed memfds
 * mapped by the backend, exactly as a guest shares them.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "fuzz/fuzz_common.h"

#define ENTRIES 8
#define SQ_STRIDE 128
#define RQ_STRIDE 128
#define CQ_ENTRIES 8
#define BUF_SIZE 8192
#define IOVA 0x10000000ull

struct side {
	struct fz_ctx c;
	struct hv_shm page, cqmem, qpmem, buf;
	uint32_t pd, cq, qpn, lkey, comp, region_buf, region_qp;
	struct xenib_ring_hdr *cqh, *sqh, *rqh;
	int guest_fds[3];
	bool qp_gone;
};

static struct side sides[2];

static uint32_t map(struct side *s, struct hv_shm *m, uint32_t flags)
{
	uint32_t h = XENIB_INVALID_HANDLE;

	if (xd_region_map(s->c.ctx, dup(m->fd), 0, m->len / XENIB_PAGE_SIZE,
			  flags, &h))
		abort();
	return h;
}

static void side_init(struct side *s, const char *name, int i)
{
	struct xenib_create_cq_req cq = { 0 };
	struct xenib_create_qp_req qp = { 0 };
	union {
		struct xenib_reg_mr_req r;
		char b[sizeof(struct xenib_reg_mr_req) +
		       sizeof(struct xenib_mr_seg)];
	} mr = { 0 };
	uint32_t h;
	int bfd, err = 0;

	memset(s, 0, sizeof(*s));
	fz_ctx_open(&s->c);
	s->c.ctx->guest = xd_guest_get(name);
	s->c.ctx->hello = true;
	if (hv_shm_alloc(&s->page, 4096, "xenib-fuzz") ||
	    hv_shm_alloc(&s->cqmem, xr_ring_bytes(CQ_ENTRIES, 64), "xenib-fuzz") ||
	    hv_shm_alloc(&s->qpmem, xr_ring_bytes(ENTRIES, SQ_STRIDE) +
			 xr_ring_bytes(ENTRIES, RQ_STRIDE), "xenib-fuzz") ||
	    hv_shm_alloc(&s->buf, BUF_SIZE, "xenib-fuzz"))
		abort();
	map(s, &s->page, XENIB_REGION_CTX_PAGE);
	hv_notify_pair(&s->guest_fds[0], &bfd);
	err |= xd_notify_bind(s->c.ctx, bfd, XENIB_NOTIFY_DOORBELL, &h);
	hv_notify_pair(&s->guest_fds[1], &bfd);
	err |= xd_notify_bind(s->c.ctx, bfd, XENIB_NOTIFY_ASYNC, &h);
	hv_notify_pair(&s->guest_fds[2], &bfd);
	err |= xd_notify_bind(s->c.ctx, bfd, XENIB_NOTIFY_COMP, &s->comp);
	err |= xd_pd_alloc(s->c.ctx, &s->pd);

	cq.ring = (struct xenib_ring_desc){ map(s, &s->cqmem, 0), CQ_ENTRIES,
					    0, 64, 0 };
	cq.notify = s->comp;
	err |= xd_cq_create(s->c.ctx, &cq, &s->cq);
	s->cqh = s->cqmem.va;

	s->region_qp = map(s, &s->qpmem, 0);
	qp.pd = s->pd;
	qp.qp_type = IBV_QPT_RC;
	qp.send_cq = qp.recv_cq = s->cq;
	qp.srq = XENIB_INVALID_HANDLE;
	qp.max_send_sge = 4;
	qp.max_recv_sge = 4;
	qp.max_inline = 64;
	qp.sq_sig_all = i;
	qp.sq = (struct xenib_ring_desc){ s->region_qp, ENTRIES, 0, SQ_STRIDE, 0 };
	qp.rq = (struct xenib_ring_desc){ s->region_qp, ENTRIES,
		xr_ring_bytes(ENTRIES, SQ_STRIDE), RQ_STRIDE, 0 };
	err |= xd_qp_create(s->c.ctx, &qp, &s->qpn);
	s->sqh = s->qpmem.va;
	s->rqh = (void *)((char *)s->qpmem.va +
			  xr_ring_bytes(ENTRIES, SQ_STRIDE));

	s->region_buf = map(s, &s->buf, 0);
	mr.r.hdr.length = sizeof(mr.b);
	mr.r.pd = s->pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		      IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	mr.r.iova = IOVA;
	mr.r.length = BUF_SIZE;
	mr.r.nsegs = 1;
	mr.r.segs[0] = (struct xenib_mr_seg){ s->region_buf, 0, 0, BUF_SIZE };
	err |= xd_mr_reg(s->c.ctx, &mr.r, sizeof(mr.b), &s->lkey);
	if (err)
		abort();
}

static int modify(struct side *s, uint32_t mask, struct xenib_qp_attr *a)
{
	struct xenib_modify_qp_req req = { .qpn = s->qpn, .attr_mask = mask };

	req.attr = *a;
	return xd_qp_modify(s->c.ctx, &req);
}

static void connect_qp(struct side *s, struct side *peer, uint8_t rnr_retry)
{
	struct xenib_qp_attr a = { 0 };
	int err;

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			    IBV_ACCESS_REMOTE_ATOMIC;
	err = modify(s, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		     IBV_QP_ACCESS_FLAGS, &a);
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = peer->qpn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	a.ah.dlid = peer->c.ctx->guest->lid;
	a.ah.port_num = 1;
	err |= modify(s, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER, &a);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 2;
	a.rnr_retry = rnr_retry;
	a.max_rd_atomic = 1;
	err |= modify(s, IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		      IBV_QP_MAX_QP_RD_ATOMIC, &a);
	if (err)
		abort();
}

static void side_fini(struct side *s)
{
	int i;

	fz_ctx_close(&s->c);
	hv_shm_release(&s->page, 1);
	hv_shm_release(&s->cqmem, 1);
	hv_shm_release(&s->qpmem, 1);
	hv_shm_release(&s->buf, 1);
	for (i = 0; i < 3; i++)
		close(s->guest_fds[i]);
}

/* A key the guest might name: its own, the peer's, or anything. */
static uint32_t pick_key(struct fz_in *in, struct side *s, struct side *o)
{
	uint8_t k = fz_u8(in);

	switch (k & 3) {
	case 0:
		return s->lkey;
	case 1:
		return o->lkey;
	case 2:
		return s->lkey + (k >> 2);	/* other generations/indices */
	}
	return fz_u32(in);
}

static uint64_t pick_addr(struct fz_in *in)
{
	uint8_t k = fz_u8(in);

	if (k & 1)
		return fz_u64(in);
	return IOVA + fz_u16(in) - (k >> 1);
}

static void write_sq(struct fz_in *in, struct side *s, struct side *o)
{
	char *e = xr_entry(s->sqh, fz_u8(in), ENTRIES, SQ_STRIDE);
	struct xenib_send_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));
	uint8_t n, i;

	if (fz_u8(in) & 1) {	/* raw bytes */
		fz_bytes(in, e, SQ_STRIDE);
		return;
	}
	memset(e, 0, SQ_STRIDE);
	w->wr_id = fz_u8(in);
	w->opcode = fz_u8(in);
	w->send_flags = fz_u8(in);
	w->imm_data = fz_u32(in);
	n = fz_u8(in);
	w->num_sge = n & 0x80 ? fz_u32(in) : n & 7;
	w->inline_len = fz_u8(in) & 0x80 ? fz_u32(in) : fz_u8(in);
	w->remote_addr = pick_addr(in);
	w->rkey = pick_key(in, s, o);
	w->compare_add = fz_u64(in);
	w->swap = fz_u64(in);
	for (i = 0; i < 4; i++) {
		sge[i].addr = pick_addr(in);
		sge[i].length = fz_u16(in);
		sge[i].lkey = pick_key(in, s, o);
	}
}

static void write_rq(struct fz_in *in, struct side *s, struct side *o)
{
	char *e = xr_entry(s->rqh, fz_u8(in), ENTRIES, RQ_STRIDE);
	struct xenib_recv_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));
	uint8_t n, i;

	if (fz_u8(in) & 1) {
		fz_bytes(in, e, RQ_STRIDE);
		return;
	}
	memset(e, 0, RQ_STRIDE);
	w->wr_id = fz_u8(in);
	n = fz_u8(in);
	w->num_sge = n & 0x80 ? fz_u32(in) : n & 7;
	for (i = 0; i < 4; i++) {
		sge[i].addr = pick_addr(in);
		sge[i].length = fz_u16(in);
		sge[i].lkey = pick_key(in, s, o);
	}
}

/* A new index: a few entries ahead, or anything. */
static uint32_t pick_idx(struct fz_in *in, uint32_t cur)
{
	uint8_t k = fz_u8(in);

	return k & 0x80 ? fz_u32(in) : cur + (k & 0xf);
}

static void run_engine(struct fz_in *in)
{
	uint64_t next = UINT64_MAX;

	/* Time only moves forward; sometimes far, to expire retry timers. */
	xd.now_ns += fz_u8(in) & 0x80 ? (uint64_t)fz_u32(in) << 8 : 1000;
	xd_engine_poll(&next);
}

static void step(struct fz_in *in)
{
	uint8_t op = fz_u8(in);
	struct side *s = &sides[op >> 7], *o = &sides[!(op >> 7)];
	struct xenib_qp_attr a = { 0 };

	switch ((op & 0x7f) % 12) {
	case 0:
		write_sq(in, s, o);
		break;
	case 1:
		write_rq(in, s, o);
		break;
	case 2:	/* guest produces SQ */
		xr_store_release(&s->sqh->prod, pick_idx(in, s->sqh->prod));
		break;
	case 3:	/* guest produces RQ */
		xr_store_release(&s->rqh->prod, pick_idx(in, s->rqh->prod));
		break;
	case 4:	/* guest consumes CQ */
		xr_store_release(&s->cqh->cons, pick_idx(in, s->cqh->cons));
		break;
	case 5:	/* guest arms the CQ */
		xr_store_release(&s->cqh->armed, fz_u8(in) & 0x80 ?
				 fz_u32(in) : fz_u8(in) & 3);
		break;
	case 6:
	case 7:
		run_engine(in);
		break;
	case 8:	/* destroy the QP with WQEs in flight */
		if (!s->qp_gone && !xd_qp_destroy(s->c.ctx, s->qpn))
			s->qp_gone = true;
		break;
	case 9:	/* teardown of what WQEs reference (most must fail EBUSY) */
		switch (fz_u8(in) & 3) {
		case 0:
			xd_mr_dereg(s->c.ctx, s->lkey);
			break;
		case 1:
			xd_cq_destroy(s->c.ctx, s->cq);
			break;
		case 2:
			xd_region_unmap(s->c.ctx, s->region_qp);
			break;
		case 3:
			xd_pd_dealloc(s->c.ctx, s->pd);
			break;
		}
		break;
	case 10:	/* any state change the state machine accepts */
		a.qp_state = fz_u8(in) % 7;
		a.qkey = fz_u32(in);
		if (!s->qp_gone)
			modify(s, fz_u32(in) | IBV_QP_STATE, &a);
		break;
	case 11:	/* the guest scribbles on its context page */
		((uint32_t *)s->page.va)[fz_u8(in) % 1024] = fz_u32(in);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t rnr = fz_u8(&in);

	fz_init();
	fz_reset();
	xd.now_ns = 1000000000ull;
	side_init(&sides[0], "wqe-a", 0);
	side_init(&sides[1], "wqe-b", 1);
	connect_qp(&sides[0], &sides[1], rnr & 7);
	connect_qp(&sides[1], &sides[0], rnr >> 5);
	while (in.left)
		step(&in);
	run_engine(&in);
	side_fini(&sides[0]);
	side_fini(&sides[1]);
	fz_check_empty();
	return 0;
}
