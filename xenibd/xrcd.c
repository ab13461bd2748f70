// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XRC domains.  An XRC domain groups the XRC SRQs and XRC_RECV QPs of one
 * context: an XRC send reaches an XRC SRQ only through an XRC_RECV QP of
 * the SRQ's domain (engine.c).  A domain cannot close while an XRC SRQ or
 * XRC_RECV QP uses it; a closing context frees it after both (ctx.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "xenibd/xenibd.h"

int xd_xrcd_open(struct xd_ctx *ctx, uint32_t *handle)
{
	struct xd_xrcd *x;
	int err = xd_quota_check(ctx, XD_Q_XRCDS, 1);

	if (err)
		return err;
	x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	err = xd_table_add(&xd.xrcds, &x->h);
	if (err) {
		free(x);
		return err;
	}
	x->ctx = ctx;
	ctx->nobj++;
	xd_quota_charge(ctx, XD_Q_XRCDS, 1);
	xd.stats.xrcds++;
	*handle = x->h.id;
	return 0;
}

struct xd_xrcd *xd_xrcd_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_xrcd *x = (struct xd_xrcd *)xd_table_get(&xd.xrcds, handle);

	return (x && x->ctx == ctx) ? x : NULL;
}

void xd_xrcd_free(struct xd_xrcd *x)
{
	x->ctx->nobj--;
	xd_quota_uncharge(x->ctx, XD_Q_XRCDS, 1);
	xd_table_del(&xd.xrcds, &x->h);
	xd.stats.xrcds--;
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
