// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The connection manager's only window on the device model: a guest's port
 * identity, guests by LID/GID, and whether a QPN is the guest's own.  Kept
 * narrow so the CM moves with the device model when it changes (DESIGN.md
 * 8.1: dev/ behind the engine's and CM's seams).
 */
#include <string.h>

#include "xenibd/cm/cm.h"

void cm_dev_port(const struct xd_guest *g, struct cm_port *p)
{
	struct xenib_port_info port;

	xd_guest_port(g, &port);
	p->lid = port.lid;
	p->guid = port.port_guid;
	memcpy(p->gid, port.gid0, 16);
}

/* A guest running here: it has a context and is not arriving. */
static bool guest_here(const struct xd_guest *g)
{
	return g && g->name[0] && g->nctx && !g->incoming;
}

struct xd_guest *cm_dev_guest_by_lid(uint16_t lid)
{
	struct xd_guest *g = xd_guest_by_lid(lid);

	return guest_here(g) ? g : NULL;
}

struct xd_guest *cm_dev_guest_by_gid(const uint8_t gid[16])
{
	uint32_t i;

	for (i = 0; i < xd.cfg.max_guests; i++) {
		struct cm_port p;

		if (!guest_here(&xd.guests[i]))
			continue;
		cm_dev_port(&xd.guests[i], &p);
		if (!memcmp(p.gid, gid, 16))
			return &xd.guests[i];
	}
	return NULL;
}

int cm_dev_check_qp(const struct xd_guest *g, uint32_t qpn,
		    uint32_t id_qp_type)
{
	struct xd_qp *qp;

	if (qpn > 0xffffff)
		return EINVAL;
	/* QPNs are per guest: g's own table has only its own QPs. */
	qp = (struct xd_qp *)xd_table_get(&g->qps, qpn);
	/* A QPN of another guest (or none) is a spoof.  Of its own QPs a
	 * guest may name any, whatever their type, as Linux's rdma_cm lets
	 * it: UCX connects an RC id with a placeholder UD QP's number and
	 * sends its real transport addresses in the private data. */
	(void)id_qp_type;
	if (!qp || !qp->ctx || qp->ctx->guest != g)
		return EINVAL;
	return 0;
}
