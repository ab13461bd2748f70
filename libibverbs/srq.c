// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Shared receive queues. */
#include "ibverbs.h"

void ibverbs_init_srq(struct ibv_srq *srq, struct ibv_context *ctx,
		      struct ibv_pd *pd, void *srq_context)
{
	if (srq->context)
		return;		/* the provider did it */
	srq->context = ctx;
	srq->srq_context = srq_context;
	srq->pd = pd;
	srq->events_completed = 0;
	pthread_mutex_init(&srq->mutex, NULL);
	pthread_cond_init(&srq->cond, NULL);
}

struct ibv_srq *ibv_create_srq(struct ibv_pd *pd,
			       struct ibv_srq_init_attr *srq_init_attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(pd->context);
	struct ibv_srq *srq;

	if (!ops->create_srq)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	srq = ops->create_srq(pd, srq_init_attr);
	if (srq)
		ibverbs_init_srq(srq, pd->context, pd,
				 srq_init_attr->srq_context);
	return srq;
}

/* verbs_context.create_srq_ex, wrapping the provider's op. */
struct ibv_srq *ibverbs_create_srq_ex(struct ibv_context *ctx,
				      struct ibv_srq_init_attr_ex *attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(ctx);
	struct ibv_pd *pd = NULL;
	struct ibv_srq *srq;

	if (!ops->create_srq_ex)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	srq = ops->create_srq_ex(ctx, attr);
	if (!srq)
		return NULL;
	if (attr->comp_mask & IBV_SRQ_INIT_ATTR_PD)
		pd = attr->pd;
	ibverbs_init_srq(srq, ctx, pd, attr->srq_context);
	return srq;
}

int ibv_modify_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
		   int srq_attr_mask)
{
	const struct verbs_context_ops *ops = ibverbs_ops(srq->context);

	if (!ops->modify_srq)
		return EOPNOTSUPP;
	return ops->modify_srq(srq, srq_attr, srq_attr_mask);
}

int ibv_query_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(srq->context);

	if (!ops->query_srq)
		return EOPNOTSUPP;
	return ops->query_srq(srq, srq_attr);
}

int ibv_destroy_srq(struct ibv_srq *srq)
{
	const struct verbs_context_ops *ops = ibverbs_ops(srq->context);

	if (!ops->destroy_srq)
		return EOPNOTSUPP;
	return ops->destroy_srq(srq);
}
