// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The xenstore handshake of an attached domain's contexts: each ctx/K the
 * guest initialises under its frontend directory becomes a device context
 * (mailbox.c), or is refused with be/ctx/K/error and state 6.
 *
 * Everything under ctx/ is the guest's, and dom0's xenstore is shared by
 * every domain, so what a guest can make xenibd do there is bounded:
 * - a watch event is handled for the ctx/K its path names, a few reads;
 *   only an event on ctx/ itself (or too many at once) rescans the whole
 *   directory, and at most once a second;
 * - refusal nodes exist only while the guest's ctx/K does (removed when it
 *   goes), and at most XD_XEN_MAX_REFUSED per domain: past that a ctx/K
 *   is ignored until the guest cleans up;
 * - refusals are logged at most XD_XEN_REFUSE_LOG_BURST times a second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/transport/xen/xen.h"

#define XD_XEN_REFUSE_LOG_BURST	5
#define XD_XEN_FULL_SCAN_NS	(1000 * 1000 * 1000ull)

/* The connected (not orphaned) context k of dom, or NULL. */
static struct xd_ctx *ctx_of(struct xd_xdom *dom, uint32_t k)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);

		if (xc->dom == dom && xc->k == k && !xc->orphan)
			return &xc->ctx;
	}
	return NULL;
}

static int refused_at(const struct xd_xdom *dom, uint32_t k)
{
	unsigned int i;

	for (i = 0; i < dom->nrefused; i++)
		if (dom->refused[i] == k)
			return i;
	return -1;
}

/* Our refusal of k is gone: forget it. */
static void refused_del(struct xd_xdom *dom, uint32_t k)
{
	int i = refused_at(dom, k);

	if (i >= 0)
		dom->refused[i] = dom->refused[--dom->nrefused];
}

static void ctx_refuse(struct xd_xdom *dom, uint32_t k, const char *why)
{
	char who[96];

	snprintf(who, sizeof(who), "domain %s (%u): ", dom->name, dom->domid);
	if (refused_at(dom, k) < 0 && dom->nrefused == XD_XEN_MAX_REFUSED) {
		if (xd_ratelimit(&dom->refuse_rl, XD_XEN_REFUSE_LOG_BURST, who))
			xd_log("%scontext %u ignored (%s): %u refused contexts "
			       "not closed by the guest", who, k, why,
			       dom->nrefused);
		return;
	}
	if (xd_ratelimit(&dom->refuse_rl, XD_XEN_REFUSE_LOG_BURST, who))
		xd_log("%scontext %u refused: %s", who, k, why);
	if (refused_at(dom, k) < 0)
		dom->refused[dom->nrefused++] = k;
	xd_xen_be_ctx_write(dom, k, "error", why);
	xd_xen_be_ctx_write(dom, k, "state", "6");
}

/* The guest asked for a context: map, bind, create, answer in xenstore. */
static void ctx_connect(struct xd_xdom *dom, uint32_t k)
{
	char *ref = xd_xen_xs_readf(XD_XS_VAL_MAX, "%s/ctx/%u/ctrl-ref",
				    dom->fe, k);
	char *ev = xd_xen_xs_readf(XD_XS_VAL_MAX, "%s/ctx/%u/event-channel",
				   dom->fe, k);
	char *resume = xd_xen_xs_readf(XD_XS_VAL_MAX, "%s/ctx/%u/resume",
				       dom->fe, k);
	char why[128], tok[32];
	struct xd_ctx *ctx;
	uint32_t refs[3], port;
	int err;

	if (!resume && xd.cfg.max_ctx && dom->nctx >= xd.cfg.max_ctx) {
		snprintf(why, sizeof(why), "too many contexts (limit.contexts %u)",
			 xd.cfg.max_ctx);
		goto refuse;
	}
	if (hvx_parse_refs(ref, refs, 3)) {
		snprintf(why, sizeof(why), "bad ctrl-ref");
		goto refuse;
	}
	if (hvx_parse_u32(ev, XD_XEN_MAX_PORT - 1, &port) || !port) {
		snprintf(why, sizeof(why), "bad event-channel");
		goto refuse;
	}
	if (resume) {
		ctx = xd_xen_frozen_by_token(dom, resume);
		if (!ctx) {
			snprintf(why, sizeof(why), "no frozen context to resume");
			goto refuse;
		}
		err = xd_xen_ctx_takeover(ctx, dom->domid, k, refs, port);
	} else {
		err = xd_xen_ctx_new(dom, dom->domid, k, refs, port, &ctx);
	}
	if (err) {
		snprintf(why, sizeof(why), "cannot map the mailbox or bind "
			 "its event channel: %s", strerror(err));
		goto refuse;
	}
	xd_xen_token(ctx, tok, sizeof(tok));
	xd_xen_be_ctx_write(dom, k, "token", tok);
	xd_xen_be_ctx_write(dom, k, "state", "4");
	if (resume)
		xd_log("domain %s (%u): context %u resumes a frozen context",
		       dom->name, dom->domid, k);
	else
		xd_dbg("domain %s (%u): context %u connected", dom->name,
		       dom->domid, k);
	goto out;
refuse:
	ctx_refuse(dom, k, why);
out:
	free(ref);
	free(ev);
	free(resume);
}

