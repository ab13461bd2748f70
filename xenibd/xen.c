// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd on real Xen: domains, xenstore, control mailboxes, event channels.
 *
 * Domains are served by name.  When a domain with a wanted name exists,
 * xenibd writes the frontend and backend directories (xenib-abi.h, "Real
 * Xen transport") and watches the frontend's ctx/ directory; each ctx/K the
 * guest initialises becomes a device context whose control channel is a
 * mailbox in three granted pages plus an event channel.  The guest record
 * (LID, GUID, guest.c) is keyed by the domain name, so a domain that comes
 * back under a new domid is the same guest.
 *
 * Everything read from xenstore or a mailbox is guest-controlled: values
 * are length-limited and strictly parsed, a request is copied out of the
 * shared page before it is looked at.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/xenib_ring.h"
#include "xenibd/loop.h"
#include "xenibd/xen.h"

#define XD_SHUTDOWN_SUSPEND	2	/* SHUTDOWN_suspend, xen/sched.h */
#define XD_XS_VAL_MAX		64	/* longest value we accept from a guest */
#define XD_INCOMING		"--incoming"
/* How often connected contexts' frontend_alive bytes are looked at. */
#define XD_LIVENESS_NS		(250 * 1000 * 1000ull)

static struct list_node doms = { &doms, &doms };
static uint32_t self_domid;
static uint32_t next_ctx_id;
static bool rescan_domains;
static unsigned int nfrozen;	/* frozen contexts (resume_timeout) */
static bool live;		/* connected contexts: scan frontend_alive */

/* ------------------------------------------------------------------ */
/* Local event-channel ports -> what they belong to                    */

enum { XP_NONE, XP_CTRL, XP_DOORBELL };

struct xd_port {
	uint8_t type;
	void *ptr;
};

static struct xd_port *ports;
static uint32_t nports;

static int port_set(uint32_t p, uint8_t type, void *ptr)
{
	if (p >= XD_XEN_MAX_PORT)
		return EINVAL;
	if (p >= nports) {
		uint32_t n = nports ? nports : 64;
		struct xd_port *np;

		while (n <= p)
			n *= 2;
		np = realloc(ports, n * sizeof(*np));
		if (!np)
			return ENOMEM;
		memset(np + nports, 0, (n - nports) * sizeof(*np));
		ports = np;
		nports = n;
	}
	ports[p].type = type;
	ports[p].ptr = ptr;
	return 0;
}

void xd_xen_port_clear(uint32_t p)
{
	if (p < nports) {
		ports[p].type = XP_NONE;
		ports[p].ptr = NULL;
	}
}

int xd_xen_port_doorbell(uint32_t p, struct xd_notify *n)
{
	return port_set(p, XP_DOORBELL, n);
}

void xd_xen_evtchn_readable(void)
{
	int i, p;

	/* Bounded per call, like every other source of the loop. */
	for (i = 0; i < 256 && (p = hvx_evtchn_pending()) >= 0; i++) {
		struct xd_port e = (uint32_t)p < nports ? ports[p] :
							  (struct xd_port){ 0 };

		/* Unmask first: an event during the handling is not lost. */
		hvx_evtchn_unmask(p);
		if (e.type == XP_CTRL)
			xd_xen_mbox_event(e.ptr);
		else if (e.type == XP_DOORBELL)	/* waking us was the point */
			xd.stats.doorbells++;
	}
}

/* ------------------------------------------------------------------ */
/* Xenstore helpers                                                    */

static char *xs_readf(size_t max, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *xs_readf(size_t max, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	return hvx_xs_read(XBT_NULL, path, max);
}

/* Write a backend ctx/K node: be/ctx/K/leaf = val. */
static void be_ctx_write(struct xd_xdom *dom, uint32_t k, const char *leaf,
			 const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/ctx/%u/%s", dom->be, k, leaf);
	hvx_xs_write(XBT_NULL, path, val);
}

static void ctx_nodes_rm(struct xd_xdom *dom, uint32_t k)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/ctx/%u", dom->be, k);
	hvx_xs_rm(XBT_NULL, path);
	snprintf(path, sizeof(path), "%s/ctx/%u", dom->fe, k);
	hvx_xs_rm(XBT_NULL, path);
}

static void ctx_refuse(struct xd_xdom *dom, uint32_t k, const char *why)
{
	xd_log("domain %s (%u): context %u refused: %s", dom->name,
	       dom->domid, k, why);
	be_ctx_write(dom, k, "error", why);
	be_ctx_write(dom, k, "state", "6");
}

/* ------------------------------------------------------------------ */
/* Contexts                                                            */

static struct xenib_xen_mbox *mbox_hdr(struct xd_xen_ctx *xc)
{
	return xc->mbox.va;
}

static void new_token(struct xd_xen_ctx *xc)
{
	xc->id = ++next_ctx_id;
	if (getrandom(&xc->secret, sizeof(xc->secret), 0) !=
	    sizeof(xc->secret))
		xc->secret = xd_now_ns() ^ ((uint64_t)xc->id << 32);
}

void xd_xen_token(const struct xd_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%08x%016llx", ctx->xen->id,
		 (unsigned long long)ctx->xen->secret);
}

