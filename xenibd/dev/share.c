// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Contexts that share objects (ibv_import_device(3), ibv_import_pd(3),
 * ibv_import_mr(3)); the protocol is xenib-abi.h's ATTACH.
 *
 * Upstream shares one kernel uverbs file between processes: every object
 * lives in the file, which lives as long as any process holds it.  Here
 * each process has its own channel and context (its own context page,
 * doorbell and async events, its own rings), and the contexts ATTACH made
 * from one another form a share group whose PDs and MRs are reachable by
 * handle from every member.  Lifetimes are per object: a PD or MR lives
 * until it is destroyed (by any member), or its maker's channel is gone and
 * no other member imports it or builds on it (pd->refs: their QPs, SRQs,
 * AHs, MRs, windows; mr->mw_binds: their windows).  A member whose channel
 * closes frees everything else at once and stays as a zombie holding only
 * such PDs and MRs (and the regions their views need), which are freed as
 * their last user lets go; the zombie goes with its last object.  When the
 * last live member goes, the group goes.
 *
 * All of it is the control path: nothing here is on the fast path, and
 * groups are small, so walking a group's members is fine.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/dev.h"
#include "xenibd/transport/transport.h"

struct xd_share {
	struct list_node members;	/* struct xd_ctx.share_link */
	unsigned int live;		/* members with a channel */
};

/* One member's import of a PD or MR of another member. */
struct xd_import {
	struct list_node link;		/* on the importer's ctx->imports */
	enum xd_kind kind;
	void *obj;
	unsigned int count;		/* IMPORTs not yet UNIMPORTed */
};

#define MEMBER(pos) list_entry(pos, struct xd_ctx, share_link)

static unsigned int *imports_of(enum xd_kind k, void *obj)
{
	return k == XD_KIND_PD ? &((struct xd_pd *)obj)->imports :
				 &((struct xd_mr *)obj)->imports;
}

/* ctx joins the group of first (made if first has none). 0 or ENOMEM. */
static int join(struct xd_ctx *ctx, struct xd_ctx *first)
{
	struct xd_share *s = first->share;

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return ENOMEM;
		list_init(&s->members);
		first->share = s;
		list_add_tail(&s->members, &first->share_link);
		s->live = 1;
	}
	ctx->share = s;
	list_add_tail(&s->members, &ctx->share_link);
	s->live++;
	return 0;
}

/* The answer to ATTACH, on the new channel. */
static void attach_answer(struct xd_ctx *nctx, const struct xenib_ctrl_hdr *h,
			  int err)
{
	struct xenib_hello_resp resp;
	size_t len = sizeof(resp.hdr);

	memset(&resp, 0, sizeof(resp));
	if (!err) {
		resp.abi_version = XENIB_ABI_VERSION;
		resp.guest_id = nctx->guest->id;
		xd_guest_device(nctx->guest, &resp.dev);
		xd_guest_port(nctx->guest, &resp.port);
		len = sizeof(resp);
	}
	resp.hdr.opcode = XENIB_CMD_ATTACH;
	resp.hdr.seq = h->seq;
	resp.hdr.status = err;
	resp.hdr.length = len;
	if (xd_ctx_reply(nctx, &resp, len) || err)
		xd_ctx_destroy(nctx);
}

