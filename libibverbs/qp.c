// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Queue pairs: creation, query, modify, destruction, extensions. */
#include <string.h>

#include "ibverbs.h"

void ibverbs_init_qp(struct ibv_qp *qp, struct ibv_context *ctx,
		     const struct ibv_qp_init_attr_ex *attr)
{
	if (qp->context)
		return;		/* the provider did it */
	qp->context = ctx;
	qp->qp_context = attr->qp_context;
	qp->pd = attr->pd;
	qp->send_cq = attr->send_cq;
	qp->recv_cq = attr->recv_cq;
	qp->srq = attr->srq;
	qp->qp_type = attr->qp_type;
	qp->state = IBV_QPS_RESET;
	qp->events_completed = 0;
	pthread_mutex_init(&qp->mutex, NULL);
	pthread_cond_init(&qp->cond, NULL);
}

struct ibv_qp *ibv_create_qp(struct ibv_pd *pd,
			     struct ibv_qp_init_attr *qp_init_attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(pd->context);
	struct ibv_qp_init_attr_ex attr = {};
	struct ibv_qp *qp;

	if (!ops->create_qp)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	qp = ops->create_qp(pd, qp_init_attr);
	if (!qp)
		return NULL;

	memcpy(&attr, qp_init_attr, sizeof(*qp_init_attr));
	attr.pd = pd;
	ibverbs_init_qp(qp, pd->context, &attr);
	return qp;
}

/* verbs_context.create_qp_ex, wrapping the provider's op. */
struct ibv_qp *ibverbs_create_qp_ex(struct ibv_context *ctx,
				    struct ibv_qp_init_attr_ex *attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(ctx);
	struct ibv_qp *qp;

	if (!ops->create_qp_ex)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	qp = ops->create_qp_ex(ctx, attr);
	if (qp)
		ibverbs_init_qp(qp, ctx, attr);
	return qp;
}

int ibv_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int attr_mask,
		 struct ibv_qp_init_attr *init_attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(qp->context);

	if (!ops->query_qp)
		return EOPNOTSUPP;
	return ops->query_qp(qp, attr, attr_mask, init_attr);
}

int ibv_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int attr_mask)
{
	const struct verbs_context_ops *ops = ibverbs_ops(qp->context);
	int ret;

	if (!ops->modify_qp)
		return EOPNOTSUPP;
	ret = ops->modify_qp(qp, attr, attr_mask);
	if (!ret && (attr_mask & IBV_QP_STATE))
		qp->state = attr->qp_state;
	return ret;
}

int ibv_destroy_qp(struct ibv_qp *qp)
{
	const struct verbs_context_ops *ops = ibverbs_ops(qp->context);

	if (!ops->destroy_qp)
		return EOPNOTSUPP;
	return ops->destroy_qp(qp);
}

struct ibv_qp_ex *ibv_qp_to_qp_ex(struct ibv_qp *qp)
{
	const struct verbs_context_ops *ops = ibverbs_ops(qp->context);
	struct ibv_qp_ex *qpx;

	if (!ops->qp_to_qp_ex)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	qpx = ops->qp_to_qp_ex(qp);
	if (!qpx)
		errno = EOPNOTSUPP;
	return qpx;
}

int ibv_query_qp_data_in_order(struct ibv_qp *qp, enum ibv_wr_opcode op,
			       uint32_t flags)
{
	/* No provider can promise in-order data placement yet. */
	return 0;
}

int ibv_set_ece(struct ibv_qp *qp, struct ibv_ece *ece)
{
	return ibverbs_fail(EOPNOTSUPP);
}

int ibv_query_ece(struct ibv_qp *qp, struct ibv_ece *ece)
{
	return ibverbs_fail(EOPNOTSUPP);
}

int ibv_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		     uint16_t lid)
{
	const struct verbs_context_ops *ops = ibverbs_ops(qp->context);

	if (!ops->attach_mcast)
		return EOPNOTSUPP;
	return ops->attach_mcast(qp, gid, lid);
}

int ibv_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		     uint16_t lid)
{
	const struct verbs_context_ops *ops = ibverbs_ops(qp->context);

	if (!ops->detach_mcast)
		return EOPNOTSUPP;
	return ops->detach_mcast(qp, gid, lid);
}
