// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rdma_cm ids: creation, lookup, quotas, timers, migration and teardown.
 *
 * An id's handle is also its IB CM local communication id: peers address
 * messages to it, and the handle's generation makes a message for an id that
 * is gone miss instead of reaching a new id in the same slot.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/cm/cm.h"
#include "xenibd/cm/cm_hook.h"

struct cm_global cm;

int cm_init(void)
{
	unsigned int i;

	if (cm.ready)
		return 0;
	cm.use = calloc(xd.cfg.max_guests ? xd.cfg.max_guests : 1,
			sizeof(*cm.use));
	if (!cm.use)
		return ENOMEM;
	xd_table_init(&cm.ids, "cm ids", 1u << 20);
	xd_table_init(&cm.mcs, "cm joins", 1u << 16);
	list_init(&cm.chans);
	for (i = 0; i < CM_PORT_BUCKETS; i++)
		list_init(&cm.ports[i]);
	for (i = 0; i < CM_CONN_BUCKETS; i++)
		list_init(&cm.conns[i]);
	list_init(&cm.timers);
	list_init(&cm.inbox);
	cm.next_timer_ns = UINT64_MAX;
	cm.peer = &cm_local_peer;
	if (!cm.clock)
		cm.clock = xd_now_ns;
	cm.ready = true;
	return 0;
}

void cm_log(const struct cm_id *id, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (id && id->chan)
		xd_ctx_log(id->chan->ctx, "cm id %#x: %s", id->h.id, buf);
	else
		xd_dbg("cm: %s", buf);
}

struct cm_usage *cm_use(const struct xd_guest *g)
{
	static struct cm_usage none;

	if (!g || !cm.use || g->id >= xd.cfg.max_guests) {
		memset(&none, 0, sizeof(none));
		return &none;
	}
	return &cm.use[g->id];
}

/* An id of the guest of channel ch (any of its channels), or NULL. */
struct cm_id *cm_id_get(struct cm_chan *ch, uint32_t handle)
{
	struct cm_id *id = (struct cm_id *)xd_table_get(&cm.ids, handle);

	if (!id || id->guest != ch->ctx->guest || id->chan != ch)
		return NULL;
	return id;
}

struct cm_id *cm_id_by_comm(uint32_t comm_id)
{
	return (struct cm_id *)xd_table_get(&cm.ids, comm_id);
}

static bool qp_type_ok(uint32_t ps, uint32_t qp_type)
{
	switch (ps) {
	case RDMA_PS_TCP:
		return qp_type == IBV_QPT_RC || qp_type == IBV_QPT_UC ||
		       qp_type == IBV_QPT_XRC_SEND ||
		       qp_type == IBV_QPT_XRC_RECV;
	case RDMA_PS_UDP:
	case RDMA_PS_IPOIB:
		return qp_type == IBV_QPT_UD;
	case RDMA_PS_IB:
		return qp_type == IBV_QPT_RC || qp_type == IBV_QPT_UC ||
		       qp_type == IBV_QPT_UD || qp_type == IBV_QPT_XRC_SEND ||
		       qp_type == IBV_QPT_XRC_RECV;
	}
	return false;
}

int cm_id_create(struct cm_chan *ch, uint32_t ps, uint32_t qp_type,
		 struct cm_id **out)
{
	struct cm_usage *u = cm_use(ch->ctx->guest);
	struct cm_id *id;
	int err;

	if (!qp_type_ok(ps, qp_type))
		return EINVAL;
	if (u->ids >= CM_MAX_IDS) {
		xd_ctx_log(ch->ctx, "cm: %u ids, the limit", u->ids);
		return EDQUOT;
	}
	id = calloc(1, sizeof(*id));
	if (!id)
		return ENOMEM;
	err = xd_table_add(&cm.ids, &id->h);
	if (err) {
		free(id);
		return err;
	}
	id->chan = ch;
	id->guest = ch->ctx->guest;
	id->ps = ps;
	id->qp_type = qp_type;
	list_init(&id->port_link);
	list_init(&id->conn_link);
	list_init(&id->timer_link);
	list_init(&id->mcs);
	list_add_tail(&ch->ids, &id->chan_link);
	u->ids++;
	cm.stats.ids++;
	*out = id;
	return 0;
}

void cm_pending_charge(struct cm_id *id, bool on)
{
	struct cm_usage *u = cm_use(id->guest);

	if (on == id->pending_charged)
		return;
	id->pending_charged = on;
	if (on)
		u->pending++;
	else if (u->pending)
		u->pending--;
}

void cm_id_destroy(struct cm_id *id)
{
	struct cm_usage *u = cm_use(id->guest);

	cm_conn_abort(id);		/* REJ / DREQ to the peer, if any */
	cm_hold_release(id, false);	/* REJ to an early requester */
	cm_mcast_leave_all(id);
	cm_ev_purge(id);		/* incl. new ids of queued requests */
	cm_timer_stop(id);
	cm_conn_hash_del(id);
	cm_pending_charge(id, false);
	cm_unbind(id);
	list_del(&id->chan_link);
	xd_table_del(&cm.ids, &id->h);
	if (u->ids)
		u->ids--;
	cm.stats.ids--;
	free(id);
}

/*
 * MIGRATE_ID arrives on the channel the id moves to; the id may be on any
 * channel of the same guest.  Its queued events move with it.
 */
