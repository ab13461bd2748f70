// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd's Xen mode without Xen: the strict parsers of guest-written
 * xenstore values, the grant-ref directory of MAP_REGION, and the mailbox
 * control channel with its Xen-mode requests, driven through the fake
 * hypervisor of tests/common/fake_xen.h.  The last line is
 * "N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"
#include "xenibd/xen.h"

#include "tests/common/check.h"
#include "tests/common/fake_xen.h"

static void test_parsers(void)
{
	static const char *const bad_u32[] = {
		"", "-1", "+1", " 1", "1 ", "01", "1a", "0x10", "4294967296",
		"12345678901", "1\n",
	};
	uint32_t v = 7, refs[3], id;
	uint64_t secret;
	size_t i;

	CHECK(!hvx_parse_u32("0", 10, &v) && v == 0, "u32 0");
	CHECK(!hvx_parse_u32("4294967295", UINT32_MAX, &v) &&
	      v == UINT32_MAX, "u32 max");
	CHECK(hvx_parse_u32("11", 10, &v) == EINVAL, "u32 above max");
	CHECK(hvx_parse_u32(NULL, 10, &v) == EINVAL, "u32 NULL");
	for (i = 0; i < sizeof(bad_u32) / sizeof(bad_u32[0]); i++)
		CHECK(hvx_parse_u32(bad_u32[i], UINT32_MAX, &v) == EINVAL,
		      "u32 '%s' refused", bad_u32[i]);

	CHECK(!hvx_parse_refs("8 9 4294967295", refs, 3) && refs[0] == 8 &&
	      refs[1] == 9 && refs[2] == UINT32_MAX, "refs");
	CHECK(hvx_parse_refs("8 9", refs, 3) == EINVAL, "2 refs");
	CHECK(hvx_parse_refs("8 9 10 11", refs, 3) == EINVAL, "4 refs");
	CHECK(hvx_parse_refs("8  9 10", refs, 3) == EINVAL, "double blank");
	CHECK(hvx_parse_refs("8 9 10 ", refs, 3) == EINVAL, "trailing blank");
	CHECK(hvx_parse_refs(" 8 9 10", refs, 3) == EINVAL, "leading blank");
	CHECK(hvx_parse_refs("8 9 x", refs, 3) == EINVAL, "not a number");
	CHECK(hvx_parse_refs("8 9 99999999999", refs, 3) == EINVAL, "too long");
	CHECK(hvx_parse_refs(NULL, refs, 3) == EINVAL, "NULL refs");

	CHECK(!hvx_parse_token("0000002a0123456789abcdef", &id, &secret) &&
	      id == 42 && secret == 0x0123456789abcdefull, "token");
	CHECK(hvx_parse_token("0000002a0123456789abcde", &id, &secret),
	      "short token");
	CHECK(hvx_parse_token("0000002a0123456789abcdeg", &id, &secret),
	      "non-hex token");
}

/*
 * A region of npages at guest ref first.. with its directory at dir and
 * list pages at list.. (all refs, i.e. guest page + 1).
 */
static void make_dir(uint32_t dir, uint32_t list, uint32_t first,
		     uint32_t npages)
{
	uint32_t nlist = (npages + 1023) / 1024, i;
	uint32_t *d = fx_page(dir);

	memset(d, 0, 4096);
	for (i = 0; i < nlist; i++)
		d[i] = list + i;
	for (i = 0; i < npages; i++)
		((uint32_t *)fx_page(list + i / 1024))[i % 1024] = first + i;
}

static void test_read_refs(void)
{
	uint32_t *refs = NULL, i;
	bool ok = true;

	make_dir(1, 2, 100, 1500);
	CHECK(!xd_xen_read_refs(3, 1, 1500, &refs), "read 1500 refs");
	for (i = 0; refs && i < 1500; i++)
		ok &= refs[i] == 100 + i;
	CHECK(refs && ok, "refs copied in order");
	free(refs);
	CHECK(xd_xen_read_refs(3, 1, 0, &refs) == EINVAL, "0 pages");
	CHECK(xd_xen_read_refs(3, 1, (1u << 20) + 1, &refs) == EINVAL,
	      "too many pages for one directory");
	CHECK(xd_xen_read_refs(3, 0, 10, &refs) == EFAULT, "bad directory ref");
	((uint32_t *)fx_page(1))[1] = FX_PAGES + 7;
	CHECK(xd_xen_read_refs(3, 1, 1500, &refs) == EFAULT, "bad list ref");
	CHECK(fx.map == fx.unmap, "every temporary mapping undone (%u/%u)", fx.map,
	      fx.unmap);
}

/* Mailbox at guest refs 10, 11, 12. */
static struct xenib_xen_mbox *mb;

static uint32_t seq;

