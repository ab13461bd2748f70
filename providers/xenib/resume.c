// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Resume after a save/restore or migration (util/hv_guest.h, set_quiesce;
 * over Xen, the only hypervisor whose guests move).
 *
 * The hypervisor layer re-shares every page this context shares with
 * xenibd by copying it into fresh pages mapped at the same address.  A
 * store into a ring racing with that copy would be lost, so it first calls
 * xenib_quiesce(ctx, true): we then hold every lock under which the
 * provider stores into shared memory (send/receive queue producers, CQ and
 * async-ring consumers) until xenib_quiesce(ctx, false).  Stores the
 * application makes into its own registered buffers during those few
 * milliseconds are not covered (xenib(7), "Save, restore and migration").
 */
#include "xenib.h"

void xenib_quiesce(void *arg, bool on)
{
	struct xenib_context *ctx = arg;
	struct list_node *pos;

	if (on) {
		pthread_mutex_lock(&ctx->obj_lock);
		pthread_mutex_lock(&ctx->async_lock);
	}
	list_for_each(pos, &ctx->qps) {
		struct xenib_qp *qp = container_of(pos, struct xenib_qp,
						   ctx_link);

		if (on) {
			pthread_spin_lock(&qp->sq.lock);
			pthread_spin_lock(&qp->rq.lock);
		} else {
			pthread_spin_unlock(&qp->rq.lock);
			pthread_spin_unlock(&qp->sq.lock);
		}
	}
	list_for_each(pos, &ctx->srqs) {
		struct xenib_srq *srq = container_of(pos, struct xenib_srq,
						     ctx_link);

		if (on)
			pthread_spin_lock(&srq->wq.lock);
		else
			pthread_spin_unlock(&srq->wq.lock);
	}
	list_for_each(pos, &ctx->cqs) {
		struct xenib_cq *cq = container_of(pos, struct xenib_cq,
						   ctx_link);

		if (on)
			pthread_spin_lock(&cq->lock);
		else
			pthread_spin_unlock(&cq->lock);
	}
	if (!on) {
		pthread_mutex_unlock(&ctx->async_lock);
		pthread_mutex_unlock(&ctx->obj_lock);
	}
}
