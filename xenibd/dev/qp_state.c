// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The IB QP state machine: which transitions exist and which attributes
 * each one requires or allows, per QP type (IB spec 11.2.4 / 10.3, as
 * ibv_modify_qp(3) documents them).
 */
#include <errno.h>

#include "xenibd/dev/dev.h"

#define NSTATES (IBV_QPS_ERR + 1)

struct qp_trans {
	bool valid;
	uint32_t req[5];	/* indexed by type: RC, UC, UD, XRC_SEND, XRC_RECV */
	uint32_t opt[5];
};

/* XRC_SEND is the kernel's XRC_INI, XRC_RECV its XRC_TGT. */
enum { T_RC, T_UC, T_UD, T_XS, T_XR };

#define PATH_ATTRS (IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX)

static const struct qp_trans trans[NSTATES][NSTATES] = {
	[IBV_QPS_RESET] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_INIT] = { .valid = true,
			.req = {
				[T_RC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[T_UC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY,
				[T_XS] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[T_XR] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
			} },
	},
	[IBV_QPS_INIT] = {
		[IBV_QPS_INIT] = { .valid = true,
			.opt = {
				[T_RC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[T_UC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY,
				[T_XS] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[T_XR] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
			} },
		[IBV_QPS_RTR] = { .valid = true,
			.req = {
				[T_RC] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
					 IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
					 IBV_QP_MIN_RNR_TIMER,
				[T_UC] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
					 IBV_QP_RQ_PSN,
				[T_XS] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
					 IBV_QP_RQ_PSN,
				[T_XR] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
					 IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
					 IBV_QP_MIN_RNR_TIMER,
			},
			.opt = {
				[T_RC] = PATH_ATTRS,
				[T_UC] = PATH_ATTRS,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
				[T_XS] = PATH_ATTRS,
				[T_XR] = PATH_ATTRS,
			} },
	},
	[IBV_QPS_RTR] = {
		[IBV_QPS_RTS] = { .valid = true,
			.req = {
				[T_RC] = IBV_QP_SQ_PSN | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
					 IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC,
				[T_UC] = IBV_QP_SQ_PSN,
				[T_UD] = IBV_QP_SQ_PSN,
				[T_XS] = IBV_QP_SQ_PSN | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
					 IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC,
				[T_XR] = IBV_QP_SQ_PSN | IBV_QP_TIMEOUT,
			},
			.opt = {
				[T_RC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_MIN_RNR_TIMER |
					 IBV_QP_PATH_MIG_STATE,
				[T_UC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_PATH_MIG_STATE,
				[T_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
				[T_XS] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_PATH_MIG_STATE,
				[T_XR] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_MIN_RNR_TIMER |
					 IBV_QP_PATH_MIG_STATE,
			} },
	},
	[IBV_QPS_RTS] = {
		[IBV_QPS_RTS] = { .valid = true,
			.opt = {
				[T_RC] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS |
					 IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE |
					 IBV_QP_MIN_RNR_TIMER,
				[T_UC] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS |
					 IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE,
				[T_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
				[T_XS] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS |
					 IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE,
				[T_XR] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS |
					 IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE |
					 IBV_QP_MIN_RNR_TIMER,
			} },
		[IBV_QPS_SQD] = { .valid = true,
			.opt = {
				[T_RC] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[T_UC] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[T_UD] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[T_XS] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[T_XR] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
			} },
	},
	[IBV_QPS_SQD] = {
		[IBV_QPS_RTS] = { .valid = true,
			.opt = {
				[T_RC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_MIN_RNR_TIMER |
					 IBV_QP_PATH_MIG_STATE,
				[T_UC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_PATH_MIG_STATE,
				[T_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
				[T_XS] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_PATH_MIG_STATE,
				[T_XR] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS | IBV_QP_MIN_RNR_TIMER |
					 IBV_QP_PATH_MIG_STATE,
			} },
		[IBV_QPS_SQD] = { .valid = true,
			.opt = {
				[T_RC] = IBV_QP_PORT | IBV_QP_AV | IBV_QP_TIMEOUT |
					 IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
					 IBV_QP_MAX_QP_RD_ATOMIC |
					 IBV_QP_MAX_DEST_RD_ATOMIC | PATH_ATTRS |
					 IBV_QP_MIN_RNR_TIMER | IBV_QP_PATH_MIG_STATE,
				[T_UC] = IBV_QP_PORT | IBV_QP_AV | PATH_ATTRS |
					 IBV_QP_PATH_MIG_STATE,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
				[T_XS] = IBV_QP_PORT | IBV_QP_AV | IBV_QP_TIMEOUT |
					 IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
					 IBV_QP_MAX_QP_RD_ATOMIC | PATH_ATTRS |
					 IBV_QP_PATH_MIG_STATE,
				[T_XR] = IBV_QP_PORT | IBV_QP_AV | IBV_QP_TIMEOUT |
					 IBV_QP_MAX_DEST_RD_ATOMIC | PATH_ATTRS |
					 IBV_QP_MIN_RNR_TIMER | IBV_QP_PATH_MIG_STATE,
			} },
	},
	[IBV_QPS_SQE] = {
		[IBV_QPS_RTS] = { .valid = true,
			.opt = {
				[T_UC] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS,
				[T_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
			} },
	},
};

static int type_index(uint32_t qp_type)
{
	switch (qp_type) {
	case IBV_QPT_RC:
		return T_RC;
	case IBV_QPT_UC:
		return T_UC;
	case IBV_QPT_UD:
		return T_UD;
	case IBV_QPT_XRC_SEND:
		return T_XS;
	case IBV_QPT_XRC_RECV:
		return T_XR;
	default:
		return -1;
	}
}

int xd_qp_check_transition(uint32_t qp_type, uint32_t cur, uint32_t next,
			   uint32_t mask)
{
	int t = type_index(qp_type);
	const struct qp_trans *tr;
	uint32_t attrs = mask & ~IBV_QP_STATE;

	if (t < 0 || cur >= NSTATES || next >= NSTATES)
		return EINVAL;
	/* Any state may go to RESET or ERR, with no other attribute. */
	if (next == IBV_QPS_RESET || next == IBV_QPS_ERR)
		return (mask & IBV_QP_STATE) && !(attrs & ~IBV_QP_CUR_STATE) ?
			0 : EINVAL;
	tr = &trans[cur][next];
	if (!tr->valid)
		return EINVAL;
	if (cur == IBV_QPS_SQE && t != T_UC && t != T_UD)
		return EINVAL;	/* RC and XRC have no SQE state */
	if ((attrs & tr->req[t]) != tr->req[t])
		return EINVAL;
	if (attrs & ~(tr->req[t] | tr->opt[t]))
		return EINVAL;
	return 0;
}
