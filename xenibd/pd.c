// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Protection domains. */
#include <errno.h>
#include <stdlib.h>

#include "xenibd/xenibd.h"

int xd_pd_alloc(struct xd_ctx *ctx, uint32_t *handle)
{
	struct xd_pd *pd;
	int err = xd_quota_check(ctx, XD_Q_PDS, 1);

	if (err)
		return err;
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return ENOMEM;
	err = xd_table_add(&xd.pds, &pd->h);
	if (err) {
		free(pd);
		return err;
	}
	pd->ctx = ctx;
	ctx->nobj++;
	xd_quota_charge(ctx, XD_Q_PDS, 1);
	xd.stats.pds++;
	*handle = pd->h.id;
	return 0;
}

struct xd_pd *xd_pd_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_pd *pd = (struct xd_pd *)xd_table_get(&xd.pds, handle);

	return (pd && pd->ctx == ctx) ? pd : NULL;
}

void xd_pd_free(struct xd_pd *pd)
{
	pd->ctx->nobj--;
	xd_quota_uncharge(pd->ctx, XD_Q_PDS, 1);
	xd_table_del(&xd.pds, &pd->h);
	xd.stats.pds--;
	free(pd);
}

int xd_pd_dealloc(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_pd *pd = xd_pd_lookup(ctx, handle);

	if (!pd)
		return ENOENT;
	if (pd->refs)
		return EBUSY;
	xd_pd_free(pd);
	return 0;
}
