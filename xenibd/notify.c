// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Notifiers: the doorbell (guest kicks us) and event notifiers (we kick it). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "util/hv.h"
#include "xenibd/xenibd.h"
#include "xenibd/loop.h"

int xd_notify_bind(struct xd_ctx *ctx, int fd, uint32_t kind, uint32_t *handle)
{
	struct xd_notify *n;
	int err;

	if (fd < 0)
		return EBADF;
	if (kind != XENIB_NOTIFY_DOORBELL && kind != XENIB_NOTIFY_COMP &&
	    kind != XENIB_NOTIFY_ASYNC)
		return EINVAL;
	if ((kind == XENIB_NOTIFY_DOORBELL && ctx->doorbell) ||
	    (kind == XENIB_NOTIFY_ASYNC && ctx->async))
		return EEXIST;
	err = xd_quota_check(ctx, XD_Q_NOTIFIERS, 1);
	if (err)
		return err;
	if (hv_notify_check(fd))
		return EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return ENOMEM;
	err = xd_table_add(&xd.notifies, &n->h);
	if (err) {
		free(n);
		return err;
	}
	n->ctx = ctx;
	n->fd = fd;
	n->kind = kind;
	if (kind == XENIB_NOTIFY_DOORBELL) {
		err = xd_loop_watch(fd, XD_EV_DOORBELL, n);
		if (err) {
			xd_table_del(&xd.notifies, &n->h);
			free(n);
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

struct xd_notify *xd_notify_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_notify *n = (struct xd_notify *)xd_table_get(&xd.notifies,
							       handle);

	return (n && n->ctx == ctx) ? n : NULL;
}

void xd_notify_free(struct xd_notify *n)
{
	if (n->kind == XENIB_NOTIFY_DOORBELL) {
		xd_loop_unwatch(n->fd);
		n->ctx->doorbell = NULL;
	} else if (n->kind == XENIB_NOTIFY_ASYNC) {
		n->ctx->async = NULL;
	}
	n->ctx->nobj--;
	xd_quota_uncharge(n->ctx, XD_Q_NOTIFIERS, 1);
	xd_table_del(&xd.notifies, &n->h);
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
