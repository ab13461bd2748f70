// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd's Xen mode without Xen, after a save/restore: a domain's contexts
 * frozen, taken over by the restored domain, RESUME_REGION/NOTIFY/DONE,
 * replay of the last request, the CQ check and the resume timeout, driven
 * through the fake hypervisor of tests/common/fake_xen.h.  The last line
 * is "N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "util/xenib_ring.h"
#include "xenibd/daemon/admin.h"
#include "xenibd/dev/dev.h"
#include "xenibd/engine/eng.h"
#include "xenibd/transport/xen/xen.h"

#include "tests/common/check.h"
#include "tests/common/backend.h"
#include "tests/common/fake_xen.h"

/* ------------------------------------------------------------------ */
/* RESUME: freeze, take-over, RESUME_*, replay, CQ check, timeout       */

#define D_PAGES		16u	/* data region: CQ 0-1, SQ 2-3, RQ 4-5, MR 8-11 */
#define MR_IOVA		0x100000ull

/* A guest context of the test: mailbox at refs mref.., data at dref.. */
struct tctx {
	struct xd_ctx *ctx;
	uint32_t mref, dref, cpage;
	uint32_t ctx_region, data_region, pd, key, db, async, comp, cq, qpn;
	uint32_t seq;
};

/* Send a request through t's mailbox with hdr.flags and seq as given. */
static struct xenib_ctrl_hdr *xcall(struct tctx *t, void *req, uint32_t len,
				    uint16_t flags, uint32_t sq)
{
	struct xenib_xen_mbox *m = fx_page(t->mref);
	struct xenib_ctrl_hdr *h = req;

	h->seq = sq;
	h->flags = flags;
	h->length = len;
	memcpy(fx_page(t->mref + 1), req, len);
	m->req_len = len;
	xr_store_release(&m->req_seq, sq);
	xd_xen_mbox_event(t->ctx);
	return fx_page(t->mref + 2);
}

static struct xenib_ctrl_hdr *tcall(struct tctx *t, void *req, uint32_t len)
{
	return xcall(t, req, len, 0, ++t->seq);
}

static uint32_t map_grants(struct tctx *t, uint32_t dir, uint32_t first,
			   uint32_t npages, uint32_t flags)
{
	struct xenib_map_region_req map = { .hdr.opcode = XENIB_CMD_MAP_REGION,
					    .npages = npages, .flags = flags,
					    .ref = dir };
	struct xenib_handle_resp *hr;

	fx_make_dir(dir, dir + 1, first, npages);
	hr = (void *)tcall(t, &map, sizeof(map));
	CHECK(!hr->hdr.status, "MAP_REGION %u pages (%u)", npages,
	      hr->hdr.status);
	return hr->handle;
}

static uint32_t bind_port(struct tctx *t, uint32_t kind, uint32_t port)
{
	struct xenib_bind_notify_req b = { .hdr.opcode = XENIB_CMD_BIND_NOTIFY,
					   .kind = kind, .port = port };
	struct xenib_handle_resp *hr = (void *)tcall(t, &b, sizeof(b));

	CHECK(!hr->hdr.status, "BIND_NOTIFY kind %u", kind);
	return hr->handle;
}

