// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-guest limits (xenibd.conf "limit.*").  Every object a guest creates is
 * counted against the guest, over all of its contexts, so one guest cannot
 * exhaust the backend's tables or memory for the others.  The mappings a
 * guest makes xenibd hold (VMAs, Xen maptrack entries) are process- and
 * dom0-wide resources: they are limited per guest and, so that many
 * guests together cannot exhaust them either, backend-wide.
 */
#include <errno.h>
#include <inttypes.h>

#include "xenibd/dev/dev.h"

static const char *const quota_name[XD_Q_MAX] = {
	[XD_Q_QPS] = "qps", [XD_Q_CQS] = "cqs", [XD_Q_SRQS] = "srqs",
	[XD_Q_PDS] = "pds", [XD_Q_MRS] = "mrs", [XD_Q_REGIONS] = "regions",
	[XD_Q_NOTIFIERS] = "notifiers", [XD_Q_MR_BYTES] = "mr_bytes",
	[XD_Q_REGION_BYTES] = "region_bytes", [XD_Q_XRCDS] = "xrcds",
	[XD_Q_AHS] = "ahs", [XD_Q_MAPPINGS] = "mappings",
	[XD_Q_MAP_PAGES] = "map_pages", [XD_Q_FDS] = "fds",
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
	case XD_Q_AHS: return l->ahs;
	case XD_Q_MAPPINGS: return l->mappings;
	case XD_Q_MAP_PAGES: return l->map_pages;
	case XD_Q_FDS: return l->fds;
	case XD_Q_MAX: break;
	}
	return 0;
}

static bool is_mapping(enum xd_quota q)
{
	return q == XD_Q_MAPPINGS || q == XD_Q_MAP_PAGES;
}

/* Would n more go past limit with used in use? (0: no limit) */
static bool over(uint64_t used, uint64_t n, uint64_t limit)
{
	return limit && (used > limit || n > limit - used);
}

int xd_map_check(uint64_t mappings, uint64_t pages)
{
	const struct xd_config *c = &xd.cfg;

	if (over(xd.stats.mappings, mappings, c->total_mappings)) {
		xd_log("limit.total_mappings reached (%lld in use, %llu more "
		       "asked, limit %u)", xd.stats.mappings,
		       (unsigned long long)mappings, c->total_mappings);
		return ENOMEM;
	}
	if (over(xd.stats.map_pages, pages, c->total_map_pages)) {
		xd_log("limit.total_map_pages reached (%lld in use, %llu more "
		       "asked, limit %llu)", xd.stats.map_pages,
		       (unsigned long long)pages,
		       (unsigned long long)c->total_map_pages);
		return ENOMEM;
	}
	return 0;
}

void xd_map_account(int64_t mappings, int64_t pages)
{
	xd.stats.mappings += mappings;
	xd.stats.map_pages += pages;
	if (xd.stats.mappings < 0 || xd.stats.map_pages < 0) {
		xd_log("BUG: backend mapping count underflow");
		xd.stats.mappings = xd.stats.map_pages = 0;
	}
}

int xd_quota_check(struct xd_ctx *ctx, enum xd_quota q, uint64_t n)
{
	struct xd_guest *g = ctx->guest;
	uint64_t limit = quota_limit(q);

	if (!g)
		return 0;
	/* 0: no limit (in-process users that never loaded a config). */
	if (!limit || !over(g->used[q], n, limit))
		return is_mapping(q) ?
		       xd_map_check(q == XD_Q_MAPPINGS ? n : 0,
				    q == XD_Q_MAP_PAGES ? n : 0) : 0;
	xd_ctx_log(ctx, "limit.%s reached (%" PRIu64 " in use, %" PRIu64
		   " more asked, limit %" PRIu64 ")", quota_name[q],
		   g->used[q], n, limit);
	return q == XD_Q_MR_BYTES || q == XD_Q_REGION_BYTES ||
	       is_mapping(q) ? ENOMEM : EDQUOT;
}

void xd_quota_charge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n)
{
	if (!ctx->guest)
		return;
	ctx->guest->used[q] += n;
	if (is_mapping(q))
		xd_map_account(q == XD_Q_MAPPINGS ? (int64_t)n : 0,
			       q == XD_Q_MAP_PAGES ? (int64_t)n : 0);
}

void xd_quota_uncharge(struct xd_ctx *ctx, enum xd_quota q, uint64_t n)
{
	struct xd_guest *g = ctx->guest;

	if (!g)
		return;
	if (g->used[q] < n) {
		xd_log("BUG: guest %s: limit.%s usage underflow", g->name,
		       quota_name[q]);
		n = g->used[q];
	}
	g->used[q] -= n;
	if (is_mapping(q))
		xd_map_account(q == XD_Q_MAPPINGS ? -(int64_t)n : 0,
			       q == XD_Q_MAP_PAGES ? -(int64_t)n : 0);
}