int xd_xen_ctx_new(struct xd_xdom *dom, uint32_t domid, uint32_t k,
		   const uint32_t refs[3], uint32_t port, struct xd_ctx **out)
{
	struct xd_xen_ctx *xc;
	struct xd_ctx *ctx;
	int lp, err;

	if (!port || port >= XD_XEN_MAX_PORT)
		return EINVAL;
	xc = calloc(1, sizeof(*xc));
	ctx = calloc(1, sizeof(*ctx));
	if (!xc || !ctx) {
		err = ENOMEM;
		goto fail;
	}
	err = xd_hv->map(domid, refs, XENIB_MBOX_PAGES, NULL, true, &xc->mbox);
	if (err)
		goto fail;
	lp = xd_hv->bind(domid, port);
	if (lp <= 0) {
		err = lp < 0 ? -lp : EINVAL;
		goto fail_unmap;
	}
	xc->ctrl_port = lp;
	err = port_set(lp, XP_CTRL, ctx);
	if (err)
		goto fail_unbind;
	/* If we die, the guest's kernel learns it: byte cleared, port kicked. */
	err = xd_hv->unmap_notify(&xc->mbox, XENIB_MBOX_BACK_ALIVE_OFF, lp);
	if (err)
		goto fail_port;
	__atomic_store_n(&mbox_hdr(xc)->backend_alive, 1, __ATOMIC_RELEASE);
	live = true;
	xc->ctx = ctx;
	xc->dom = dom;
	xc->domid = domid;
	xc->k = k;
	new_token(xc);
	ctx->sock = -1;
	ctx->xen = xc;
	list_add_tail(&xd.ctxs, &ctx->link);
	xd.stats.contexts++;
	if (dom)
		dom->nctx++;
	*out = ctx;
	return 0;
fail_port:
	xd_xen_port_clear(lp);
fail_unbind:
	xd_hv->unbind(lp);
fail_unmap:
	xd_hv->unmap(&xc->mbox, false);
fail:
	free(xc);
	free(ctx);
	return err;
}

void xd_xen_ctx_release(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = ctx->xen;

	if (ctx->frozen)
		nfrozen--;
	/* Unmapping fires the unmap notification: the guest sees us go. */
	if (xc->mbox.va)
		xd_hv->unmap(&xc->mbox, false);
	if (xc->ctrl_port) {
		xd_xen_port_clear(xc->ctrl_port);
		xd_hv->unbind(xc->ctrl_port);
	}
	if (xc->dom) {
		/* An orphan's ctx/K nodes went with its old domain. */
		if (!xc->orphan) {
			be_ctx_write(xc->dom, xc->k, "state", "6");
			ctx_nodes_rm(xc->dom, xc->k);
		}
		xc->dom->nctx--;
	}
	free(xc);
	ctx->xen = NULL;
}

static struct xd_ctx *ctx_of(struct xd_xdom *dom, uint32_t k)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->xen && ctx->xen->dom == dom && ctx->xen->k == k &&
		    !ctx->xen->orphan)
			return ctx;
	}
	return NULL;
}

/* Write the stored response into the mailbox and tell the guest. */
static void mbox_put_resp(struct xd_xen_ctx *xc)
{
	struct xenib_xen_mbox *mb = mbox_hdr(xc);

	if (!mb)
		return;
	memcpy((char *)mb + 2 * XENIB_PAGE_SIZE, xc->last, xc->last_len);
	xr_store_relaxed(&mb->resp_len, xc->last_len);
	xr_store_release(&mb->resp_seq, xc->last_seq);
	xd_hv->notify(xc->ctrl_port);
}

