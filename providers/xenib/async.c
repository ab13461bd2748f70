// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Asynchronous events.
 *
 * The backend writes events into the ring of the context page
 * (async_prod) and signals the async notifier, whose end is context.async_fd.
 * We consume them (async_cons) and keep the fd readable exactly while the
 * ring is not empty, so the application may poll it or make it
 * non-blocking like a kernel async fd.
 */
#include <errno.h>
#include <string.h>

#include "xenib.h"

enum elem_kind { ELEM_NONE, ELEM_CQ, ELEM_QP, ELEM_SRQ, ELEM_WQ, ELEM_PORT };

static enum elem_kind elem_kind_of(uint32_t type)
{
	switch (type) {
	case IBV_EVENT_CQ_ERR:
		return ELEM_CQ;
	case IBV_EVENT_QP_FATAL:
	case IBV_EVENT_QP_REQ_ERR:
	case IBV_EVENT_QP_ACCESS_ERR:
	case IBV_EVENT_COMM_EST:
	case IBV_EVENT_SQ_DRAINED:
	case IBV_EVENT_PATH_MIG:
	case IBV_EVENT_PATH_MIG_ERR:
	case IBV_EVENT_QP_LAST_WQE_REACHED:
		return ELEM_QP;
	case IBV_EVENT_SRQ_ERR:
	case IBV_EVENT_SRQ_LIMIT_REACHED:
		return ELEM_SRQ;
	case IBV_EVENT_WQ_FATAL:
		return ELEM_WQ;
	case IBV_EVENT_PORT_ACTIVE:
	case IBV_EVENT_PORT_ERR:
	case IBV_EVENT_LID_CHANGE:
	case IBV_EVENT_PKEY_CHANGE:
	case IBV_EVENT_SM_CHANGE:
	case IBV_EVENT_CLIENT_REREGISTER:
	case IBV_EVENT_GID_CHANGE:
		return ELEM_PORT;
	case IBV_EVENT_DEVICE_FATAL:
		return ELEM_NONE;
	default:
		return ELEM_WQ;		/* unknown: never delivered */
	}
}

/*
 * Translate one ring entry.  Returns false for events that must be
 * skipped: objects already destroyed, or kinds ABI 1 cannot have.
 */
static bool translate(struct xenib_context *ctx,
		      const struct xenib_async_event *ev,
		      struct ibv_async_event *out)
{
	bool ok = true;

	memset(out, 0, sizeof(*out));
	out->event_type = ev->event_type;

	switch (elem_kind_of(ev->event_type)) {
	case ELEM_CQ: {
		struct xenib_cq *cq;

		pthread_mutex_lock(&ctx->obj_lock);
		cq = xenib_find_cq(ctx, ev->handle);
		out->element.cq = cq ? &cq->ibv_cq : NULL;
		ok = cq;
		pthread_mutex_unlock(&ctx->obj_lock);
		break;
	}
	case ELEM_QP: {
		struct xenib_qp *qp;

		pthread_mutex_lock(&ctx->obj_lock);
		qp = xenib_find_qp(ctx, ev->handle);
		out->element.qp = qp ? &qp->ibv_qp : NULL;
		ok = qp;
		pthread_mutex_unlock(&ctx->obj_lock);
		break;
	}
	case ELEM_PORT:
		out->element.port_num = ev->handle;
		break;
	case ELEM_NONE:
		break;
	case ELEM_SRQ: {
		struct xenib_srq *srq;

		pthread_mutex_lock(&ctx->obj_lock);
		srq = xenib_find_srq(ctx, ev->handle);
		out->element.srq = srq ? &srq->ibv_srq : NULL;
		ok = srq;
		pthread_mutex_unlock(&ctx->obj_lock);
		break;
	}
	case ELEM_WQ:
		ok = false;	/* no WQs in ABI 1 */
		break;
	}
	if (!ok)
		xenib_dbg("dropping async event %u for unknown object %u",
			  ev->event_type, ev->handle);
	return ok;
}

int xenib_get_async_event(struct ibv_context *ibctx,
			  struct ibv_async_event *event)
{
	struct xenib_context *ctx = to_xctx(ibctx);
	struct xenib_ctx_page *page = ctx->page;
	struct xenib_async_event ev;
	uint32_t prod, cons;
	bool got, waited = false;
	int err;

	for (;;) {
		got = false;
		pthread_mutex_lock(&ctx->async_lock);
		if (__atomic_load_n(&ctx->backend_gone, __ATOMIC_ACQUIRE) &&
		    !ctx->fatal_delivered) {
			/* fatal.c: xenibd is gone; say so once. */
			ctx->fatal_delivered = true;
			pthread_mutex_unlock(&ctx->async_lock);
			memset(event, 0, sizeof(*event));
			event->event_type = IBV_EVENT_DEVICE_FATAL;
			return 0;
		}
		/* Async ring: backend produces (async_prod), guest consumes. */
		prod = xr_load_acquire(&page->async_prod);
		cons = xr_load_relaxed(&page->async_cons);
		if (prod - cons > XENIB_ASYNC_RING) {
			xenib_err("%s: async event ring corrupted (prod %u cons %u); resynchronising",
				  ctx->devname, prod, cons);
			cons = prod;
			xr_store_release(&page->async_cons, cons);
		}
		while (cons != prod && !got) {
			ev = page->async_ev[cons % XENIB_ASYNC_RING];
			cons++;
			got = translate(ctx, &ev, event);
		}
		/* Release: the slots we read may be reused by the backend. */
		xr_store_release(&page->async_cons, cons);
		if (cons == prod) {
			/* Ring empty: quiet the fd unless an event raced in. */
			hv_notify_drain(ctx->async_fd);
			if (xr_load_acquire(&page->async_prod) != cons)
				hv_notify_signal(ctx->async_self);
		} else if (waited) {
			/* Our wait ate a signal of the events still
			 * queued: keep the fd readable for them. */
			hv_notify_signal(ctx->async_self);
		}
		pthread_mutex_unlock(&ctx->async_lock);
		if (got)
			return 0;

		/* Blocks unless the application made the fd O_NONBLOCK. */
		err = xenib_notify_wait(ctx, ctx->async_fd);
		if (err == EIO && !ctx->fatal_delivered)
			continue;	/* deliver DEVICE_FATAL first */
		if (err)
			return err;
		waited = true;
	}
}
