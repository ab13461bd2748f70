// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Suspend and take-over of Xen contexts (xenib-abi.h, "RESUME").  When a
 * domain suspends (xl save, xl migrate), its contexts freeze: every grant
 * mapping ends (placeholders keep the addresses, so every pointer the
 * backend holds stays valid to restore), every port is unbound, the engine
 * leaves its rings alone and holds peers' WQEs aimed at it.  The restored
 * guest's contexts take the frozen ones over by token (a new mailbox and
 * control port) and give the memory back with RESUME_* (resume.c).  A
 * frozen context nobody takes over within resume_timeout is destroyed.
 */
#include <errno.h>
#include <stdlib.h>

#include "util/xenib_ring.h"
#include "xenibd/transport/xen/xen.h"

/* How often connected contexts' frontend_alive bytes are looked at. */
#define XD_LIVENESS_NS		(250 * 1000 * 1000ull)

static unsigned int nfrozen;	/* frozen contexts (resume_timeout) */

void xd_xen_ctx_unfreeze_count(struct xd_ctx *ctx)
{
	if (ctx->frozen) {
		ctx->frozen = false;
		nfrozen--;
	}
}

void xd_xen_ctx_freeze(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);
	struct list_node *pos, *tmp;
	unsigned int nr = 0, nn = 0;

	if (xc->orphan)
		return;
	if (!ctx->frozen) {
		ctx->frozen = true;	/* the engine leaves it alone from now */
		xc->frozen_ns = xd.now_ns;
		nfrozen++;
	}
	xc->orphan = true;
	xc->resumed = false;
	if (xc->mbox.va) {
		/*
		 * The guest is still running until it suspends: an unmap
		 * notification now would tell it we died (backend_alive 0 and
		 * an event), so cancel it first.
		 */
		xd_hv->unmap_notify_disarm(&xc->mbox,
					   XENIB_MBOX_BACK_ALIVE_OFF);
		xd_hv->unmap(&xc->mbox, false);
		xc->mbox.va = NULL;
	}
	if (xc->ctrl_port) {
		xd_xen_port_clear(xc->ctrl_port);
		xd_hv->unbind(xc->ctrl_port);
		xc->ctrl_port = 0;
	}
	list_for_each_safe(pos, tmp, &ctx->regions) {
		struct xd_region *r = list_entry(pos, struct xd_region, link);

		if (xd_xen_region_of(r)->unmapped)
			continue;
		xd_xen_region_unmap_keep(r);
		nr++;
	}
	list_for_each_safe(pos, tmp, &ctx->notifiers) {
		struct xd_xen_notify *xn =
			xd_xen_notify_of(list_entry(pos, struct xd_notify,
						    link));

		if (!xn->port)
			continue;
		xd_xen_port_clear(xn->port);
		xd_hv->unbind(xn->port);
		xn->port = 0;
		nn++;
	}
	xd_log("domain %u: context %u frozen (%u regions unmapped, %u ports "
	       "unbound)", xc->domid, xc->k, nr, nn);
}

int xd_xen_ctx_takeover(struct xd_ctx *ctx, uint32_t domid, uint32_t k,
			const uint32_t refs[3], uint32_t port)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);
	struct hvx_gmap gm = { 0 };
	int lp, err;

	if (!xc->orphan)
		return EBUSY;
	if (!port || port >= XD_XEN_MAX_PORT)
		return EINVAL;
	err = xd_hv->map(domid, refs, XENIB_MBOX_PAGES, NULL, true, &gm);
	if (err)
		return err;
	lp = xd_hv->bind(domid, port);
	if (lp <= 0) {
		err = lp < 0 ? -lp : EINVAL;
		goto fail_unmap;
	}
	err = xd_xen_port_ctrl(lp, ctx);
	if (err)
		goto fail_unbind;
	err = xd_hv->unmap_notify(&gm, XENIB_MBOX_BACK_ALIVE_OFF, lp);
	if (err)
		goto fail_port;
	xc->mbox = gm;
	xc->ctrl_port = lp;
	__atomic_store_n(&((struct xenib_xen_mbox *)gm.va)->backend_alive, 1,
			 __ATOMIC_RELEASE);
	xd_xen_live = true;
	xc->domid = domid;
	xc->k = k;
	xc->orphan = false;
	xc->resumed = true;	/* still frozen until RESUME_DONE */
	xc->front_seen = false;
	xd_xen_new_token(xc);
	return 0;
fail_port:
	xd_xen_port_clear(lp);
fail_unbind:
	xd_hv->unbind(lp);
fail_unmap:
	xd_hv->unmap(&gm, false);
	return err;
}

void xd_xen_ctx_thaw(struct xd_ctx *ctx)
{
	xd_xen_ctx_unfreeze_count(ctx);
	xd_xen_of(ctx)->resumed = false;
}

struct xd_ctx *xd_xen_frozen_by_token(struct xd_xdom *dom, const char *tok)
{
	struct list_node *pos, *tmp;
	uint64_t secret;
	uint32_t id;

	if (hvx_parse_token(tok, &id, &secret))
		return NULL;
	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);

		if (xc->dom == dom && xc->orphan && xc->id == id &&
		    xc->secret == secret)
			return &xc->ctx;
	}
	return NULL;
}

void xd_xen_tick(uint64_t *next_ns)
{
	static uint64_t next_scan;
	uint64_t limit = xd.cfg.resume_timeout * 1000000000ull;
	struct list_node *pos, *tmp;
	bool scan = xd.now_ns >= next_scan, any = false;

	xd_xen_domains_tick(next_ns);	/* deferred ctx/ scans */
	if (!nfrozen && !scan) {
		if (xd_xen_live && next_scan < *next_ns)
			*next_ns = next_scan;
		return;
	}
	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);
		uint64_t end;

		if (!xc->ctx.frozen) {
			any = true;
			if (scan && xc->mbox.va)
				xd_xen_front_gone(&xc->ctx);
			continue;
		}
		end = xc->frozen_ns + limit;
		if (xd.now_ns >= end) {
			xd_log("domain %s: frozen context %u not resumed within "
			       "%u s: destroyed", xc->dom ? xc->dom->name : "?",
			       xc->k, xd.cfg.resume_timeout);
			xd_ctx_destroy(&xc->ctx);
		} else if (end < *next_ns) {
			*next_ns = end;
		}
	}
	if (scan) {
		/* Nothing to watch: the loop may sleep (a new mailbox
		 * sets xd_xen_live again). */
		xd_xen_live = any;
		next_scan = xd.now_ns + XD_LIVENESS_NS;
	}
	if (xd_xen_live && next_scan < *next_ns)
		*next_ns = next_scan;
}
