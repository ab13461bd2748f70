// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd on real Xen: the domains it serves, by name, and their contexts'
 * xenstore handshake.
 *
 * When a domain with a wanted name exists, xenibd writes the frontend and
 * backend directories (xenib-abi.h, "Real Xen transport") and watches the
 * frontend's ctx/ directory; each ctx/K the guest initialises becomes a
 * device context whose control channel is a mailbox in three granted pages
 * plus an event channel (mailbox.c).  The guest record (LID, GUID) is keyed
 * by the domain name, so a domain that comes back under a new domid is the
 * same guest.
 *
 * Everything read from xenstore is guest-controlled: values are
 * length-limited and strictly parsed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "xenibd/daemon/loop.h"
#include "xenibd/transport/guest_name.h"
#include "xenibd/transport/xen/xen.h"

#define XD_SHUTDOWN_SUSPEND	2	/* SHUTDOWN_suspend, xen/sched.h */
#define XD_INCOMING		"--incoming"

static struct list_node doms = LIST_INIT(doms);
static uint32_t self_domid;
static bool rescan_domains;
static bool active;
static struct xd_watch evtchn_watch = { .fd = -1 };
static struct xd_watch xs_watch_fd = { .fd = -1 };

/* ------------------------------------------------------------------ */
/* Xenstore helpers                                                    */

char *xd_xen_xs_readf(size_t max, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	return xd_hv->xs_read(XBT_NULL, path, max);
}

static int xs_write_u32(xs_transaction_t t, const char *path, uint32_t v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	return xd_hv->xs_write(t, path, buf);
}

/* Write a backend ctx/K node: be/ctx/K/leaf = val. */
void xd_xen_be_ctx_write(struct xd_xdom *dom, uint32_t k, const char *leaf,
			 const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/ctx/%u/%s", dom->be, k, leaf);
	xd_hv->xs_write(XBT_NULL, path, val);
}

void xd_xen_ctx_nodes_rm(struct xd_xdom *dom, uint32_t k)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/ctx/%u", dom->be, k);
	xd_hv->xs_rm(XBT_NULL, path);
	snprintf(path, sizeof(path), "%s/ctx/%u", dom->fe, k);
	xd_hv->xs_rm(XBT_NULL, path);
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
	return xd_name_ok(name, sizeof(((struct xd_xdom *)0)->name));
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
	char path[160], tok[32];
	int err = 0, tries;

	snprintf(dom->fe, sizeof(dom->fe), "/local/domain/%u/%s/0", domid,
		 XENIB_XS_FRONT_DIR);
	snprintf(dom->be, sizeof(dom->be), "/local/domain/%u/%s/%u/0",
		 self_domid, XENIB_XS_BACK_DIR, domid);
	for (tries = 0; tries < 16; tries++) {
		xs_transaction_t t = xd_hv->xs_start();

		if (t == XBT_NULL)
			return errno ? errno : EIO;
		/* Ours from an earlier life: start afresh. */
		err = xd_hv->xs_rm(t, dom->be);
		snprintf(path, sizeof(path), "/local/domain/%u/%s", domid,
			 XENIB_XS_FRONT_DIR);
		/* The guest owns its side (it adds ctx/K), we may read it. */
		if (!err)
			err = xd_hv->xs_mkdir_perms(t, path, domid, self_domid);
		if (!err)
			err = xd_hv->xs_mkdir_perms(t, dom->fe, domid, self_domid);
		snprintf(path, sizeof(path), "%s/ctx", dom->fe);
		if (!err)
			err = xd_hv->xs_mkdir_perms(t, path, domid, self_domid);
		snprintf(path, sizeof(path), "%s/backend", dom->fe);
		if (!err)
			err = xd_hv->xs_write(t, path, dom->be);
		snprintf(path, sizeof(path), "%s/backend-id", dom->fe);
		if (!err)
			err = xs_write_u32(t, path, self_domid);
		/* Ours; the guest may read it. */
		if (!err)
			err = xd_hv->xs_mkdir_perms(t, dom->be, self_domid, domid);
		snprintf(path, sizeof(path), "%s/ctx", dom->be);
		if (!err)
			err = xd_hv->xs_mkdir_perms(t, path, self_domid, domid);
		snprintf(path, sizeof(path), "%s/frontend", dom->be);
		if (!err)
			err = xd_hv->xs_write(t, path, dom->fe);
		snprintf(path, sizeof(path), "%s/frontend-id", dom->be);
		if (!err)
			err = xs_write_u32(t, path, domid);
		snprintf(path, sizeof(path), "%s/dev-name", dom->be);
		if (!err)
			err = xd_hv->xs_write(t, path, "xenib0");
		snprintf(path, sizeof(path), "%s/state", dom->be);
		if (!err)
			err = xs_write_u32(t, path, XENIB_XS_CONNECTED);
		if (err) {
			xd_hv->xs_end(t, true);
			break;
		}
		if (xd_hv->xs_end(t, false))
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
	if (!xd_hv->xs_watch(path, tok)) {
		err = errno ? errno : EIO;
		xd_log("domain %s (%u): cannot watch %s: %s", dom->name, domid,
		       path, strerror(err));
	}
	/* "suspend" there: freeze before the guest suspends (RESUME). */
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
		 domid);
	watch_token(tok, sizeof(tok), "shutdown", domid);
	if (!xd_hv->xs_watch(path, tok)) {
		err = errno ? errno : EIO;
		xd_log("domain %s (%u): cannot watch %s: %s", dom->name, domid,
		       path, strerror(err));
	}
	xd_log("attached domain %s (%u)", dom->name, domid);
	/* The watch fires too, but do not rely on it. */
	xd_xen_ctxs_attached(dom);
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

	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);

		if (xc->dom == dom && !(keep_frozen && xc->ctx.frozen))
			xd_ctx_destroy(&xc->ctx);
	}
	if (domid == XD_NO_DOMID)
		return;
	snprintf(path, sizeof(path), "%s/ctx", dom->fe);
	watch_token(tok, sizeof(tok), "ctx", domid);
	xd_hv->xs_unwatch(path, tok);
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown",
		 domid);
	watch_token(tok, sizeof(tok), "shutdown", domid);
	xd_hv->xs_unwatch(path, tok);
	/* Frozen ones are orphans now: their ctx/K nodes go below. */
	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);

		if (xc->dom == dom && xc->ctx.frozen)
			xd_xen_ctx_freeze(&xc->ctx);
	}
	snprintf(path, sizeof(path), "/local/domain/%u/%s/%u", self_domid,
		 XENIB_XS_BACK_DIR, domid);
	xd_hv->xs_rm(XBT_NULL, path);
	xd_hv->xs_rm(XBT_NULL, dom->fe);
	dom->domid = XD_NO_DOMID;
	dom->full_scan = false;
	dom->ndirty = 0;
	dom->nrefused = 0;	/* went with the backend directory */
	dom->frozen = false;
	xd_log("detached domain %s (%u): %s", dom->name, domid, why);
}

