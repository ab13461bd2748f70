// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Address handles, including the ones built from a received completion. */
#include <endian.h>
#include <string.h>

#include "ibverbs.h"

struct ibv_ah *ibv_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(pd->context);
	struct ibv_ah *ah;

	if (!ops->create_ah)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	ah = ops->create_ah(pd, attr);
	if (ah) {
		ah->context = pd->context;
		ah->pd = pd;
	}
	return ah;
}

int ibv_destroy_ah(struct ibv_ah *ah)
{
	const struct verbs_context_ops *ops = ibverbs_ops(ah->context);

	if (!ops->destroy_ah)
		return EOPNOTSUPP;
	return ops->destroy_ah(ah);
}

/* Index of gid in the port's GID table, or -1. */
static int find_gid_index(struct ibv_context *context, uint8_t port_num,
			  const union ibv_gid *gid)
{
	struct ibv_port_attr attr;
	union ibv_gid g;
	int i;

	if (ibverbs_query_port(context, port_num, &attr, sizeof(attr)))
		return -1;
	for (i = 0; i < attr.gid_tbl_len; i++) {
		if (ibv_query_gid(context, port_num, i, &g))
			return -1;
		if (!memcmp(&g, gid, sizeof(g)))
			return i;
	}
	return -1;
}

int ibv_init_ah_from_wc(struct ibv_context *context, uint8_t port_num,
			struct ibv_wc *wc, struct ibv_grh *grh,
			struct ibv_ah_attr *ah_attr)
{
	uint32_t flow;
	int index;

	memset(ah_attr, 0, sizeof(*ah_attr));
	ah_attr->dlid = wc->slid;
	ah_attr->sl = wc->sl;
	ah_attr->src_path_bits = wc->dlid_path_bits;
	ah_attr->port_num = port_num;
	if (!(wc->wc_flags & IBV_WC_GRH))
		return 0;

	/* Reply from the GID the request was sent to. */
	index = find_gid_index(context, port_num, &grh->dgid);
	if (index < 0) {
		errno = ENOENT;
		return -1;
	}
	flow = be32toh(grh->version_tclass_flow);
	ah_attr->is_global = 1;
	ah_attr->grh.dgid = grh->sgid;
	ah_attr->grh.sgid_index = index;
	ah_attr->grh.flow_label = flow & 0xfffff;
	ah_attr->grh.traffic_class = (flow >> 20) & 0xff;
	ah_attr->grh.hop_limit = 0xff;
	return 0;
}

struct ibv_ah *ibv_create_ah_from_wc(struct ibv_pd *pd, struct ibv_wc *wc,
				     struct ibv_grh *grh, uint8_t port_num)
{
	struct ibv_ah_attr attr;

	if (ibv_init_ah_from_wc(pd->context, port_num, wc, grh, &attr))
		return NULL;
	return ibv_create_ah(pd, &attr);
}

/* Ethernet L2 resolution is for RoCE providers; xenib ports are IB. */
int ibv_resolve_eth_l2_from_gid(struct ibv_context *context,
				struct ibv_ah_attr *attr,
				uint8_t eth_mac[ETHERNET_LL_SIZE],
				uint16_t *vid)
{
	errno = EOPNOTSUPP;
	return -EOPNOTSUPP;
}
