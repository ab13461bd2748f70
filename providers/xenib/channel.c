// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Completion channels.
 *
 * A channel is a notifier bound to the backend as kind COMP.  Which
 * CQ an event belongs to is not carried by the fd: every CQ header counts
 * the events the backend raised on it (hdr->events, backend-written) and
 * the guest counts the ones it reported (events_consumed).  The fd is kept
 * readable exactly while some CQ of the channel has an unreported event:
 *
 *  - the backend bumps hdr->events before it signals the fd;
 *  - after reporting the last pending event we drain the fd, then look
 *    again and re-signal it ourselves if an event slipped in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenib.h"

struct xenib_channel *xenib_find_channel(struct xenib_context *ctx,
					 struct ibv_comp_channel *channel)
{
	struct xenib_channel *xch, *found = NULL;
	struct list_node *pos;

	pthread_mutex_lock(&ctx->obj_lock);
	list_for_each(pos, &ctx->channels) {
		xch = container_of(pos, struct xenib_channel, link);
		if (xch->chan == channel) {
			found = xch;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->obj_lock);
	return found;
}

int xenib_create_comp_channel(struct ibv_context *ibctx,
			      struct ibv_comp_channel *channel)
{
	struct xenib_context *ctx = to_xctx(ibctx);
	struct xenib_channel *xch;
	int fd, err;

	xch = calloc(1, sizeof(*xch));
	if (!xch)
		return ENOMEM;
	/* Blocking by default, like a kernel completion channel fd. */
	err = xenib_notify_create(ctx, XENIB_NOTIFY_COMP, &fd, &xch->self_fd,
				  &xch->notify);
	if (err) {
		free(xch);
		return err;
	}
	xch->chan = channel;
	pthread_mutex_init(&xch->lock, NULL);
	list_init(&xch->cqs);

	channel->fd = fd;
	if (!channel->context)
		channel->context = ibctx;

	pthread_mutex_lock(&ctx->obj_lock);
	list_add_tail(&ctx->channels, &xch->link);
	pthread_mutex_unlock(&ctx->obj_lock);
	xenib_dbg("comp channel fd %d notify %u", fd, xch->notify);
	return 0;
}

static void channel_free(struct xenib_channel *xch, bool close_fd)
{
	close(xch->self_fd);
	if (close_fd) {
		close(xch->chan->fd);
		xch->chan->fd = -1;
	}
	pthread_mutex_destroy(&xch->lock);
	free(xch);
}

int xenib_destroy_comp_channel(struct ibv_comp_channel *channel)
{
	struct xenib_context *ctx = to_xctx(channel->context);
	struct xenib_channel *xch;
	int err;

	xch = xenib_find_channel(ctx, channel);
	if (!xch)
		return EINVAL;
	pthread_mutex_lock(&xch->lock);
	err = list_empty(&xch->cqs) ? 0 : EBUSY;
	pthread_mutex_unlock(&xch->lock);
	if (err)
		return err;

	err = xenib_cmd_handle(ctx, XENIB_CMD_UNBIND_NOTIFY, xch->notify);
	if (err && err != EIO)	/* EIO: the backend is gone anyway */
		return err;
	ctx->hv->notify_forget(ctx->hvc, xch->notify);

	pthread_mutex_lock(&ctx->obj_lock);
	list_del(&xch->link);
	pthread_mutex_unlock(&ctx->obj_lock);
	channel_free(xch, true);
	return 0;
}

/*
 * An event whose completions the application already polled (it re-armed,
 * then polled a CQE that arrived after the arm) would wake a blocking
 * waiter to an empty CQ; programs such as ibv_rc_pingpong -t -e treat that
 * as an error.  On a blocking channel such a stale event is not reported:
 * the CQ is re-armed as the application last asked and the wait goes on,
 * so the next CQE raises a fresh event.  Non-blocking channels get every
 * event (their callers polled the fd and expect one).  xch->lock held.
 */
static bool event_is_stale(struct ibv_comp_channel *channel,
			   struct xenib_cq *cq)
{
	struct xenib_ring_hdr *hdr = cq->ring.hdr;
	int fl;

	if (!cq->arm_mode)
		return false;
	fl = fcntl(channel->fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK))
		return false;
	/* CQ ring: backend produces (prod), guest consumes (cons). */
	if (xr_load_acquire(&hdr->prod) != xr_load_acquire(&hdr->cons))
		return false;
	/* armed: written by the guest, cleared by the backend. */
	xr_store_release(&hdr->armed, cq->arm_mode);
	xr_full_fence();
	/* A CQE that slipped in before the re-arm raised no event: report. */
	return xr_load_acquire(&hdr->prod) == xr_load_acquire(&hdr->cons);
}

/* First CQ of the channel with an unreported event; xch->lock held. */
static struct xenib_cq *pending_cq(struct xenib_channel *xch)
{
	struct list_node *pos;
	struct xenib_cq *cq;

	list_for_each(pos, &xch->cqs) {
		cq = container_of(pos, struct xenib_cq, chan_link);
		/* events: written by the backend, read here. */
		if (xr_load_acquire(&cq->ring.hdr->events) !=
		    cq->events_consumed)
			return cq;
	}
	return NULL;
}

int xenib_get_cq_event(struct ibv_comp_channel *channel, struct ibv_cq **ibcq)
{
	struct xenib_context *ctx = to_xctx(channel->context);
	struct xenib_channel *xch;
	struct xenib_cq *cq;
	bool waited = false, stale;
	int err;

	xch = xenib_find_channel(ctx, channel);
	if (!xch)
		return EINVAL;

	for (;;) {
		pthread_mutex_lock(&xch->lock);
		cq = pending_cq(xch);
		if (cq) {
			cq->events_consumed++;
			stale = event_is_stale(channel, cq);
			if (!pending_cq(xch)) {
				/* That was the last one: make the fd quiet,
				 * unless an event raced in meanwhile. */
				hv_notify_drain(channel->fd);
				if (pending_cq(xch))
					hv_notify_signal(xch->self_fd);
			} else if (waited) {
				/* Our wait ate a signal of the events still
				 * pending: keep the fd readable. */
				hv_notify_signal(xch->self_fd);
			}
			pthread_mutex_unlock(&xch->lock);
			if (stale)
				continue;
			*ibcq = &cq->ibv_cq;
			return 0;
		}
		pthread_mutex_unlock(&xch->lock);

		/* Blocks unless the application made the fd O_NONBLOCK. */
		err = xenib_notify_wait(ctx, channel->fd);
		if (err)
			return err;
		waited = true;
	}
}

/*
 * Context teardown: channels the application did not destroy.  Their fds
 * belong to the application's channel objects; leave them open rather than
 * risk a double close of a reused descriptor.
 */
void xenib_channel_cleanup(struct xenib_context *ctx)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &ctx->channels) {
		struct xenib_channel *xch =
			container_of(pos, struct xenib_channel, link);

		list_del(&xch->link);
		channel_free(xch, false);
	}
}
