// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_xen: xenibd's Xen transport with a hostile guest, through the fake
 * hypervisor of tests/common/fake_xen.h.  The guest owns every byte of its
 * granted pages: the mailbox header and request page, grant-ref
 * directories and list pages (MAP_REGION, RESUME_REGION), rings and the
 * context page; it also writes the xenstore values xenibd parses.
 *
 * Input: records { u8 op, operands } until the input ends (64 at most):
 *   0 poke    u8 page (1..64), u16 offset, u8 n, n bytes: guest memory
 *   1 request u16 len, u8 how, min(len, 4096) bytes: a mailbox request;
 *             how bit 0: patch hdr.length/seq/flags to a well-formed header
 *             (reach the handlers), bit 1: hdr.flags = 1 (relay request),
 *             bit 2: reuse the last seq (a repeat)
 *   2 raw     u32 req_seq, u32 req_len: the mailbox header as it comes
 *   3 freeze  the domain suspends
 *   4 resume  u8 mref (1..60), u32 port: a take-over of the frozen
 *             context with a new mailbox at mref, like a restored guest
 *   5 tick    u32 microseconds later: resume timeout, liveness scan
 *   6 engine  one pass of the WQE engine over the rings
 *   7 parse   u8 n, n bytes: the xenstore value parsers
 *   8 alive   u8: the frontend_alive byte
 *   9 new     a new context if the last one is gone
 * At the end the context is destroyed; the backend must hold no object,
 * and every grant mapping and port binding must have been undone.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "tests/common/fake_xen.h"
#include "util/hv_xen_backend.h"
#include "util/xenib_ring.h"
#include "xenibd/transport/xen/xen.h"

#define FZX_PAGES	64u	/* guest pages the input may write */
#define FZX_DOMID	3u

static struct xd_ctx *ctx_new(uint32_t mref, uint32_t port)
{
	uint32_t refs[3] = { mref, mref + 1, mref + 2 };
	struct xd_ctx *ctx = NULL;

	if (xd_xen_ctx_new(NULL, FZX_DOMID, 0, refs, port, &ctx))
		return NULL;
	return ctx;
}

/* Does ctx have a mailbox (not frozen, or taken over until RESUME_DONE)? */
static bool has_mbox(struct xd_ctx *ctx)
{
	return ctx && xd_xen_of(ctx)->mbox.va;
}

/* Is ctx still one of xenibd's contexts (a request may destroy it)? */
static bool ctx_alive(const struct xd_ctx *ctx)
{
	struct list_node *pos;

	for (pos = xd.ctxs.next; pos != &xd.ctxs; pos = pos->next)
		if (list_entry(pos, struct xd_ctx, link) == ctx)
			return true;
	return false;
}

static void request(struct fz_in *in, struct xd_ctx *ctx, uint32_t mref,
		    uint32_t *seq)
{
	struct xenib_xen_mbox *mb = fx_page(mref);
	struct xenib_ctrl_hdr *h = fx_page(mref + 1);
	uint32_t len = fz_u16(in);
	uint8_t how = fz_u8(in);

	fz_bytes(in, h, len < XENIB_PAGE_SIZE ? len : XENIB_PAGE_SIZE);
	if (!(how & 4))
		++*seq;
	if (how & 1) {
		h->length = len;
		h->seq = *seq;
		h->flags = (how & 2) ? 1 : 0;
	}
	mb->req_len = len;
	xr_store_release(&mb->req_seq, *seq);
	xd_xen_mbox_event(ctx);
}

static void parse(struct fz_in *in)
{
	char s[96];
	uint32_t n = fz_u8(in) % sizeof(s), v, refs[3], id;
	uint64_t secret;

	fz_bytes(in, s, n);
	s[n] = 0;
	hvx_parse_u32(s, UINT32_MAX, &v);
	hvx_parse_refs(s, refs, 3);
	hvx_parse_token(s, &id, &secret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct fz_in in = { data, size };
	struct xd_ctx *ctx;
	uint32_t mref = 1, seq = 0;
	uint64_t next;
	int rec;

	if (!ready) {
		fz_init();
		if (fx_init())
			abort();
		xd.now_ns = 1000000000ull;
		ready = true;
	}
	fz_reset();
	fx = (struct fx_counts){ 0 };
	memset(fx_page(1), 0, (size_t)FZX_PAGES * XENIB_PAGE_SIZE);
	/* xd.now_ns only grows, as in xenibd: xen.c keeps its schedule. */
	ctx = ctx_new(mref, 7);
	if (!ctx)
		abort();
	for (rec = 0; rec < 64 && in.left; rec++) {
		uint8_t op = fz_u8(&in) % 10;
		uint32_t page, off, n, port;

		switch (op) {
		case 0:
			page = 1 + fz_u8(&in) % FZX_PAGES;
			off = fz_u16(&in) % XENIB_PAGE_SIZE;
			n = fz_u8(&in);
			if (n > XENIB_PAGE_SIZE - off)
				n = XENIB_PAGE_SIZE - off;
			fz_bytes(&in, (char *)fx_page(page) + off, n);
			break;
		case 1:
			if (has_mbox(ctx))
				request(&in, ctx, mref, &seq);
			break;
		case 2:
			if (has_mbox(ctx)) {
				struct xenib_xen_mbox *mb = fx_page(mref);

				mb->req_seq = fz_u32(&in);
				mb->req_len = fz_u32(&in);
				xd_xen_mbox_event(ctx);
			}
			break;
		case 3:
			if (ctx && !ctx->frozen)
				xd_xen_ctx_freeze(ctx);
			break;
		case 4:
			n = 1 + fz_u8(&in) % (FZX_PAGES - 4);
			port = fz_u32(&in) % 2000;
			if (ctx && ctx->frozen && xd_xen_of(ctx)->orphan) {
				uint32_t refs[3] = { n, n + 1, n + 2 };

				memset(fx_page(n), 0, 3 * XENIB_PAGE_SIZE);
				if (!xd_xen_ctx_takeover(ctx, FZX_DOMID, 1, refs,
							 port))
					mref = n;
			}
			break;
		case 5:
			xd.now_ns += (uint64_t)fz_u32(&in) * 1000;
			next = UINT64_MAX;
			xd_xen_tick(&next);
			break;
		case 6:
			next = UINT64_MAX;
			xd_engine_poll(&next);
			break;
		case 7:
			parse(&in);
			break;
		case 8:
			((struct xenib_xen_mbox *)fx_page(mref))->frontend_alive =
				fz_u8(&in);
			break;
		case 9:
			if (!ctx) {
				mref = 1;
				memset(fx_page(mref), 0, 3 * XENIB_PAGE_SIZE);
				ctx = ctx_new(mref, 7);
			}
			break;
		}
		if (ctx && !ctx_alive(ctx))
			ctx = NULL;
	}
	if (ctx)
		xd_ctx_destroy(ctx);
	fz_check_empty();
	if (fx.map != fx.unmap || fx.bind != fx.unbind)
		abort();
	return 0;
}
