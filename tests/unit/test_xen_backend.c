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
#include "xenibd/daemon/admin.h"
#include "xenibd/dev/dev.h"
#include "xenibd/engine/eng.h"
#include "xenibd/transport/xen/xen.h"

#include "tests/common/check.h"
#include "tests/common/backend.h"
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

static void test_read_refs(void)
{
	uint32_t *refs = NULL, i;
	bool ok = true;

	fx_make_dir(1, 2, 100, 1500);
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
	CHECK(xd_xen_of(ctx)->ctrl_port == 1007, "control port bound");

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
	fx_make_dir(20, 21, 30, 1);
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
	fx_make_dir(22, 23, FX_PAGES - 1, 4);	/* runs past the guest's pages */
	map.ref = 22;
	map.npages = 4;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EFAULT, "bad page ref: EFAULT (%u)",
	      hr->hdr.status);

	/* A 4-page data region, and an MR over its middle two pages. */
	fx_make_dir(24, 25, 40, 4);
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
	      xd_xen_notify_of(ctx->doorbell)->port == 1008, "doorbell bound");
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

static void test_emulated_unchanged(void)
{
	struct xd_ctx *ctx = tb_ctx_new(NULL);
	uint32_t h;

	ctx->guest = xd_guest_get("emulated");
	CHECK(tb_region_map(ctx, -1, 0, 1, 0, &h) == EBADF,
	      "grant regions need a Xen context");
	CHECK(tb_notify_bind(ctx, -1, XENIB_NOTIFY_COMP, &h) == EBADF,
	      "event-channel notifiers need a Xen context");
	xd_ctx_destroy(ctx);
}

/* The guest offers context k in xenstore: its mailbox's refs and port. */
static void ctx_offer(const char *fe, uint32_t k, const char *refs,
		      const char *port)
{
	fx_ctx_write(fe, k, "ctrl-ref", refs);
	fx_ctx_write(fe, k, "event-channel", port);
	fx_ctx_write(fe, k, "state", "3");
	xd_xen_xs_ready();
}

/*
 * The xenstore half of the transport through the fake xenstore: a wanted
 * name is attached when its domain appears (frontend and backend nodes),
 * a context the guest initialises in xenstore is connected (token, state
 * 4) and closed when the guest closes it, and the domain's nodes go when
 * it disappears.
 */
static void test_domains(void)
{
	const char *fe = "/local/domain/5/device/xenib/0";
	const char *be = "/local/domain/0/backend/xenib/5/0";
	long ctxs = xd.stats.contexts;
	long long maps = xd.stats.mappings, pages = xd.stats.map_pages;
	char path[128], out[256] = "";
	const char *v;

	memset(fx_dominfo, 0, sizeof(fx_dominfo));
	fx_dominfo[5].exists = true;
	fx_xs_write("/local/domain/5/name", "vm1");
	CHECK(!xd_xen_want("vm1") && !xd_xen_start(0), "start, vm1 wanted");
	/*
	 * Started is serving: xenibctl domains lists vm1 (the daemon's loop
	 * asks the same xd_xen_active() whether to run xd_xen_tick()).
	 */
	CHECK(xd_xen_active() &&
	      xd_admin_command("domains", out, sizeof(out)) > 0 &&
	      strstr(out, "vm1 domid 5 "), "xenibctl domains lists vm1 (%s)",
	      out);
	v = fx_xs_get("/local/domain/5/device/xenib/0/backend");
	CHECK(v && !strcmp(v, be), "frontend names the backend (%s)",
	      v ? v : "none");
	snprintf(path, sizeof(path), "%s/state", be);
	v = fx_xs_get(path);
	CHECK(v && !strcmp(v, "4"), "backend connected (state %s)",
	      v ? v : "none");

	/* The guest initialises ctx/0: mailbox at refs 300-302, port 9. */
	ctx_offer(fe, 0, "300 301 302", "9");
	v = fx_ctx_get(be, 0, "state");
	CHECK(v && !strcmp(v, "4") && xd.stats.contexts == ctxs + 1,
	      "context 0 connected (state %s, contexts %ld)", v ? v : "none",
	      xd.stats.contexts - ctxs);
	v = fx_ctx_get(be, 0, "token");
	CHECK(v && strlen(v) == 24, "its resume token is published");
	CHECK(xd.stats.mappings == maps + 1 && xd.stats.map_pages == pages + 3,
	      "its mailbox is counted backend-wide (1 mapping, 3 pages)");

	/* A malformed ctx/1 is refused with a reason, nothing created. */
	ctx_offer(fe, 1, "300 301", "9");
	v = fx_ctx_get(be, 1, "error");
	CHECK(v && strstr(v, "ctrl-ref") && xd.stats.contexts == ctxs + 1,
	      "bad ctrl-ref refused (%s)", v ? v : "none");

	/* The guest closes ctx/0. */
	fx_ctx_write(fe, 0, "state", "5");
	xd_xen_xs_ready();
	CHECK(xd.stats.contexts == ctxs, "context 0 closed");
	CHECK(xd.stats.mappings == maps && xd.stats.map_pages == pages,
	      "and its mailbox uncounted");

	/* The domain goes away: its nodes with it. */
	fx_dominfo[5].exists = false;
	fx_xs_write("@releaseDomain", "");
	xd_xen_xs_ready();
	CHECK(!fx_xs_get(fe) && !fx_xs_get(be), "domain's nodes removed");
	CHECK(!xd_xen_detach("vm1"), "vm1 no longer wanted");
}

int main(void)
{
	if (fx_unit_init(16))
		return 1;
	test_parsers();
	test_read_refs();
	test_mailbox();
	test_emulated_unchanged();
	test_domains();
	return check_summary();
}
