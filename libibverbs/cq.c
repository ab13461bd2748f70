// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Completion queues: creation, resize, destruction, common fields. */
#include "ibverbs.h"

void verbs_init_cq(struct ibv_cq *cq, struct ibv_context *context,
		   struct ibv_comp_channel *channel, void *cq_context)
{
	cq->context = context;
	cq->channel = channel;
	cq->cq_context = cq_context;
	cq->comp_events_completed = 0;
	cq->async_events_completed = 0;
	pthread_mutex_init(&cq->mutex, NULL);
	pthread_cond_init(&cq->cond, NULL);

	if (channel) {
		pthread_mutex_lock(&context->mutex);
		channel->refcnt++;
		pthread_mutex_unlock(&context->mutex);
	}
}

struct ibv_cq *ibv_create_cq(struct ibv_context *context, int cqe,
			     void *cq_context, struct ibv_comp_channel *channel,
			     int comp_vector)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	struct ibv_cq *cq;

	if (!ops->create_cq)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	if (channel && channel->context != context)
		return ibverbs_fail_ptr(EINVAL);
	cq = ops->create_cq(context, cqe, channel, comp_vector);
	if (cq)
		verbs_init_cq(cq, context, channel, cq_context);
	return cq;
}

/* verbs_context.create_cq_ex, wrapping the provider's op. */
struct ibv_cq_ex *ibverbs_create_cq_ex(struct ibv_context *ctx,
				       struct ibv_cq_init_attr_ex *attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(ctx);
	struct ibv_cq_ex *cq;

	if (!ops->create_cq_ex)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	if (attr->wc_flags & ~(uint64_t)IBV_CREATE_CQ_SUP_WC_FLAGS)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	if (attr->channel && attr->channel->context != ctx)
		return ibverbs_fail_ptr(EINVAL);
	cq = ops->create_cq_ex(ctx, attr);
	if (cq)
		verbs_init_cq(ibv_cq_ex_to_cq(cq), ctx, attr->channel,
			      attr->cq_context);
	return cq;
}

int ibv_resize_cq(struct ibv_cq *cq, int cqe)
{
	const struct verbs_context_ops *ops = ibverbs_ops(cq->context);

	if (!ops->resize_cq)
		return EOPNOTSUPP;
	return ops->resize_cq(cq, cqe);
}

int ibv_destroy_cq(struct ibv_cq *cq)
{
	struct ibv_context *context = cq->context;
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	struct ibv_comp_channel *channel = cq->channel;
	int ret;

	if (!ops->destroy_cq)
		return EOPNOTSUPP;
	ret = ops->destroy_cq(cq);
	if (ret || !channel)
		return ret;

	pthread_mutex_lock(&context->mutex);
	channel->refcnt--;
	pthread_mutex_unlock(&context->mutex);
	return 0;
}
