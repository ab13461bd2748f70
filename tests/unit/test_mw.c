// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory windows and REREG_MR in the backend, against what a hostile
 * guest writes: ALLOC_MW's checks, BIND_MW WQEs breaking each rule
 * (IBV_WC_MW_BIND_ERR) or malformed (IBV_WC_LOC_QP_OP_ERR), window
 * translation (tag, PD, type 2's QP, ZERO_BASED, bounds), EBUSY while
 * bound, and REREG_MR's all-or-nothing with new keys.
 */
#include <string.h>

#include "tests/common/sides.h"

#define IOVA	0x10000000ull
#define RW	(IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static struct side a, b;

static uint32_t mw_new(struct side *s, uint32_t type, uint32_t *rkey)
{
	struct xenib_alloc_mw_req req = { .pd = s->pd, .type = type };
	uint32_t h = 0;

	CHECK(!xd_mw_alloc(s->ctx, &req, &h, rkey), "alloc mw type %u", type);
	CHECK(xd_mw_key(*rkey) && !xd_mw_key(s->lkey),
	      "window rkeys have bit 31, MR keys not");
	return h;
}

/* A fresh RC QP of a, connected to one of b's, for one WQE. */
struct one {
	struct tqp q, peer;
};

static void one_up(struct one *o, uint32_t type)
{
	CHECK(!tqp_create(&o->q, &a, type, XENIB_INVALID_HANDLE), "test QP");
	CHECK(!tqp_create(&o->peer, &b, type, XENIB_INVALID_HANDLE), "peer QP");
	if (type != IBV_QPT_UD) {
		conn_up(&o->q, &o->peer, type);
		conn_up(&o->peer, &o->q, type);
	} else {
		struct xenib_qp_attr at = { .qp_state = IBV_QPS_INIT,
					    .port_num = 1, .qkey = 0x11 };

		CHECK(!tqp_modify(&o->q, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
				  IBV_QP_PORT | IBV_QP_QKEY, &at), "UD INIT");
		at.qp_state = IBV_QPS_RTR;
		CHECK(!tqp_modify(&o->q, IBV_QP_STATE, &at), "UD RTR");
		at.qp_state = IBV_QPS_RTS;
		CHECK(!tqp_modify(&o->q, IBV_QP_STATE | IBV_QP_SQ_PSN, &at),
		      "UD RTS");
	}
}

static void one_down(struct one *o)
{
	drain(&a);
	drain(&b);
	tqp_destroy(&o->q);
	tqp_destroy(&o->peer);
}

/* Post a bind on o's QP; run; the completion's status (or ~0u). */
static uint32_t bind(struct one *o, uint32_t mw, uint32_t rkey, uint64_t addr,
		     uint64_t len, uint32_t access, uint32_t lkey, bool sge)
{
	struct xenib_send_wqe *w = tqp_wqe(&o->q, 9, IBV_WR_BIND_MW, 0, 0);
	struct xenib_cqe cqe;

	if (!sge)
		w->num_sge = 0;
	w->bind_mw = mw;
	w->rkey = rkey;
	w->remote_addr = addr;
	w->bind_length = len;
	w->bind_access = access;
	w->bind_lkey = lkey;
	tqp_send_go(&o->q);
	run_engine();
	if (!poll_one(&a, &cqe))
		return ~0u;
	CHECK(cqe.wr_id == 9 && cqe.opcode == IBV_WC_BIND_MW,
	      "bind completion names the WQE (opcode %u)", cqe.opcode);
	return cqe.status;
}

static uint32_t local_inv(struct one *o, uint32_t rkey, uint32_t flags)
{
	struct xenib_send_wqe *w = tqp_wqe(&o->q, 10, IBV_WR_LOCAL_INV, 0, 0);
	struct xenib_cqe cqe;

	w->num_sge = 0;
	w->send_flags |= flags;
	w->invalidate_rkey = rkey;
	tqp_send_go(&o->q);
	run_engine();
	return poll_one(&a, &cqe) ? cqe.status : ~0u;
}

static void rereg_access(uint32_t access)
{
	struct xenib_rereg_mr_req req = {
		.key = a.lkey, .flags = IBV_REREG_MR_CHANGE_ACCESS,
		.access = access,
	};
	struct xd_pd *pd = xd_pd_lookup(a.ctx, a.pd);
	uint32_t old = a.lkey, key = 0;

	CHECK(!xd_mr_rereg(a.ctx, &req, sizeof(req), &key), "rereg access");
	CHECK(key != old && (key >> 8) == (old >> 8),
	      "rereg: same index, new key (%#x -> %#x)", old, key);
	CHECK(!xd_mr_translate(old, pd, IOVA, 8, 0), "old key refused");
	CHECK(xd_mr_translate(key, pd, IOVA, 8, 0), "new key works");
	a.lkey = key;
}

static void test_alloc(void)
{
	struct xenib_alloc_mw_req req = { .pd = a.pd, .type = 3 };
	uint32_t h, rk;

	CHECK(xd_mw_alloc(a.ctx, &req, &h, &rk) == EINVAL, "type 3: EINVAL");
	req.type = IBV_MW_TYPE_1;
	req.pd = foreign(&a, &b, XD_KIND_PD);
	if (req.pd)
		CHECK(xd_mw_alloc(a.ctx, &req, &h, &rk) == ENOENT,
		      "another guest's PD: ENOENT");
	CHECK(xd_mw_dealloc(a.ctx, 0x12345) == ENOENT, "dealloc unknown");
}

static void test_bad_binds(void)
{
	uint32_t rk1, rk2, mw1 = mw_new(&a, IBV_MW_TYPE_1, &rk1);
	uint32_t mw2 = mw_new(&a, IBV_MW_TYPE_2, &rk2);
	struct {
		const char *what;
		uint32_t mw, rkey, access, lkey, want;
		uint64_t addr, len;
		bool sge;
	} c[] = {
		{ "unknown window", 0x7777700, rk1, RW, 0, IBV_WC_MW_BIND_ERR,
		  IOVA, 64, false },
		{ "new rkey with another index", mw1, rk1 + 0x100, RW, 0,
		  IBV_WC_MW_BIND_ERR, IOVA, 64, false },
		{ "access bit LOCAL_WRITE", mw1, rk1 + 1,
		  IBV_ACCESS_LOCAL_WRITE, 0, IBV_WC_MW_BIND_ERR, IOVA, 64, false },
		{ "type 1 ZERO_BASED", mw1, rk1 + 1,
		  RW | IBV_ACCESS_ZERO_BASED, 0, IBV_WC_MW_BIND_ERR, IOVA, 64,
		  false },
		{ "past the MR", mw1, rk1 + 1, RW, 0, IBV_WC_MW_BIND_ERR,
		  IOVA + BUF_SIZE - 8, 64, false },
		{ "below the MR", mw1, rk1 + 1, RW, 0, IBV_WC_MW_BIND_ERR,
		  IOVA - 8, 64, false },
		{ "huge length wraps", mw1, rk1 + 1, RW, 0, IBV_WC_MW_BIND_ERR,
		  IOVA + 8, ~0ull - 4, false },
		{ "unknown MR", mw1, rk1 + 1, RW, 0xabcdef00, IBV_WC_MW_BIND_ERR,
		  IOVA, 64, false },
		{ "type 2 length 0", mw2, rk2 + 1, RW, 0, IBV_WC_MW_BIND_ERR,
		  IOVA, 0, false },
		{ "with an SGE", mw1, rk1 + 1, RW, 0, IBV_WC_LOC_QP_OP_ERR,
		  IOVA, 64, true },
	};
	unsigned int i;

	/* First without MW_BIND on the MR (C10-73). */
	{
		struct one o;

		one_up(&o, IBV_QPT_RC);
		CHECK(bind(&o, mw1, rk1 + 1, IOVA, 64, RW, a.lkey, false) ==
		      IBV_WC_MW_BIND_ERR, "MR without MW_BIND");
		one_down(&o);
	}
	rereg_access(IBV_ACCESS_LOCAL_WRITE | RW | IBV_ACCESS_MW_BIND);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct one o;
		uint32_t st;

		one_up(&o, IBV_QPT_RC);
		st = bind(&o, c[i].mw, c[i].rkey, c[i].addr, c[i].len,
			  c[i].access, c[i].lkey ? c[i].lkey : a.lkey, c[i].sge);
		CHECK(st == c[i].want, "bind %s: status %u, want %u",
		      c[i].what, st, c[i].want);
		one_down(&o);
	}
	{
		struct one o;

		one_up(&o, IBV_QPT_UD);
		CHECK(bind(&o, mw1, rk1 + 1, IOVA, 64, RW, a.lkey, false) ==
		      IBV_WC_LOC_QP_OP_ERR, "bind on a UD QP");
		one_down(&o);
		one_up(&o, IBV_QPT_RC);
		CHECK(local_inv(&o, rk2, IBV_SEND_INLINE) ==
		      IBV_WC_LOC_QP_OP_ERR, "LOCAL_INV with INLINE");
		one_down(&o);
	}
	CHECK(!xd_mw_dealloc(a.ctx, mw1) && !xd_mw_dealloc(a.ctx, mw2),
	      "dealloc both");
}

