// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Device and port queries.  Everything upstream reads from sysfs or the
 * kernel (GIDs, P_Keys, port attributes) comes from the backend here; all
 * values are virtual and stay the same across migration.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "xenib.h"

static int fetch_port(struct xenib_context *ctx, uint32_t port_num,
		      struct xenib_port_info *port)
{
	struct xenib_handle_req req;
	struct xenib_query_port_resp resp;
	int err;

	if (port_num != XENIB_PORT_NUM)
		return EINVAL;
	/* The request names the port in handle. */
	memset(&req, 0, sizeof(req));
	req.handle = port_num;
	err = xenib_cmd(ctx, XENIB_CMD_QUERY_PORT, &req, sizeof(req), -1,
			&resp, sizeof(resp));
	if (!err)
		*port = resp.port;
	return err;
}

int xenib_query_device_ex(struct ibv_context *ibctx,
			  const struct ibv_query_device_ex_input *input,
			  struct ibv_device_attr_ex *attr, size_t attr_size)
{
	struct xenib_context *ctx = to_xctx(ibctx);
	struct xenib_ctrl_hdr req;
	struct xenib_query_device_resp resp;
	struct ibv_device_attr_ex full;
	struct ibv_device_attr *a = &full.orig_attr;
	const struct xenib_device_info *d = &resp.dev;
	int err;

	if (input && input->comp_mask)
		return EINVAL;
	if (attr_size < sizeof(attr->orig_attr))
		return EINVAL;

	memset(&req, 0, sizeof(req));
	err = xenib_cmd(ctx, XENIB_CMD_QUERY_DEVICE, &req, sizeof(req), -1,
			&resp, sizeof(resp));
	if (err)
		return err;

	memset(&full, 0, sizeof(full));
	memcpy(a->fw_ver, d->fw_ver,
	       sizeof(a->fw_ver) < sizeof(d->fw_ver) ? sizeof(a->fw_ver) :
						       sizeof(d->fw_ver));
	a->fw_ver[sizeof(a->fw_ver) - 1] = 0;
	a->node_guid = d->node_guid;
	a->sys_image_guid = d->sys_image_guid;
	a->max_mr_size = d->max_mr_size;
	a->page_size_cap = d->page_size_cap;
	a->vendor_id = d->vendor_id;
	a->vendor_part_id = d->vendor_part_id;
	a->hw_ver = d->hw_ver;
	a->max_qp = d->max_qp;
	a->max_qp_wr = d->max_qp_wr;
	a->device_cap_flags = d->device_cap_flags;
	a->max_sge = d->max_sge;
	a->max_sge_rd = d->max_sge;
	a->max_cq = d->max_cq;
	a->max_cqe = d->max_cqe;
	a->max_mr = d->max_mr;
	a->max_pd = d->max_pd;
	a->max_qp_rd_atom = d->max_qp_rd_atom;
	a->max_qp_init_rd_atom = d->max_qp_init_rd_atom;
	a->max_res_rd_atom = d->max_qp_rd_atom * d->max_qp;
	a->max_srq = d->max_srq;
	a->max_srq_wr = d->max_srq_wr;
	a->max_srq_sge = d->max_srq_sge;
	a->max_ah = 1 << 20;	/* xenibd's AH table */
	if (d->device_cap_flags & IBV_DEVICE_MEM_WINDOW) {
		/* Types 1 and 2B (xenib-abi.h, ALLOC_MW). */
		a->max_mw = XENIB_MAX_MW;
		full.device_cap_flags_ex = IBV_DEVICE_MEM_WINDOW_TYPE_2B;
	}
	a->atomic_cap = IBV_ATOMIC_HCA;
	a->max_pkeys = 1;
	a->local_ca_ack_delay = 15;
	a->phys_port_cnt = d->phys_port_cnt;
	full.phys_port_cnt_ex = d->phys_port_cnt;	/* equal below 256 */
	full.device_cap_flags_ex |= a->device_cap_flags;
	/* CQE timestamps: the backend's monotonic clock in ns (cq_ex.c). */
	full.completion_timestamp_mask = ~0ull;
	full.hca_core_clock = 1000000;	/* kHz */

	memcpy(attr, &full, attr_size < sizeof(full) ? attr_size : sizeof(full));
	if (attr_size > sizeof(full))
		memset((char *)attr + sizeof(full), 0, attr_size - sizeof(full));
	return 0;
}

int xenib_query_port(struct ibv_context *ibctx, uint8_t port_num,
		     struct ibv_port_attr *attr)
{
	struct xenib_port_info p;
	int err;

	err = fetch_port(to_xctx(ibctx), port_num, &p);
	if (err)
		return err;

	memset(attr, 0, sizeof(*attr));
	attr->state = p.state;
	attr->max_mtu = p.max_mtu;
	attr->active_mtu = p.active_mtu;
	attr->gid_tbl_len = p.gid_tbl_len;
	attr->port_cap_flags = p.port_cap_flags;
	attr->max_msg_sz = p.max_msg_sz;
	attr->pkey_tbl_len = p.pkey_tbl_len;
	attr->lid = p.lid;
	attr->sm_lid = p.sm_lid;
	attr->lmc = p.lmc;
	attr->max_vl_num = p.max_vl_num;
	attr->sm_sl = p.sm_sl;
	attr->init_type_reply = p.init_type_reply;
	attr->active_width = p.active_width;
	attr->active_speed = p.active_speed;
	attr->phys_state = p.phys_state;
	attr->link_layer = p.link_layer;

	/* Older callers pass a shorter struct: fill only what they have. */
	return 0;
}

int xenib_query_gid_ex(struct ibv_context *ibctx, uint32_t port_num,
		       uint32_t gid_index, struct ibv_gid_entry *entry)
{
	struct xenib_port_info p;
	int err;

	err = fetch_port(to_xctx(ibctx), port_num, &p);
	if (err)
		return err;
	if (gid_index >= p.gid_tbl_len)
		return EINVAL;
	if (gid_index != 0)
		return ENODATA;

	memset(entry, 0, sizeof(*entry));
	memcpy(entry->gid.raw, p.gid0, sizeof(entry->gid.raw));
	entry->gid_index = gid_index;
	entry->port_num = port_num;
	entry->gid_type = IBV_GID_TYPE_IB;
	entry->ndev_ifindex = 0;
	return 0;
}

int xenib_query_pkey(struct ibv_context *ibctx, uint8_t port_num, int index,
		     __be16 *pkey)
{
	struct xenib_port_info p;
	int err;

	err = fetch_port(to_xctx(ibctx), port_num, &p);
	if (err)
		return err;
	if (index < 0 || (uint32_t)index >= p.pkey_tbl_len)
		return EINVAL;
	/* P_Key[0] is the default full-member key; the rest are empty. */
	*pkey = index == 0 ? htobe16(0xffff) : 0;
	return 0;
}

int xenib_query_table_sizes(struct ibv_context *ibctx, uint8_t port_num,
			    int *gid_tbl_len, int *pkey_tbl_len)
{
	struct xenib_port_info p;
	int err;

	err = fetch_port(to_xctx(ibctx), port_num, &p);
	if (err)
		return err;
	*gid_tbl_len = p.gid_tbl_len;
	*pkey_tbl_len = p.pkey_tbl_len;
	return 0;
}
