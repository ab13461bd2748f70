// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibctl qps: every QP this backend serves, one line each: its guest,
 * number, type, state, destination (and the host serving it, for another
 * host's), and what it did (engine/eng.h, struct xd_qp_counters).
 */
#include <stdio.h>

#include "xenibd/daemon/admin.h"
#include "xenibd/engine/eng.h"
#include "xenibd/fabric/fabric.h"

static const char *type_name(uint32_t t)
{
	switch (t) {
	case IBV_QPT_RC: return "RC";
	case IBV_QPT_UC: return "UC";
	case IBV_QPT_UD: return "UD";
	case IBV_QPT_XRC_SEND: return "XRC_SEND";
	case IBV_QPT_XRC_RECV: return "XRC_RECV";
	}
	return "?";
}

static const char *state_name(uint32_t s)
{
	static const char *const n[] = {
		"RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR",
	};

	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

static int fmt_qp(char *buf, size_t len, const struct xd_qp *qp)
{
	const struct xd_qp_counters *c = &qp->eng->cnt;
	uint16_t dlid = qp->attr.ah.dlid;
	char where[96] = "-";

	if (qp->qp_type != IBV_QPT_UD && dlid)
		xd_fabric_where(dlid, where, sizeof(where));
	return snprintf(buf, len,
			"qp 0x%06x guest %s type %s state %s dlid %u "
			"dest_qp 0x%06x at %s wqes %llu bytes %llu reqs %llu "
			"retransmits %llu naks rnr %llu access %llu inv %llu "
			"op %llu seq %llu paused %llu no_answer %llu "
			"rx_reqs %llu rx_bytes %llu\n",
			qp->h.id, qp->ctx->guest ? qp->ctx->guest->name : "?",
			type_name(qp->qp_type), state_name(qp->attr.qp_state),
			dlid, qp->attr.dest_qp_num, where,
			(unsigned long long)c->wqes,
			(unsigned long long)c->bytes,
			(unsigned long long)c->reqs,
			(unsigned long long)c->retransmits,
			(unsigned long long)c->rnr_naks,
			(unsigned long long)c->access_naks,
			(unsigned long long)c->inv_naks,
			(unsigned long long)c->op_naks,
			(unsigned long long)c->seq_naks,
			(unsigned long long)c->paused,
			(unsigned long long)c->no_answer,
			(unsigned long long)c->rx_reqs,
			(unsigned long long)c->rx_bytes);
}

int xd_admin_fmt_qps(char *buf, size_t len)
{
	struct list_node *cpos, *ctmp, *pos, *tmp;
	int n = 0;

	list_for_each_safe(cpos, ctmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(cpos, struct xd_ctx, link);

		list_for_each_safe(pos, tmp, &ctx->qps) {
			struct xd_qp *qp = list_entry(pos, struct xd_qp, link);

			if (n >= (int)len)
				return len;
			if (qp->eng)
				n += fmt_qp(buf + n, len - n, qp);
		}
	}
	return n < (int)len ? n : (int)len;
}