/* Context with HELLO, ctx page, data region, PD, MR, notifiers, CQ, QP. */
static void tctx_setup(struct tctx *t, uint32_t domid, uint32_t mref,
		       uint32_t cdir, uint32_t ddir, uint32_t dref,
		       uint32_t port0)
{
	uint32_t refs[3] = { mref, mref + 1, mref + 2 };
	struct xenib_hello_req hello = { .hdr.opcode = XENIB_CMD_HELLO,
					 .abi_version = XENIB_ABI_VERSION };
	struct xenib_alloc_pd_req pd = { .hdr.opcode = XENIB_CMD_ALLOC_PD };
	struct {
		struct xenib_reg_mr_req r;
		struct xenib_mr_seg seg;
	} mr = { 0 };
	struct xenib_create_cq_req cq = { .hdr.opcode = XENIB_CMD_CREATE_CQ };
	struct xenib_create_qp_req qp = { .hdr.opcode = XENIB_CMD_CREATE_QP };
	struct xenib_handle_resp *hr;

	memset(t, 0, sizeof(*t));
	t->mref = mref;
	t->dref = dref;
	t->cpage = cdir + 2;
	memset(fx_page(mref), 0, 3 * 4096);
	memset(fx_page(dref), 0, D_PAGES * 4096);
	CHECK(!xd_xen_ctx_new(NULL, domid, 0, refs, port0, &t->ctx),
	      "context of domain %u", domid);
	tcall(t, &hello, sizeof(hello));
	t->ctx_region = map_grants(t, cdir, cdir + 2, 1,
				   XENIB_REGION_CTX_PAGE);
	t->data_region = map_grants(t, ddir, dref, D_PAGES, 0);
	hr = (void *)tcall(t, &pd, sizeof(pd));
	t->pd = hr->handle;
	mr.r.hdr.opcode = XENIB_CMD_REG_MR;
	mr.r.pd = t->pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		      IBV_ACCESS_REMOTE_READ;
	mr.r.iova = MR_IOVA;
	mr.r.length = 4 * 4096;
	mr.r.nsegs = 1;
	mr.seg = (struct xenib_mr_seg){ .region = t->data_region,
					.offset = 8 * 4096, .length = 4 * 4096 };
	hr = (void *)tcall(t, &mr, sizeof(mr));
	CHECK(!hr->hdr.status, "REG_MR (%u)", hr->hdr.status);
	t->key = ((struct xenib_reg_mr_resp *)hr)->lkey;
	t->db = bind_port(t, XENIB_NOTIFY_DOORBELL, port0 + 1);
	t->async = bind_port(t, XENIB_NOTIFY_ASYNC, port0 + 2);
	t->comp = bind_port(t, XENIB_NOTIFY_COMP, port0 + 3);
	cq.ring = (struct xenib_ring_desc){ .region = t->data_region,
					    .entries = 4096 /
						sizeof(struct xenib_cqe),
					    .offset = 0,
					    .stride = sizeof(struct xenib_cqe) };
	cq.notify = t->comp;
	hr = (void *)tcall(t, &cq, sizeof(cq));
	CHECK(!hr->hdr.status, "CREATE_CQ (%u)", hr->hdr.status);
	t->cq = hr->handle;
	qp.pd = t->pd;
	qp.qp_type = IBV_QPT_RC;
	qp.send_cq = t->cq;
	qp.recv_cq = t->cq;
	qp.srq = XENIB_INVALID_HANDLE;
	qp.max_send_sge = 1;
	qp.max_recv_sge = 1;
	qp.sq = (struct xenib_ring_desc){ .region = t->data_region,
					  .entries = 16, .offset = 2 * 4096,
					  .stride = 256 };
	qp.rq = (struct xenib_ring_desc){ .region = t->data_region,
					  .entries = 16, .offset = 4 * 4096,
					  .stride = 256 };
	hr = (void *)tcall(t, &qp, sizeof(qp));
	CHECK(!hr->hdr.status, "CREATE_QP (%u)", hr->hdr.status);
	t->qpn = hr->handle;
}

/* RTS, connected to the other's QP (directly: the state machine is not
 * what this test is about). */
static void connect_qps(struct tctx *a, struct tctx *b)
{
	struct xd_qp *qa = tb_qp(a->ctx, a->qpn), *qb = tb_qp(b->ctx, b->qpn);
	struct xd_qp *q[2] = { qa, qb };
	int i;

	for (i = 0; i < 2; i++) {
		if (!q[i])
			return;
		q[i]->attr.qp_state = IBV_QPS_RTS;
		q[i]->attr.dest_qp_num = q[1 - i]->h.id;
		q[i]->attr.ah.dlid = q[1 - i]->ctx->guest->lid;
		q[i]->attr.timeout = 1;
		q[i]->attr.retry_cnt = 2;
		q[i]->attr.rnr_retry = 7;
		q[i]->attr.qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
					     IBV_ACCESS_REMOTE_READ;
	}
}

