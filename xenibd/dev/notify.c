// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Notifiers: the doorbell (guest kicks us) and event notifiers (we kick
 * it: completion channels, async events).  The context's transport binds
 * and signals them (transport.h); this file keeps the books.
 */
#include <errno.h>
#include <stdlib.h>

#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"
#include "xenibd/transport/transport.h"

static bool has_kind(struct xd_ctx *ctx, uint32_t kind)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &ctx->notifiers)
		if (list_entry(pos, struct xd_notify, link)->kind == kind)
			return true;
	return false;
}

static int notify_check(struct xd_ctx *ctx, uint32_t kind)
{
	/* HV: the transport's channel for MOVE, where guests can move. */
	if (kind == XENIB_NOTIFY_HV && ctx->tp->move)
		return has_kind(ctx, kind) ? EEXIST :
					     xd_obj_check(ctx, XD_KIND_NOTIFY);
	if (kind != XENIB_NOTIFY_DOORBELL && kind != XENIB_NOTIFY_COMP &&
	    kind != XENIB_NOTIFY_ASYNC)
		return EINVAL;
	if ((kind == XENIB_NOTIFY_DOORBELL && ctx->doorbell) ||
	    (kind == XENIB_NOTIFY_ASYNC && ctx->async))
		return EEXIST;
	return xd_obj_check(ctx, XD_KIND_NOTIFY);
}

int xd_notify_bind(struct xd_ctx *ctx, const struct xenib_bind_notify_req *req,
		   int *fd, uint32_t *handle)
{
	struct xd_notify *n;
	int err;

	err = notify_check(ctx, req->kind);
	if (err)
		return err;
	err = ctx->tp->notify_bind(ctx, req, fd, &n);
	if (err)
		return err;
	n->ctx = ctx;
	n->kind = req->kind;
	err = xd_obj_add(ctx, XD_KIND_NOTIFY, &n->h, &n->link);
	if (err) {
		ctx->tp->notify_free(n);
		return err;
	}
	if (n->kind == XENIB_NOTIFY_DOORBELL)
		ctx->doorbell = n;
	else if (n->kind == XENIB_NOTIFY_ASYNC)
		ctx->async = n;
	*handle = n->h.id;
	return 0;
}

struct xd_notify *xd_notify_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	return xd_obj_lookup(ctx, XD_KIND_NOTIFY, handle);
}

void xd_notify_signal(struct xd_notify *n)
{
	n->ctx->tp->notify_signal(n);
}

/*
 * Kick-to-wake-up latency: from the guest's timestamp right before its
 * kick to now, when the loop handles it.  The value is the guest's: it is
 * only believed between our raising the sleep flag and now, and only
 * feeds these statistics and the idle policy's estimate (clipped there).
 */
static void wake_sample(struct xd_ctx *ctx)
{
	uint64_t now, k, d;
	int b = 0;

	if (!ctx->tp->same_clock || !ctx->page || ctx->frozen)
		goto unmeasured;
	k = xr_load64_relaxed(&ctx->page->kick_ns);
	now = xd_now_ns();
	/* A true kick follows our last flag and precedes now. */
	if (!k || k < xd.armed_ns || k > now || now - k > 1000000000ull)
		goto unmeasured;
	d = now - k;
	xd.stats.wake_n++;
	xd.stats.wake_sum_ns += (long long)d;
	if ((long long)d > xd.stats.wake_max_ns)
		xd.stats.wake_max_ns = (long long)d;
	while (b < 23 && (d >> (b + 1)))
		b++;
	xd.stats.wake_log2[b]++;
	if (xd_wake_hook)
		xd_wake_hook(d);
	return;
unmeasured:
	if (xd_wake_hook)
		xd_wake_hook(0);
}

void (*xd_wake_hook)(uint64_t ns);

void xd_notify_doorbell(struct xd_notify *n, uint64_t kicks)
{
	xd.stats.doorbells += (long long)kicks;
	if (kicks)
		wake_sample(n->ctx);
}

void xd_notify_free(struct xd_notify *n)
{
	struct xd_ctx *ctx = n->ctx;

	if (ctx->doorbell == n)
		ctx->doorbell = NULL;
	else if (ctx->async == n)
		ctx->async = NULL;
	xd_obj_del(XD_KIND_NOTIFY, &n->h, &n->link);
	ctx->tp->notify_free(n);
}

int xd_notify_unbind(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_notify *n = xd_notify_lookup(ctx, handle);

	if (!n)
		return ENOENT;
	if (n->refs)
		return EBUSY;
	xd_notify_free(n);
	return 0;
}
