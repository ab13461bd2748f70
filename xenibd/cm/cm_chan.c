// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Event channels: a context that said XENIB_CM_OPEN.  Events queue here
 * until the guest takes them (GET_EVENT); the notifier is signalled once per
 * event queued, so the guest's end is readable while events are pending.
 *
 * The queue is bounded by construction: an id has at most
 * CM_MAX_ID_EVENTS queued events, and a listener's CONNECT_REQUESTs are
 * bounded by its backlog.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/cm/cm.h"

int cm_chan_open(struct xd_ctx *ctx, int *fd, uint32_t port)
{
	struct xenib_bind_notify_req req = {
		.hdr.opcode = XENIB_CMD_BIND_NOTIFY,
		.kind = XENIB_NOTIFY_COMP,
		.port = port,
	};
	struct cm_chan *ch;
	uint32_t handle;
	int err;

	if (ctx->cm)
		return EEXIST;
	err = cm_init();
	if (err)
		return err;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return ENOMEM;
	/* The context's transport takes the fd (emulation) or port (Xen). */
	err = xd_notify_bind(ctx, &req, fd, &handle);
	if (err) {
		free(ch);
		return err;
	}
	ch->ctx = ctx;
	ch->notify = xd_notify_lookup(ctx, handle);
	ch->notify->refs++;	/* UNBIND_NOTIFY of it: EBUSY */
	list_init(&ch->events);
	list_init(&ch->ids);
	list_add_tail(&cm.chans, &ch->link);
	ctx->cm = ch;
	cm.stats.chans++;
	return 0;
}

void cm_chan_close(struct cm_chan *ch)
{
	/* Destroying a listener destroys the new ids it queued: no iterator. */
	while (!list_empty(&ch->ids))
		cm_id_destroy(list_entry(ch->ids.next, struct cm_id,
					 chan_link));
	while (!list_empty(&ch->events)) {	/* none left: defensive */
		struct cm_event *ev = list_entry(ch->events.next,
						 struct cm_event, link);

		list_del(&ev->link);
		free(ev);
	}
	ch->notify->refs--;	/* the context frees the notifier itself */
	list_del(&ch->link);
	ch->ctx->cm = NULL;
	cm.stats.chans--;
	free(ch);
}

struct cm_event *cm_ev_new(struct cm_id *owner, uint32_t event,
			   int32_t status)
{
	struct cm_event *ev;

	if (event != RDMA_CM_EVENT_CONNECT_REQUEST &&
	    owner->nevents >= CM_MAX_ID_EVENTS) {
		cm_log(owner, "%u events queued and not taken; %s dropped",
		       owner->nevents, "event");
		cm.stats.events_dropped++;
		return NULL;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		cm.stats.events_dropped++;
		return NULL;
	}
	ev->owner = owner;
	ev->resp.event = event;
	ev->resp.status = status;
	return ev;
}

void cm_ev_post(struct cm_event *ev)
{
	struct cm_id *target = ev->new_id ? ev->new_id : ev->owner;
	struct cm_chan *ch = ev->owner->chan;

	ev->resp.id = target->h.id;
	ev->resp.listen_id = ev->new_id ? ev->owner->h.id : 0;
	cm_route_fill(target, &ev->resp.route);
	if (ev->resp.event == RDMA_CM_EVENT_CONNECT_REQUEST)
		ev->owner->pending_reqs++;
	else
		ev->owner->nevents++;
	list_add_tail(&ch->events, &ev->link);
	ch->nevents++;
	cm.stats.events++;
	xd_notify_signal(ch->notify);
}

static void ev_unlink(struct cm_chan *ch, struct cm_event *ev)
{
	list_del(&ev->link);
	ch->nevents--;
	if (ev->resp.event == RDMA_CM_EVENT_CONNECT_REQUEST) {
		if (ev->owner->pending_reqs)
			ev->owner->pending_reqs--;
	} else if (ev->owner->nevents) {
		ev->owner->nevents--;
	}
}

int cm_ev_get(struct cm_chan *ch, struct xenib_cm_event_resp *resp)
{
	struct cm_event *ev;

	if (list_empty(&ch->events))
		return EAGAIN;
	ev = list_entry(ch->events.next, struct cm_event, link);
	ev_unlink(ch, ev);
	if (ev->new_id)
		ev->new_id->hidden = false;	/* the guest knows it now */
	memcpy(&resp->id, &ev->resp.id,
	       sizeof(*resp) - offsetof(struct xenib_cm_event_resp, id));
	resp->pending = ch->nevents;
	free(ev);
	return 0;
}

/*
 * id goes away: its events go, and so do the requests it queued as a
 * listener (their new ids are destroyed, which rejects the requesters),
 * and the request that announced it if it is a new id nobody took.
 */
void cm_ev_purge(struct cm_id *id)
{
	struct cm_chan *ch = id->chan;
	struct list_node *pos, *tmp;
	struct cm_event *ev;

restart:
	list_for_each_safe(pos, tmp, &ch->events) {
		ev = list_entry(pos, struct cm_event, link);
		if (ev->owner == id && ev->new_id) {
			struct cm_id *nid = ev->new_id;

			ev_unlink(ch, ev);
			free(ev);
			cm_id_destroy(nid);	/* may unlink other events */
			goto restart;
		}
		if (ev->owner == id || ev->new_id == id) {
			ev_unlink(ch, ev);
			free(ev);
		}
	}
}

void cm_ev_purge_mc(struct cm_id *id, const struct cm_mcast *mc)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &id->chan->events) {
		struct cm_event *ev = list_entry(pos, struct cm_event, link);

		if (ev->owner == id && ev->mc == mc) {
			ev_unlink(id->chan, ev);
			free(ev);
		}
	}
}

void cm_ev_migrate(struct cm_id *id, struct cm_chan *to)
{
	struct cm_chan *from = id->chan;
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &from->events) {
		struct cm_event *ev = list_entry(pos, struct cm_event, link);

		if (ev->owner != id)
			continue;
		list_del(&ev->link);
		from->nevents--;
		list_add_tail(&to->events, &ev->link);
		to->nevents++;
		if (ev->new_id) {
			/* The hidden new id belongs where its request goes. */
			list_del(&ev->new_id->chan_link);
			list_add_tail(&to->ids, &ev->new_id->chan_link);
			ev->new_id->chan = to;
		}
		xd_notify_signal(to->notify);
	}
}
