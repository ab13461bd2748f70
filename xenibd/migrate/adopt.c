// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The destination's side of a migration, below the fabric: a guest that
 * arrives from another host gets its slot and identity here, and one
 * adopted context per context of its snapshot (made by the guest's
 * transport, without a control channel yet).  Each waits for its guest
 * to take it over (the transport's TAKEOVER) and give its memory back:
 * RESUME_REGION and RESUME_NOTIFY recreate its regions and notifiers with
 * their old handles, RESUME_DONE rebuilds every other object from the
 * snapshot (build.c) and lets it run.  Until then the guest's LID answers
 * "paused", as does, for a while, the LID of a guest that left.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/dev.h"
#include "xenibd/migrate/migrate.h"
#include "xenibd/migrate/snap.h"
#include "xenibd/transport/transport.h"

struct xm_adopt {
	struct xm_snap *snap;	/* shared by the guest's contexts */
	unsigned int *snap_refs;
	unsigned int ci;	/* this context's part of it */
	uint64_t deadline_ns;	/* nobody took it over by then: gone */
	struct xd_ctx *ctx;
	struct list_node link;
};

static struct list_node adopted = LIST_INIT(adopted);

/* LIDs that left: answered "paused" until their peers know. */
#define XM_TOMBS		64
#define XM_TOMB_NS		(5 * 1000000000ull)
static struct {
	uint16_t lid;
	uint64_t until_ns;
} tombs[XM_TOMBS];

void (*xm_resumed_hook)(struct xd_ctx *ctx);

void xm_tombstone(uint16_t lid)
{
	unsigned int i, old = 0;

	for (i = 0; i < XM_TOMBS; i++) {
		if (tombs[i].lid == lid || tombs[i].until_ns <= xd.now_ns) {
			old = i;
			break;
		}
		if (tombs[i].until_ns < tombs[old].until_ns)
			old = i;
	}
	tombs[old].lid = lid;
	tombs[old].until_ns = xd.now_ns + XM_TOMB_NS;
}

void xm_tombstone_clear(uint16_t lid)
{
	unsigned int i;

	for (i = 0; i < XM_TOMBS; i++)
		if (tombs[i].lid == lid)
			tombs[i].until_ns = 0;
}

bool xm_lid_paused(uint16_t lid)
{
	struct xd_guest *g = xd_guest_by_lid(lid);
	unsigned int i;

	if (g)
		return g->incoming;
	for (i = 0; i < XM_TOMBS; i++)
		if (tombs[i].lid == lid && tombs[i].until_ns > xd.now_ns)
			return true;
	return false;
}

static void snap_unref(struct xm_adopt *a)
{
	if (--*a->snap_refs)
		return;
	xm_snap_free(a->snap);
	free(a->snap_refs);
}

static void adopt_free(struct xm_adopt *a)
{
	list_del(&a->link);
	a->ctx->adopt = NULL;
	snap_unref(a);
	free(a);
}

/* The guest has no adopted context left: it runs here, or is gone. */
static void guest_settled(struct xd_guest *g)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &adopted)
		if (list_entry(pos, struct xm_adopt, link)->ctx->guest == g)
			return;
	g->incoming = false;
}

void xm_adopt_gone(struct xd_ctx *ctx)
{
	struct xd_guest *g = ctx->guest;

	if (!ctx->adopt)
		return;
	adopt_free(ctx->adopt);
	if (g)
		guest_settled(g);
}

const struct xm_snap_ctx *xm_adopt_snap(const struct xd_ctx *ctx)
{
	return ctx->adopt ? &ctx->adopt->snap->ctx[ctx->adopt->ci] : NULL;
}

bool xm_resuming(const struct xd_ctx *ctx)
{
	return ctx->adopt != NULL;
}

int xm_adopt_guest(struct xm_snap *s, const struct xd_transport *tp,
		   uint64_t timeout_ns, struct xd_guest **out)
{
	unsigned int *refs = calloc(1, sizeof(*refs));
	struct xd_guest *g;
	unsigned int i;
	int err;

	err = refs ? 0 : ENOMEM;
	if (!err && !tp->adopt)
		err = EOPNOTSUPP;
	if (!err)
		err = xd_guest_adopt(s->hdr->name, s->hdr->lid, s->hdr->guid,
				     &g);
	if (err) {
		free(refs);
		xm_snap_free(s);
		return err;
	}
	err = xm_tables_restore(g, s);
	if (err) {
		xd_guest_moved_away(g);
		free(refs);
		xm_snap_free(s);
		return err;
	}
	*refs = 1;	/* ours, until every context holds one */
	for (i = 0; i < s->nctx; i++) {
		struct xm_adopt *a = calloc(1, sizeof(*a));
		struct xd_ctx *ctx = a ? tp->adopt(g, s->ctx[i].hdr->token) :
				     NULL;

		if (!ctx) {
			free(a);
			err = ENOMEM;
			break;
		}
		a->snap = s;
		a->snap_refs = refs;
		(*refs)++;
		a->ci = i;
		a->ctx = ctx;
		a->deadline_ns = xd.now_ns + timeout_ns;
		ctx->adopt = a;
		ctx->frozen = true;
		list_add_tail(&adopted, &a->link);
	}
	if (--*refs == 0) {
		free(refs);
		xm_snap_free(s);
	}
	if (err) {
		xm_adopt_cancel(g);
		return err;
	}
	*out = g;
	return 0;
}

