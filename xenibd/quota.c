// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-guest limits (xenibd.conf "limit.*").  Every object a guest creates is
 * counted against the guest, over all of its contexts, so one guest cannot
 * exhaust the backend's tables or memory for the others.
 */
#include <errno.h>
#include <inttypes.h>

#include "xenibd/xenibd.h"

static const char *const quota_name[XD_Q_MAX] = {
	[XD_Q_QPS] = "qps", [XD_Q_CQS] = "cqs", [XD_Q_SRQS] = "srqs",
	[XD_Q_PDS] = "pds", [XD_Q_MRS] = "mrs", [XD_Q_REGIONS] = "regions",
	[XD_Q_NOTIFIERS] = "notifiers", [XD_Q_MR_BYTES] = "mr_bytes",
	[XD_Q_REGION_BYTES] = "region_bytes", [XD_Q_XRCDS] = "xrcds",
};

static uint64_t quota_limit(enum xd_quota q)
{
	const struct xd_limits *l = &xd.cfg.limits;

	switch (q) {
	case XD_Q_QPS: return l->qps;
	case XD_Q_CQS: return l->cqs;
	case XD_Q_SRQS: return l->srqs;
	case XD_Q_PDS: return l->pds;
	case XD_Q_MRS: return l->mrs;
	case XD_Q_REGIONS: return l->regions;
	case XD_Q_NOTIFIERS: return l->notifiers;
	case XD_Q_MR_BYTES: return l->mr_bytes;
	case XD_Q_REGION_BYTES: return l->region_bytes;
	case XD_Q_XRCDS: return l->xrcds;
	case XD_Q_MAX: break;
	}
	return 0;
}

int xd_quota_check(struct xd_ctx *ctx, enum xd_quota q, uint64_t n)
{
	struct xd_guest *g = ctx->guest;
	uint64_t limit = quota_limit(q);

	/* 0: no limit (in-process users that never loaded a config). */
	if (!g || !limit || (g->used[q] <= limit && n <= limit - g->used[q]))
		return 0;
	xd_ctx_log(ctx, "limit.%s reached (%" PRIu64 " in use, %" PRIu64
		   " more asked, limit %" PRIu64 ")", quota_name[q],
		   g->used[q], n, limit);
	return q == XD_Q_MR_BYTES || q == XD_Q_REGION_BYTES ? ENOMEM : EDQUOT;
}

void xd_quota_charge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n)
{
	if (ctx->guest)
		ctx->guest->used[q] += n;
}

void xd_quota_uncharge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n)
{
	struct xd_guest *g = ctx->guest;

	if (!g)
		return;
	if (g->used[q] < n) {
		xd_log("BUG: guest %s: limit.%s usage underflow", g->name,
		       quota_name[q]);
		g->used[q] = 0;
		return;
	}
	g->used[q] -= n;
}