int xd_xen_reply(struct xd_ctx *ctx, const void *resp, size_t len)
{
	struct xd_xen_ctx *xc = ctx->xen;

	struct xenib_xen_mbox *mb = mbox_hdr(xc);

	if (len > sizeof(xc->last))
		return EMSGSIZE;
	if (xc->cur_relay) {
		/*
		 * The guest's relay asked (RESUME_*), not the provider: the
		 * stored answer stays the provider's last one, so that its
		 * request in flight at the suspend, sent again with its seq,
		 * is answered from it (xenib-abi.h, RESUME).
		 */
		if (!mb)
			return 0;
		memcpy((char *)mb + 2 * XENIB_PAGE_SIZE, resp, len);
		xr_store_relaxed(&mb->resp_len, len);
		xr_store_release(&mb->resp_seq, xc->cur_seq);
		xd_hv->notify(xc->ctrl_port);
		return 0;
	}
	memcpy(xc->last, resp, len);
	xc->last_len = len;
	xc->last_seq = xc->cur_seq;
	xc->have_last = true;
	mbox_put_resp(xc);
	return 0;
}

/*
 * Has the guest's kernel cleared frontend_alive (the process that owns the
 * context is gone)?  Then the context is destroyed.  The guest's unmap
 * notification only clears the byte: an event-channel port named in it would
 * not survive a save/restore (see util/hv_xen_grant.c), so the mailbox
 * event and the periodic scan of xd_xen_tick() both look here.
 */
static bool front_gone(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = ctx->xen;

	if (__atomic_load_n(&mbox_hdr(xc)->frontend_alive, __ATOMIC_ACQUIRE)) {
		xc->front_seen = true;
		return false;
	}
	if (!xc->front_seen)
		return false;
	xd_dbg("domain %u: context %u: frontend gone", xc->domid, xc->k);
	xd_ctx_destroy(ctx);
	return true;
}

/*
 * A request is pending when req_seq differs from resp_seq.  The one we
 * answered last (same seq) gets the stored answer again, never a second
 * execution: after a resume the guest repeats what it did not see answered.
 */
void xd_xen_mbox_event(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = ctx->xen;
	struct xenib_xen_mbox *mb = xc ? mbox_hdr(xc) : NULL;
	union {
		struct xenib_ctrl_hdr hdr;
		char buf[XENIB_CTRL_MAX_MSG];
	} msg;
	uint32_t seq, len;
	ssize_t n;

	if (!mb)
		return;
	if (front_gone(ctx))
		return;
	seq = xr_load_acquire(&mb->req_seq);
	if (seq == xr_load_relaxed(&mb->resp_seq))
		return;
	if (xc->have_last && seq == xc->last_seq) {
		mbox_put_resp(xc);
		return;
	}
	len = xr_load_relaxed(&mb->req_len);
	if (len > XENIB_CTRL_MAX_MSG) {
		n = -EMSGSIZE;
	} else {
		memcpy(msg.buf, (char *)mb + XENIB_PAGE_SIZE, len);
		n = len;
	}
	xc->cur_seq = seq;
	/*
	 * Judged on our copy; ctrl.c checks that only RESUME_* carry it.
	 * Until RESUME_DONE nothing the provider may repeat is executed, so
	 * no answer then replaces the stored one.
	 */
	xc->cur_relay = xc->resumed ||
			(n >= (ssize_t)sizeof(msg.hdr) && (msg.hdr.flags & 1));
	xd_ctrl_handle(ctx, msg.buf, n, -1);
}

/* ------------------------------------------------------------------ */
/* RESUME: freeze, take-over, timeout                                  */

/* Unmap (keeping placeholders) every MR view segment over region r. */
static void mr_views_unmap(struct xd_region *r)
{
	uint32_t i, j;

	for (i = 1; i < xd.mrs.size; i++) {
		struct xd_mr *mr = (struct xd_mr *)xd.mrs.slot[i];

		if (!mr || mr->ctx != r->ctx)
			continue;
		for (j = 0; j < mr->nsegs; j++) {
			struct hvx_gmap gm = {
				.va = mr->view + mr->segs[j].pos,
				.len = mr->segs[j].length,
			};

			if (mr->segs[j].r == r)
				xd_hv->unmap(&gm, true);
		}
	}
}

void xd_xen_ctx_freeze(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = ctx->xen;
	unsigned int nr = 0, nn = 0;
	uint32_t i;

	if (!xc || xc->orphan)
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
	for (i = 1; i < xd.regions.size; i++) {
		struct xd_region *r = (struct xd_region *)xd.regions.slot[i];
		struct hvx_gmap gm;

		if (!r || r->ctx != ctx || !r->grefs || r->unmapped)
			continue;
		mr_views_unmap(r);
		gm = (struct hvx_gmap){ .va = r->va, .len = r->len };
		xd_hv->unmap(&gm, true);
		r->unmapped = true;
		nr++;
	}
	for (i = 1; i < xd.notifies.size; i++) {
		struct xd_notify *n = (struct xd_notify *)xd.notifies.slot[i];

		if (!n || n->ctx != ctx || !n->port)
			continue;
		xd_xen_port_clear(n->port);
		xd_hv->unbind(n->port);
		n->port = 0;
		nn++;
	}
	xd_log("domain %u: context %u frozen (%u regions unmapped, %u ports "
	       "unbound)", xc->domid, xc->k, nr, nn);
}

