// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rdma_get_cm_event(3) and rdma_ack_cm_event(3).
 *
 * The backend queues events; the channel fd is the guest end of a notifier
 * the backend signals once per event it queues.  To keep the fd readable
 * exactly while events wait, we drain it, then take one event; if the
 * answer says more are pending we signal ourselves through our copy of the
 * backend's end.  A signal for an event that arrives after the drain stays,
 * so nothing is missed; at worst a wakeup finds nothing (EAGAIN for a
 * non-blocking channel, another wait for a blocking one).
 *
 * What the library does with some events is upstream's: CONNECT_REQUEST
 * makes the new id, CONNECT_RESPONSE moves the QP and completes the
 * connection (ESTABLISHED) when the id has a QP, REJECTED moves it to ERR,
 * MULTICAST_JOIN attaches it.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hv.h"
#include "cma.h"

void cma_ah_from_abi(struct ibv_ah_attr *d, const struct xenib_ah_attr *a)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->grh.dgid.raw, a->dgid, 16);
	d->grh.flow_label = a->flow_label;
	d->grh.sgid_index = a->sgid_index;
	d->grh.hop_limit = a->hop_limit;
	d->grh.traffic_class = a->traffic_class;
	d->is_global = a->is_global;
	d->dlid = a->dlid;
	d->sl = a->sl;
	d->src_path_bits = a->src_path_bits;
	d->static_rate = a->static_rate;
	d->port_num = a->port_num;
}

void cma_complete_event(struct cma_id_private *p)
{
	pthread_mutex_lock(&p->mut);
	p->events_completed++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mut);
}

static void reported(struct cma_event *evt)
{
	struct cma_id_private *p = evt->id_priv;

	pthread_mutex_lock(&p->mut);
	p->events_reported++;
	if (evt->mc)
		evt->mc->events_reported++;
	pthread_mutex_unlock(&p->mut);
}

EXPORT int rdma_ack_cm_event(struct rdma_cm_event *event)
{
	struct cma_event *evt;
	struct cma_id_private *p;

	if (!event)
		return cma_err(EINVAL);
	evt = container_of(event, struct cma_event, event);
	p = evt->id_priv;
	pthread_mutex_lock(&p->mut);
	if (evt->mc)
		evt->mc->events_completed++;
	p->events_completed++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mut);
	free(evt);
	return 0;
}

static void copy_conn(struct cma_event *evt, const struct xenib_cm_conn *s)
{
	struct rdma_conn_param *d = &evt->event.param.conn;
	unsigned int len = s->private_data_len;

	if (len > sizeof(evt->private_data))
		len = sizeof(evt->private_data);
	d->private_data_len = len;
	if (len) {
		memcpy(evt->private_data, s->private_data, len);
		d->private_data = evt->private_data;
	}
	d->responder_resources = s->responder_resources;
	d->initiator_depth = s->initiator_depth;
	d->flow_control = s->flow_control;
	d->retry_count = s->retry_count;
	d->rnr_retry_count = s->rnr_retry_count;
	d->srq = s->srq;
	d->qp_num = s->qp_num;
}

static void copy_ud(struct cma_event *evt,
		    const struct xenib_cm_event_resp *r)
{
	struct rdma_ud_param *d = &evt->event.param.ud;
	unsigned int len = r->conn.private_data_len;

	if (len > sizeof(evt->private_data))
		len = sizeof(evt->private_data);
	d->private_data_len = len;
	if (len) {
		memcpy(evt->private_data, r->conn.private_data, len);
		d->private_data = evt->private_data;
	}
	cma_ah_from_abi(&d->ah_attr, &r->ah);
	d->qp_num = r->ud_qp_num;
	d->qkey = r->ud_qkey;
}

static void copy_param(struct cma_event *evt,
		       const struct xenib_cm_event_resp *r)
{
	if (evt->id_priv->id.qp_type == IBV_QPT_UD)
		copy_ud(evt, r);
	else
		copy_conn(evt, &r->conn);
}

static void remote_ece(struct cma_id_private *p, const struct xenib_cm_conn *c)
{
	p->remote_ece.vendor_id = c->ece_vendor_id;
	p->remote_ece.options = c->ece_options;
	p->remote_ece.comp_mask = 0;
}