int xd_share_attach(struct xd_ctx *ctx, const struct xenib_attach_req *req,
		    int *fd)
{
	char name[sizeof(req->dev_name)];
	struct xd_ctx *nctx;
	int err = EOPNOTSUPP;

	if (!ctx->tp->attach || !ctx->tp->hangup || ctx->frozen)
		return EOPNOTSUPP;	/* one channel only: answered there */
	if (*fd < 0) {
		xd_ctx_log(ctx, "ATTACH: no channel passed");
		return XD_NO_REPLY;	/* nowhere to answer */
	}
	memcpy(name, req->dev_name, sizeof(name));
	name[sizeof(name) - 1] = 0;
	nctx = ctx->tp->attach(ctx, *fd, name, &err);
	if (!nctx) {
		xd_ctx_log(ctx, "ATTACH: no context for the new channel: %s",
			   strerror(err));
		return XD_NO_REPLY;	/* the fd closes: the importer sees EOF */
	}
	*fd = -1;
	err = nctx->tp->admit ? nctx->tp->admit(nctx) : 0;
	if (err) {
		attach_answer(nctx, &req->hdr, err);
		return XD_NO_REPLY;
	}
	err = xd_guest_attach(ctx->guest->name, &nctx->guest);
	if (err) {
		attach_answer(nctx, &req->hdr, err);
		return XD_NO_REPLY;
	}
	if (xd.cfg.max_ctx && xd_guest_verbs_ctx(nctx->guest) > xd.cfg.max_ctx) {
		xd_ctx_log(ctx, "ATTACH: limit.contexts reached");
		attach_answer(nctx, &req->hdr, EDQUOT);
		return XD_NO_REPLY;
	}
	err = join(nctx, ctx);
	if (!err)
		nctx->hello = true;
	attach_answer(nctx, &req->hdr, err);
	return XD_NO_REPLY;
}

static struct xd_import *find_import(struct xd_ctx *ctx, enum xd_kind k,
				     const void *obj)
{
	struct list_node *pos;

	list_for_each(pos, &ctx->imports) {
		struct xd_import *im = list_entry(pos, struct xd_import, link);

		if (im->kind == k && im->obj == obj)
			return im;
	}
	return NULL;
}

static enum xd_kind import_kind(uint32_t kind)
{
	return kind == XENIB_IMPORT_PD ? XD_KIND_PD :
	       kind == XENIB_IMPORT_MR ? XD_KIND_MR : XD_KIND_MAX;
}

int xd_share_import(struct xd_ctx *ctx, const struct xenib_import_req *req,
		    struct xenib_import_resp *resp)
{
	enum xd_kind k = import_kind(req->kind);
	struct xd_import *im;
	void *obj;

	if (k == XD_KIND_MAX)
		return EINVAL;
	obj = xd_obj_lookup(ctx, k, req->handle);
	if (!obj)
		return ENOENT;
	im = find_import(ctx, k, obj);
	if (!im) {
		im = calloc(1, sizeof(*im));
		if (!im)
			return ENOMEM;
		im->kind = k;
		im->obj = obj;
		list_add_tail(&ctx->imports, &im->link);
	}
	im->count++;
	(*imports_of(k, obj))++;
	if (k == XD_KIND_PD) {
		resp->handle = ((struct xd_pd *)obj)->h.id;
	} else {
		struct xd_mr *mr = obj;

		resp->handle = mr->h.id;
		resp->rkey = mr->h.id;
		resp->pd = mr->pd->h.id;
		resp->access = mr->access;
		resp->iova = mr->iova;
		resp->length = mr->length;
	}
	return 0;
}

static void drop_import(struct xd_import *im, unsigned int n)
{
	*imports_of(im->kind, im->obj) -= n;
	im->count -= n;
	if (!im->count) {
		list_del(&im->link);
		free(im);
	}
}

int xd_share_unimport(struct xd_ctx *ctx, const struct xenib_import_req *req)
{
	enum xd_kind k = import_kind(req->kind);
	struct xd_import *im;
	void *obj;

	if (k == XD_KIND_MAX)
		return EINVAL;
	obj = xd_obj_lookup(ctx, k, req->handle);
	im = obj ? find_import(ctx, k, obj) : NULL;
	if (!im)
		return ENOENT;
	drop_import(im, 1);
	xd_share_reclaim(ctx);
	return 0;
}

void xd_share_forget(struct xd_ctx *ctx, void *obj)
{
	struct list_node *pos, *p2, *t2;

	list_for_each(pos, &ctx->share->members) {
		list_for_each_safe(p2, t2, &MEMBER(pos)->imports) {
			struct xd_import *im =
				list_entry(p2, struct xd_import, link);

			if (im->obj == obj)
				drop_import(im, im->count);
		}
	}
}

static void drop_all_imports(struct xd_ctx *ctx)
{
	while (!list_empty(&ctx->imports))
	{
		struct xd_import *im = list_entry(ctx->imports.next,
						  struct xd_import, link);

		drop_import(im, im->count);
	}
}