int xd_xen_ctx_takeover(struct xd_ctx *ctx, uint32_t domid, uint32_t k,
			const uint32_t refs[3], uint32_t port)
{
	struct xd_xen_ctx *xc = ctx->xen;
	struct hvx_gmap gm = { 0 };
	int lp, err;

	if (!xc || !xc->orphan)
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
	err = port_set(lp, XP_CTRL, ctx);
	if (err)
		goto fail_unbind;
	err = xd_hv->unmap_notify(&gm, XENIB_MBOX_BACK_ALIVE_OFF, lp);
	if (err)
		goto fail_port;
	xc->mbox = gm;
	xc->ctrl_port = lp;
	__atomic_store_n(&mbox_hdr(xc)->backend_alive, 1, __ATOMIC_RELEASE);
	live = true;
	xc->domid = domid;
	xc->k = k;
	xc->orphan = false;
	xc->resumed = true;	/* still frozen until RESUME_DONE */
	xc->front_seen = false;
	new_token(xc);
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
	if (ctx->frozen) {
		ctx->frozen = false;
		nfrozen--;
	}
	ctx->xen->resumed = false;
}

/* The frozen orphan of dom's guest whose token is tok, or NULL. */
static struct xd_ctx *frozen_by_token(struct xd_xdom *dom, const char *tok)
{
	struct list_node *pos, *tmp;
	uint64_t secret;
	uint32_t id;

	if (hvx_parse_token(tok, &id, &secret))
		return NULL;
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);
		struct xd_xen_ctx *xc = ctx->xen;

		if (xc && xc->dom == dom && xc->orphan && xc->id == id &&
		    xc->secret == secret)
			return ctx;
	}
	return NULL;
}

void xd_xen_tick(uint64_t *next_ns)
{
	static uint64_t next_scan;
	uint64_t limit = xd.cfg.resume_timeout * 1000000000ull;
	struct list_node *pos, *tmp;
	bool scan = xd.now_ns >= next_scan, any = false;

	if (!nfrozen && !scan) {
		if (live && next_scan < *next_ns)
			*next_ns = next_scan;
		return;
	}
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);
		struct xd_xen_ctx *xc = ctx->xen;
		uint64_t end;

		if (!xc)
			continue;
		if (!ctx->frozen) {
			any = true;
			if (scan && mbox_hdr(xc))
				front_gone(ctx);
			continue;
		}
		end = xc->frozen_ns + limit;
		if (xd.now_ns >= end) {
			xd_log("domain %s: frozen context %u not resumed within "
			       "%u s: destroyed", xc->dom ? xc->dom->name : "?",
			       xc->k, xd.cfg.resume_timeout);
			xd_ctx_destroy(ctx);
		} else if (end < *next_ns) {
			*next_ns = end;
		}
	}
	if (scan) {
		/* Nothing to watch: the loop may sleep (a new mailbox
		 * sets live again). */
		live = any;
		next_scan = xd.now_ns + XD_LIVENESS_NS;
	}
	if (live && next_scan < *next_ns)
		*next_ns = next_scan;
}

