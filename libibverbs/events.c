// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Completion channels and asynchronous events.  The provider owns the fds
 * and the event records; the library keeps the per-object bookkeeping that
 * applications rely on (channel reference counts, acknowledged events).
 */
#include <stdlib.h>

#include "ibverbs.h"

struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *context)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	struct ibv_comp_channel *channel;
	int ret;

	if (!ops->create_comp_channel)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	channel = calloc(1, sizeof(*channel));
	if (!channel)
		return ibverbs_fail_ptr(ENOMEM);
	channel->context = context;
	channel->fd = -1;

	ret = ops->create_comp_channel(context, channel);
	if (ret) {
		free(channel);
		return ibverbs_fail_ptr(ret);
	}
	return channel;
}

int ibv_destroy_comp_channel(struct ibv_comp_channel *channel)
{
	struct ibv_context *context = channel->context;
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	int ret = 0;

	pthread_mutex_lock(&context->mutex);
	if (channel->refcnt)
		ret = EBUSY;
	else if (ops->destroy_comp_channel)
		ret = ops->destroy_comp_channel(channel);
	pthread_mutex_unlock(&context->mutex);
	if (ret)
		return ibverbs_fail(ret);
	free(channel);
	return 0;
}

int ibv_get_cq_event(struct ibv_comp_channel *channel, struct ibv_cq **cq,
		     void **cq_context)
{
	const struct verbs_context_ops *ops = ibverbs_ops(channel->context);
	struct ibv_cq *ev_cq = NULL;
	int ret;

	ret = ops->get_cq_event ? ops->get_cq_event(channel, &ev_cq) :
				  EOPNOTSUPP;
	if (!ret && !ev_cq)
		ret = EIO;
	if (ret) {
		errno = ret;
		return -1;
	}
	*cq = ev_cq;
	*cq_context = ev_cq->cq_context;
	return 0;
}

void ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	pthread_mutex_lock(&cq->mutex);
	cq->comp_events_completed += nevents;
	pthread_cond_signal(&cq->cond);
	pthread_mutex_unlock(&cq->mutex);
}

int ibv_get_async_event(struct ibv_context *context,
			struct ibv_async_event *event)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	int ret;

	ret = ops->get_async_event ? ops->get_async_event(context, event) :
				     EOPNOTSUPP;
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}

static void ack_one(pthread_mutex_t *mutex, pthread_cond_t *cond,
		    uint32_t *completed)
{
	pthread_mutex_lock(mutex);
	++*completed;
	pthread_cond_signal(cond);
	pthread_mutex_unlock(mutex);
}

void ibv_ack_async_event(struct ibv_async_event *event)
{
	struct ibv_cq *cq = event->element.cq;
	struct ibv_qp *qp = event->element.qp;
	struct ibv_srq *srq = event->element.srq;
	struct ibv_wq *wq = event->element.wq;

	switch (event->event_type) {
	case IBV_EVENT_CQ_ERR:
		ack_one(&cq->mutex, &cq->cond, &cq->async_events_completed);
		break;
	case IBV_EVENT_QP_FATAL:
	case IBV_EVENT_QP_REQ_ERR:
	case IBV_EVENT_QP_ACCESS_ERR:
	case IBV_EVENT_COMM_EST:
	case IBV_EVENT_SQ_DRAINED:
	case IBV_EVENT_PATH_MIG:
	case IBV_EVENT_PATH_MIG_ERR:
	case IBV_EVENT_QP_LAST_WQE_REACHED:
		ack_one(&qp->mutex, &qp->cond, &qp->events_completed);
		break;
	case IBV_EVENT_SRQ_ERR:
	case IBV_EVENT_SRQ_LIMIT_REACHED:
		ack_one(&srq->mutex, &srq->cond, &srq->events_completed);
		break;
	case IBV_EVENT_WQ_FATAL:
		ack_one(&wq->mutex, &wq->cond, &wq->events_completed);
		break;
	default:
		break;
	}
}