static void *dpage(struct tctx *t, uint32_t page)
{
	return fx_page(t->dref + page);
}

static struct xenib_ring_hdr *ring_hdr(struct tctx *t, uint32_t page)
{
	return dpage(t, page);
}

static void post_recv(struct tctx *t, uint64_t wr_id)
{
	struct xenib_ring_hdr *h = ring_hdr(t, 4);
	struct xenib_recv_wqe *w = xr_entry(h, h->prod, 16, 256);
	struct xenib_sge *sge = (void *)(w + 1);

	w->wr_id = wr_id;
	w->num_sge = 1;
	sge->addr = MR_IOVA;
	sge->length = 4096;
	sge->lkey = t->key;
	xr_store_release(&h->prod, h->prod + 1);
}

static void post_send(struct tctx *t, uint64_t wr_id, const char *msg)
{
	struct xenib_ring_hdr *h = ring_hdr(t, 2);
	struct xenib_send_wqe *w = xr_entry(h, h->prod, 16, 256);
	struct xenib_sge *sge = (void *)(w + 1);

	memset(w, 0, sizeof(*w));
	w->wr_id = wr_id;
	w->opcode = IBV_WR_SEND;
	w->send_flags = IBV_SEND_SIGNALED;
	w->num_sge = 1;
	sge->addr = MR_IOVA;
	sge->length = strlen(msg) + 1;
	sge->lkey = t->key;
	strcpy(dpage(t, 8), msg);
	xr_store_release(&h->prod, h->prod + 1);
}

/* Permissions of the backend's mapping at p, from /proc/self/maps. */
static bool mapped_rw(const void *p)
{
	unsigned long lo, hi, a = (unsigned long)p;
	char perms[8], line[512];
	bool rw = false;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
		    a >= lo && a < hi)
			rw = perms[0] == 'r' && perms[1] == 'w';
	if (f)
		fclose(f);
	return rw;
}

static struct xenib_ctrl_hdr *resume_region(struct tctx *t, uint32_t handle,
					    uint32_t npages, uint32_t dir,
					    uint32_t first, uint32_t n)
{
	struct xenib_resume_region_req r = {
		.hdr.opcode = XENIB_CMD_RESUME_REGION, .handle = handle,
		.npages = npages, .ref = dir,
	};

	fx_make_dir(dir, dir + 1, first, npages);
	return xcall(t, &r, sizeof(r), 1, 0x80000000u | n);
}

static struct xenib_ctrl_hdr *resume_notify(struct tctx *t, uint32_t handle,
					    uint32_t port, uint32_t n)
{
	struct xenib_resume_notify_req r = {
		.hdr.opcode = XENIB_CMD_RESUME_NOTIFY, .handle = handle,
		.port = port,
	};

	return xcall(t, &r, sizeof(r), 1, 0x80000000u | n);
}

static struct xenib_ctrl_hdr *resume_done(struct tctx *t, uint32_t n)
{
	struct xenib_ctrl_hdr h = { .opcode = XENIB_CMD_RESUME_DONE };

	return xcall(t, &h, sizeof(h), 1, 0x80000000u | n);
}

/* The restored guest: new mailbox at mref, take-over, re-grant. */
static void takeover(struct tctx *t, uint32_t domid, uint32_t mref,
		     uint32_t port)
{
	uint32_t refs[3] = { mref, mref + 1, mref + 2 };

	memset(fx_page(mref), 0, 3 * 4096);
	CHECK(!xd_xen_ctx_takeover(t->ctx, domid, 1, refs, port),
	      "take-over of the frozen context");
	t->mref = mref;
}

