// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_wqe: two in-process guests with connected QPs of one type (the
 * input's second byte: RC, UC, UD, XRC_SEND -> XRC_RECV with XRC SRQs, or
 * RC on basic SRQs); the input is a program that writes their SQ and
 * receive-ring entries (RQ or SRQ), producer indices, CQ consumer index
 * and armed flag, tears objects down under in-flight WQEs, and runs
 * xd_engine_poll().  The QPs have the provider's real limits for its
 * default ring stride of 512 bytes (max_inline 448, 16 SGEs each way), and
 * WQE bodies fill the whole stride, so counts past the limits are met.
 * Rings and buffers live in real sealed memfds mapped by the backend,
 * exactly as a guest shares them.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_guest.h"

#define BODY_SGES ((FZG_STRIDE - 64) / 16)	/* 28: past max_sge */
#define CQ_ENTRIES 16
#define BUF_SIZE 8192

static struct fz_guest sides[2];
static enum fzg_type pair;

/* UD: an address handle for the peer's LID (after both sides exist). */
static void create_ah(struct fz_guest *s, struct fz_guest *peer)
{
	struct xenib_create_ah_req r = { 0 };

	r.pd = s->pd;
	r.ah.dlid = peer->c.ctx->guest->lid;
	r.ah.port_num = 1;
	r.ah.is_global = s == &sides[1];	/* one side sends GRHs */
	r.ah.hop_limit = 1;
	memcpy(r.ah.dgid, "\xfe\x80\0\0\0\0\0\0", 8);
	if (xd_ah_create(s->c.ctx, &r, &s->ah))
		abort();
}

static int modify(struct fz_guest *s, uint32_t mask, struct xenib_qp_attr *a)
{
	return fz_guest_modify(s, s->qpn, mask, a);
}

/*
 * RESET -> INIT -> RTR -> RTS with the attribute sets of the pair's type
 * (ibv_modify_qp(3)); XRC: our XRC_SEND towards the peer's XRC_RECV, which
 * is brought to RTR towards it.
 */
static void connect_qp(struct fz_guest *s, struct fz_guest *peer,
		       uint8_t rnr_retry)
{
	bool ud = pair == FZG_UD, uc = pair == FZG_UC, xrc = pair == FZG_XRC;
	uint32_t init = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			(ud ? IBV_QP_QKEY : IBV_QP_ACCESS_FLAGS);
	uint32_t rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	uint32_t rts = IBV_QP_STATE | IBV_QP_SQ_PSN;
	uint32_t rd = IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	struct xenib_qp_attr a = { 0 };
	int err;

	if (!uc && !ud)
		rts |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC;
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qkey = 0x11111111;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			    IBV_ACCESS_REMOTE_ATOMIC;
	err = modify(s, init, &a);
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = xrc ? peer->xrecv : peer->qpn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	a.ah.dlid = peer->c.ctx->guest->lid;
	a.ah.port_num = 1;
	err |= modify(s, ud ? IBV_QP_STATE : rtr | (uc || xrc ? 0 : rd), &a);
	if (xrc) {	/* the peer's XRC_RECV, towards our XRC_SEND */
		struct xenib_qp_attr r = a;

		r.qp_state = IBV_QPS_INIT;
		err |= fz_guest_modify(peer, peer->xrecv, IBV_QP_STATE |
				  IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_ACCESS_FLAGS, &r);
		r.qp_state = IBV_QPS_RTR;
		r.dest_qp_num = s->qpn;
		r.ah.dlid = s->c.ctx->guest->lid;
		err |= fz_guest_modify(peer, peer->xrecv, rtr | rd, &r);
	}
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;
	a.retry_cnt = 2;
	a.rnr_retry = rnr_retry;
	a.max_rd_atomic = 1;
	err |= modify(s, rts, &a);
	if (err)
		abort();
}

/* A key the guest might name: its own, the peer's, or anything. */
static uint32_t pick_key(struct fz_in *in, struct fz_guest *s,
			 struct fz_guest *o)
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
	return FZG_IOVA + fz_u16(in) - (k >> 1);
}

/* A count the guest might write: small, just past a limit, or anything. */
static uint32_t pick_count(struct fz_in *in)
{
	uint8_t n = fz_u8(in);

	if (n & 0x80)
		return fz_u32(in);
	return n & 0x1f;	/* 0..31: MAX_SGE 16 and past it */
}

