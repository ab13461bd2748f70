// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Multicast attachments (ibv_attach_mcast): which UD QPs receive a group's
 * datagrams.  The device-model half of multicast; joining a group (the
 * SA's business) is the connection manager's (xenibd/cm/cm_mcast.c), and
 * the fan-out of a send is the engine's (engine.c, exec_ud).
 *
 * Attachments hash by MLID; a group is (MGID, MLID).  Bounded per QP
 * (XENIB_MAX_QP_MCAST) and per guest (XD_MCAST_PER_GUEST).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/dev.h"

#define XD_MCAST_BUCKETS	256u
#define XD_MCAST_PER_GUEST	1024u

struct xd_mcast_att {
	struct list_node link;
	struct xd_qp *qp;
	uint8_t mgid[16];
	uint16_t mlid;
};

static struct list_node buckets[XD_MCAST_BUCKETS];
static bool ready;

static struct list_node *bucket(uint16_t mlid)
{
	unsigned int i;

	if (!ready) {
		for (i = 0; i < XD_MCAST_BUCKETS; i++)
			list_init(&buckets[i]);
		ready = true;
	}
	return &buckets[mlid % XD_MCAST_BUCKETS];
}

static struct xd_mcast_att *find(const struct xd_qp *qp, const uint8_t *mgid,
				 uint16_t mlid)
{
	struct list_node *pos, *tmp, *head = bucket(mlid);

	list_for_each_safe(pos, tmp, head) {
		struct xd_mcast_att *a = list_entry(pos, struct xd_mcast_att,
						    link);

		if (a->qp == qp && a->mlid == mlid && !memcmp(a->mgid, mgid, 16))
			return a;
	}
	return NULL;
}

static int check(struct xd_ctx *ctx, const struct xenib_mcast_req *r,
		 struct xd_qp **qp)
{
	*qp = xd_obj_lookup(ctx, XD_KIND_QP, r->qpn);
	if (!*qp)
		return ENOENT;
	if ((*qp)->qp_type != IBV_QPT_UD || r->reserved)
		return EINVAL;
	if (r->mgid[0] != 0xff || r->mlid < 0xc000 || r->mlid == 0xffff)
		return EINVAL;
	return 0;
}

int xd_mcast_attach(struct xd_ctx *ctx, const struct xenib_mcast_req *r)
{
	struct xd_mcast_att *a;
	struct xd_qp *qp;
	int err = check(ctx, r, &qp);

	if (err)
		return err;
	if (find(qp, r->mgid, r->mlid))
		return 0;
	if (qp->mcast >= XENIB_MAX_QP_MCAST)
		return ENOMEM;
	if (ctx->guest->mcast_atts >= XD_MCAST_PER_GUEST) {
		xd_ctx_log(ctx, "%u multicast attachments, the limit",
			   XD_MCAST_PER_GUEST);
		return EDQUOT;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return ENOMEM;
	a->qp = qp;
	memcpy(a->mgid, r->mgid, 16);
	a->mlid = r->mlid;
	list_add_tail(bucket(r->mlid), &a->link);
	qp->mcast++;
	ctx->guest->mcast_atts++;
	return 0;
}

static void att_free(struct xd_mcast_att *a)
{
	list_del(&a->link);
	a->qp->mcast--;
	a->qp->ctx->guest->mcast_atts--;
	free(a);
}

int xd_mcast_detach(struct xd_ctx *ctx, const struct xenib_mcast_req *r)
{
	struct xd_mcast_att *a;
	struct xd_qp *qp;
	int err = check(ctx, r, &qp);

	if (err)
		return err;
	a = find(qp, r->mgid, r->mlid);
	if (!a)
		return EINVAL;
	att_free(a);
	return 0;
}

void xd_mcast_qp_free(struct xd_qp *qp)
{
	unsigned int i;

	for (i = 0; i < XD_MCAST_BUCKETS && qp->mcast; i++) {
		struct list_node *pos, *tmp;

		list_for_each_safe(pos, tmp, &buckets[i])
			if (list_entry(pos, struct xd_mcast_att, link)->qp == qp)
				att_free(list_entry(pos, struct xd_mcast_att,
						    link));
	}
}

bool xd_mcast_addr(const struct xenib_ah_attr *ah)
{
	return ah->dlid >= 0xc000 || (ah->is_global && ah->dgid[0] == 0xff);
}

/*
 * Every QP attached to the group ah names: by MLID when the AH has one,
 * else by MGID.  fn must not attach or detach.
 */
void xd_mcast_for_each(const struct xenib_ah_attr *ah,
		       void (*fn)(struct xd_qp *qp, void *arg), void *arg)
{
	struct list_node *pos, *tmp, *head;
	unsigned int i, first = 0, last = XD_MCAST_BUCKETS;

	if (!ready)
		return;
	if (ah->dlid >= 0xc000) {
		first = ah->dlid % XD_MCAST_BUCKETS;
		last = first + 1;
	}
	for (i = first; i < last; i++) {
		head = &buckets[i];
		list_for_each_safe(pos, tmp, head) {
			struct xd_mcast_att *a = list_entry(
				pos, struct xd_mcast_att, link);

			if (ah->dlid >= 0xc000 ? a->mlid == ah->dlid :
						 !memcmp(a->mgid, ah->dgid, 16))
				fn(a->qp, arg);
		}
	}
}