/* CONNECT_REQUEST: the new id, on the listener's channel (or its own). */
static int conn_req(struct cma_event *evt, const struct xenib_cm_event_resp *r)
{
	struct cma_id_private *l = evt->id_priv, *p;

	p = cma_alloc_id(l->id.channel, l->id.context, l->id.ps,
			 l->id.qp_type);
	if (!p) {
		struct xenib_cm_id_req req = { .id = r->id };
		struct xenib_ctrl_hdr resp;

		/* Nobody will ever name it: let the backend reject it. */
		cma_cmd(l->id.channel, XENIB_CM_DESTROY_ID, &req, sizeof(req),
			&resp, sizeof(resp));
		return -1;
	}
	p->handle = r->id;
	cma_id_insert(p);
	evt->event.listen_id = &l->id;
	evt->event.id = &p->id;
	p->initiator_depth = r->conn.initiator_depth;
	p->responder_resources = r->conn.responder_resources;
	remote_ece(p, &r->conn);
	if (l->sync && rdma_migrate_id(&p->id, NULL))
		goto err;
	if (cma_set_route(p, &r->route))
		goto err;
	return 0;
err:
	rdma_destroy_id(&p->id);
	return -1;
}

static struct cma_multicast *find_mc(struct cma_id_private *p, uint32_t h)
{
	struct cma_multicast *mc;

	pthread_mutex_lock(&p->mut);
	for (mc = p->mc_list; mc; mc = mc->next)
		if (mc->uid == h)
			break;
	pthread_mutex_unlock(&p->mut);
	return mc;
}

static int mc_join(struct cma_event *evt)
{
	struct cma_multicast *mc = evt->mc;
	struct rdma_cm_id *id = &evt->id_priv->id;

	mc->mgid = evt->event.param.ud.ah_attr.grh.dgid;
	mc->mlid = evt->event.param.ud.ah_attr.dlid;
	if (!id->qp || mc->join_flags == RDMA_MC_JOIN_FLAG_SENDONLY_FULLMEMBER)
		return 0;
	return ibv_attach_mcast(id->qp, &mc->mgid, mc->mlid);
}

/* 0: hand evt out; 1: drop it and take the next one. */
static int process(struct cma_event *evt, const struct xenib_cm_event_resp *r)
{
	struct cma_id_private *p;
	uint32_t owner = r->event == RDMA_CM_EVENT_CONNECT_REQUEST ?
			 r->listen_id : r->id;

	p = cma_id_lookup(owner);
	if (!p) {
		cma_dbg("event %u for unknown id %#x dropped", r->event, owner);
		return 1;
	}
	evt->id_priv = p;
	evt->event.id = &p->id;
	evt->event.event = r->event;
	evt->event.status = r->status;

	switch (r->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		if (cma_set_route(p, &r->route)) {
			evt->event.event = RDMA_CM_EVENT_ADDR_ERROR;
			evt->event.status = -errno;
		}
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		if (cma_set_route(p, &r->route)) {
			evt->event.event = RDMA_CM_EVENT_ROUTE_ERROR;
			evt->event.status = -errno;
		}
		break;
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		copy_param(evt, r);
		if (conn_req(evt, r))
			return 1;
		break;
	case RDMA_CM_EVENT_CONNECT_RESPONSE:
		copy_conn(evt, &r->conn);
		remote_ece(p, &r->conn);
		cma_set_route(p, &r->route);
		if (!p->id.qp)
			break;
		if (cma_process_conn_resp(p)) {
			evt->event.event = RDMA_CM_EVENT_CONNECT_ERROR;
			evt->event.status = -errno;
			p->connect_error = 1;
		} else {
			evt->event.event = RDMA_CM_EVENT_ESTABLISHED;
		}
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		if (p->id.qp_type == IBV_QPT_UD)
			cma_set_route(p, &r->route);
		copy_param(evt, r);
		break;
	case RDMA_CM_EVENT_REJECTED:
		if (p->connect_error)
			return 1;
		copy_conn(evt, &r->conn);
		cma_modify_qp_err(&p->id);
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
		if (p->connect_error)
			return 1;
		copy_conn(evt, &r->conn);
		break;
	case RDMA_CM_EVENT_MULTICAST_JOIN:
	case RDMA_CM_EVENT_MULTICAST_ERROR:
		evt->mc = find_mc(p, r->mc);
		if (!evt->mc)
			return 1;	/* left meanwhile */
		copy_ud(evt, r);
		evt->event.param.ud.private_data = evt->mc->context;
		evt->event.param.ud.private_data_len = 0;
		if (r->event == RDMA_CM_EVENT_MULTICAST_JOIN && mc_join(evt)) {
			evt->event.event = RDMA_CM_EVENT_MULTICAST_ERROR;
			evt->event.status = -errno;
		}
		break;
	default:
		copy_param(evt, r);
		break;
	}
	return 0;
}

static bool nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

