// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sharing a context between processes: ibv_import_device(3),
 * ibv_import_pd(3), ibv_import_mr(3) and the unimports.
 *
 * A context's cmd_fd is its control channel.  Importing through a copy of
 * it opens a channel of our own whose ATTACH request travels through the
 * copy (xenib-abi.h), so xenibd knows the importer holds the exporter's
 * channel; the new context then shares the first one's PDs and MRs but
 * has its own rings, doorbell and events, as a second process must.  The
 * copy is closed once the new channel stands: keeping it would keep the
 * exporter's channel open after the exporter is gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenib.h"

struct verbs_context *xenib_import_context(struct verbs_device *vdev,
					   int cmd_fd)
{
	struct verbs_context *vctx;

	if (cmd_fd < 0) {
		errno = EBADF;
		return NULL;
	}
	vctx = xenib_context_new(vdev, cmd_fd);
	if (!vctx)
		return NULL;
	close(cmd_fd);	/* ours now (ibv_import_device(3)); done with it */
	xenib_dbg("%s: imported a context (cmd_fd %d)", vdev->device.name,
		  vctx->context.cmd_fd);
	return vctx;
}

static int import_cmd(struct xenib_context *ctx, uint16_t opcode,
		      uint32_t kind, uint32_t handle,
		      struct xenib_import_resp *resp)
{
	struct xenib_import_req req;
	struct xenib_ctrl_hdr bare;

	memset(&req, 0, sizeof(req));
	req.kind = kind;
	req.handle = handle;
	if (opcode == XENIB_CMD_UNIMPORT)
		return xenib_cmd(ctx, opcode, &req, sizeof(req), -1, &bare,
				 sizeof(bare));
	return xenib_cmd(ctx, opcode, &req, sizeof(req), -1, resp,
			 sizeof(*resp));
}

struct ibv_pd *xenib_import_pd(struct ibv_context *ibctx, uint32_t pd_handle)
{
	struct xenib_import_resp resp;
	struct xenib_pd *pd;
	int err;

	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	err = import_cmd(to_xctx(ibctx), XENIB_CMD_IMPORT, XENIB_IMPORT_PD,
			 pd_handle, &resp);
	if (err) {
		free(pd);
		errno = err;
		return NULL;
	}
	pd->ibv_pd.context = ibctx;
	pd->ibv_pd.handle = resp.handle;
	return &pd->ibv_pd;
}

void xenib_unimport_pd(struct ibv_pd *ibpd)
{
	/* The backend's reference goes; the PD itself stays its maker's. */
	import_cmd(to_xctx(ibpd->context), XENIB_CMD_UNIMPORT,
		   XENIB_IMPORT_PD, ibpd->handle, NULL);
	free(to_xpd(ibpd));
}

struct ibv_mr *xenib_import_mr(struct ibv_pd *pd, uint32_t mr_handle)
{
	struct xenib_import_resp resp;
	struct xenib_mr *mr;
	int err;

	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	err = import_cmd(to_xctx(pd->context), XENIB_CMD_IMPORT,
			 XENIB_IMPORT_MR, mr_handle, &resp);
	if (!err && resp.pd != pd->handle) {
		/* It is not that PD's: give the reference back. */
		import_cmd(to_xctx(pd->context), XENIB_CMD_UNIMPORT,
			   XENIB_IMPORT_MR, resp.handle, NULL);
		err = EINVAL;
	}
	if (err) {
		free(mr);
		errno = err;
		return NULL;
	}
	/* addr stays NULL: the memory is the exporter's (ibv_import_mr(3)). */
	mr->ibv_mr.context = pd->context;
	mr->ibv_mr.pd = pd;
	mr->ibv_mr.length = resp.length;
	mr->ibv_mr.handle = resp.handle;
	mr->ibv_mr.lkey = resp.handle;
	mr->ibv_mr.rkey = resp.rkey;
	return &mr->ibv_mr;
}

void xenib_unimport_mr(struct ibv_mr *ibmr)
{
	import_cmd(to_xctx(ibmr->context), XENIB_CMD_UNIMPORT,
		   XENIB_IMPORT_MR, ibmr->handle, NULL);
	free(to_xmr(ibmr));
}
