// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Protection domains: a backend handle and nothing else. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenib.h"

struct ibv_pd *xenib_alloc_pd(struct ibv_context *ibctx)
{
	struct xenib_context *ctx = to_xctx(ibctx);
	struct xenib_alloc_pd_req req;
	struct xenib_handle_resp resp;
	struct xenib_pd *pd;
	int err;

	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	memset(&req, 0, sizeof(req));
	err = xenib_cmd(ctx, XENIB_CMD_ALLOC_PD, &req, sizeof(req), -1, &resp,
			sizeof(resp));
	if (err) {
		free(pd);
		errno = err;
		return NULL;
	}
	pd->ibv_pd.context = ibctx;
	pd->ibv_pd.handle = resp.handle;
	return &pd->ibv_pd;
}

int xenib_dealloc_pd(struct ibv_pd *ibpd)
{
	struct xenib_pd *pd = to_xpd(ibpd);
	int err;

	if (pd->base) {		/* a parent domain: ours alone (parent.c) */
		__atomic_sub_fetch(&pd->base->parents, 1, __ATOMIC_RELAXED);
		free(pd);
		return 0;
	}
	if (__atomic_load_n(&pd->parents, __ATOMIC_RELAXED))
		return EBUSY;	/* parent domains still use it */

	err = xenib_cmd_handle(to_xctx(ibpd->context), XENIB_CMD_DEALLOC_PD,
			       ibpd->handle);
	if (err)
		return err;
	free(to_xpd(ibpd));
	return 0;
}
