// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Share groups in the backend (dev/share.c, ATTACH/IMPORT/UNIMPORT): a
 * context attached through another's channel is the same guest and
 * reaches its PDs and MRs, nothing else; when the maker's channel goes,
 * what another member imports or builds on stays (a zombie context) and
 * goes with its last user; xenibd's teardown with zombies about frees
 * everything.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "tests/common/sides.h"

static struct xd_ctx *last_ctx(void)
{
	return list_entry(xd.ctxs.prev, struct xd_ctx, link);
}

/* ATTACH through s's channel; the new context (NULL if refused). */
static struct xd_ctx *attach(struct side *s, int *guest_end)
{
	struct xenib_attach_req req = {
		.hdr = { .opcode = XENIB_CMD_ATTACH, .length = sizeof(req),
			 .seq = 7 },
	};
	struct xenib_hello_resp resp;
	int sv[2], fd;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return NULL;
	fd = sv[1];
	CHECK(xd_share_attach(s->ctx, &req, &fd) == XD_NO_REPLY && fd == -1,
	      "ATTACH takes the channel and answers elsewhere");
	n = recv(sv[0], &resp, sizeof(resp), MSG_DONTWAIT);
	CHECK(n == sizeof(resp) && !resp.hdr.status && resp.hdr.seq == 7 &&
	      resp.hdr.opcode == XENIB_CMD_ATTACH &&
	      resp.guest_id == s->ctx->guest->id,
	      "the answer is a HELLO's, on the new channel (%zd bytes)", n);
	*guest_end = sv[0];
	return n == sizeof(resp) && !resp.hdr.status ? last_ctx() : NULL;
}

static int import(struct xd_ctx *ctx, uint32_t kind, uint32_t handle,
		  bool un)
{
	struct xenib_import_req req = { .kind = kind, .handle = handle };
	struct xenib_import_resp resp;

	return un ? xd_share_unimport(ctx, &req) :
		    xd_share_import(ctx, &req, &resp);
}

static void test_bad_attach(struct side *s)
{
	struct xenib_attach_req req = { .hdr.opcode = XENIB_CMD_ATTACH };
	unsigned long before = xd.stats.contexts;
	int p[2], fd;

	if (pipe(p))
		return;
	fd = p[0];
	CHECK(xd_share_attach(s->ctx, &req, &fd) == XD_NO_REPLY &&
	      fd == p[0] && (long)before == xd.stats.contexts,
	      "ATTACH with a pipe: refused, no context, fd not taken");
	close(p[0]);
	close(p[1]);
	fd = -1;
	CHECK(xd_share_attach(s->ctx, &req, &fd) == XD_NO_REPLY,
	      "ATTACH without a channel: no answer");
}

static void test_group(void)
{
	struct side a;
	struct xd_ctx *b;
	struct xenib_alloc_mw_req mwr;
	struct xd_pd *pd;
	uint32_t mw, rk;
	int gb;

	side_init(&a, "alice");
	test_bad_attach(&a);
	b = attach(&a, &gb);
	if (!b)
		return;
	CHECK(b->guest == a.ctx->guest && b->hello && b->share &&
	      b->share == a.ctx->share, "same guest, one share group");
	CHECK(!import(b, XENIB_IMPORT_PD, a.pd, false) &&
	      !import(b, XENIB_IMPORT_MR, a.lkey, false), "imports");
	CHECK(import(b, XENIB_IMPORT_PD, 0x55555500, false) == ENOENT &&
	      import(b, 9, a.pd, false) == EINVAL &&
	      import(b, XENIB_IMPORT_MR, a.lkey + 1, true) == ENOENT,
	      "bad imports: ENOENT / EINVAL");
	CHECK(xd_pd_lookup(b, a.pd) && !xd_cq_lookup(b, a.cq),
	      "PDs are shared, CQs are not");
	mwr = (struct xenib_alloc_mw_req){ .pd = a.pd, .type = 2 };
	CHECK(!xd_mw_alloc(b, &mwr, &mw, &rk), "window on the imported PD");

	/* a's channel goes: its QP and CQ go, its PD and MR stay. */
	xd_ctx_destroy(a.ctx);
	CHECK(!xd.stats.qps && !xd.stats.cqs && xd.stats.pds == 1 &&
	      xd.stats.mrs == 1 && xd.stats.contexts == 2,
	      "zombie keeps only the PD and MR (qps %ld pds %ld mrs %ld)",
	      xd.stats.qps, xd.stats.pds, xd.stats.mrs);
	pd = xd_pd_lookup(b, a.pd);
	CHECK(pd && xd_mr_translate(a.lkey, pd, 0x10000000, 64, 0),
	      "the importer still reaches them");
	CHECK(!import(b, XENIB_IMPORT_MR, a.lkey, true) && !xd.stats.mrs,
	      "last unimport of the MR frees it");
	CHECK(!import(b, XENIB_IMPORT_PD, a.pd, true) && xd.stats.pds == 1,
	      "the PD stays while the window is on it");
	CHECK(!xd_mw_dealloc(b, mw), "dealloc window");
	xd_share_reclaim(b);
	CHECK(!xd.stats.pds && xd.stats.contexts == 1,
	      "then the PD goes, and the zombie with it (pds %ld contexts %ld)",
	      xd.stats.pds, xd.stats.contexts);
	xd_ctx_destroy(b);
	close(gb);
}

/* xenibd's teardown: contexts destroyed in order, zombies first. */
static void test_teardown(void)
{
	struct side c;
	struct xd_ctx *d, *e;
	int gd, ge;

	side_init(&c, "carol");
	d = attach(&c, &gd);
	e = d ? attach(&c, &ge) : NULL;
	if (!e)
		return;
	CHECK(!import(d, XENIB_IMPORT_MR, c.lkey, false), "import");
	xd_ctx_destroy(c.ctx);	/* zombie, first on xd.ctxs */
	CHECK(xd.stats.contexts == 3 && xd.stats.mrs == 1, "zombie kept");
	while (!list_empty(&xd.ctxs))
		xd_ctx_destroy(list_entry(xd.ctxs.next, struct xd_ctx, link));
	CHECK(!xd.stats.contexts && !xd.stats.mrs && !xd.stats.pds &&
	      !xd.stats.regions && !xd.stats.notifiers,
	      "teardown with a zombie first frees everything");
	close(gd);
	close(ge);
}

int main(void)
{
	sides_start();
	test_group();
	test_teardown();
	return sides_end(NULL, 0);
}