void xm_adopt_cancel(struct xd_guest *g)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->guest == g && ctx->adopt)
			xd_ctx_destroy(ctx);
	}
	if (!g->nctx)
		xd_guest_moved_away(g);	/* never was here: give nothing back */
}

/* The record of kind tag with handle in ctx's part of the snapshot. */
static const void *find_rec(const struct xm_adopt *a, uint16_t tag,
			    uint32_t handle)
{
	const struct xm_snap_ctx *c = &a->snap->ctx[a->ci];
	const struct xm_rec *r;
	const void *b;
	size_t off = 0;

	while (xm_snap_next(c, &off, &r, &b))
		if (r->tag == tag && !memcmp(b, &handle, sizeof(handle)))
			return b;
	return NULL;
}

static int resume_region(struct xd_ctx *ctx, struct xm_adopt *a,
			 const struct xenib_resume_region_req *req, int *fd)
{
	const struct xm_r_region *r = find_rec(a, XM_R_REGION, req->handle);
	struct xenib_map_region_req m = { 0 };
	uint32_t h;
	int err;

	if (!r || r->npages != req->npages)
		return ENOENT;
	if (xd_region_lookup(ctx, req->handle))
		return EEXIST;
	m.hdr.opcode = XENIB_CMD_MAP_REGION;
	m.npages = r->npages;
	m.flags = r->flags;
	m.offset = r->offset;	/* checked as MAP_REGION's (xd_region_map) */
	m.ref = req->ref;
	ctx->guest->forced_handle = r->handle;
	err = xd_region_map(ctx, &m, fd, &h);
	ctx->guest->forced_handle = 0;
	return err;
}

static int resume_notify(struct xd_ctx *ctx, struct xm_adopt *a,
			 const struct xenib_resume_notify_req *req, int *fd)
{
	const struct xm_r_notify *n = find_rec(a, XM_R_NOTIFY, req->handle);
	struct xenib_bind_notify_req b = { 0 };
	uint32_t h;
	int err;

	if (!n)
		return ENOENT;
	if (xd_notify_lookup(ctx, req->handle))
		return EEXIST;
	b.hdr.opcode = XENIB_CMD_BIND_NOTIFY;
	b.kind = n->kind;
	b.port = req->port;
	ctx->guest->forced_handle = n->handle;
	err = xd_notify_bind(ctx, &b, fd, &h);
	ctx->guest->forced_handle = 0;
	return err;
}

/* Every region and notifier of the snapshot back? */
static bool all_back(struct xd_ctx *ctx, const struct xm_adopt *a)
{
	const struct xm_snap_ctx *c = &a->snap->ctx[a->ci];
	const struct xm_rec *r;
	const void *b;
	size_t off = 0;
	uint32_t h;

	while (xm_snap_next(c, &off, &r, &b)) {
		memcpy(&h, b, sizeof(h));
		if (r->tag == XM_R_REGION && !xd_region_lookup(ctx, h))
			return false;
		if (r->tag == XM_R_NOTIFY && !xd_notify_lookup(ctx, h))
			return false;
	}
	return true;
}

static int resume_done(struct xd_ctx *ctx, struct xm_adopt *a)
{
	struct xd_guest *g = ctx->guest;
	int err;

	if (!all_back(ctx, a))
		return EBUSY;	/* as on Xen: a region is still missing */
	err = xm_build(ctx, &a->snap->ctx[a->ci]);
	if (err) {
		xd_ctx_log(ctx, "migration: cannot rebuild the context: %s",
			   strerror(err));
		return err;
	}
	adopt_free(a);
	ctx->frozen = false;
	guest_settled(g);
	xd_log("migration: guest %s: context resumed here", g->name);
	if (xm_resumed_hook)
		xm_resumed_hook(ctx);
	return 0;
}

int xm_resume_request(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		      size_t len, int *fd)
{
	struct xm_adopt *a = ctx->adopt;

	if (!a)
		return EPROTO;
	switch (h->opcode) {
	case XENIB_CMD_RESUME_REGION:
		return resume_region(ctx, a, (const void *)h, fd);
	case XENIB_CMD_RESUME_NOTIFY:
		return resume_notify(ctx, a, (const void *)h, fd);
	case XENIB_CMD_RESUME_DONE:
		return resume_done(ctx, a);
	}
	return EINVAL;
}

void xm_tick(uint64_t *next_ns)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &adopted) {
		struct xm_adopt *a = list_entry(pos, struct xm_adopt, link);

		if (xd.now_ns >= a->deadline_ns) {
			xd_log("migration: guest %s: a context nobody took "
			       "over is destroyed", a->ctx->guest->name);
			xd_ctx_destroy(a->ctx);
		} else if (a->deadline_ns < *next_ns) {
			*next_ns = a->deadline_ns;
		}
	}
}
