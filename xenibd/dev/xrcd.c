// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XRC domains.  An XRC domain groups XRC SRQs and XRC_RECV QPs: an XRC
 * send reaches an XRC SRQ only through an XRC_RECV QP of the SRQ's domain
 * (engine.c).  A context names a domain through its own handle (struct
 * xd_xrcd); a keyed domain is shared by every context of one guest that
 * opens the same key (the file of ibv_open_xrcd(3)), never across guests.
 * A handle cannot close while an XRC SRQ or XRC_RECV QP made through it
 * lives; a closing context frees its handles after both (ctx.c); the
 * domain goes with its last handle.
 */
#include <errno.h>
#include <stdlib.h>

#include "xenibd/dev/dev.h"

#define XRCD_FLAGS (XENIB_XRCD_KEYED | XENIB_XRCD_CREAT | XENIB_XRCD_EXCL)

/* The keyed domain of ctx's guest for (dev, ino), or NULL.  Slow path. */
static struct xd_xrcd_dom *dom_find(const struct xd_ctx *ctx, uint64_t dev,
				    uint64_t ino)
{
	const struct xd_table *t = xd_obj_table(ctx->guest, XD_KIND_XRCD);
	uint32_t i;

	for (i = 1; i < t->size; i++) {
		const struct xd_xrcd *x = (const void *)t->slot[i];

		if (x && x->dom->keyed && x->dom->dev == dev &&
		    x->dom->ino == ino)
			return x->dom;
	}
	return NULL;
}

int xd_xrcd_open(struct xd_ctx *ctx, const struct xenib_open_xrcd_req *req,
		 uint32_t *handle)
{
	bool keyed = req->flags & XENIB_XRCD_KEYED;
	struct xd_xrcd_dom *dom = NULL;
	struct xd_xrcd *x;
	int err;

	if ((req->flags & ~XRCD_FLAGS) || req->reserved)
		return EINVAL;
	if (!keyed && (req->dev || req->ino ||
		       !(req->flags & XENIB_XRCD_CREAT)))
		return EINVAL;	/* a private domain is always new */
	if ((req->flags & XENIB_XRCD_EXCL) && !(req->flags & XENIB_XRCD_CREAT))
		return EINVAL;
	if (keyed)
		dom = dom_find(ctx, req->dev, req->ino);
	if (dom && (req->flags & XENIB_XRCD_EXCL))
		return EEXIST;
	if (!dom && !(req->flags & XENIB_XRCD_CREAT))
		return ENOENT;
	err = xd_obj_check(ctx, XD_KIND_XRCD);
	if (err)
		return err;
	x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	if (!dom) {
		dom = calloc(1, sizeof(*dom));
		if (!dom) {
			free(x);
			return ENOMEM;
		}
		dom->guest = ctx->guest;
		dom->keyed = keyed;
		dom->dev = req->dev;
		dom->ino = req->ino;
	}
	err = xd_obj_add(ctx, XD_KIND_XRCD, &x->h, &x->link);
	if (err) {
		if (!dom->opens)
			free(dom);
		free(x);
		return err;
	}
	x->dom = dom;
	dom->opens++;
	*handle = x->h.id;
	return 0;
}

struct xd_xrcd *xd_xrcd_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	return xd_obj_lookup(ctx, XD_KIND_XRCD, handle);
}

void xd_xrcd_free(struct xd_xrcd *x)
{
	if (!--x->dom->opens)
		free(x->dom);
	xd_obj_del(XD_KIND_XRCD, &x->h, &x->link);
	free(x);
}

int xd_xrcd_close(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_xrcd *x = xd_xrcd_lookup(ctx, handle);

	if (!x)
		return ENOENT;
	if (x->refs)
		return EBUSY;
	xd_xrcd_free(x);
	return 0;
}
