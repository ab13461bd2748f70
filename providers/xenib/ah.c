// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Address handles.  The backend validates and keeps the address vector;
 * UD send WQEs name it by the handle it returns (struct xenib_send_wqe.ah).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenib.h"

struct ibv_ah *xenib_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr)
{
	struct xenib_create_ah_req req;
	struct xenib_handle_resp resp;
	struct xenib_ah *ah;
	int err;

	memset(&req, 0, sizeof(req));
	req.pd = pd->handle;
	memcpy(req.ah.dgid, attr->grh.dgid.raw, sizeof(req.ah.dgid));
	req.ah.flow_label = attr->grh.flow_label;
	req.ah.sgid_index = attr->grh.sgid_index;
	req.ah.hop_limit = attr->grh.hop_limit;
	req.ah.traffic_class = attr->grh.traffic_class;
	req.ah.is_global = !!attr->is_global;
	req.ah.dlid = attr->dlid;
	req.ah.sl = attr->sl;
	req.ah.src_path_bits = attr->src_path_bits;
	req.ah.static_rate = attr->static_rate;
	req.ah.port_num = attr->port_num;

	ah = calloc(1, sizeof(*ah));
	if (!ah) {
		errno = ENOMEM;
		return NULL;
	}
	err = xenib_cmd(to_xctx(pd->context), XENIB_CMD_CREATE_AH, &req,
			sizeof(req), -1, &resp, sizeof(resp));
	if (err) {
		free(ah);
		errno = err;
		return NULL;
	}
	/* context and pd are filled by the library (ibv_create_ah). */
	ah->ibv_ah.handle = resp.handle;
	return &ah->ibv_ah;
}

int xenib_destroy_ah(struct ibv_ah *ibah)
{
	int err;

	err = xenib_cmd_handle(to_xctx(ibah->context), XENIB_CMD_DESTROY_AH,
			       ibah->handle);
	if (err)
		return err;
	free(container_of(ibah, struct xenib_ah, ibv_ah));
	return 0;
}