/* Freeze every context of dom's domain: it is suspending. */
static void freeze_dom(struct xd_xdom *dom)
{
	struct list_node *pos, *tmp;
	unsigned int n = 0;

	dom->frozen = true;
	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);

		if (xc->dom == dom && !xc->orphan) {
			xd_xen_ctx_freeze(&xc->ctx);
			n++;
		}
	}
	xd_log("domain %s (%u) suspends: %u contexts frozen", dom->name,
	       dom->domid, n);
}

/* control/shutdown of an attached domain changed. */
static void shutdown_changed(struct xd_xdom *dom)
{
	char *v = xd_xen_xs_readf(XD_XS_VAL_MAX, "/local/domain/%u/control/shutdown",
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
		xd_hv->xs_unwatch(path, tok);
	}
	dom->rename_domid = domid;
	if (domid != XD_NO_DOMID) {
		snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
		watch_token(tok, sizeof(tok), "name", domid);
		xd_hv->xs_watch(path, tok);
	}
}

struct dom_name {
	uint32_t domid;
	char *name;
};

/* Running.  When Xen cannot tell, xenstore's word is taken. */
static bool usable(uint32_t domid, struct hvx_dominfo *di)
{
	if (xd_hv->domain_info(domid, di)) {
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
	ids = xd_hv->xs_directory(XBT_NULL, "/local/domain", &n);
	if (ids && n)
		dn = calloc(n, sizeof(*dn));
	for (i = 0; dn && i < n; i++) {
		uint32_t id;

		if (hvx_parse_u32(ids[i], 0x7fef, &id) || id == self_domid)
			continue;
		dn[nd].name = xd_xen_xs_readf(sizeof(((struct xd_xdom *)0)->name) +
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

		if (d->domid != XD_NO_DOMID)
			xd_xen_ctxs_scan(d, NULL);
	}
}

void xd_xen_domains_tick(uint64_t *next_ns)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &doms) {
		struct xd_xdom *d = list_entry(pos, struct xd_xdom, link);

		if (d->domid != XD_NO_DOMID && d->full_scan)
			xd_xen_ctxs_scan(d, next_ns);
	}
}

static void xs_ready(struct xd_watch *wt, uint32_t events)
{
	char **w;

	/* Drain: the fd may stop showing readable with watches queued. */
	while ((w = xd_hv->xs_check_watch())) {
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
				xd_xen_ctx_event(d, w[XS_WATCH_PATH]);
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

	if (!active)
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

	if (!active)
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

	list_for_each_safe(pos, tmp, &xd_xen_ctxs) {
		struct xd_xen_ctx *xc = list_entry(pos, struct xd_xen_ctx,
						   xlink);

		n += xc->dom == dom && xc->ctx.frozen;
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

static void evtchn_ready(struct xd_watch *w, uint32_t events)
{
	xd_xen_evtchn_ready();
}

bool xd_xen_active(void)
{
	return active;
}

int xd_xen_start(uint32_t self)
{
	self_domid = self;
	if (!xd_hv->xs_watch("@introduceDomain", "domains") ||
	    !xd_hv->xs_watch("@releaseDomain", "domains"))
		return errno ? errno : EIO;
	active = true;
	scan_domains();
	scan_marked();
	return 0;
}

int xd_xen_init(void)
{
	int err;

	err = hvx_open();
	if (err)
		return err;
	err = xd_loop_watch(&evtchn_watch, hvx_evtchn_fd(), EPOLLIN,
			    evtchn_ready);
	if (!err)
		err = xd_loop_watch(&xs_watch_fd, hvx_xs_fd(), EPOLLIN,
				    xs_ready);
	if (err)
		return err;
	return xd_xen_start(hvx_self_domid());
}

void xd_xen_xs_ready(void)
{
	xs_ready(NULL, 0);
}

void xd_xen_fini(void)
{
	struct list_node *pos, *tmp;

	if (!active) {
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
	xd_loop_unwatch(&evtchn_watch);
	xd_loop_unwatch(&xs_watch_fd);
	hvx_close();
	xd_xen_ports_fini();
	active = false;
}
