// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rdma_cm ids: creation and destruction, addresses and routes, listening,
 * options and migration between event channels.
 *
 * The backend names ids by handle; events come back with that handle, so
 * the library keeps a handle -> id table instead of trusting a pointer
 * round trip.  A synchronous id (NULL channel) gets a channel of its own,
 * and its calls wait for their result event (cma_complete).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/ib.h>

#include "cma.h"

#define CMA_HASH 256u

static pthread_mutex_t tbl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cma_id_private *tbl[CMA_HASH];

static unsigned int bucket(uint32_t handle)
{
	return (handle >> 8) % CMA_HASH;
}

void cma_id_insert(struct cma_id_private *p)
{
	pthread_mutex_lock(&tbl_lock);
	p->hnext = tbl[bucket(p->handle)];
	tbl[bucket(p->handle)] = p;
	pthread_mutex_unlock(&tbl_lock);
}

void cma_id_remove(struct cma_id_private *p)
{
	struct cma_id_private **pp;

	pthread_mutex_lock(&tbl_lock);
	for (pp = &tbl[bucket(p->handle)]; *pp; pp = &(*pp)->hnext)
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	pthread_mutex_unlock(&tbl_lock);
}

struct cma_id_private *cma_id_lookup(uint32_t handle)
{
	struct cma_id_private *p;

	pthread_mutex_lock(&tbl_lock);
	for (p = tbl[bucket(handle)]; p; p = p->hnext)
		if (p->handle == handle)
			break;
	pthread_mutex_unlock(&tbl_lock);
	return p;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

int cma_addrlen(const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	default:
		return 0;	/* AF_IB: not supported by this CM */
	}
}

int cma_addr_to_abi(const struct sockaddr *sa, struct xenib_cm_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (!sa)
		return 0;
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)sa;

		a->family = AF_INET;
		a->port = ntohs(in->sin_port);
		memcpy(a->addr, &in->sin_addr, 4);
		return 0;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		a->family = AF_INET6;
		a->port = ntohs(in6->sin6_port);
		memcpy(a->addr, &in6->sin6_addr, 16);
		a->scope_id = in6->sin6_scope_id;
		a->flowinfo = in6->sin6_flowinfo;
		return 0;
	}
	}
	return EAFNOSUPPORT;
}

socklen_t cma_addr_from_abi(const struct xenib_cm_addr *a,
			    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->addr, 4);
		return sizeof(*in);
	}
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->addr, 16);
		in6->sin6_scope_id = a->scope_id;
		in6->sin6_flowinfo = a->flowinfo;
		return sizeof(*in6);
	}
	return 0;
}

