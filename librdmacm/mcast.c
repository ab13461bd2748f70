// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Multicast: rdma_join_multicast(_ex) and rdma_leave_multicast.  The join
 * is the backend's (it plays the SA); the MULTICAST_JOIN event carries the
 * group's address vector and the library attaches the id's QP (event.c).
 * Leaving detaches it and waits until the join's events are acked.
 */
#include <stdlib.h>
#include <string.h>

#include "cma.h"

static int join(struct rdma_cm_id *id, struct sockaddr *addr, int addrlen,
		uint16_t flags, void *context)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_join_req req;
	struct xenib_handle_resp resp;
	struct cma_multicast *mc, **pos;
	int err;

	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return cma_err(ENOMEM);
	mc->context = context;
	mc->id_priv = p;
	mc->join_flags = flags;
	mc->handle = 0xffffffff;
	pthread_mutex_lock(&p->mut);
	mc->uid = ++p->mc_uid;
	pthread_mutex_unlock(&p->mut);
	memcpy(&mc->addr, addr, addrlen);
	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.join_flags = flags;
	req.uid = mc->uid;
	cma_addr_to_abi(addr, &req.addr);
	/* On the list first: the join's event may be taken by another thread. */
	pthread_mutex_lock(&p->mut);
	mc->next = p->mc_list;
	p->mc_list = mc;
	pthread_mutex_unlock(&p->mut);
	err = cma_cmd(id->channel, XENIB_CM_JOIN_MCAST, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (err) {
		pthread_mutex_lock(&p->mut);
		for (pos = &p->mc_list; *pos != mc; pos = &(*pos)->next)
			;
		*pos = mc->next;
		pthread_mutex_unlock(&p->mut);
		free(mc);
		return cma_err(err);
	}
	pthread_mutex_lock(&p->mut);
	mc->handle = resp.handle;
	pthread_mutex_unlock(&p->mut);
	return cma_complete(id);
}

EXPORT int rdma_join_multicast_ex(struct rdma_cm_id *id,
				  struct rdma_cm_join_mc_attr_ex *attr,
				  void *context)
{
	int len;

	if (attr->comp_mask >= RDMA_CM_JOIN_MC_ATTR_RESERVED)
		return cma_err(ENOTSUP);
	if (!(attr->comp_mask & RDMA_CM_JOIN_MC_ATTR_ADDRESS))
		return cma_err(EINVAL);
	if (!(attr->comp_mask & RDMA_CM_JOIN_MC_ATTR_JOIN_FLAGS) ||
	    attr->join_flags >= RDMA_MC_JOIN_FLAG_RESERVED)
		return cma_err(EINVAL);
	len = cma_addrlen(attr->addr);
	if (!len)
		return cma_err(EINVAL);
	return join(id, attr->addr, len, attr->join_flags, context);
}

EXPORT int rdma_join_multicast(struct rdma_cm_id *id, struct sockaddr *addr,
			       void *context)
{
	int len = cma_addrlen(addr);

	if (!len)
		return cma_err(EINVAL);
	return join(id, addr, len, RDMA_MC_JOIN_FLAG_FULLMEMBER, context);
}

EXPORT int rdma_leave_multicast(struct rdma_cm_id *id, struct sockaddr *addr)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_id_req req;
	struct xenib_ctrl_hdr resp;
	struct cma_multicast *mc, **pos;
	int len = cma_addrlen(addr), err;

	if (!len)
		return cma_err(EINVAL);
	pthread_mutex_lock(&p->mut);
	for (pos = &p->mc_list; *pos; pos = &(*pos)->next)
		if (!memcmp(&(*pos)->addr, addr, len))
			break;
	mc = *pos;
	if (mc)
		*pos = mc->next;
	pthread_mutex_unlock(&p->mut);
	if (!mc)
		return cma_err(EADDRNOTAVAIL);
	if (id->qp && mc->join_flags != RDMA_MC_JOIN_FLAG_SENDONLY_FULLMEMBER &&
	    mc->mlid)
		ibv_detach_mcast(id->qp, &mc->mgid, mc->mlid);
	memset(&req, 0, sizeof(req));
	req.id = mc->handle;
	err = cma_cmd(id->channel, XENIB_CM_LEAVE_MCAST, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (!err) {
		pthread_mutex_lock(&p->mut);
		while (mc->events_completed < mc->events_reported)
			pthread_cond_wait(&p->cond, &p->mut);
		pthread_mutex_unlock(&p->mut);
	}
	free(mc);
	return err ? cma_err(err) : 0;
}