static void test_translate(void)
{
	struct xd_pd *pd = xd_pd_lookup(a.ctx, a.pd);
	struct xd_pd *bpd = xd_pd_lookup(b.ctx, b.pd);
	uint32_t rk1, rk2, mw1 = mw_new(&a, IBV_MW_TYPE_1, &rk1);
	uint32_t mw2 = mw_new(&a, IBV_MW_TYPE_2, &rk2);
	char *v;
	struct one o;

	one_up(&o, IBV_QPT_RC);
	CHECK(bind(&o, mw1, rk1 + 1, IOVA + 4096, 512, IBV_ACCESS_REMOTE_READ,
		   a.lkey, false) == IBV_WC_SUCCESS, "type 1 bind");
	v = xd_mw_translate(rk1 + 1, pd, 0, IOVA + 4096, 8,
			    IBV_ACCESS_REMOTE_READ);
	CHECK(v && v == (char *)xd_mr_translate(a.lkey, pd, IOVA + 4096, 8, 0),
	      "type 1 window translates to the MR's bytes");
	CHECK(!xd_mw_translate(rk1, pd, 0, IOVA + 4096, 8,
			       IBV_ACCESS_REMOTE_READ), "old tag refused");
	CHECK(!xd_mw_translate(rk1 + 1, pd, 0, IOVA + 4096, 8,
			       IBV_ACCESS_REMOTE_WRITE), "access refused");
	CHECK(!xd_mw_translate(rk1 + 1, pd, 0, IOVA + 4096 + 508, 8,
			       IBV_ACCESS_REMOTE_READ), "past the window");
	CHECK(!xd_mw_translate(rk1 + 1, bpd, 0, IOVA + 4096, 8,
			       IBV_ACCESS_REMOTE_READ),
	      "through another guest's PD: not found");
	CHECK(xd_mr_dereg(a.ctx, a.lkey) == EBUSY, "dereg while bound: EBUSY");
	{
		struct xenib_rereg_mr_req req = {
			.key = a.lkey, .flags = IBV_REREG_MR_CHANGE_ACCESS,
			.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND,
		};
		uint32_t k;

		CHECK(xd_mr_rereg(a.ctx, &req, sizeof(req), &k) == EBUSY,
		      "rereg while bound: EBUSY");
	}
	/* Type 2, ZERO_BASED, through this QP only. */
	CHECK(bind(&o, mw2, rk2 + 5, IOVA + 1024, 256,
		   RW | IBV_ACCESS_ZERO_BASED, a.lkey, false) == IBV_WC_SUCCESS,
	      "type 2 zero-based bind");
	v = xd_mw_translate(rk2 + 5, pd, o.q.qpn, 16, 8,
			    IBV_ACCESS_REMOTE_WRITE);
	CHECK(v && v == (char *)xd_mr_translate(a.lkey, pd, IOVA + 1024 + 16,
						 8, 0),
	      "zero-based: the address is an offset into the window");
	CHECK(!xd_mw_translate(rk2 + 5, pd, o.q.qpn + 0x100, 16, 8,
			       IBV_ACCESS_REMOTE_WRITE),
	      "type 2 through another QP: refused");
	CHECK(bind(&o, mw2, rk2 + 6, IOVA, 64, RW, a.lkey, false) ==
	      IBV_WC_MW_BIND_ERR, "type 2 bound again: MW_BIND_ERR");
	one_down(&o);
	one_up(&o, IBV_QPT_RC);
	CHECK(local_inv(&o, rk1 + 1, 0) == IBV_WC_LOC_QP_OP_ERR,
	      "LOCAL_INV of a type 1 window: LOC_QP_OP_ERR");
	one_down(&o);
	one_up(&o, IBV_QPT_RC);
	CHECK(local_inv(&o, rk2 + 5, 0) == IBV_WC_SUCCESS, "LOCAL_INV type 2");
	CHECK(!xd_mw_translate(rk2 + 5, pd, o.q.qpn, 16, 8, 0),
	      "after LOCAL_INV: refused");
	one_down(&o);
	CHECK(!xd_mw_dealloc(a.ctx, mw1), "dealloc unbinds");
	CHECK(!xd_mw_dealloc(a.ctx, mw2), "dealloc type 2");
}