/* The guest asked for a context: map, bind, create, answer in xenstore. */
static void ctx_connect(struct xd_xdom *dom, uint32_t k)
{
	char *ref = xs_readf(XD_XS_VAL_MAX, "%s/ctx/%u/ctrl-ref", dom->fe, k);
	char *ev = xs_readf(XD_XS_VAL_MAX, "%s/ctx/%u/event-channel", dom->fe,
			    k);
	char *resume = xs_readf(XD_XS_VAL_MAX, "%s/ctx/%u/resume", dom->fe, k);
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
		ctx = frozen_by_token(dom, resume);
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
	be_ctx_write(dom, k, "token", tok);
	be_ctx_write(dom, k, "state", "4");
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

/* ctx/ of an attached domain changed: connect, close, clean up. */
static void scan_ctxs(struct xd_xdom *dom)
{
	struct list_node *pos, *tmp;
	unsigned int n = 0, i;
	char path[128];
	char **ks;

	snprintf(path, sizeof(path), "%s/ctx", dom->fe);
	ks = xs_directory(hvx_xs(), XBT_NULL, path, &n);
	if (!ks)
		n = 0;
	/* Known contexts whose node went away or that the guest closes. */
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);
		struct xd_xen_ctx *xc = ctx->xen;
		uint32_t st = 0;
		char *s;

		if (!xc || xc->dom != dom || xc->orphan)
			continue;	/* an orphan has no ctx/K (yet) */
		s = xs_readf(16, "%s/ctx/%u/state", dom->fe, xc->k);
		if (!s || hvx_parse_u32(s, 99, &st) ||
		    (st != XENIB_XS_INITIALISED && st != XENIB_XS_CONNECTED)) {
			xd_dbg("domain %s: context %u closed (state %s)",
			       dom->name, xc->k, s ? s : "gone");
			xd_ctx_destroy(ctx);
		}
		free(s);
	}
	for (i = 0; i < n; i++) {
		uint32_t k, st = 0;
		char *s, *bs;

		if (hvx_parse_u32(ks[i], XENIB_XS_MAX_CTX - 1, &k))
			continue;	/* not ours to judge; ignored */
		if (ctx_of(dom, k))
			continue;
		s = xs_readf(16, "%s/ctx/%u/state", dom->fe, k);
		bs = xs_readf(16, "%s/ctx/%u/state", dom->be, k);
		if (s && !hvx_parse_u32(s, 99, &st)) {
			if (st == XENIB_XS_INITIALISED && !bs)
				ctx_connect(dom, k);
			else if ((st == XENIB_XS_CLOSING ||
				  st == XENIB_XS_CLOSED) && bs)
				ctx_nodes_rm(dom, k);	/* after a refusal */
			else if (st == XENIB_XS_CONNECTED && !bs)
				/* from before a restart of xenibd */
				ctx_refuse(dom, k, "unknown context");
		}
		free(s);
		free(bs);
	}
	free(ks);
}

/* ------------------------------------------------------------------ */
/* Domains                                                             */

static struct xd_xdom *dom_find(const char *name)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &doms) {
		struct xd_xdom *d = list_entry(pos, struct xd_xdom, link);

		if (!strcmp(d->name, name))
			return d;
	}
	return NULL;
}

static struct xd_xdom *dom_by_domid(uint32_t domid)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &doms) {
		struct xd_xdom *d = list_entry(pos, struct xd_xdom, link);

		if (d->domid == domid || d->rename_domid == domid)
			return d;
	}
	return NULL;
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name), i;

	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == '/' ||
		    name[i] == 0x7f)
			return false;
	return len && len < sizeof(((struct xd_xdom *)0)->name);
}

