// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Verbs objects on ids (rdma_create_qp, rdma_create_srq, rdma_create_ep)
 * and the synchronous listener's rdma_get_request.  QPs are made with
 * ibv_create_qp_ex on the id's device; CQs (with completion channels) are
 * made for them when the caller gives none, as upstream does, and a new QP
 * is moved to INIT (connected types) or all the way to RTS (UD).
 */
#include <stdlib.h>
#include <string.h>

#include "cma.h"

static void destroy_cqs(struct rdma_cm_id *id)
{
	if (id->qp_type == IBV_QPT_XRC_RECV && id->srq)
		return;
	if (id->recv_cq) {
		ibv_destroy_cq(id->recv_cq);
		if (id->send_cq && id->send_cq != id->recv_cq) {
			ibv_destroy_cq(id->send_cq);
			id->send_cq = NULL;
		}
		id->recv_cq = NULL;
	}
	if (id->recv_cq_channel) {
		ibv_destroy_comp_channel(id->recv_cq_channel);
		if (id->send_cq_channel &&
		    id->send_cq_channel != id->recv_cq_channel) {
			ibv_destroy_comp_channel(id->send_cq_channel);
			id->send_cq_channel = NULL;
		}
		id->recv_cq_channel = NULL;
	}
}

static int create_cqs(struct rdma_cm_id *id, uint32_t send, uint32_t recv)
{
	if (recv) {
		id->recv_cq_channel = ibv_create_comp_channel(id->verbs);
		if (!id->recv_cq_channel)
			goto err;
		id->recv_cq = ibv_create_cq(id->verbs, recv, id,
					    id->recv_cq_channel, 0);
		if (!id->recv_cq)
			goto err;
	}
	if (send) {
		id->send_cq_channel = ibv_create_comp_channel(id->verbs);
		if (!id->send_cq_channel)
			goto err;
		id->send_cq = ibv_create_cq(id->verbs, send, id,
					    id->send_cq_channel, 0);
		if (!id->send_cq)
			goto err;
	}
	return 0;
err:
	destroy_cqs(id);
	return -1;
}

EXPORT int rdma_create_srq_ex(struct rdma_cm_id *id,
			      struct ibv_srq_init_attr_ex *attr)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct ibv_srq *srq;

	if (!id->verbs || !p->cma_dev)
		return cma_err(EINVAL);
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE))
		return cma_err(EINVAL);
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_PD) || !attr->pd) {
		attr->pd = id->pd;
		attr->comp_mask |= IBV_SRQ_INIT_ATTR_PD;
	}
	if (attr->srq_type == IBV_SRQT_XRC) {
		if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_XRCD) || !attr->xrcd) {
			attr->xrcd = cma_get_xrcd(p->cma_dev);
			if (!attr->xrcd)
				return -1;
		}
		if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_CQ) || !attr->cq) {
			if (create_cqs(id, 0, attr->attr.max_wr))
				return -1;
			attr->cq = id->recv_cq;
		}
		attr->comp_mask |= IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ;
	}
	srq = ibv_create_srq_ex(id->verbs, attr);
	if (!srq) {
		destroy_cqs(id);
		return -1;
	}
	if (!id->pd)
		id->pd = attr->pd;
	id->srq = srq;
	return 0;
}

EXPORT int rdma_create_srq(struct rdma_cm_id *id, struct ibv_pd *pd,
			   struct ibv_srq_init_attr *attr)
{
	struct ibv_srq_init_attr_ex ex;
	int ret;

	memset(&ex, 0, sizeof(ex));
	memcpy(&ex, attr, sizeof(*attr));
	ex.comp_mask = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD;
	ex.srq_type = id->qp_type == IBV_QPT_XRC_RECV ? IBV_SRQT_XRC :
							 IBV_SRQT_BASIC;
	ex.pd = pd;
	ret = rdma_create_srq_ex(id, &ex);
	memcpy(attr, &ex, sizeof(*attr));
	return ret;
}

EXPORT void rdma_destroy_srq(struct rdma_cm_id *id)
{
	ibv_destroy_srq(id->srq);
	id->srq = NULL;
	destroy_cqs(id);
}

EXPORT int rdma_create_qp_ex(struct rdma_cm_id *id,
			     struct ibv_qp_init_attr_ex *attr)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct ibv_qp *qp;
	int ret;

	if (id->qp || !id->verbs || !p->cma_dev)
		return cma_err(EINVAL);
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd) {
		attr->comp_mask |= IBV_QP_INIT_ATTR_PD;
		attr->pd = id->pd;
	} else if (id->verbs != attr->pd->context) {
		return cma_err(EINVAL);
	}
	if ((id->recv_cq && attr->recv_cq && id->recv_cq != attr->recv_cq) ||
	    (id->send_cq && attr->send_cq && id->send_cq != attr->send_cq))
		return cma_err(EINVAL);
	if (id->qp_type == IBV_QPT_XRC_RECV &&
	    (!(attr->comp_mask & IBV_QP_INIT_ATTR_XRCD) || !attr->xrcd)) {
		attr->xrcd = cma_get_xrcd(p->cma_dev);
		if (!attr->xrcd)
			return -1;
		attr->comp_mask |= IBV_QP_INIT_ATTR_XRCD;
	}
	if (create_cqs(id, attr->send_cq || id->send_cq ? 0 :
			   attr->cap.max_send_wr,
		       attr->recv_cq || id->recv_cq ? 0 :
			   attr->cap.max_recv_wr))
		return -1;
	if (!attr->send_cq)
		attr->send_cq = id->send_cq;
	if (!attr->recv_cq)
		attr->recv_cq = id->recv_cq;
	if (id->srq && !attr->srq)
		attr->srq = id->srq;
	qp = ibv_create_qp_ex(id->verbs, attr);
	if (!qp) {
		destroy_cqs(id);
		return -1;
	}
	if (id->qp_type == IBV_QPT_UD)
		ret = cma_init_ud_qp(p, qp);
	else
		ret = cma_init_conn_qp(p, qp);
	if (ret) {
		int err = errno;

		ibv_destroy_qp(qp);
		destroy_cqs(id);
		return cma_err(err);
	}
	/* An XRC_RECV QP has no PD: the id keeps its device's default. */
	if (qp->pd)
		id->pd = qp->pd;
	id->qp = qp;
	return 0;
}