int cma_set_route(struct cma_id_private *p, const struct xenib_cm_route *r)
{
	struct rdma_route *rt = &p->id.route;
	struct ibv_sa_path_rec *pr;

	if (r->src.family)
		cma_addr_from_abi(&r->src, &rt->addr.src_storage);
	if (r->dst.family)
		cma_addr_from_abi(&r->dst, &rt->addr.dst_storage);
	if (!p->cma_dev && r->node_guid) {
		if (cma_get_device(p, r->node_guid))
			return -1;
		p->id.port_num = r->port_num;
	}
	if (!r->port_num)
		return 0;
	memcpy(rt->addr.addr.ibaddr.sgid.raw, r->sgid, 16);
	memcpy(rt->addr.addr.ibaddr.dgid.raw, r->dgid, 16);
	rt->addr.addr.ibaddr.pkey = htobe16(r->pkey);
	if (!r->num_paths)
		return 0;
	if (!rt->path_rec) {
		rt->path_rec = calloc(1, sizeof(*rt->path_rec));
		if (!rt->path_rec)
			return cma_err(ENOMEM);
	}
	rt->num_paths = 1;
	pr = rt->path_rec;
	memcpy(pr->dgid.raw, r->dgid, 16);
	memcpy(pr->sgid.raw, r->sgid, 16);
	pr->dlid = htobe16(r->dlid);
	pr->slid = htobe16(r->slid);
	pr->raw_traffic = 0;
	pr->flow_label = htobe32(r->flow_label);
	pr->hop_limit = r->hop_limit;
	pr->traffic_class = r->traffic_class;
	pr->reversible = 1;
	pr->numb_path = 1;
	pr->pkey = htobe16(r->pkey);
	pr->sl = r->sl;
	pr->mtu_selector = 2;		/* exactly */
	pr->mtu = r->mtu;
	pr->rate_selector = 2;
	pr->rate = r->rate;
	pr->packet_life_time_selector = 2;
	pr->packet_life_time = r->packet_life_time;
	pr->preference = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Creation and destruction                                            */

struct cma_id_private *cma_alloc_id(struct rdma_event_channel *ch,
				    void *context, enum rdma_port_space ps,
				    enum ibv_qp_type qp_type)
{
	struct cma_id_private *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->id.context = context;
	p->id.ps = ps;
	p->id.qp_type = qp_type;
	p->handle = 0xffffffff;
	pthread_mutex_init(&p->mut, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (!ch) {
		ch = rdma_create_event_channel();
		if (!ch) {
			cma_free_id(p);
			return NULL;
		}
		p->sync = 1;
	}
	p->id.channel = ch;
	return p;
}

void cma_free_id(struct cma_id_private *p)
{
	cma_id_remove(p);
	if (p->cma_dev)
		cma_put_device(p->cma_dev);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mut);
	free(p->id.route.path_rec);
	if (p->sync && p->id.channel)
		rdma_destroy_event_channel(p->id.channel);
	free(p->connect);
	free(p);
}

int cma_create_id2(struct rdma_event_channel *ch, struct rdma_cm_id **id,
		   void *context, enum rdma_port_space ps,
		   enum ibv_qp_type qp_type)
{
	struct xenib_cm_create_id_req req;
	struct xenib_handle_resp resp;
	struct cma_id_private *p;
	int err;

	if (cma_init())
		return -1;
	if (!id)
		return cma_err(EINVAL);
	p = cma_alloc_id(ch, context, ps, qp_type);
	if (!p)
		return -1;
	memset(&req, 0, sizeof(req));
	req.ps = ps;
	req.qp_type = qp_type;
	err = cma_cmd(p->id.channel, XENIB_CM_CREATE_ID, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (err) {
		cma_free_id(p);
		return cma_err(err);
	}
	p->handle = resp.handle;
	cma_id_insert(p);
	*id = &p->id;
	return 0;
}

EXPORT int rdma_create_id(struct rdma_event_channel *channel,
			  struct rdma_cm_id **id, void *context,
			  enum rdma_port_space ps)
{
	enum ibv_qp_type qp_type = (ps == RDMA_PS_IPOIB || ps == RDMA_PS_UDP) ?
				   IBV_QPT_UD : IBV_QPT_RC;

	return cma_create_id2(channel, id, context, ps, qp_type);
}

EXPORT int rdma_destroy_id(struct rdma_cm_id *id)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	int err;

	err = cma_id_cmd(id, XENIB_CM_DESTROY_ID);
	if (err)
		return cma_err(err);
	if (id->event) {
		rdma_ack_cm_event(id->event);
		id->event = NULL;
	}
	/* Events already handed out must be acked before the id goes. */
	pthread_mutex_lock(&p->mut);
	while (p->events_completed < p->events_reported)
		pthread_cond_wait(&p->cond, &p->mut);
	pthread_mutex_unlock(&p->mut);
	cma_free_id(p);
	return 0;
}

/* Sync ids: wait for the event that ends the call; its status is ours. */
int cma_complete(struct rdma_cm_id *id)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	int status;

	if (!p->sync)
		return 0;
	if (id->event) {
		rdma_ack_cm_event(id->event);
		id->event = NULL;
	}
	if (rdma_get_cm_event(id->channel, &id->event))
		return -1;
	status = id->event->status;
	if (!status)
		return 0;
	if (id->event->event == RDMA_CM_EVENT_REJECTED)
		return cma_err(ECONNREFUSED);
	return cma_err(status < 0 ? -status : status);
}

/* ------------------------------------------------------------------ */
/* Addresses and routes                                                */

static int route_cmd(struct cma_id_private *p, uint16_t op, void *req,
		     size_t len)
{
	struct xenib_cm_route_resp resp;
	int err = cma_cmd(p->id.channel, op, req, len, &resp, sizeof(resp));

	if (err)
		return cma_err(err);
	return cma_set_route(p, &resp.route);
}

EXPORT int rdma_bind_addr(struct rdma_cm_id *id, struct sockaddr *addr)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_bind_req req;

	if (!cma_addrlen(addr))
		return cma_err(EINVAL);
	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	cma_addr_to_abi(addr, &req.addr);
	return route_cmd(p, XENIB_CM_BIND, &req, sizeof(req));
}