int xd_xen_want(const char *name)
{
	struct xd_xdom *d;

	if (!name_ok(name))
		return EINVAL;
	d = dom_find(name);
	if (d) {
		d->wanted = true;
		return 0;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	strcpy(d->name, name);
	d->wanted = true;
	d->domid = XD_NO_DOMID;
	d->rename_domid = XD_NO_DOMID;
	list_add_tail(&doms, &d->link);
	return 0;
}

static void watch_token(char *buf, size_t len, const char *kind,
			uint32_t domid)
{
	snprintf(buf, len, "%s/%u", kind, domid);
}

static int attach(struct xd_xdom *dom, uint32_t domid)
{
	struct xs_handle *xs = hvx_xs();
	char path[160], tok[32];
	int err = 0, tries;

	snprintf(dom->fe, sizeof(dom->fe), "/local/domain/%u/%s/0", domid,
		 XENIB_XS_FRONT_DIR);
	snprintf(dom->be, sizeof(dom->be), "/local/domain/%u/%s/%u/0",
		 self_domid, XENIB_XS_BACK_DIR, domid);
	for (tries = 0; tries < 16; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL)
			return errno ? errno : EIO;
		/* Ours from an earlier life: start afresh. */
		err = hvx_xs_rm(t, dom->be);
		snprintf(path, sizeof(path), "/local/domain/%u/%s", domid,
			 XENIB_XS_FRONT_DIR);
		/* The guest owns its side (it adds ctx/K), we may read it. */
		if (!err)
			err = hvx_xs_mkdir_perms(t, path, domid, self_domid);
		if (!err)
			err = hvx_xs_mkdir_perms(t, dom->fe, domid, self_domid);
		snprintf(path, sizeof(path), "%s/ctx", dom->fe);
		if (!err)
			err = hvx_xs_mkdir_perms(t, path, domid, self_domid);
		snprintf(path, sizeof(path), "%s/backend", dom->fe);
		if (!err)
			err = hvx_xs_write(t, path, dom->be);
		snprintf(path, sizeof(path), "%s/backend-id", dom->fe);
		if (!err)
			err = hvx_xs_printf(t, path, "%u", self_domid);
		/* Ours; the guest may read it. */
		if (!err)
			err = hvx_xs_mkdir_perms(t, dom->be, self_domid, domid);
		snprintf(path, sizeof(path), "%s/ctx", dom->be);
		if (!err)
			err = hvx_xs_mkdir_perms(t, path, self_domid, domid);
		snprintf(path, sizeof(path), "%s/frontend", dom->be);
		if (!err)
			err = hvx_xs_write(t, path, dom->fe);
		snprintf(path, sizeof(path), "%s/frontend-id", dom->be);
		if (!err)
			err = hvx_xs_printf(t, path, "%u", domid);
		snprintf(path, sizeof(path), "%s/dev-name", dom->be);
		if (!err)
			err = hvx_xs_write(t, path, "xenib0");
		snprintf(path, sizeof(path), "%s/state", dom->be);
		if (!err)
			err = hvx_xs_printf(t, path, "%u", XENIB_XS_CONNECTED);
		if (err) {
			xs_transaction_end(xs, t, true);
			break;
		}
		if (xs_transaction_end(xs, t, false))
			break;
		err = errno ? errno : EIO;
		if (err != EAGAIN)
			break;
	}
	if (err) {
		xd_log("domain %s (%u): cannot write its xenstore nodes: %s",
		       dom->name, domid, strerror(err));
		return err;
	}
	dom->domid = domid;
	dom->frozen = false;
	snprintf(path, sizeof(path), "%s/ctx", dom->fe);
	watch_token(tok, sizeof(tok), "ctx", domid);
	if (!xs_watch(xs, path, tok)) {
		err = errno ? errno : EIO;
		xd_log("domain %s (%u): cannot watch %s: %s", dom->name, domid,
		       path, strerror(err));
	}
	/* "suspend" there: freeze before the guest suspends (RESUME). */
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
		 domid);
	watch_token(tok, sizeof(tok), "shutdown", domid);
	if (!xs_watch(xs, path, tok)) {
		err = errno ? errno : EIO;
		xd_log("domain %s (%u): cannot watch %s: %s", dom->name, domid,
		       path, strerror(err));
	}
	xd_log("attached domain %s (%u)", dom->name, domid);
	dom->scan = true;	/* the watch fires too, but do not rely on it */
	return 0;
}

/*
 * Destroy the contexts of dom's guest (but its frozen ones if keep_frozen:
 * they wait for the guest to come back) and remove its domain's nodes.
 */
static void detach(struct xd_xdom *dom, const char *why, bool keep_frozen)
{
	struct list_node *pos, *tmp;
	char path[160], tok[32];
	uint32_t domid = dom->domid;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->xen && ctx->xen->dom == dom &&
		    !(keep_frozen && ctx->frozen))
			xd_ctx_destroy(ctx);
	}
	if (domid == XD_NO_DOMID)
		return;
	snprintf(path, sizeof(path), "%s/ctx", dom->fe);
	watch_token(tok, sizeof(tok), "ctx", domid);
	xs_unwatch(hvx_xs(), path, tok);
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
		 domid);
	watch_token(tok, sizeof(tok), "shutdown", domid);
	xs_unwatch(hvx_xs(), path, tok);
	/* Frozen ones are orphans now: their ctx/K nodes go below. */
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->xen && ctx->xen->dom == dom && ctx->frozen)
			xd_xen_ctx_freeze(ctx);
	}
	snprintf(path, sizeof(path), "/local/domain/%u/%s/%u", self_domid,
		 XENIB_XS_BACK_DIR, domid);
	hvx_xs_rm(XBT_NULL, path);
	hvx_xs_rm(XBT_NULL, dom->fe);
	dom->domid = XD_NO_DOMID;
	dom->scan = false;
	dom->frozen = false;
	xd_log("detached domain %s (%u): %s", dom->name, domid, why);
}

/* Freeze every context of dom's domain: it is suspending. */
static void freeze_dom(struct xd_xdom *dom)
{
	struct list_node *pos, *tmp;
	unsigned int n = 0;

	dom->frozen = true;
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->xen && ctx->xen->dom == dom && !ctx->xen->orphan) {
			xd_xen_ctx_freeze(ctx);
			n++;
		}
	}
	xd_log("domain %s (%u) suspends: %u contexts frozen", dom->name,
	       dom->domid, n);
}