EXPORT int rdma_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd,
			  struct ibv_qp_init_attr *qp_init_attr)
{
	struct ibv_qp_init_attr_ex ex;
	int ret;

	memset(&ex, 0, sizeof(ex));
	memcpy(&ex, qp_init_attr, sizeof(*qp_init_attr));
	ex.comp_mask = IBV_QP_INIT_ATTR_PD;
	ex.pd = pd ? pd : id->pd;
	ret = rdma_create_qp_ex(id, &ex);
	memcpy(qp_init_attr, &ex, sizeof(*qp_init_attr));
	return ret;
}

EXPORT void rdma_destroy_qp(struct rdma_cm_id *id)
{
	/* rping -q calls it on ids whose QP it made itself: none here. */
	if (id->qp)
		ibv_destroy_qp(id->qp);
	id->qp = NULL;
	destroy_cqs(id);
}

EXPORT int rdma_get_request(struct rdma_cm_id *listen, struct rdma_cm_id **id)
{
	struct cma_id_private *p = container_of(listen, struct cma_id_private,
						id);
	struct rdma_cm_event *event;
	int ret;

	if (!p->sync)
		return cma_err(EINVAL);
	if (listen->event) {
		rdma_ack_cm_event(listen->event);
		listen->event = NULL;
	}
	if (rdma_get_cm_event(listen->channel, &event))
		return -1;
	if (event->status) {
		ret = cma_err(event->status < 0 ? -event->status :
						  event->status);
		goto err;
	}
	if (event->event != RDMA_CM_EVENT_CONNECT_REQUEST) {
		ret = cma_err(EINVAL);
		goto err;
	}
	if (p->qp_init_attr) {
		struct ibv_qp_init_attr attr = *p->qp_init_attr;

		ret = rdma_create_qp(event->id, listen->pd, &attr);
		if (ret)
			goto err;
	}
	*id = event->id;
	(*id)->event = event;
	return 0;
err:
	listen->event = event;
	return ret;
}

static int passive_ep(struct rdma_cm_id *id, struct rdma_addrinfo *res,
		      struct ibv_pd *pd, struct ibv_qp_init_attr *qp_init_attr)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);

	if (rdma_bind_addr(id, res->ai_src_addr))
		return -1;
	if (pd)
		id->pd = pd;
	if (qp_init_attr) {
		p->qp_init_attr = malloc(sizeof(*qp_init_attr));
		if (!p->qp_init_attr)
			return cma_err(ENOMEM);
		*p->qp_init_attr = *qp_init_attr;
		p->qp_init_attr->qp_type = res->ai_qp_type;
	}
	return 0;
}

EXPORT int rdma_create_ep(struct rdma_cm_id **id, struct rdma_addrinfo *res,
			  struct ibv_pd *pd,
			  struct ibv_qp_init_attr *qp_init_attr)
{
	struct cma_id_private *p;
	struct rdma_cm_id *cm_id;

	if (!id || !res)
		return cma_err(EINVAL);
	if (cma_create_id2(NULL, &cm_id, NULL, res->ai_port_space,
			   res->ai_qp_type))
		return -1;
	p = container_of(cm_id, struct cma_id_private, id);
	if (res->ai_flags & RAI_PASSIVE) {
		if (passive_ep(cm_id, res, pd, qp_init_attr))
			goto err;
		goto out;
	}
	if (rdma_resolve_addr(cm_id, res->ai_src_addr, res->ai_dst_addr, 2000))
		goto err;
	if (res->ai_route_len) {
		if (rdma_set_option(cm_id, RDMA_OPTION_IB, RDMA_OPTION_IB_PATH,
				    res->ai_route, res->ai_route_len) ||
		    cma_complete(cm_id))
			goto err;
	} else if (rdma_resolve_route(cm_id, 2000)) {
		goto err;
	}
	if (qp_init_attr) {
		qp_init_attr->qp_type = res->ai_qp_type;
		if (rdma_create_qp(cm_id, pd, qp_init_attr))
			goto err;
	}
	if (res->ai_connect_len) {
		p->connect = malloc(res->ai_connect_len);
		if (!p->connect) {
			errno = ENOMEM;
			goto err;
		}
		memcpy(p->connect, res->ai_connect, res->ai_connect_len);
		p->connect_len = res->ai_connect_len;
	}
out:
	*id = cm_id;
	return 0;
err:
	{
		int err = errno;

		rdma_destroy_ep(cm_id);
		return cma_err(err);
	}
}

EXPORT void rdma_destroy_ep(struct rdma_cm_id *id)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);

	if (id->qp)
		rdma_destroy_qp(id);
	if (id->srq)
		rdma_destroy_srq(id);
	free(p->qp_init_attr);
	p->qp_init_attr = NULL;
	rdma_destroy_id(id);
}
