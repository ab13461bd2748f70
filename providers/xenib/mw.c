// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory windows (ibv_alloc_mw(3), ibv_bind_mw(3)).  The backend keeps the
 * window; binding and invalidating are work requests in the send queue
 * (post.c builds them), executed by the backend in the queue's order, so
 * a bind posted before a SEND that announces its rkey is done before the
 * peer can use it.  Types 1 and 2 (2B: reachable only through the QP
 * that bound it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenib.h"

struct ibv_mw *xenib_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type)
{
	struct xenib_context *ctx = to_xctx(pd->context);
	struct xenib_alloc_mw_req req;
	struct xenib_alloc_mw_resp resp;
	struct ibv_mw *mw;
	int err;

	if (type != IBV_MW_TYPE_1 && type != IBV_MW_TYPE_2) {
		errno = EINVAL;
		return NULL;
	}
	mw = calloc(1, sizeof(*mw));
	if (!mw) {
		errno = ENOMEM;
		return NULL;
	}
	memset(&req, 0, sizeof(req));
	req.pd = pd->handle;
	req.type = type;
	err = xenib_cmd(ctx, XENIB_CMD_ALLOC_MW, &req, sizeof(req), -1, &resp,
			sizeof(resp));
	if (err) {
		free(mw);
		errno = err;
		return NULL;
	}
	mw->context = pd->context;
	mw->pd = pd;
	mw->type = type;
	mw->handle = resp.handle;
	mw->rkey = resp.rkey;
	xenib_dbg("alloc_mw type %d handle %u rkey %#x", type, resp.handle,
		  resp.rkey);
	return mw;
}

int xenib_dealloc_mw(struct ibv_mw *mw)
{
	int err = xenib_cmd_handle(to_xctx(mw->context), XENIB_CMD_DEALLOC_MW,
				   mw->handle);

	if (err)
		return err;
	free(mw);
	return 0;
}

/*
 * Type 1: one BIND_MW work request with the next rkey tag; mw->rkey is the
 * new rkey once posted (the man page: the caller keeps the old one until
 * the completion says the bind worked).
 */
int xenib_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw,
		  struct ibv_mw_bind *mw_bind)
{
	struct ibv_send_wr wr, *bad;
	int err;

	if (mw->type != IBV_MW_TYPE_1 || mw->context != qp->context)
		return EINVAL;
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = mw_bind->wr_id;
	wr.opcode = IBV_WR_BIND_MW;
	wr.send_flags = mw_bind->send_flags;
	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
	wr.bind_mw.bind_info = mw_bind->bind_info;
	err = xenib_post_send(qp, &wr, &bad);
	if (err)
		return err;
	mw->rkey = wr.bind_mw.rkey;
	return 0;
}