/* control/shutdown of an attached domain changed. */
static void shutdown_changed(struct xd_xdom *dom)
{
	char *v = xs_readf(XD_XS_VAL_MAX, "/local/domain/%u/control/shutdown",
			   dom->domid);

	if (v && !strcmp(v, "suspend") && !dom->frozen)
		freeze_dom(dom);
	free(v);
}

/*
 * The attached domain stopped (shut down, dying, gone).  A suspended one
 * (xl save, xl migrate) keeps its frozen contexts for the guest's return;
 * any other stop is a death.
 */
static void dom_lost(struct xd_xdom *dom, const struct hvx_dominfo *di)
{
	char why[64];

	if (di->exists && di->shutdown &&
	    di->shutdown_reason == XD_SHUTDOWN_SUSPEND && !dom->frozen) {
		xd_log("warning: domain %s (%u) suspended before we saw "
		       "control/shutdown = suspend; freezing late", dom->name,
		       dom->domid);
		freeze_dom(dom);
	}

	if (!di->exists)
		snprintf(why, sizeof(why), "domain gone");
	else if (di->dying)
		snprintf(why, sizeof(why), "domain dying");
	else
		snprintf(why, sizeof(why), "domain shut down (reason %u)",
			 di->shutdown_reason);
	detach(dom, why, dom->frozen);
}

static void set_rename_watch(struct xd_xdom *dom, uint32_t domid)
{
	char path[64], tok[32];

	if (dom->rename_domid == domid)
		return;
	if (dom->rename_domid != XD_NO_DOMID) {
		snprintf(path, sizeof(path), "/local/domain/%u/name",
			 dom->rename_domid);
		watch_token(tok, sizeof(tok), "name", dom->rename_domid);
		xs_unwatch(hvx_xs(), path, tok);
	}
	dom->rename_domid = domid;
	if (domid != XD_NO_DOMID) {
		snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
		watch_token(tok, sizeof(tok), "name", domid);
		xs_watch(hvx_xs(), path, tok);
	}
}

struct dom_name {
	uint32_t domid;
	char *name;
};

/* Running.  When Xen cannot tell, xenstore's word is taken. */
static bool usable(uint32_t domid, struct hvx_dominfo *di)
{
	if (hvx_domain_info(domid, di)) {
		di->exists = true;
		return true;
	}
	return di->exists && !di->dying && !di->shutdown;
}

/* Match wanted names against the domains that exist; attach, detach. */
static void scan_domains(void)
{
	struct list_node *pos, *tmp;
	struct dom_name *dn = NULL;
	unsigned int n = 0, i, nd = 0;
	char **ids;

	rescan_domains = false;
	ids = xs_directory(hvx_xs(), XBT_NULL, "/local/domain", &n);
	if (ids && n)
		dn = calloc(n, sizeof(*dn));
	for (i = 0; dn && i < n; i++) {
		uint32_t id;

		if (hvx_parse_u32(ids[i], 0x7fef, &id) || id == self_domid)
			continue;
		dn[nd].name = xs_readf(sizeof(((struct xd_xdom *)0)->name) +
				       sizeof(XD_INCOMING), "/local/domain/%u/name",
				       id);
		if (dn[nd].name)
			dn[nd++].domid = id;
	}
	free(ids);
	list_for_each_safe(pos, tmp, &doms) {
		struct xd_xdom *d = list_entry(pos, struct xd_xdom, link);
		uint32_t found = XD_NO_DOMID, incoming = XD_NO_DOMID;
		size_t len = strlen(d->name);
		struct hvx_dominfo di;

		for (i = 0; i < nd; i++) {
			if (!strcmp(dn[i].name, d->name) &&
			    (found == XD_NO_DOMID || dn[i].domid == d->domid))
				found = dn[i].domid;
			else if (!strncmp(dn[i].name, d->name, len) &&
				 !strcmp(dn[i].name + len, XD_INCOMING))
				incoming = dn[i].domid;
		}
		if (d->domid != XD_NO_DOMID && !usable(d->domid, &di))
			dom_lost(d, &di);
		else if (d->domid != XD_NO_DOMID && found != XD_NO_DOMID &&
			 found != d->domid && usable(found, &di))
			detach(d, "its name moved to another domain", false);
		if (d->wanted && d->domid == XD_NO_DOMID &&
		    found != XD_NO_DOMID && usable(found, &di))
			attach(d, found);
		set_rename_watch(d, d->wanted ? incoming : XD_NO_DOMID);
		if (!d->wanted && d->domid == XD_NO_DOMID) {
			list_del(&d->link);
			free(d);
		}
	}
	for (i = 0; i < nd; i++)
		free(dn[i].name);
	free(dn);
}