static void test_resume(void)
{
	struct tctx a, b;
	struct xd_region *ra, *rc;
	struct xd_qp *qa, *qb;
	struct xenib_ring_hdr *cqa, *cqb;
	struct xenib_alloc_pd_req pd = { .hdr.opcode = XENIB_CMD_ALLOC_PD };
	struct xenib_ctrl_hdr *h;
	struct xenib_ctx_page *pg;
	struct xenib_cqe *cqe;
	uint64_t next = UINT64_MAX;
	uint32_t last_seq, binds, unbinds, msgs, old_id, i;
	uint16_t b_lid;
	unsigned char stored[64];
	char *view;
	long ctxs;

	tctx_setup(&a, 5, 200, 230, 240, 300, 50);
	tctx_setup(&b, 6, 210, 233, 244, 400, 60);
	if (!a.ctx || !b.ctx)
		return;
	connect_qps(&a, &b);
	qa = tb_qp(a.ctx, a.qpn);
	qb = tb_qp(b.ctx, b.qpn);
	ra = xd_region_lookup(a.ctx, a.data_region);
	rc = xd_region_lookup(a.ctx, a.ctx_region);
	view = xd_mr_translate(a.key, xd_pd_lookup(a.ctx, a.pd), MR_IOVA, 8,
			       IBV_ACCESS_REMOTE_WRITE);
	CHECK(qa && qb && ra && rc && view, "objects");
	if (!qa || !qb || !ra || !rc || !view)
		return;

	/* The provider's last request (ALLOC_PD) was answered: stored. */
	h = tcall(&a, &pd, sizeof(pd));
	last_seq = a.seq;
	memcpy(stored, h, sizeof(struct xenib_handle_resp));

	/* --- freeze A: its domain suspends --------------------------- */
	binds = fx.bind;
	unbinds = fx.unbind;
	fx.disarm = 0;
	xd.now_ns = 1000000000ull;
	xd_xen_ctx_freeze(a.ctx);
	CHECK(a.ctx->frozen && xd_xen_of(a.ctx)->orphan, "frozen, orphan");
	CHECK(fx.disarm == 1 && !xd_xen_of(a.ctx)->mbox.va,
	      "mailbox unmap notification disarmed, then unmapped");
	CHECK(fx.unbind - unbinds == 4 && !xd_xen_of(a.ctx)->ctrl_port &&
	      !xd_xen_notify_of(a.ctx->doorbell)->port && !xd_xen_notify_of(a.ctx->async)->port,
	      "control port and 3 notifier ports unbound (%u)",
	      fx.unbind - unbinds);
	CHECK(xd_xen_region_of(ra)->unmapped && xd_xen_region_of(rc)->unmapped && !mapped_rw(ra->va) &&
	      !mapped_rw(rc->va) && !mapped_rw(view),
	      "regions and MR view: inaccessible placeholders");
	CHECK(xd_region_lookup(a.ctx, a.data_region) == ra &&
	      xd_mr_translate(a.key, xd_pd_lookup(a.ctx, a.pd), MR_IOVA, 8,
			      IBV_ACCESS_REMOTE_WRITE) == view,
	      "objects and addresses stay");

	/* B sends to frozen A: held, no retry spent, however long. */
	post_recv(&a, 0xa1);
	post_send(&b, 0xb1, "across the suspend");
	cqb = ring_hdr(&b, 0);
	for (i = 0; i < 50; i++) {
		xd.now_ns += 1000000000ull;
		next = UINT64_MAX;
		xd_engine_poll(&next);
	}
	CHECK(qb->attr.qp_state == IBV_QPS_RTS &&
	      qb->eng->stall == XD_STALL_FROZEN && qb->sq.idx == 0 &&
	      cqb->prod == 0, "peer's WQE held at the head, no RETRY_EXC");
	CHECK(next != UINT64_MAX, "held WQE bounds the sleep");
	CHECK(!xd_engine_has_work() || qb->eng->stall, "frozen rings not read");

	/* A resume with the token of no frozen context would be refused
	 * by ctx_connect (xenstore); a take-over of a live one is EBUSY. */
	CHECK(xd_xen_ctx_takeover(b.ctx, 6, 1, (uint32_t[3]){ 1, 2, 3 },
				  99) == EBUSY, "live context: no take-over");

	/* --- restored: new domid 7, new mailbox, new ports ----------- */
	old_id = xd_xen_of(a.ctx)->id;
	takeover(&a, 7, 220, 70);
	CHECK(a.ctx->frozen && xd_xen_of(a.ctx)->resumed && !xd_xen_of(a.ctx)->orphan &&
	      xd_xen_of(a.ctx)->id != old_id && fx.bind - binds == 1,
	      "taken over: new mailbox and port, new token, still frozen");
	CHECK(((struct xenib_xen_mbox *)fx_page(220))->backend_alive == 1,
	      "new mailbox: backend_alive");

	/* Frozen: only RESUME_*; relay flag only on RESUME_*. */
	msgs = xd.stats.ctrl_msgs;
	h = xcall(&a, &pd, sizeof(pd), 0, 0x7000);
	CHECK(h->status == EBUSY, "provider request while frozen: EBUSY (%u)",
	      h->status);
	h = xcall(&a, &pd, sizeof(pd), 1, 0x80000100u);
	CHECK(h->status == EINVAL, "flags 1 on ALLOC_PD: EINVAL (%u)",
	      h->status);
	h = xcall(&a, &pd, sizeof(pd), 2, 0x7001);
	CHECK(h->status == EINVAL, "flags 2: EINVAL (%u)", h->status);
	h = resume_done(&b, 1);
	CHECK(h->status == EINVAL, "relay flag on a live context: EINVAL (%u)",
	      h->status);

	/* RESUME_REGION: the ctx page first; DONE is early then. */
	h = resume_region(&a, a.ctx_region, 1, 250, 232, 1);
	CHECK(!h->status && !xd_xen_region_of(rc)->unmapped && mapped_rw(rc->va) &&
	      a.ctx->page == rc->va, "ctx page back at its address (%u)",
	      h->status);
	h = resume_done(&a, 2);
	CHECK(h->status == EBUSY && a.ctx->frozen,
	      "RESUME_DONE with a region missing: EBUSY (%u)", h->status);
	h = resume_region(&a, 0x7777, 1, 252, 300, 3);
	CHECK(h->status == ENOENT, "unknown region: ENOENT (%u)", h->status);
	h = resume_region(&a, a.data_region, D_PAGES - 1, 252, 300, 4);
	CHECK(h->status == EINVAL, "npages mismatch: EINVAL (%u)", h->status);
	h = resume_region(&a, a.data_region, D_PAGES, 252, 300, 5);
	CHECK(!h->status && !xd_xen_region_of(ra)->unmapped && mapped_rw(ra->va) &&
	      mapped_rw(view) && xd_xen_region_of(ra)->domid == 7,
	      "data region and MR view re-mapped in place (%u)", h->status);
	memcpy(view, "via the view", 13);
	CHECK(!memcmp(dpage(&a, 8), "via the view", 13),
	      "MR view reaches the guest's page again");

	/* RESUME_NOTIFY: new ports. */
	h = resume_notify(&a, a.db, 71, 6);
	CHECK(!h->status && xd_xen_notify_of(a.ctx->doorbell)->port == 1071,
	      "doorbell port (%u)", h->status);
	h = resume_notify(&a, a.async, 72, 7);
	CHECK(!h->status && xd_xen_notify_of(a.ctx->async)->port == 1072, "async port");
	h = resume_notify(&a, a.comp, 73, 8);
	CHECK(!h->status, "comp port");
	h = resume_notify(&a, 0x7777, 74, 9);
	CHECK(h->status == ENOENT, "unknown notifier: ENOENT");
	h = resume_notify(&a, a.comp, FX_BAD_PORT, 10);
	CHECK(h->status == EINVAL, "unbindable port: EINVAL");

	/* The relay's answers did not replace the provider's. */
	CHECK(xd_xen_of(a.ctx)->last_seq == last_seq &&
	      !memcmp(xd_xen_of(a.ctx)->last, stored, sizeof(stored) <
		      xd_xen_of(a.ctx)->last_len ? sizeof(stored) :
		      xd_xen_of(a.ctx)->last_len),
	      "stored answer still the provider's");

	h = resume_done(&a, 11);
	CHECK(!h->status && !a.ctx->frozen && !xd_xen_of(a.ctx)->resumed,
	      "RESUME_DONE: running (%u)", h->status);

	/* The engine looked once: B's held send went through. */
	cqa = ring_hdr(&a, 0);
	CHECK(qb->sq.idx == 1 && cqb->prod == 1 && cqa->prod == 1 &&
	      !strcmp(dpage(&a, 8), "across the suspend"),
	      "held send delivered after RESUME_DONE");
	cqe = xr_entry(cqb, 0, 4096 / sizeof(*cqe), sizeof(*cqe));
	CHECK(cqe->status == IBV_WC_SUCCESS && cqe->wr_id == 0xb1,
	      "peer's completion: success (%u)", cqe->status);

	/* The provider's request sent again with its seq: stored answer. */
	msgs = xd.stats.ctrl_msgs;
	memset(fx_page(222), 0, 4096);
	h = xcall(&a, &pd, sizeof(pd), 0, last_seq);
	CHECK(xd.stats.ctrl_msgs == msgs &&
	      !memcmp(h, stored, sizeof(struct xenib_handle_resp)),
	      "re-sent request answered from the stored response");
	/* One not executed before the suspend: executed. */
	h = xcall(&a, &pd, sizeof(pd), 0, last_seq + 1);
	CHECK(xd.stats.ctrl_msgs == msgs + 1 && !h->status &&
	      h->seq == last_seq + 1, "new request executed");
	a.seq = last_seq + 1;
	h = resume_done(&a, 12);
	CHECK(h->status == EINVAL, "RESUME_* after DONE: refused (%u)",
	      h->status);
	CHECK(xd_xen_of(a.ctx)->last_seq == last_seq + 1,
	      "a flags-1 request never replaces the stored answer");

	/* --- second suspend; the image lost a completion ----------- */
	xd_xen_ctx_freeze(a.ctx);
	takeover(&a, 8, 224, 80);
	resume_region(&a, a.ctx_region, 1, 254, 232, 1);
	resume_region(&a, a.data_region, D_PAGES, 256, 300, 2);
	cqa->prod--;		/* the image is older than what we wrote */
	pg = fx_page(a.cpage);
	h = resume_done(&a, 3);
	CHECK(!h->status && qa->attr.qp_state == IBV_QPS_ERR,
	      "CQ prod mismatch: QP to error (%u)", h->status);
	CHECK(pg->async_prod >= 1 &&
	      pg->async_ev[pg->async_prod - 1].event_type ==
	      IBV_EVENT_QP_FATAL &&
	      pg->async_ev[pg->async_prod - 1].handle == a.qpn,
	      "IBV_EVENT_QP_FATAL posted");

	/* --- B freezes and nobody resumes it ------------------------ */
	xd.cfg.resume_timeout = 5;
	xd.now_ns = 100000000000ull;
	b_lid = b.ctx->guest->lid;	/* b.ctx is freed below */
	xd_xen_ctx_freeze(b.ctx);
	ctxs = xd.stats.contexts;
	b_lid = b.ctx->guest->lid;
	xd.now_ns += 4000000000ull;
	next = UINT64_MAX;
	xd_xen_tick(&next);
	CHECK(xd.stats.contexts == ctxs && next <= 105000000000ull,
	      "kept within resume_timeout, deadline bounds the sleep");
	xd.now_ns += 2000000000ull;
	xd_xen_tick(&next);
	CHECK(xd.stats.contexts == ctxs - 1 && !xd_qp_find(b_lid, b.qpn),
	      "destroyed after resume_timeout");

	xd_ctx_destroy(a.ctx);
	CHECK(xd.stats.contexts == 0 && xd.stats.regions == 0 &&
	      xd.stats.mrs == 0 && xd.stats.notifiers == 0,
	      "all gone");
	CHECK(fx.bind == fx.unbind, "every port unbound (%u/%u)", fx.bind, fx.unbind);
}

/*
 * An emulated context has no grants: a Xen-style MAP_REGION (a directory
 * ref, no fd) or BIND_NOTIFY (a port, no fd) fails there.
 */

int main(void)
{
	if (fx_unit_init(16))
		return 1;
	test_resume();
	return check_summary();
}