int cm_id_migrate(struct cm_chan *to, uint32_t handle)
{
	struct cm_id *id = (struct cm_id *)xd_table_get(&cm.ids, handle);

	if (!id || id->guest != to->ctx->guest || id->hidden)
		return ENOENT;
	if (id->chan == to)
		return 0;
	cm_ev_migrate(id, to);
	list_del(&id->chan_link);
	list_add_tail(&to->ids, &id->chan_link);
	id->chan = to;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Connections by (peer LID, peer's comm id): duplicate REQs, stale ones. */

static unsigned int conn_bucket(uint16_t lid, uint32_t comm)
{
	return (lid * 2654435761u ^ comm * 40503u) % CM_CONN_BUCKETS;
}

void cm_conn_hash_add(struct cm_id *id)
{
	if (id->in_conn_hash)
		return;
	list_add_tail(&cm.conns[conn_bucket(id->path.dlid,
					    id->remote_comm_id)],
		      &id->conn_link);
	id->in_conn_hash = true;
}

void cm_conn_hash_del(struct cm_id *id)
{
	if (!id->in_conn_hash)
		return;
	list_del(&id->conn_link);
	id->in_conn_hash = false;
}

struct cm_id *cm_conn_find(uint16_t peer_lid, uint32_t remote_comm_id)
{
	struct list_node *head = &cm.conns[conn_bucket(peer_lid,
						       remote_comm_id)];
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, head) {
		struct cm_id *id = list_entry(pos, struct cm_id, conn_link);

		if (id->path.dlid == peer_lid &&
		    id->remote_comm_id == remote_comm_id)
			return id;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Timers: one per id; the next deadline is kept so idle ticks are O(1). */

void cm_timer_set(struct cm_id *id, enum cm_timer t, uint64_t after_ns)
{
	uint64_t now = cm_now();

	cm_timer_stop(id);
	id->timer = t;
	id->deadline_ns = now + after_ns;
	list_add_tail(&cm.timers, &id->timer_link);
	if (id->deadline_ns < cm.next_timer_ns)
		cm.next_timer_ns = id->deadline_ns;
}

void cm_timer_stop(struct cm_id *id)
{
	if (id->timer == CMT_NONE)
		return;
	list_del(&id->timer_link);
	id->timer = CMT_NONE;
}

static void run_timers(uint64_t now)
{
	struct list_node *pos, *tmp;
	uint64_t next = UINT64_MAX, next_held;

	/*
	 * A timer handler may destroy ids (never other than its own) and
	 * arm timers, which go to the tail: collect due ids first.
	 */
	struct list_node due;

	list_init(&due);
	list_for_each_safe(pos, tmp, &cm.timers) {
		struct cm_id *id = list_entry(pos, struct cm_id, timer_link);

		if (id->deadline_ns <= now) {
			list_del(&id->timer_link);
			list_add_tail(&due, &id->timer_link);
		} else if (id->deadline_ns < next) {
			next = id->deadline_ns;
		}
	}
	next_held = cm_hold_expire(now);
	cm.next_timer_ns = next < next_held ? next : next_held;
	while (!list_empty(&due)) {
		struct cm_id *id = list_entry(due.next, struct cm_id,
					      timer_link);

		enum cm_timer t = id->timer;

		list_del(&id->timer_link);
		id->timer = CMT_NONE;
		if (id->cs == CMC_SIDR_REQ_SENT)
			cm_sidr_timeout(id);
		else
			cm_conn_timeout(id, t);
	}
}

void xd_cm_tick(uint64_t *next_ns)
{
	uint64_t now;

	if (!cm.ready)
		return;
	if (cm.ninbox)
		cm_inbox_run();
	if (cm.next_timer_ns != UINT64_MAX) {
		now = cm_now();
		if (cm.next_timer_ns <= now)
			run_timers(now);
	}
	if (cm.ninbox)
		*next_ns = 0;
	else if (cm.next_timer_ns < *next_ns)
		*next_ns = cm.next_timer_ns;
}

/* ------------------------------------------------------------------ */

void cm_route_fill(const struct cm_id *id, struct xenib_cm_route *r)
{
	struct cm_port p;

	memset(r, 0, sizeof(*r));
	r->src = id->src;
	r->dst = id->dst;
	if (!id->dev_bound)
		return;
	cm_dev_port(id->guest, &p);
	r->node_guid = p.guid;
	r->port_num = 1;
	r->pkey = 0xffff;
	memcpy(r->sgid, p.gid, 16);
	if (id->route_valid || id->state >= CM_ADDR_RESOLVED)
		memcpy(r->dgid, id->path.dgid, 16);
	if (id->route_valid) {
		r->num_paths = 1;
		r->slid = id->path.slid;
		r->dlid = id->path.dlid;
		r->pkey = id->path.pkey;
		r->mtu = id->path.mtu;
		r->sl = id->path.sl;
		r->rate = id->path.rate;
		r->packet_life_time = id->path.packet_life_time;
		r->hop_limit = id->path.hop_limit;
		r->traffic_class = id->path.traffic_class;
		r->flow_label = id->path.flow_label;
	}
}

void xd_cm_ctx_destroy(struct xd_ctx *ctx)
{
	struct list_node *pos, *tmp;

	if (!cm.ready)
		return;
	list_for_each_safe(pos, tmp, &cm.chans) {
		struct cm_chan *ch = list_entry(pos, struct cm_chan, link);

		if (ch->ctx == ctx)
			cm_chan_close(ch);
	}
}

int xd_cm_stats(char *buf, size_t len)
{
	const struct cm_stats *s = &cm.stats;
	int n;

	n = snprintf(buf, len,
		     "cm_channels %lld\ncm_ids %lld\ncm_listeners %lld\n"
		     "cm_connections %lld\ncm_joins %lld\ncm_msgs %lld\n"
		     "cm_msgs_dropped %lld\ncm_events %lld\n"
		     "cm_events_dropped %lld\n",
		     s->chans, s->ids, s->listens, s->conns, s->mcs,
		     s->msgs_sent, s->msgs_dropped, s->events,
		     s->events_dropped);
	return n < 0 ? 0 : n;
}
