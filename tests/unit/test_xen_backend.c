// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd's Xen mode without Xen: the strict parsers of guest-written
 * xenstore values, the grant-ref directory of MAP_REGION, and the mailbox
 * control channel with its Xen-mode requests, driven through a fake
 * hypervisor (xd_hv) whose "grant refs" are pages of a memfd standing in
 * for the guest's memory: ref r is page r - 1; 0 and refs past the end are
 * bad.  The last line is "N passed, N failed".
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

#define GPAGES		4096u		/* fake guest memory, pages */
#define BAD_PORT	999u

static int gfd = -1;
static char *gmem;			/* the guest's view of its memory */
static unsigned int nbind, nunbind, nnotify, nmap, nunmap;

static int fake_map(uint32_t domid, const uint32_t *refs, uint32_t n,
		    void *at, bool writable, struct hvx_gmap *gm)
{
	char *base = at;
	uint32_t i;

	if (!n)
		return EINVAL;
	for (i = 0; i < n; i++)
		if (!refs[i] || refs[i] > GPAGES)
			return EFAULT;
	if (!base) {
		base = mmap(NULL, (size_t)n * 4096, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED)
			return ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (mmap(base + (size_t)i * 4096, 4096,
			 PROT_READ | (writable ? PROT_WRITE : 0),
			 MAP_SHARED | MAP_FIXED, gfd,
			 (off_t)(refs[i] - 1) * 4096) == MAP_FAILED)
			return errno;
	gm->va = base;
	gm->len = (size_t)n * 4096;
	gm->index = 0;
	nmap++;
	return 0;
}

static void fake_unmap(struct hvx_gmap *gm, bool keep)
{
	if (keep)
		mmap(gm->va, gm->len, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	else
		munmap(gm->va, gm->len);
	gm->va = NULL;
	nunmap++;
}

static int fake_unmap_notify(const struct hvx_gmap *gm, uint32_t off,
			     uint32_t port)
{
	return off < gm->len ? 0 : EINVAL;
}

static int fake_bind(uint32_t domid, uint32_t port)
{
	if (port == BAD_PORT)
		return -EINVAL;
	nbind++;
	return port + 1000;
}

static int fake_notify(uint32_t port)
{
	nnotify++;
	return 0;
}

static void fake_unbind(uint32_t port)
{
	nunbind++;
}

static const struct xd_hv_ops fake_ops = {
	.map = fake_map, .unmap = fake_unmap,
	.unmap_notify = fake_unmap_notify, .bind = fake_bind,
	.notify = fake_notify, .unbind = fake_unbind,
};

/* Guest memory page of grant ref r. */
static void *gpage(uint32_t r)
{
	return gmem + (size_t)(r - 1) * 4096;
}

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
	uint32_t *d = gpage(dir);

	memset(d, 0, 4096);
	for (i = 0; i < nlist; i++)
		d[i] = list + i;
	for (i = 0; i < npages; i++)
		((uint32_t *)gpage(list + i / 1024))[i % 1024] = first + i;
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
	((uint32_t *)gpage(1))[1] = GPAGES + 7;
	CHECK(xd_xen_read_refs(3, 1, 1500, &refs) == EFAULT, "bad list ref");
	CHECK(nmap == nunmap, "every temporary mapping undone (%u/%u)", nmap,
	      nunmap);
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
	memcpy(gpage(11), req, len);
	mb->req_len = len;
	xr_store_release(&mb->req_seq, seq);
	xd_xen_mbox_event(ctx);
	return gpage(12);
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
	char *p;

	memset(gpage(10), 0, 3 * 4096);
	mb = gpage(10);
	CHECK(xd_xen_ctx_new(NULL, 3, 0, mrefs, BAD_PORT, &ctx) == EINVAL,
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
	memset(gpage(12), 0, 4096);
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
	CHECK(((struct xenib_ctx_page *)gpage(30))->backend_sleeping == 1,
	      "ctx page is the guest's page");

	map.flags = 0;
	map.offset = 4096;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EINVAL, "offset != 0: EINVAL");
	map.offset = 0;
	map.ref = 1ull << 32;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EINVAL, "ref > 32 bits: EINVAL");
	map.ref = GPAGES + 1;
	hr = (void *)call(ctx, &map, sizeof(map));
	CHECK(hr->hdr.status == EFAULT, "bad directory ref: EFAULT (%u)",
	      hr->hdr.status);
	make_dir(22, 23, GPAGES - 1, 4);	/* runs past the guest's pages */
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
		CHECK(!memcmp(gpage(42), "granted", 8),
		      "MR view writes the guest's page");
	}

	/* Notifiers: a port the guest did not open for us, then a good one. */
	bind.kind = XENIB_NOTIFY_DOORBELL;
	bind.port = BAD_PORT;
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
	nnotify = 0;
	xd_ctx_post_async(ctx, IBV_EVENT_PORT_ACTIVE, 1);
	CHECK(nnotify == 1, "async event signals the guest's port");

	/* The guest's process dies: its kernel clears frontend_alive. */
	__atomic_store_n(&mb->frontend_alive, 1, __ATOMIC_RELEASE);
	xd_xen_mbox_event(ctx);
	CHECK(xd.stats.contexts == 1, "alive");
	__atomic_store_n(&mb->frontend_alive, 0, __ATOMIC_RELEASE);
	xd_xen_mbox_event(ctx);
	CHECK(xd.stats.contexts == 0 && xd.stats.regions == 0 &&
	      xd.stats.mrs == 0 && xd.stats.notifiers == 0,
	      "frontend gone: context and objects destroyed");
	CHECK(nbind == nunbind, "every port unbound (%u/%u)", nbind, nunbind);
	CHECK(nmap == nunmap, "every grant mapping undone (%u/%u)", nmap,
	      nunmap);
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
	gfd = memfd_create("xenib-fake-guest", MFD_CLOEXEC);
	if (gfd < 0 || ftruncate(gfd, (off_t)GPAGES * 4096))
		return 1;
	gmem = mmap(NULL, (size_t)GPAGES * 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED, gfd, 0);
	if (gmem == MAP_FAILED)
		return 1;
	xd_hv = &fake_ops;

	test_parsers();
	test_read_refs();
	test_mailbox();
	test_emulated_unchanged();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
