// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Device contexts: one per guest control channel, made by a transport.
 * A context owns everything it created, on its own lists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/xenib_ring.h"
#include "xenibd/cm/cm_hook.h"
#include "xenibd/dev/dev.h"
#include "xenibd/migrate/migrate.h"
#include "xenibd/transport/transport.h"

void xd_ctx_init(struct xd_ctx *ctx, const struct xd_transport *tp)
{
	ctx->tp = tp;
	list_init(&ctx->regions);
	list_init(&ctx->notifiers);
	list_init(&ctx->pds);
	list_init(&ctx->mrs);
	list_init(&ctx->cqs);
	list_init(&ctx->qps);
	list_init(&ctx->srqs);
	list_init(&ctx->ahs);
	list_init(&ctx->xrcds);
	list_init(&ctx->mws);
	list_init(&ctx->share_link);
	list_init(&ctx->imports);
	list_add_tail(&xd.ctxs, &ctx->link);
	xd.stats.contexts++;
}

/* Free every object on list (of type, linked by member) with freefn. */
#define FREE_ALL(list, type, freefn)                                       \
	while (!list_empty(list))                                          \
		freefn(list_entry((list)->next, type, link))

/*
 * Dependents first: QPs hold CQs, PDs, SRQs and regions; SRQs XRCDs; AHs
 * and windows PDs; windows MRs; MRs PDs and regions.
 */
const enum xd_kind xd_ctx_order[XD_KIND_MAX] = {
	XD_KIND_QP, XD_KIND_SRQ, XD_KIND_XRCD, XD_KIND_AH, XD_KIND_CQ,
	XD_KIND_MW, XD_KIND_MR, XD_KIND_PD, XD_KIND_NOTIFY, XD_KIND_REGION,
};

void xd_ctx_free_kind(struct xd_ctx *ctx, enum xd_kind k)
{
	switch (k) {
	case XD_KIND_QP:
		FREE_ALL(&ctx->qps, struct xd_qp, xd_qp_free);
		break;
	case XD_KIND_SRQ:
		FREE_ALL(&ctx->srqs, struct xd_srq, xd_srq_free);
		break;
	case XD_KIND_XRCD:
		FREE_ALL(&ctx->xrcds, struct xd_xrcd, xd_xrcd_free);
		break;
	case XD_KIND_AH:
		FREE_ALL(&ctx->ahs, struct xd_ah, xd_ah_free);
		break;
	case XD_KIND_CQ:
		FREE_ALL(&ctx->cqs, struct xd_cq, xd_cq_free);
		break;
	case XD_KIND_MW:
		FREE_ALL(&ctx->mws, struct xd_mw, xd_mw_free);
		break;
	case XD_KIND_MR:
		FREE_ALL(&ctx->mrs, struct xd_mr, xd_mr_free);
		break;
	case XD_KIND_PD:
		FREE_ALL(&ctx->pds, struct xd_pd, xd_pd_free);
		break;
	case XD_KIND_NOTIFY:
		FREE_ALL(&ctx->notifiers, struct xd_notify, xd_notify_free);
		break;
	case XD_KIND_REGION:
		FREE_ALL(&ctx->regions, struct xd_region, xd_region_free);
		break;
	case XD_KIND_MAX:
		break;
	}
}

void xd_ctx_release(struct xd_ctx *ctx)
{
	char who[96];

	ctx->tp->describe(ctx, who, sizeof(who));
	if (ctx->nobj)
		xd_log("BUG: context of %s leaks %u objects", who, ctx->nobj);
	xd_ctx_log_flush(ctx);
	list_del(&ctx->link);
	if (ctx->cm_only && ctx->guest && ctx->guest->ncm)
		ctx->guest->ncm--;
	xd_guest_put(ctx->guest);
	xd.stats.contexts--;
	ctx->tp->release(ctx);
}

void xd_ctx_destroy(struct xd_ctx *ctx)
{
	unsigned int i;

	xm_adopt_gone(ctx);	/* a context adopted from another host */
	xd_cm_ctx_destroy(ctx);	/* its rdma_cm ids, if an event channel */
	/* Sharing: others may still use some of it (share.c). */
	if (ctx->share && xd_share_leave(ctx))
		return;
	for (i = 0; i < XD_KIND_MAX; i++)
		xd_ctx_free_kind(ctx, xd_ctx_order[i]);
	xd_ctx_release(ctx);
}

int xd_ctx_reply(struct xd_ctx *ctx, const void *resp, size_t len)
{
	return ctx->tp->reply(ctx, resp, len);
}

void xd_ctx_post_async(struct xd_ctx *ctx, uint32_t type, uint32_t handle)
{
	struct xenib_ctx_page *p = ctx->page;
	struct xenib_async_event *ev;
	uint32_t cons;

	if (!p || ctx->frozen)	/* frozen: the page is not mapped */
		return;
	/* The CQEs that led to the event show before it (batch.c). */
	xd_batch_flush();
	cons = xr_load_acquire(&p->async_cons);	/* guest consumes */
	if (ctx->async_prod - cons >= XENIB_ASYNC_RING) {
		xd_ctx_log(ctx, "async event ring full, event %u dropped", type);
		return;
	}
	ev = &p->async_ev[ctx->async_prod & (XENIB_ASYNC_RING - 1)];
	ev->event_type = type;
	ev->handle = handle;
	/* We produce async events: publish the entry. */
	xr_store_release(&p->async_prod, ++ctx->async_prod);
	if (ctx->async)
		xd_notify_signal(ctx->async);
}