/*
 * ctx/K of dom may have changed: connect, close, refuse or clean up.  The
 * backend's be/ctx/K exists exactly while K has a context or a refusal of
 * ours, so only the frontend's state is read.
 */
static void ctx_changed(struct xd_xdom *dom, uint32_t k)
{
	struct xd_ctx *ctx = ctx_of(dom, k);
	bool refused = refused_at(dom, k) >= 0;
	uint32_t st = 0;
	char *s;

	s = xd_xen_xs_readf(16, "%s/ctx/%u/state", dom->fe, k);
	if (s && hvx_parse_u32(s, 99, &st))
		st = 0;
	if (ctx) {
		if (st != XENIB_XS_INITIALISED && st != XENIB_XS_CONNECTED) {
			xd_dbg("domain %s: context %u closed (state %s)",
			       dom->name, k, s ? s : "gone");
			xd_ctx_destroy(ctx);
		}
	} else if (!s) {
		/* The guest deleted ctx/K: our answer goes with it. */
		if (refused) {
			xd_xen_ctx_nodes_rm(dom, k);
			refused_del(dom, k);
		}
	} else if (st == XENIB_XS_INITIALISED && !refused) {
		ctx_connect(dom, k);
	} else if ((st == XENIB_XS_CLOSING || st == XENIB_XS_CLOSED) &&
		   refused) {
		xd_xen_ctx_nodes_rm(dom, k);	/* after a refusal */
		refused_del(dom, k);
	} else if (st == XENIB_XS_CONNECTED && !refused) {
		/* from before a restart of xenibd */
		ctx_refuse(dom, k, "unknown context");
	}
	free(s);
}

/* Everything under ctx/: attach, an event on ctx/ itself, lost events. */
static void scan_all(struct xd_xdom *dom)
{
	uint32_t refused[XD_XEN_MAX_REFUSED], k;
	struct list_node *pos, *tmp;
	unsigned int n = 0, i, nr;
	char path[128];
	char **ks;

	dom->full_scan = false;
	dom->ndirty = 0;
	dom->scan_after_ns = xd_now_ns() + XD_XEN_FULL_SCAN_NS;
	snprintf(path, sizeof(path), "%s/ctx", dom->fe);
	ks = xd_hv->xs_directory(XBT_NULL, path, &n);
	if (!ks)
		n = 0;
	/* Known contexts whose node went away or that the guest closes. */
	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);

		if (xc->dom == dom && !xc->orphan)
			ctx_changed(dom, xc->k);
	}
	nr = dom->nrefused;
	memcpy(refused, dom->refused, nr * sizeof(refused[0]));
	for (i = 0; i < nr; i++)
		ctx_changed(dom, refused[i]);
	for (i = 0; i < n; i++) {
		if (hvx_parse_u32(ks[i], XENIB_XS_MAX_CTX - 1, &k))
			continue;	/* not ours to judge; ignored */
		if (!ctx_of(dom, k) && refused_at(dom, k) < 0)
			ctx_changed(dom, k);
	}
	free(ks);
}

void xd_xen_ctx_event(struct xd_xdom *dom, const char *path)
{
	size_t l = strlen(dom->fe);
	char comp[16];
	size_t cl;
	uint32_t k;
	unsigned int i;

	/* Below fe/ctx/: the K it names, if it is one. */
	if (strncmp(path, dom->fe, l) || strncmp(path + l, "/ctx", 4) ||
	    (path[l + 4] && path[l + 4] != '/')) {
		dom->full_scan = true;	/* not where we watch: be safe */
		return;
	}
	path += l + 4;
	if (!*path) {
		dom->full_scan = true;	/* ctx/ itself */
		return;
	}
	path++;
	cl = strcspn(path, "/");
	if (!cl || cl >= sizeof(comp))
		return;
	memcpy(comp, path, cl);
	comp[cl] = 0;
	if (hvx_parse_u32(comp, XENIB_XS_MAX_CTX - 1, &k))
		return;			/* not a context of ours */
	for (i = 0; i < dom->ndirty; i++)
		if (dom->dirty[i] == k)
			return;
	if (dom->ndirty == XD_XEN_MAX_DIRTY)
		dom->full_scan = true;
	else
		dom->dirty[dom->ndirty++] = k;
}

void xd_xen_ctxs_scan(struct xd_xdom *dom, uint64_t *next_ns)
{
	uint64_t now = xd_now_ns();
	unsigned int i;

	if (dom->full_scan && now >= dom->scan_after_ns) {
		scan_all(dom);
		return;
	}
	/* ctx_changed may add nothing: it reads, it does not watch. */
	for (i = 0; i < dom->ndirty; i++)
		ctx_changed(dom, dom->dirty[i]);
	dom->ndirty = 0;
	if (dom->full_scan && next_ns && dom->scan_after_ns < *next_ns)
		*next_ns = dom->scan_after_ns;
}

void xd_xen_ctxs_attached(struct xd_xdom *dom)
{
	dom->nrefused = 0;
	dom->ndirty = 0;
	dom->scan_after_ns = 0;	/* scan at once */
	dom->full_scan = true;
}
