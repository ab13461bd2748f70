// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The bookkeeping every object of a context shares: a handle in its
 * guest's table of that kind, a place on the context's list, the guest's
 * quota and the backend's count.  Each object struct starts with
 * struct xd_handle h and struct xd_ctx *ctx (struct xd_owned).
 */
#include <errno.h>
#include <stddef.h>

#include "xenibd/dev/dev.h"

struct kind {
	size_t table;		/* offset of its table in struct xd_guest */
	size_t list;		/* offset of its list in struct xd_ctx */
	int quota;		/* enum xd_quota, or -1 */
	long *count;		/* in xd.stats */
};

#define KIND(k, member, q)                                                 \
	[k] = { offsetof(struct xd_guest, member),                         \
		offsetof(struct xd_ctx, member), q, &xd.stats.member }

static const struct kind kinds[XD_KIND_MAX] = {
	KIND(XD_KIND_REGION, regions, XD_Q_REGIONS),
	KIND(XD_KIND_NOTIFY, notifiers, XD_Q_NOTIFIERS),
	KIND(XD_KIND_PD, pds, XD_Q_PDS),
	KIND(XD_KIND_MR, mrs, XD_Q_MRS),
	KIND(XD_KIND_CQ, cqs, XD_Q_CQS),
	KIND(XD_KIND_QP, qps, XD_Q_QPS),
	KIND(XD_KIND_SRQ, srqs, XD_Q_SRQS),
	KIND(XD_KIND_AH, ahs, XD_Q_AHS),
	KIND(XD_KIND_XRCD, xrcds, XD_Q_XRCDS),
	/* Bounded by the table (max_mw), like a real HCA's MPT. */
	KIND(XD_KIND_MW, mws, -1),
};

struct xd_table *xd_obj_table(const struct xd_guest *g, enum xd_kind k)
{
	return (struct xd_table *)((char *)g + kinds[k].table);
}

static struct list_node *ctx_list(struct xd_ctx *ctx, enum xd_kind k)
{
	return (struct list_node *)((char *)ctx + kinds[k].list);
}

int xd_obj_check(struct xd_ctx *ctx, enum xd_kind k)
{
	if (!ctx->guest)
		return EPROTO;	/* objects belong to a guest: HELLO first */
	return kinds[k].quota < 0 ? 0 : xd_quota_check(ctx, kinds[k].quota, 1);
}

int xd_obj_add(struct xd_ctx *ctx, enum xd_kind k, struct xd_handle *h,
	       struct list_node *link)
{
	struct xd_owned *o = (struct xd_owned *)h;
	int err = xd_obj_check(ctx, k);

	if (!err && ctx->guest->forced_handle) {
		/* A migration recreates the object with its old handle. */
		err = xd_table_put(xd_obj_table(ctx->guest, k), h,
				   ctx->guest->forced_handle);
		ctx->guest->forced_handle = 0;
	} else if (!err) {
		err = xd_table_add(xd_obj_table(ctx->guest, k), h);
	}
	if (err)
		return err;
	o->ctx = ctx;
	list_add_tail(ctx_list(ctx, k), link);
	ctx->nobj++;
	if (kinds[k].quota >= 0)
		xd_quota_charge(ctx, kinds[k].quota, 1);
	(*kinds[k].count)++;
	return 0;
}

void xd_obj_del(enum xd_kind k, struct xd_handle *h, struct list_node *link)
{
	struct xd_ctx *ctx = ((struct xd_owned *)h)->ctx;

	xd_table_del(xd_obj_table(ctx->guest, k), h);
	list_del(link);
	ctx->nobj--;
	if (kinds[k].quota >= 0)
		xd_quota_uncharge(ctx, kinds[k].quota, 1);
	(*kinds[k].count)--;
}

void *xd_obj_lookup(const struct xd_ctx *ctx, enum xd_kind k, uint32_t handle)
{
	struct xd_owned *o;

	if (!ctx->guest)
		return NULL;
	o = (struct xd_owned *)xd_table_get(xd_obj_table(ctx->guest, k),
					    handle);
	if (!o)
		return NULL;
	/* PDs and MRs are one namespace in a share group (share.c). */
	if (o->ctx != ctx && !((k == XD_KIND_PD || k == XD_KIND_MR) &&
			       xd_share_reaches(ctx, o->ctx)))
		return NULL;
	return o;
}
