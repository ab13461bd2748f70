// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guests, their handle namespaces and their virtual port.  A guest keeps
 * its slot, and so its identity, for as long as the backend runs unless
 * the slot is needed for a new guest while the old one has no open
 * context (and so no object).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/dev.h"

/* Handle index limits per guest; QPNs and SRQNs are 24 bits. */
static void tables_init(struct xd_guest *g)
{
	xd_table_init(&g->regions, "regions", 1u << 20);
	xd_table_init(&g->notifiers, "notifiers", 1u << 16);
	xd_table_init(&g->pds, "pds", 1u << 16);
	xd_table_init(&g->mrs, "mrs", 1u << 20);
	xd_table_init(&g->cqs, "cqs", 1u << 16);
	xd_table_init(&g->qps, "qps", (1u << 16) - 1);
	xd_table_init(&g->srqs, "srqs", (1u << 16) - 1);
	xd_table_init(&g->ahs, "ahs", 1u << 20);
	xd_table_init(&g->xrcds, "xrcds", 1u << 16);
	xd_table_init(&g->mws, "mws", XENIB_MAX_MW);
}

static void tables_fini(struct xd_guest *g)
{
	enum xd_kind k;

	for (k = 0; k < XD_KIND_MAX; k++)
		xd_table_fini(xd_obj_table(g, k));
}

/*
 * Forget the guest in slot g (it has no context, so no object); its
 * identity goes back to the allocator unless it moved to another host.
 */
static void guest_wipe(struct xd_guest *g, bool release)
{
	if (!g->name[0])
		return;
	if (g->lid && xd.by_lid[g->lid] == g)
		xd.by_lid[g->lid] = NULL;
	if (release)
		xd_identity->release(g);
	tables_fini(g);
	memset(g, 0, sizeof(*g));
	xd.stats.guests--;
}

static void guest_clear(struct xd_guest *g)
{
	guest_wipe(g, true);
}

/* The identity is known: the guest can be found by its LID. */
static int guest_identify(struct xd_guest *g, const struct xd_identity *id)
{
	if (!id->lid || id->lid >= XD_MAX_UNICAST_LID ||
	    (xd.by_lid[id->lid] && xd.by_lid[id->lid] != g)) {
		/* An allocator handing out a LID twice. */
		xd_log("BUG: identity %s gave LID %u to guest %s too",
		       xd_identity->name, id->lid, g->name);
		return EEXIST;
	}
	g->lid = id->lid;
	g->guid = id->guid;
	g->ident_pending = false;
	xd.by_lid[g->lid] = g;
	return 0;
}

static int guest_init(struct xd_guest *g, uint32_t slot, const char *name)
{
	struct xd_identity id;
	int err;

	memset(g, 0, sizeof(*g));
	strncpy(g->name, name, sizeof(g->name) - 1);
	g->id = slot;
	tables_init(g);
	xd.stats.guests++;
	err = xd_identity->acquire(g, &id);
	if (err == EINPROGRESS) {
		g->ident_pending = true;
		return 0;
	}
	if (!err)
		err = guest_identify(g, &id);
	if (err)
		guest_clear(g);
	return err;
}

int xd_guest_attach(const char *name, struct xd_guest **out)
{
	struct xd_guest *reuse = NULL;
	uint32_t i;
	int err;

	for (i = 0; i < xd.cfg.max_guests; i++) {
		struct xd_guest *g = &xd.guests[i];

		if (g->name[0] && !strcmp(g->name, name)) {
			g->nctx++;
			*out = g;
			return 0;
		}
		if (!reuse && !g->name[0])
			reuse = g;
	}
	for (i = 0; !reuse && i < xd.cfg.max_guests; i++)
		if (!xd.guests[i].nctx && !xd.guests[i].ident_pending &&
		    !xd.guests[i].incoming && !xd.guests[i].outgoing)
			reuse = &xd.guests[i];
	if (!reuse)
		return EUSERS;
	guest_clear(reuse);
	err = guest_init(reuse, reuse - xd.guests, name);
	if (err)
		return err;
	reuse->nctx = 1;
	*out = reuse;
	return 0;
}

void xd_guest_moved_away(struct xd_guest *g)
{
	guest_wipe(g, false);
}

int xd_guest_adopt(const char *name, uint16_t lid, uint64_t guid,
		   struct xd_guest **out)
{
	struct xd_identity id = { .lid = lid, .guid = guid };
	struct xd_guest *free_slot = NULL, *g;
	uint32_t i;
	int err;

	for (i = 0; i < xd.cfg.max_guests; i++) {
		g = &xd.guests[i];
		if (g->name[0] && !strcmp(g->name, name)) {
			if (g->nctx || g->ident_pending || g->incoming)
				return EEXIST;	/* it is here already */
			guest_wipe(g, false);	/* an old stay here */
		}
		if (!free_slot && !g->name[0])
			free_slot = g;
	}
	for (i = 0; !free_slot && i < xd.cfg.max_guests; i++)
		if (!xd.guests[i].nctx && !xd.guests[i].ident_pending &&
		    !xd.guests[i].incoming && !xd.guests[i].outgoing)
			free_slot = &xd.guests[i];
	if (!free_slot)
		return EUSERS;
	g = free_slot;
	guest_clear(g);
	memset(g, 0, sizeof(*g));
	strncpy(g->name, name, sizeof(g->name) - 1);
	g->id = g - xd.guests;
	tables_init(g);
	xd.stats.guests++;
	err = guest_identify(g, &id);
	if (err) {
		guest_wipe(g, false);
		return err;
	}
	g->incoming = true;
	*out = g;
	return 0;
}

struct xd_guest *xd_guest_get(const char *name)
{
	struct xd_guest *g;

	return xd_guest_attach(name, &g) ? NULL : g;
}

void xd_guest_put(struct xd_guest *g)
{
	if (g && g->nctx)
		g->nctx--;
}

void xd_guest_fini(void)
{
	uint32_t i;

	for (i = 0; i < xd.cfg.max_guests; i++)
		guest_clear(&xd.guests[i]);
}

void xd_guest_ident_done(struct xd_guest *g, int err,
			 const struct xd_identity *id)
{
	struct list_node *pos, *tmp;

	if (!g->ident_pending)
		return;
	if (!err)
		err = guest_identify(g, id);
	list_for_each_safe(pos, tmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(pos, struct xd_ctx, link);

		if (ctx->guest == g && ctx->hello_pending)
			xd_ctrl_hello_done(ctx, err);
	}
	if (err) {
		g->ident_pending = false;
		if (!g->nctx)
			guest_clear(g);
	}
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
	/*
	 * 4X HDR, 200 Gb/s: about what one backend core's copy moves
	 * (bench/RESULTS.md: ib_write_bw 28-38 GB/s).  UCX derives its
	 * protocol thresholds from it; at EDR's 12.5 GB/s it kept 64 KiB
	 * MPI messages on eager copies (xenib(7), "MPI AND UCX").
	 */
	p->active_speed = 64;			/* HDR */
	p->lid = g->lid;
	p->sm_lid = XD_SM_LID;
	p->max_vl_num = 1;
	p->port_cap_flags = IBV_PORT_SYS_IMAGE_GUID_SUP;
	p->max_msg_sz = XENIB_MAX_MSG_SZ;
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
			      IBV_DEVICE_SYS_IMAGE_GUID | IBV_DEVICE_XRC |
			      IBV_DEVICE_MEM_WINDOW;

	d->phys_port_cnt = 1;
	strcpy(d->fw_ver, "xenib-1");
}