/* The PDs, MRs and regions of a zombie nobody uses any more. */
static void reclaim_one(struct xd_ctx *z)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &z->mrs) {
		struct xd_mr *mr = list_entry(pos, struct xd_mr, link);

		if (!mr->imports && !mr->mw_binds)
			xd_mr_free(mr);
	}
	list_for_each_safe(pos, tmp, &z->pds) {
		struct xd_pd *pd = list_entry(pos, struct xd_pd, link);

		if (!pd->imports && !pd->refs)
			xd_pd_free(pd);
	}
	list_for_each_safe(pos, tmp, &z->regions) {
		struct xd_region *r = list_entry(pos, struct xd_region, link);

		if (!r->refs)
			xd_region_free(r);
	}
}

static void leave_group(struct xd_ctx *ctx)
{
	struct xd_share *s = ctx->share;

	list_del(&ctx->share_link);
	ctx->share = NULL;
	if (list_empty(&s->members))
		free(s);
}

void xd_share_reclaim(struct xd_ctx *ctx)
{
	struct list_node *pos, *tmp;
	struct xd_share *s = ctx->share;
	bool again = true;

	/* A zombie's MR may hold another zombie's PD: until nothing moves. */
	while (s && again) {
		again = false;
		list_for_each_safe(pos, tmp, &s->members) {
			struct xd_ctx *z = MEMBER(pos);
			unsigned int before = z->nobj;

			if (!z->zombie)
				continue;
			reclaim_one(z);
			if (z->nobj != before)
				again = true;
			if (!z->nobj) {
				leave_group(z);
				xd_ctx_release(z);
			}
		}
	}
}

/* Everything of ctx but what others may use: its PDs, MRs, their regions. */
static void free_private(struct xd_ctx *ctx)
{
	struct list_node *pos, *tmp;
	unsigned int i;

	for (i = 0; i < XD_KIND_MAX; i++) {
		enum xd_kind k = xd_ctx_order[i];

		if (k == XD_KIND_PD || k == XD_KIND_MR || k == XD_KIND_REGION)
			continue;
		xd_ctx_free_kind(ctx, k);
	}
	list_for_each_safe(pos, tmp, &ctx->regions) {
		struct xd_region *r = list_entry(pos, struct xd_region, link);

		if (!r->refs)	/* its rings are gone; MR views keep theirs */
			xd_region_free(r);
	}
}

static struct xd_ctx *first_live(struct xd_share *s)
{
	struct list_node *pos;

	list_for_each(pos, &s->members)
		if (!MEMBER(pos)->zombie)
			return MEMBER(pos);
	return NULL;
}

bool xd_share_leave(struct xd_ctx *ctx)
{
	struct xd_share *s = ctx->share;
	struct list_node *pos;
	unsigned int i;

	if (ctx->zombie) {
		/*
		 * A zombie destroyed (xenibd's teardown): the group goes, its
		 * live members first; the last one releases every zombie,
		 * this one included.
		 */
		struct xd_ctx *live;

		while ((live = first_live(s))) {
			bool last = s->live == 1;

			xd_ctx_destroy(live);
			if (last)
				break;
		}
		return true;
	}
	free_private(ctx);
	drop_all_imports(ctx);
	if (--s->live) {
		ctx->zombie = true;
		ctx->tp->hangup(ctx);
		xd_dbg("context kept for its shared PDs and MRs (%u objects)",
		       ctx->nobj);
		xd_share_reclaim(ctx);	/* may release ctx itself */
		return true;
	}
	/*
	 * The last live member: the group goes.  Kind by kind over every
	 * member, as a zombie's MR may be on this context's PD and the
	 * other way round.
	 */
	for (i = 0; i < XD_KIND_MAX; i++)
		list_for_each(pos, &s->members)
			xd_ctx_free_kind(MEMBER(pos), xd_ctx_order[i]);
	while (!list_empty(&s->members)) {
		struct xd_ctx *z = MEMBER(s->members.next);
		bool end = z->share_link.next == &s->members;

		leave_group(z);	/* the last one frees s */
		if (z != ctx)
			xd_ctx_release(z);
		if (end)
			break;
	}
	return false;
}