static void scan_marked(void)
{
	struct list_node *pos, *tmp;

	if (rescan_domains)
		scan_domains();
	list_for_each_safe(pos, tmp, &doms) {
		struct xd_xdom *d = list_entry(pos, struct xd_xdom, link);

		if (d->scan && d->domid != XD_NO_DOMID) {
			d->scan = false;
			scan_ctxs(d);
		}
	}
}

void xd_xen_xs_readable(void)
{
	char **w;

	/* Drain: the fd may stop showing readable with watches queued. */
	while ((w = xs_check_watch(hvx_xs()))) {
		const char *tok = w[XS_WATCH_TOKEN];
		uint32_t domid;

		if (!strcmp(tok, "domains")) {
			rescan_domains = true;
		} else if (!strncmp(tok, "name/", 5)) {
			rescan_domains = true;
		} else if (!strncmp(tok, "ctx/", 4) &&
			   !hvx_parse_u32(tok + 4, UINT32_MAX - 1, &domid)) {
			struct xd_xdom *d = dom_by_domid(domid);

			if (d && d->domid == domid)
				d->scan = true;
		} else if (!strncmp(tok, "shutdown/", 9) &&
			   !hvx_parse_u32(tok + 9, UINT32_MAX - 1, &domid)) {
			struct xd_xdom *d = dom_by_domid(domid);

			if (d && d->domid == domid)
				shutdown_changed(d);
		}
		free(w);
	}
	scan_marked();
}

int xd_xen_attach(const char *name)
{
	int err;

	if (!xd.xen)
		return EOPNOTSUPP;
	err = xd_xen_want(name);
	if (err)
		return err;
	scan_domains();
	scan_marked();
	return 0;
}

int xd_xen_detach(const char *name)
{
	struct xd_xdom *d;

	if (!xd.xen)
		return EOPNOTSUPP;
	d = dom_find(name);
	if (!d || !d->wanted)
		return ENOENT;
	d->wanted = false;
	detach(d, "xenibctl detach", false);
	scan_domains();		/* frees the record */
	return 0;
}

static unsigned int dom_frozen(struct xd_xdom *dom)
{
	struct list_node *pos, *tmp;
	unsigned int n = 0;

	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		n += ctx->xen && ctx->xen->dom == dom && ctx->frozen;
	}
	return n;
}

int xd_xen_fmt_domains(char *buf, size_t len)
{
	struct list_node *pos, *tmp;
	int n = 0;

	list_for_each_safe(pos, tmp, &doms) {
		struct xd_xdom *d = list_entry(pos, struct xd_xdom, link);

		if (n >= (int)len)
			break;
		if (d->domid == XD_NO_DOMID)
			n += snprintf(buf + n, len - n, "%s absent", d->name);
		else
			n += snprintf(buf + n, len - n,
				      "%s domid %u contexts %u", d->name,
				      d->domid, d->nctx);
		if (n < (int)len && (d->domid != XD_NO_DOMID || dom_frozen(d)))
			n += snprintf(buf + n, len - n, " frozen %u",
				      dom_frozen(d));
		if (n < (int)len)
			n += snprintf(buf + n, len - n, "\n");
	}
	return n;
}

int xd_xen_init(void)
{
	struct xs_handle *xs;
	int err;

	err = hvx_open();
	if (err)
		return err;
	xs = hvx_xs();
	self_domid = hvx_self_domid();
	err = xd_loop_watch(hvx_evtchn_fd(), XD_EV_EVTCHN, NULL);
	if (!err)
		err = xd_loop_watch(hvx_xs_fd(), XD_EV_XENSTORE, NULL);
	if (err)
		return err;
	if (!xs_watch(xs, "@introduceDomain", "domains") ||
	    !xs_watch(xs, "@releaseDomain", "domains"))
		return errno ? errno : EIO;
	xd.xen = true;
	scan_domains();
	scan_marked();
	return 0;
}

void xd_xen_fini(void)
{
	struct list_node *pos, *tmp;

	if (!xd.xen) {
		hvx_close();
		return;
	}
	list_for_each_safe(pos, tmp, &doms) {
		struct xd_xdom *d = list_entry(pos, struct xd_xdom, link);

		detach(d, "xenibd stopping", false);
		set_rename_watch(d, XD_NO_DOMID);
		list_del(&d->link);
		free(d);
	}
	hvx_close();
	free(ports);
	ports = NULL;
	nports = 0;
	xd.xen = false;
}