/* Put a request into the mailbox, kick, and return the response page. */
static struct xenib_ctrl_hdr *call(struct xd_ctx *ctx, void *req,
				   uint32_t len)
{
	struct xenib_ctrl_hdr *h = req;

	h->seq = ++seq;
	h->length = len;
	memcpy(fx_page(11), req, len);
	mb->req_len = len;
	xr_store_release(&mb->req_seq, seq);
	xd_xen_mbox_event(ctx);
	return fx_page(12);
}

static void test_mailbox(void)
{
	uint32_t mrefs[3] = { 10, 11, 12 };
	struct xenib_hello_req hello = { .hdr.opcode = XENIB_CMD_HELLO,
					 .abi_version = XENIB_ABI_VERSION };
	struct xenib_map_region_req map = { .hdr.opcode = XENIB_CMD_MAP_REGION };
	struct xenib_bind_notify_req bind = {
		.hdr.opcode = XENIB_CMD_BIND_NOTIFY,
	};
	struct xenib_alloc_pd_req pd = { .hdr.opcode = XENIB_CMD_ALLOC_PD };
	struct {
		struct xenib_reg_mr_req r;
		struct xenib_mr_seg seg;
	} mr = { 0 };
	struct xenib_handle_resp *hr;
	struct xenib_ctrl_hdr *resp;
	struct xd_ctx *ctx = NULL;
	uint32_t region, pdh, msgs, key;
	uint64_t next;
	char *p;

	memset(fx_page(10), 0, 3 * 4096);
	mb = fx_page(10);
	CHECK(xd_xen_ctx_new(NULL, 3, 0, mrefs, FX_BAD_PORT, &ctx) == EINVAL,
	      "unbindable control port refused");
	mrefs[2] = 0;
	CHECK(xd_xen_ctx_new(NULL, 3, 0, mrefs, 7, &ctx) == EFAULT,
	      "bad mailbox ref refused");
	mrefs[2] = 12;
	CHECK(!xd_xen_ctx_new(NULL, 3, 0, mrefs, 7, &ctx) && ctx,
	      "context on a mailbox");
	if (!ctx)
		return;
	CHECK(mb->backend_alive == 1, "backend_alive set");
	CHECK(ctx->xen->ctrl_port == 1007, "control port bound");

	/* HELLO; the guest name in the message is ignored on Xen. */
	strcpy(hello.guest_name, "spoofed");
	resp = call(ctx, &hello, sizeof(hello));
	CHECK(mb->resp_seq == seq && !resp->status &&
	      resp->opcode == XENIB_CMD_HELLO, "HELLO answered (status %u)",
	      resp->status);
	CHECK(ctx->guest && !strcmp(ctx->guest->name, "xen-test"),
	      "guest from the domain, not from HELLO");
	CHECK(mb->resp_len == sizeof(struct xenib_hello_resp), "resp_len");

	/* The same seq again: the stored answer, not a second execution. */
	msgs = xd.stats.ctrl_msgs;
	mb->resp_seq = 0;
	memset(fx_page(12), 0, 4096);
	xd_xen_mbox_event(ctx);
	CHECK(mb->resp_seq == seq && resp->opcode == XENIB_CMD_HELLO &&
	      xd.stats.ctrl_msgs == msgs, "repeated seq: stored answer");
	/* Nothing pending: a spurious event does nothing. */
	xd_xen_mbox_event(ctx);
	CHECK(xd.stats.ctrl_msgs == msgs, "spurious event ignored");

	/* An oversized request length is refused, never read. */
	mb->req_len = 5000;
	xr_store_release(&mb->req_seq, ++seq);
	xd_xen_mbox_event(ctx);
	CHECK(mb->resp_seq == seq && resp->status == EMSGSIZE,
	      "req_len > XENIB_CTRL_MAX_MSG: EMSGSIZE (%u)", resp->status);

	/* Context page: 1 page, ref in a directory at guest ref 20. */
	make_dir(20, 21, 30, 1);
	map.npages = 1;
	map.flags = XENIB_REGION_CTX_PAGE;
	map.ref = 20;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(!hr->hdr.status && ctx->page, "ctx page mapped (%u)",
	      hr->hdr.status);
	xr_store_release(&ctx->page->backend_sleeping, 1);
	CHECK(((struct xenib_ctx_page *)fx_page(30))->backend_sleeping == 1,
	      "ctx page is the guest's page");

	map.flags = 0;
	map.offset = 4096;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EINVAL, "offset != 0: EINVAL");
	map.offset = 0;
	map.ref = 1ull << 32;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EINVAL, "ref > 32 bits: EINVAL");
	map.ref = FX_PAGES + 1;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EFAULT, "bad directory ref: EFAULT (%u)",
	      hr->hdr.status);
	make_dir(22, 23, FX_PAGES - 1, 4);	/* runs past the guest's pages */
	map.ref = 22;
	map.npages = 4;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EFAULT, "bad page ref: EFAULT (%u)",
	      hr->hdr.status);

	/* A 4-page data region, and an MR over its middle two pages. */
	make_dir(24, 25, 40, 4);
	map.ref = 24;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(!hr->hdr.status, "data region mapped (%u)", hr->hdr.status);
	region = hr->handle;
	hr = (void *)call(ctx, &pd, sizeof(pd));
	pdh = hr->handle;
	CHECK(!hr->hdr.status, "pd");
	mr.r.hdr.opcode = XENIB_CMD_REG_MR;
	mr.r.pd = pdh;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	mr.r.iova = 0x10000100;
	mr.r.length = 7000;
	mr.r.nsegs = 1;
	mr.seg = (struct xenib_mr_seg){ .region = region, .offset = 4096,
					.length = 8192 };
	resp = call(ctx, &mr, sizeof(mr));
	key = ((struct xenib_reg_mr_resp *)resp)->lkey;
	CHECK(!resp->status, "REG_MR over granted pages (%u)", resp->status);
	p = xd_mr_translate(key, xd_pd_lookup(ctx, pdh), 0x10001000, 8,
			    IBV_ACCESS_REMOTE_WRITE);
	CHECK(p != NULL, "MR translates");
	if (p) {
		memcpy(p, "granted", 8);
		CHECK(!memcmp(fx_page(42), "granted", 8),
		      "MR view writes the guest's page");
	}

	/* Notifiers: a port the guest did not open for us, then a good one. */
	bind.kind = XENIB_NOTIFY_DOORBELL;
	bind.port = FX_BAD_PORT;
	hr = (void *)call(ctx, &bind, sizeof(bind));
	CHECK(hr->hdr.status == EINVAL, "unbindable port: EINVAL");
	bind.port = 0;
	hr = (void *)call(ctx, &bind, sizeof(bind));
	CHECK(hr->hdr.status == EINVAL, "port 0: EINVAL");
	bind.port = 8;
	hr = (void *)call(ctx, &bind, sizeof(bind));
	CHECK(!hr->hdr.status && ctx->doorbell &&
	      ctx->doorbell->port == 1008, "doorbell bound");
	bind.kind = XENIB_NOTIFY_ASYNC;
	bind.port = 9;
	hr = (void *)call(ctx, &bind, sizeof(bind));
	CHECK(!hr->hdr.status && ctx->async, "async notifier bound");
	fx.notify = 0;
	xd_ctx_post_async(ctx, IBV_EVENT_PORT_ACTIVE, 1);
	CHECK(fx.notify == 1, "async event signals the guest's port");

	/*
	 * The guest's process dies: its kernel clears frontend_alive and
	 * sends no event; the periodic scan of xd_xen_tick() notices.
	 */
	__atomic_store_n(&mb->frontend_alive, 1, __ATOMIC_RELEASE);
	xd_xen_mbox_event(ctx);
	xd.now_ns += 1000000000ull;
	next = UINT64_MAX;
	xd_xen_tick(&next);
	CHECK(xd.stats.contexts == 1 && next > xd.now_ns &&
	      next <= xd.now_ns + 250000000ull,
	      "alive; next liveness scan within 250 ms");
	__atomic_store_n(&mb->frontend_alive, 0, __ATOMIC_RELEASE);
	xd.now_ns = next;
	xd_xen_tick(&next);
	CHECK(xd.stats.contexts == 0 && xd.stats.regions == 0 &&
	      xd.stats.mrs == 0 && xd.stats.notifiers == 0,
	      "frontend gone: context and objects destroyed");
	CHECK(fx.bind == fx.unbind, "every port unbound (%u/%u)", fx.bind, fx.unbind);
	CHECK(fx.map == fx.unmap, "every grant mapping undone (%u/%u)", fx.map,
	      fx.unmap);
}

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

	make_dir(dir, dir + 1, first, npages);
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
	struct xd_qp *qa = xd_qp_find(a->qpn), *qb = xd_qp_find(b->qpn);
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

	make_dir(dir, dir + 1, first, npages);
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
	unsigned char stored[64];
	char *view;
	long ctxs;

	tctx_setup(&a, 5, 200, 230, 240, 300, 50);
	tctx_setup(&b, 6, 210, 233, 244, 400, 60);
	if (!a.ctx || !b.ctx)
		return;
	connect_qps(&a, &b);
	qa = xd_qp_find(a.qpn);
	qb = xd_qp_find(b.qpn);
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
	CHECK(a.ctx->frozen && a.ctx->xen->orphan, "frozen, orphan");
	CHECK(fx.disarm == 1 && !a.ctx->xen->mbox.va,
	      "mailbox unmap notification disarmed, then unmapped");
	CHECK(fx.unbind - unbinds == 4 && !a.ctx->xen->ctrl_port &&
	      !a.ctx->doorbell->port && !a.ctx->async->port,
	      "control port and 3 notifier ports unbound (%u)",
	      fx.unbind - unbinds);
	CHECK(ra->unmapped && rc->unmapped && !mapped_rw(ra->va) &&
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
	      qb->stall == XD_STALL_FROZEN && qb->sq.idx == 0 &&
	      cqb->prod == 0, "peer's WQE held at the head, no RETRY_EXC");
	CHECK(next != UINT64_MAX, "held WQE bounds the sleep");
	CHECK(!xd_engine_has_work() || qb->stall, "frozen rings not read");

	/* A resume with the token of no frozen context would be refused
	 * by ctx_connect (xenstore); a take-over of a live one is EBUSY. */
	CHECK(xd_xen_ctx_takeover(b.ctx, 6, 1, (uint32_t[3]){ 1, 2, 3 },
				  99) == EBUSY, "live context: no take-over");

	/* --- restored: new domid 7, new mailbox, new ports ----------- */
	old_id = a.ctx->xen->id;
	takeover(&a, 7, 220, 70);
	CHECK(a.ctx->frozen && a.ctx->xen->resumed && !a.ctx->xen->orphan &&
	      a.ctx->xen->id != old_id && fx.bind - binds == 1,
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
	CHECK(!h->status && !rc->unmapped && mapped_rw(rc->va) &&
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
	CHECK(!h->status && !ra->unmapped && mapped_rw(ra->va) &&
	      mapped_rw(view) && ra->domid == 7,
	      "data region and MR view re-mapped in place (%u)", h->status);
	memcpy(view, "via the view", 13);
	CHECK(!memcmp(dpage(&a, 8), "via the view", 13),
	      "MR view reaches the guest's page again");

	/* RESUME_NOTIFY: new ports. */
	h = resume_notify(&a, a.db, 71, 6);
	CHECK(!h->status && a.ctx->doorbell->port == 1071,
	      "doorbell port (%u)", h->status);
	h = resume_notify(&a, a.async, 72, 7);
	CHECK(!h->status && a.ctx->async->port == 1072, "async port");
	h = resume_notify(&a, a.comp, 73, 8);
	CHECK(!h->status, "comp port");
	h = resume_notify(&a, 0x7777, 74, 9);
	CHECK(h->status == ENOENT, "unknown notifier: ENOENT");
	h = resume_notify(&a, a.comp, FX_BAD_PORT, 10);
	CHECK(h->status == EINVAL, "unbindable port: EINVAL");

	/* The relay's answers did not replace the provider's. */
	CHECK(a.ctx->xen->last_seq == last_seq &&
	      !memcmp(a.ctx->xen->last, stored, sizeof(stored) <
		      a.ctx->xen->last_len ? sizeof(stored) :
		      a.ctx->xen->last_len),
	      "stored answer still the provider's");

	h = resume_done(&a, 11);
	CHECK(!h->status && !a.ctx->frozen && !a.ctx->xen->resumed,
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
	CHECK(a.ctx->xen->last_seq == last_seq + 1,
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
	xd_xen_ctx_freeze(b.ctx);
	ctxs = xd.stats.contexts;
	xd.now_ns += 4000000000ull;
	next = UINT64_MAX;
	xd_xen_tick(&next);
	CHECK(xd.stats.contexts == ctxs && next <= 105000000000ull,
	      "kept within resume_timeout, deadline bounds the sleep");
	xd.now_ns += 2000000000ull;
	xd_xen_tick(&next);
	CHECK(xd.stats.contexts == ctxs - 1 && !xd_qp_find(b.qpn),
	      "destroyed after resume_timeout");

	xd_ctx_destroy(a.ctx);
	CHECK(xd.stats.contexts == 0 && xd.stats.regions == 0 &&
	      xd.stats.mrs == 0 && xd.stats.notifiers == 0,
	      "all gone");
	CHECK(fx.bind == fx.unbind, "every port unbound (%u/%u)", fx.bind, fx.unbind);
}

/* An emulated context sees none of this. */
static void test_emulated_unchanged(void)
{
	struct xd_ctx *ctx = calloc(1, sizeof(*ctx));
	uint32_t h;

	ctx->sock = -1;
	CHECK(xd_region_map_grants(ctx, 20, 0, 1, 0, &h) == EINVAL,
	      "grant regions need a Xen context");
	CHECK(xd_notify_bind_port(ctx, 8, XENIB_NOTIFY_COMP, &h) == EINVAL,
	      "event-channel notifiers need a Xen context");
	free(ctx);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	xd_config_defaults(&xd.cfg);
	xd.cfg.max_guests = 16;
	if (xd_state_init())
		return 1;
	if (fx_init())
		return 1;

	test_parsers();
	test_read_refs();
	test_mailbox();
	test_emulated_unchanged();
	test_resume();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