/*
 * The channel was destroyed while this thread waited for an event.  With
 * the kernel's rdma_cm the thread would stay blocked in read(2) for good
 * (closing an fd does not wake a reader); programs rely on that (rping
 * leaves its CM thread blocked when main returns), so it stays here.
 */
static void __attribute__((noreturn)) park(void)
{
	for (;;)
		pause();
}

EXPORT int rdma_get_cm_event(struct rdma_event_channel *channel,
			     struct rdma_cm_event **event)
{
	struct xenib_cm_event_resp *r;
	struct cma_channel *c;
	struct cma_event *evt;
	struct xenib_ctrl_hdr req;
	int err;

	if (cma_init())
		return -1;
	if (!event || !channel)
		return cma_err(EINVAL);
	c = cma_chan(channel);
	evt = malloc(sizeof(*evt));
	r = malloc(sizeof(*r));
	if (!evt || !r) {
		free(evt);
		free(r);
		return cma_err(ENOMEM);
	}
	atomic_fetch_add(&c->waiters, 1);
	for (;;) {
		if (atomic_load(&c->destroyed)) {
			err = EBADF;
			if (!nonblocking(channel->fd))
				park();
			break;
		}
		hv_notify_drain(channel->fd);
		memset(&req, 0, sizeof(req));
		err = cma_cmd(channel, XENIB_CM_GET_EVENT, &req, sizeof(req),
			      r, sizeof(*r));
		if (err == EAGAIN) {
			struct pollfd pfd = { .fd = channel->fd,
					      .events = POLLIN };

			if (nonblocking(channel->fd))
				break;
			while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
				;
			continue;
		}
		if (err && atomic_load(&c->destroyed))
			continue;	/* destroyed under us: park above */
		if (err)
			break;
		if (r->pending)
			hv_notify_signal(c->self_fd);
		memset(evt, 0, sizeof(*evt));
		if (process(evt, r))
			continue;
		reported(evt);
		free(r);
		atomic_fetch_sub(&c->waiters, 1);
		*event = &evt->event;
		return 0;
	}
	atomic_fetch_sub(&c->waiters, 1);
	free(evt);
	free(r);
	return cma_err(err);
}

EXPORT const char *rdma_event_str(enum rdma_cm_event_type event)
{
	static const char *const names[] = {
		[RDMA_CM_EVENT_ADDR_RESOLVED] = "RDMA_CM_EVENT_ADDR_RESOLVED",
		[RDMA_CM_EVENT_ADDR_ERROR] = "RDMA_CM_EVENT_ADDR_ERROR",
		[RDMA_CM_EVENT_ROUTE_RESOLVED] = "RDMA_CM_EVENT_ROUTE_RESOLVED",
		[RDMA_CM_EVENT_ROUTE_ERROR] = "RDMA_CM_EVENT_ROUTE_ERROR",
		[RDMA_CM_EVENT_CONNECT_REQUEST] = "RDMA_CM_EVENT_CONNECT_REQUEST",
		[RDMA_CM_EVENT_CONNECT_RESPONSE] = "RDMA_CM_EVENT_CONNECT_RESPONSE",
		[RDMA_CM_EVENT_CONNECT_ERROR] = "RDMA_CM_EVENT_CONNECT_ERROR",
		[RDMA_CM_EVENT_UNREACHABLE] = "RDMA_CM_EVENT_UNREACHABLE",
		[RDMA_CM_EVENT_REJECTED] = "RDMA_CM_EVENT_REJECTED",
		[RDMA_CM_EVENT_ESTABLISHED] = "RDMA_CM_EVENT_ESTABLISHED",
		[RDMA_CM_EVENT_DISCONNECTED] = "RDMA_CM_EVENT_DISCONNECTED",
		[RDMA_CM_EVENT_DEVICE_REMOVAL] = "RDMA_CM_EVENT_DEVICE_REMOVAL",
		[RDMA_CM_EVENT_MULTICAST_JOIN] = "RDMA_CM_EVENT_MULTICAST_JOIN",
		[RDMA_CM_EVENT_MULTICAST_ERROR] = "RDMA_CM_EVENT_MULTICAST_ERROR",
		[RDMA_CM_EVENT_ADDR_CHANGE] = "RDMA_CM_EVENT_ADDR_CHANGE",
		[RDMA_CM_EVENT_TIMEWAIT_EXIT] = "RDMA_CM_EVENT_TIMEWAIT_EXIT",
	};

	if ((unsigned int)event < sizeof(names) / sizeof(names[0]) &&
	    names[event])
		return names[event];
	return "UNKNOWN EVENT";
}