EXPORT int rdma_resolve_addr(struct rdma_cm_id *id, struct sockaddr *src_addr,
			     struct sockaddr *dst_addr, int timeout_ms)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_resolve_addr_req req;
	struct xenib_ctrl_hdr resp;
	int dlen = cma_addrlen(dst_addr), err;

	if (!dlen || (src_addr && !cma_addrlen(src_addr)))
		return cma_err(EINVAL);
	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
	cma_addr_to_abi(src_addr, &req.src);
	cma_addr_to_abi(dst_addr, &req.dst);
	err = cma_cmd(id->channel, XENIB_CM_RESOLVE_ADDR, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (err)
		return cma_err(err);
	memcpy(&id->route.addr.dst_storage, dst_addr, dlen);
	return cma_complete(id);
}

EXPORT int rdma_resolve_route(struct rdma_cm_id *id, int timeout_ms)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_resolve_route_req req;
	struct xenib_ctrl_hdr resp;
	int err;

	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
	err = cma_cmd(id->channel, XENIB_CM_RESOLVE_ROUTE, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (err)
		return cma_err(err);
	return cma_complete(id);
}

EXPORT int rdma_listen(struct rdma_cm_id *id, int backlog)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_listen_req req;

	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.backlog = backlog > 0 ? backlog : 0;
	return route_cmd(p, XENIB_CM_LISTEN, &req, sizeof(req));
}

EXPORT int rdma_set_option(struct rdma_cm_id *id, int level, int optname,
			   void *optval, size_t optlen)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_set_option_req req;
	struct xenib_ctrl_hdr resp;
	int err;

	if (!optval)
		return cma_err(EINVAL);
	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.level = level;
	req.optname = optname;
	if (level == RDMA_OPTION_ID) {
		switch (optname) {
		case RDMA_OPTION_ID_TOS:
		case RDMA_OPTION_ID_ACK_TIMEOUT:
			if (optlen != sizeof(uint8_t))
				return cma_err(EINVAL);
			req.value = *(uint8_t *)optval;
			break;
		case RDMA_OPTION_ID_REUSEADDR:
		case RDMA_OPTION_ID_AFONLY:
			if (optlen != sizeof(int))
				return cma_err(EINVAL);
			req.value = *(int *)optval != 0;
			break;
		default:
			return cma_err(ENOSYS);
		}
	} else if (level == RDMA_OPTION_IB && optname == RDMA_OPTION_IB_PATH) {
		/* Paths come from xenibd's route resolution, not from the user. */
		cma_dbg("RDMA_OPTION_IB_PATH is not supported");
		return cma_err(EOPNOTSUPP);
	} else {
		return cma_err(ENOSYS);
	}
	err = cma_cmd(id->channel, XENIB_CM_SET_OPTION, &req, sizeof(req),
		      &resp, sizeof(resp));
	return err ? cma_err(err) : 0;
}

EXPORT int rdma_migrate_id(struct rdma_cm_id *id,
			   struct rdma_event_channel *channel)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_id_req req;
	struct xenib_ctrl_hdr resp;
	int sync, err;

	if (p->sync && !channel)
		return cma_err(EINVAL);
	sync = !channel;
	if (sync) {
		channel = rdma_create_event_channel();
		if (!channel)
			return -1;
	}
	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	err = cma_cmd(channel, XENIB_CM_MIGRATE_ID, &req, sizeof(req), &resp,
		      sizeof(resp));
	if (err) {
		if (sync)
			rdma_destroy_event_channel(channel);
		return cma_err(err);
	}
	if (p->sync) {
		if (id->event) {
			rdma_ack_cm_event(id->event);
			id->event = NULL;
		}
		rdma_destroy_event_channel(id->channel);
	}
	/* Events taken from the old channel must be done with first. */
	pthread_mutex_lock(&p->mut);
	p->sync = sync;
	id->channel = channel;
	while (p->events_completed < p->events_reported)
		pthread_cond_wait(&p->cond, &p->mut);
	pthread_mutex_unlock(&p->mut);
	return 0;
}

static __be16 port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_port;
	if (sa->sa_family == AF_INET6)
		return ((const struct sockaddr_in6 *)sa)->sin6_port;
	if (sa->sa_family == AF_IB)
		return htobe16((uint16_t)be64toh(
			((const struct sockaddr_ib *)sa)->sib_sid));
	return 0;
}

EXPORT __be16 rdma_get_src_port(struct rdma_cm_id *id)
{
	return port_of(&id->route.addr.src_addr);
}

EXPORT __be16 rdma_get_dst_port(struct rdma_cm_id *id)
{
	return port_of(&id->route.addr.dst_addr);
}