static void test_rereg_hostile(void)
{
	union {
		struct xenib_rereg_mr_req r;
		char bytes[sizeof(struct xenib_rereg_mr_req) +
			   sizeof(struct xenib_mr_seg)];
	} m;
	struct xd_pd *pd = xd_pd_lookup(a.ctx, a.pd);
	uint32_t key = 0;

	memset(&m, 0, sizeof(m));
	m.r.key = a.lkey;
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m.r), &key) == EINVAL,
	      "no flags: EINVAL");
	m.r.flags = 1u << 7;
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m.r), &key) == EINVAL,
	      "unknown flag: EINVAL");
	m.r.flags = IBV_REREG_MR_CHANGE_ACCESS;
	m.r.access = IBV_ACCESS_REMOTE_ATOMIC;
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m.r), &key) == EINVAL,
	      "REMOTE_ATOMIC without LOCAL_WRITE: EINVAL");
	m.r.access = 1u << 20;
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m.r), &key) == EINVAL,
	      "unknown access bit: EINVAL");
	m.r.flags = IBV_REREG_MR_CHANGE_PD;
	m.r.pd = foreign(&a, &b, XD_KIND_PD) ? foreign(&a, &b, XD_KIND_PD) :
					       0x99999900;
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m.r), &key) == ENOENT,
	      "PD of nobody here: ENOENT");
	m.r.key = b.lkey;
	m.r.flags = IBV_REREG_MR_CHANGE_ACCESS;
	m.r.access = 0;
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m.r), &key) == ENOENT ||
	      b.lkey == a.lkey, "another guest's key: ENOENT");
	m.r.key = a.lkey;
	m.r.flags = IBV_REREG_MR_CHANGE_TRANSLATION;
	m.r.iova = IOVA;
	m.r.length = BUF_SIZE;
	m.r.nsegs = 2;		/* one given */
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m), &key) == EINVAL,
	      "nsegs disagrees with the length: EINVAL");
	m.r.nsegs = 1;
	m.r.segs[0] = (struct xenib_mr_seg){ b.region_buf, 0, 0, BUF_SIZE };
	if (b.region_buf != a.region_buf)
		CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m), &key) == ENOENT,
		      "a region of another guest: ENOENT");
	m.r.segs[0] = (struct xenib_mr_seg){ a.region_buf, 0, 0, 2 * BUF_SIZE };
	CHECK(xd_mr_rereg(a.ctx, &m.r, sizeof(m), &key) == EINVAL,
	      "segment past its region: EINVAL");
	CHECK(xd_mr_translate(a.lkey, pd, IOVA, BUF_SIZE, 0),
	      "after the refusals the MR is as it was");
	/* A good move: the same pages at another iova. */
	m.r.iova = 0x20000000;
	m.r.segs[0] = (struct xenib_mr_seg){ a.region_buf, 0, 0, BUF_SIZE };
	CHECK(!xd_mr_rereg(a.ctx, &m.r, sizeof(m), &key), "rereg translation");
	CHECK(xd_mr_translate(key, pd, 0x20000000, 8, 0) &&
	      !xd_mr_translate(key, pd, IOVA, 8, 0),
	      "the MR is at its new iova only");
	a.lkey = key;
}

int main(void)
{
	sides_cast(&a, &b, NULL);
	make_distinct(&b);
	connect_qp(&a, &b, 7, RW);
	connect_qp(&b, &a, 7, RW);
	test_alloc();
	test_bad_binds();
	test_translate();
	test_rereg_hostile();
	return sides_end((struct side *[]){ &a, &b }, 2);
}
