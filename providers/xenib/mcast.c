// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ibv_attach_mcast / ibv_detach_mcast: the backend keeps which UD QPs are
 * in which multicast group (xenib-abi.h, XENIB_CMD_ATTACH_MCAST) and fans
 * a group's datagrams out to them.
 */
#include <errno.h>
#include <string.h>

#include "xenib.h"

static int mcast(struct ibv_qp *qp, const union ibv_gid *gid, uint16_t lid,
		 uint16_t op)
{
	struct xenib_mcast_req req;
	struct xenib_ctrl_hdr resp;

	memset(&req, 0, sizeof(req));
	req.qpn = qp->qp_num;
	req.mlid = lid;
	memcpy(req.mgid, gid->raw, sizeof(req.mgid));
	return xenib_cmd(to_xctx(qp->context), op, &req, sizeof(req), -1,
			 &resp, sizeof(resp));
}

int xenib_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid)
{
	return mcast(qp, gid, lid, XENIB_CMD_ATTACH_MCAST);
}

int xenib_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		       uint16_t lid)
{
	return mcast(qp, gid, lid, XENIB_CMD_DETACH_MCAST);
}
