// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guests and their virtual port identity.  A guest keeps its slot, and so
 * its virtual LID and GUID, for as long as the backend runs unless the slot
 * is needed for a new guest while the old one has no open context.
 */
#include <endian.h>
#include <string.h>

#include "xenibd/xenibd.h"

#define XD_OUI		0x00163eull	/* Xen's OUI */
#define XD_SM_LID	1
#define XD_FIRST_LID	2

static void guest_init(struct xd_guest *g, uint32_t id, const char *name)
{
	memset(g, 0, sizeof(*g));
	strncpy(g->name, name, sizeof(g->name) - 1);
	g->id = id;
	g->lid = XD_FIRST_LID + id;
	/* EUI-64 from the Xen OUI: 00:16:3e:ff:fe:xx:xx:xx */
	g->guid = (XD_OUI << 40) | (0xfffeull << 24) | (id + 1);
	xd.stats.guests++;
}

struct xd_guest *xd_guest_get(const char *name)
{
	struct xd_guest *reuse = NULL;
	uint32_t i;

	for (i = 0; i < xd.cfg.max_guests; i++) {
		struct xd_guest *g = &xd.guests[i];

		if (g->name[0] && !strcmp(g->name, name)) {
			g->nctx++;
			return g;
		}
		if (!reuse && !g->name[0])
			reuse = g;
	}
	for (i = 0; !reuse && i < xd.cfg.max_guests; i++)
		if (!xd.guests[i].nctx)
			reuse = &xd.guests[i];
	if (!reuse)
		return NULL;
	if (reuse->name[0])
		xd.stats.guests--;
	guest_init(reuse, reuse - xd.guests, name);
	reuse->nctx = 1;
	return reuse;
}

void xd_guest_put(struct xd_guest *g)
{
	if (g && g->nctx)
		g->nctx--;
}

void xd_guest_port(const struct xd_guest *g, struct xenib_port_info *p)
{
	uint64_t guid_be = htobe64(g->guid);

	memset(p, 0, sizeof(*p));
	p->state = IBV_PORT_ACTIVE;
	p->phys_state = 5;			/* LinkUp */
	p->link_layer = IBV_LINK_LAYER_INFINIBAND;
	p->active_mtu = IBV_MTU_4096;
	p->max_mtu = IBV_MTU_4096;
	p->active_width = 2;			/* 4X */
	p->active_speed = 32;			/* EDR */
	p->lid = g->lid;
	p->sm_lid = XD_SM_LID;
	p->max_vl_num = 1;
	p->port_cap_flags = IBV_PORT_SYS_IMAGE_GUID_SUP;
	p->max_msg_sz = 1u << 30;
	p->gid_tbl_len = 1;
	p->pkey_tbl_len = 1;
	p->port_guid = guid_be;
	p->gid0[0] = 0xfe;
	p->gid0[1] = 0x80;
	memcpy(&p->gid0[8], &guid_be, 8);
}

void xd_guest_device(const struct xd_guest *g, struct xenib_device_info *d)
{
	memset(d, 0, sizeof(*d));
	d->node_guid = htobe64(g->guid);
	d->sys_image_guid = htobe64(g->guid);
	d->max_mr_size = XENIB_MAX_MR_SIZE;
	d->page_size_cap = XENIB_PAGE_SIZE;
	d->vendor_id = 0x5853;			/* XenSource */
	d->vendor_part_id = 0x0001;
	d->hw_ver = 1;
	d->max_qp = 65535;
	d->max_qp_wr = XENIB_MAX_QP_WR;
	d->max_sge = XENIB_MAX_SGE;
	d->max_cq = 65535;
	d->max_cqe = XENIB_MAX_CQE - 1;
	d->max_mr = 1u << 20;
	d->max_pd = 65535;
	d->max_qp_rd_atom = 16;
	d->max_qp_init_rd_atom = 16;
	d->max_inline = XENIB_MAX_INLINE;
	d->max_srq = (1u << 16) - 1;
	d->max_srq_wr = XENIB_MAX_QP_WR;
	d->max_srq_sge = XENIB_MAX_SGE;
	d->device_cap_flags = IBV_DEVICE_RC_RNR_NAK_GEN |
			      IBV_DEVICE_PORT_ACTIVE_EVENT |
			      IBV_DEVICE_SYS_IMAGE_GUID | IBV_DEVICE_XRC;
	d->phys_port_cnt = 1;
	strcpy(d->fw_ver, "xenib-1");
}
