// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Multicast joins (rdma_join_multicast): the backend plays the SA's part.
 * A group is named by its MGID, derived from the IP group address as the
 * rdma_cm does (IPoIB mapping, RFC 4391, with the rdma_cm's signature for
 * RDMA_PS_UDP), and gets a multicast LID of the virtual subnet.  The join
 * answers MULTICAST_JOIN with the group's address vector and Q_Key; the
 * library then attaches its UD QP (ibv_attach_mcast), and delivery to the
 * members is the engine's business.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "xenibd/cm/cm.h"

#define CM_MLID_BASE	0xc000u
#define CM_MAX_GROUPS	0x3fffu
#define CM_IPOIB_QKEY	0x0000000bu

struct cm_group {
	uint8_t mgid[16];
	uint16_t mlid;
	uint32_t qkey;
	unsigned int members;
	struct list_node link;
};

struct cm_mcast {
	struct xd_handle h;
	struct cm_id *id;
	struct cm_group *grp;
	uint32_t join_flags;
	uint32_t uid;			/* the guest's name for the join */
	struct list_node id_link;
};

static struct list_node groups = { &groups, &groups };
static unsigned int ngroups;

static void mgid_of(const struct cm_id *id, const struct xenib_cm_addr *a,
		    uint8_t *mgid)
{
	memset(mgid, 0, 16);
	if (a->family == AF_INET6 &&
	    a->addr[0] == 0xff && (a->addr[1] & 0xf0) == 0x10 &&
	    a->addr[2] == 0xa0 && a->addr[3] == 0x1b) {
		memcpy(mgid, a->addr, 16);	/* already an IB MGID */
		return;
	}
	mgid[0] = 0xff;
	mgid[1] = 0x12;				/* link-local scope */
	mgid[2] = 0x40;
	mgid[3] = id->ps == RDMA_PS_UDP ? 0x01 : 0x1b;	/* signature */
	mgid[4] = 0xff;				/* P_Key 0xffff */
	mgid[5] = 0xff;
	if (a->family == AF_INET) {
		mgid[12] = a->addr[0] & 0x0f;
		memcpy(mgid + 13, a->addr + 1, 3);
	} else {
		memcpy(mgid + 6, a->addr + 6, 10);
	}
}

static struct cm_group *group_get(const uint8_t *mgid, uint32_t qkey)
{
	struct list_node *pos, *tmp;
	struct cm_group *g;
	uint16_t mlid;
	bool used;

	list_for_each_safe(pos, tmp, &groups) {
		g = list_entry(pos, struct cm_group, link);
		if (!memcmp(g->mgid, mgid, 16)) {
			g->members++;
			return g;
		}
	}
	if (ngroups >= CM_MAX_GROUPS)
		return NULL;
	/* The lowest free MLID of the virtual subnet. */
	for (mlid = CM_MLID_BASE; mlid < CM_MLID_BASE + CM_MAX_GROUPS; mlid++) {
		used = false;
		list_for_each_safe(pos, tmp, &groups)
			if (list_entry(pos, struct cm_group, link)->mlid == mlid)
				used = true;
		if (!used)
			break;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	memcpy(g->mgid, mgid, 16);
	g->mlid = mlid;
	g->qkey = qkey;
	g->members = 1;
	list_add_tail(&groups, &g->link);
	ngroups++;
	return g;
}

static void group_put(struct cm_group *g)
{
	if (--g->members)
		return;
	list_del(&g->link);
	ngroups--;
	free(g);
}

int cm_mcast_join(struct cm_id *id, const struct xenib_cm_addr *a,
		  uint32_t flags, uint32_t uid, uint32_t *handle)
{
	struct cm_usage *u = cm_use(id->guest);
	struct cm_event *ev;
	struct cm_mcast *mc;
	uint8_t mgid[16];
	int err;

	if (id->qp_type != IBV_QPT_UD || !id->dev_bound ||
	    (id->state != CM_ADDR_BOUND && id->state != CM_ADDR_RESOLVED))
		return EINVAL;
	if (flags > RDMA_MC_JOIN_FLAG_SENDONLY_FULLMEMBER)
		return EINVAL;
	if (!((a->family == AF_INET && (a->addr[0] & 0xf0) == 0xe0) ||
	      (a->family == AF_INET6 && a->addr[0] == 0xff)))
		return EINVAL;
	if (u->mcs >= CM_MAX_MCAST) {
		cm_log(id, "%u multicast joins, the limit", u->mcs);
		return EDQUOT;
	}
	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return ENOMEM;
	err = xd_table_add(&cm.mcs, &mc->h);
	if (err) {
		free(mc);
		return err;
	}
	mgid_of(id, a, mgid);
	mc->grp = group_get(mgid, id->ps == RDMA_PS_IPOIB ? CM_IPOIB_QKEY :
							  RDMA_UDP_QKEY);
	if (!mc->grp) {
		xd_table_del(&cm.mcs, &mc->h);
		free(mc);
		return ENOSPC;
	}
	mc->id = id;
	mc->join_flags = flags;
	mc->uid = uid;
	list_add_tail(&id->mcs, &mc->id_link);
	u->mcs++;
	cm.stats.mcs++;
	*handle = mc->h.id;

	ev = cm_ev_new(id, RDMA_CM_EVENT_MULTICAST_JOIN, 0);
	if (ev) {
		struct xenib_ah_attr *ah = &ev->resp.ah;

		ev->mc = mc;
		ev->resp.mc = mc->uid;
		memcpy(ah->dgid, mc->grp->mgid, 16);
		ah->dlid = mc->grp->mlid;
		ah->is_global = 1;
		ah->hop_limit = 1;
		ah->port_num = 1;
		ev->resp.ud_qp_num = 0xffffff;
		ev->resp.ud_qkey = mc->grp->qkey;
		cm_ev_post(ev);
	}
	return 0;
}

static void mcast_free(struct cm_mcast *mc)
{
	struct cm_usage *u = cm_use(mc->id->guest);

	cm_ev_purge_mc(mc->id, mc);
	list_del(&mc->id_link);
	group_put(mc->grp);
	xd_table_del(&cm.mcs, &mc->h);
	if (u->mcs)
		u->mcs--;
	cm.stats.mcs--;
	free(mc);
}

int cm_mcast_leave(struct cm_chan *ch, uint32_t handle)
{
	struct cm_mcast *mc = (struct cm_mcast *)xd_table_get(&cm.mcs, handle);

	if (!mc || mc->id->guest != ch->ctx->guest)
		return ENOENT;
	mcast_free(mc);
	return 0;
}

void cm_mcast_leave_all(struct cm_id *id)
{
	while (!list_empty(&id->mcs))
		mcast_free(list_entry(id->mcs.next, struct cm_mcast, id_link));
}
