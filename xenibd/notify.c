// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Notifiers: the doorbell (guest kicks us) and event notifiers (we kick it).
 * Emulation: the backend end of a socketpair; Xen: an interdomain event
 * channel bound to the port the guest allocated for us.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "util/hv.h"
#include "xenibd/xenibd.h"
#include "xenibd/loop.h"
#include "xenibd/xen.h"

static int notify_check(struct xd_ctx *ctx, uint32_t kind)
{
	if (kind != XENIB_NOTIFY_DOORBELL && kind != XENIB_NOTIFY_COMP &&
	    kind != XENIB_NOTIFY_ASYNC)
		return EINVAL;
	if ((kind == XENIB_NOTIFY_DOORBELL && ctx->doorbell) ||
	    (kind == XENIB_NOTIFY_ASYNC && ctx->async))
		return EEXIST;
	return xd_quota_check(ctx, XD_Q_NOTIFIERS, 1);
}

/* n has fd or port set: give it a handle, wire it up.  0 or errno. */
static int notify_insert(struct xd_ctx *ctx, struct xd_notify *n,
			 uint32_t kind, uint32_t *handle)
{
	int err = xd_table_add(&xd.notifies, &n->h);

	if (err)
		return err;
	n->ctx = ctx;
	n->kind = kind;
	if (kind == XENIB_NOTIFY_DOORBELL) {
		err = n->port ? xd_xen_port_doorbell(n->port, n) :
				xd_loop_watch(n->fd, XD_EV_DOORBELL, n);
		if (err) {
			xd_table_del(&xd.notifies, &n->h);
			return err;
		}
		ctx->doorbell = n;
	} else if (kind == XENIB_NOTIFY_ASYNC) {
		ctx->async = n;
	}
	ctx->nobj++;
	xd_quota_charge(ctx, XD_Q_NOTIFIERS, 1);
	xd.stats.notifiers++;
	*handle = n->h.id;
	return 0;
}

int xd_notify_bind(struct xd_ctx *ctx, int fd, uint32_t kind, uint32_t *handle)
{
	struct xd_notify *n;
	int err;

	if (fd < 0)
		return EBADF;
	err = notify_check(ctx, kind);
	if (err)
		return err;
	if (hv_notify_check(fd))
		return EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return ENOMEM;
	n->fd = fd;
	err = notify_insert(ctx, n, kind, handle);
	if (err)
		free(n);
	return err;
}

int xd_notify_bind_port(struct xd_ctx *ctx, uint32_t port, uint32_t kind,
			uint32_t *handle)
{
	struct xd_notify *n;
	int lp, err;

	if (!ctx->xen || !port || port >= XD_XEN_MAX_PORT)
		return EINVAL;
	err = notify_check(ctx, kind);
	if (err)
		return err;
	n = calloc(1, sizeof(*n));
	if (!n)
		return ENOMEM;
	lp = xd_hv->bind(ctx->xen->domid, port);
	if (lp <= 0) {
		free(n);
		return EINVAL;	/* not an unbound port of this guest for us */
	}
	n->fd = -1;
	n->port = lp;
	err = notify_insert(ctx, n, kind, handle);
	if (err) {
		xd_hv->unbind(lp);
		free(n);
	}
	return err;
}

struct xd_notify *xd_notify_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_notify *n = (struct xd_notify *)xd_table_get(&xd.notifies,
							       handle);

	return (n && n->ctx == ctx) ? n : NULL;
}

void xd_notify_signal(struct xd_notify *n)
{
	if (n->port)
		xd_hv->notify(n->port);
	else if (n->fd >= 0)
		hv_notify_signal(n->fd);
	/* else: a Xen notifier of a frozen guest, unbound until resumed */
}

void xd_notify_free(struct xd_notify *n)
{
	if (n->kind == XENIB_NOTIFY_DOORBELL) {
		if (n->fd >= 0)
			xd_loop_unwatch(n->fd);
		n->ctx->doorbell = NULL;
	} else if (n->kind == XENIB_NOTIFY_ASYNC) {
		n->ctx->async = NULL;
	}
	n->ctx->nobj--;
	xd_quota_uncharge(n->ctx, XD_Q_NOTIFIERS, 1);
	xd_table_del(&xd.notifies, &n->h);
	if (n->port) {
		xd_xen_port_clear(n->port);
		xd_hv->unbind(n->port);
	}
	if (n->fd >= 0)
		close(n->fd);
	xd.stats.notifiers--;
	free(n);
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