/* A handle naming an object of ours, the peer's, or anything. */
static uint32_t pick_handle(struct fz_in *in, uint32_t mine, uint32_t theirs)
{
	uint8_t k = fz_u8(in);

	switch (k & 3) {
	case 0:
		return mine;
	case 1:
		return theirs;
	case 2:
		return mine + (k >> 2);
	}
	return fz_u32(in);
}

static void write_sges(struct fz_in *in, struct xenib_sge *sge, size_t max,
		       struct fz_guest *s, struct fz_guest *o)
{
	size_t i, n = fz_u8(in) % (max + 1);

	for (i = 0; i < n; i++) {
		sge[i].addr = pick_addr(in);
		sge[i].length = fz_u8(in) & 0x80 ? fz_u32(in) : fz_u16(in);
		sge[i].lkey = pick_key(in, s, o);
	}
}

static void write_sq(struct fz_in *in, struct fz_guest *s, struct fz_guest *o)
{
	char *e = xr_entry(s->sqh, fz_u8(in), FZG_ENTRIES, FZG_STRIDE);
	struct xenib_send_wqe *w = (void *)e;
	uint8_t body;

	if (fz_u8(in) & 1) {	/* raw bytes */
		fz_bytes(in, e, FZG_STRIDE);
		return;
	}
	memset(e, 0, FZG_STRIDE);
	w->wr_id = fz_u8(in);
	w->opcode = fz_u8(in) & 0x80 ? fz_u32(in) : fz_u8(in) & 0xf;
	w->send_flags = fz_u8(in) & 0x80 ? fz_u32(in) : fz_u8(in) & 0x1f;
	w->imm_data = fz_u32(in);
	w->num_sge = pick_count(in);
	w->inline_len = fz_u8(in) & 0x80 ? fz_u32(in) : fz_u16(in) & 0x3ff;
	w->remote_addr = pick_addr(in);
	w->rkey = pick_key(in, s, o);
	w->compare_add = fz_u64(in);
	w->swap = fz_u64(in);
	if (pair == FZG_UD) {
		w->remote_qkey = fz_u8(in) & 1 ? 0x11111111 : fz_u32(in);
		w->ah = pick_handle(in, s->ah, o->ah);
		w->remote_qpn = pick_handle(in, o->qpn, s->qpn);
	} else if (pair == FZG_XRC) {
		w->remote_srqn = pick_handle(in, o->srq, s->srq);
	}
	body = fz_u8(in);
	if (body & 1)	/* inline bytes, or SGEs shaped like them */
		fz_bytes(in, e + sizeof(*w), fz_u16(in) % (FZG_STRIDE -
							   sizeof(*w) + 1));
	else
		write_sges(in, (void *)(e + sizeof(*w)), BODY_SGES, s, o);
}

static void write_rq(struct fz_in *in, struct fz_guest *s, struct fz_guest *o)
{
	char *e = xr_entry(s->rqh, fz_u8(in), FZG_ENTRIES, FZG_STRIDE);
	struct xenib_recv_wqe *w = (void *)e;

	if (fz_u8(in) & 1) {
		fz_bytes(in, e, FZG_STRIDE);
		return;
	}
	memset(e, 0, FZG_STRIDE);
	w->wr_id = fz_u8(in);
	w->num_sge = pick_count(in);
	write_sges(in, (void *)(e + sizeof(*w)), BODY_SGES, s, o);
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
	struct fz_guest *s = &sides[op >> 7], *o = &sides[!(op >> 7)];
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
		switch (fz_u8(in) % 6) {
		case 4:	/* the SRQ (XRC, RC_SRQ): EBUSY while QPs use it */
			xd_srq_destroy(s->c.ctx, s->srq);
			break;
		case 5:	/* XRC_RECV: the peer's sends then find no target */
			xd_qp_destroy(s->c.ctx, s->xrecv);
			break;
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

	pair = fz_u8(&in) % FZG_TYPES;
	fz_init();
	fz_reset();
	xd.now_ns = 1000000000ull;
	fz_guest_open(&sides[0], "wqe-a", pair, false, CQ_ENTRIES, BUF_SIZE);
	fz_guest_open(&sides[1], "wqe-b", pair, true, CQ_ENTRIES, BUF_SIZE);
	if (pair == FZG_UD) {
		create_ah(&sides[0], &sides[1]);
		create_ah(&sides[1], &sides[0]);
	}
	connect_qp(&sides[0], &sides[1], rnr & 7);
	connect_qp(&sides[1], &sides[0], rnr >> 5);
	while (in.left)
		step(&in);
	run_engine(&in);
	fz_guest_close(&sides[0]);
	fz_guest_close(&sides[1]);
	fz_check_empty();
	return 0;
}
