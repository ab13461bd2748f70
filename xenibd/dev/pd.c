// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Protection domains. */
#include <errno.h>
#include <stdlib.h>

#include "xenibd/dev/dev.h"

int xd_pd_alloc(struct xd_ctx *ctx, uint32_t *handle)
{
	struct xd_pd *pd = calloc(1, sizeof(*pd));
	int err;

	if (!pd)
		return ENOMEM;
	err = xd_obj_add(ctx, XD_KIND_PD, &pd->h, &pd->link);
	if (err) {
		free(pd);
		return err;
	}
	*handle = pd->h.id;
	return 0;
}

struct xd_pd *xd_pd_lookup(struct xd_ctx *ctx, uint32_t handle)
{
	return xd_obj_lookup(ctx, XD_KIND_PD, handle);
}

void xd_pd_free(struct xd_pd *pd)
{
	if (pd->ctx->share)
		xd_share_forget(pd->ctx, pd);
	xd_obj_del(XD_KIND_PD, &pd->h, &pd->link);
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
