// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Connections: connect, accept, reject, establish, disconnect, notify, and
 * the QP state transitions the library makes for ids that own a QP, with
 * the attributes xenibd computes (rdma_init_qp_attr).  As upstream: the
 * passive side moves its QP to RTR and RTS before sending the REP; the
 * active side does so when the REP arrives, then sends the RTU; a QP
 * always goes to INIT again first, to pick up the access flags the
 * negotiated responder resources allow.
 */
#include <stdlib.h>
#include <string.h>

#include "cma.h"

static void qp_attr_from_abi(struct ibv_qp_attr *d,
			     const struct xenib_qp_attr *s)
{
	memset(d, 0, sizeof(*d));
	d->qp_state = s->qp_state;
	d->cur_qp_state = s->cur_qp_state;
	d->path_mtu = s->path_mtu;
	d->qkey = s->qkey;
	d->rq_psn = s->rq_psn;
	d->sq_psn = s->sq_psn;
	d->dest_qp_num = s->dest_qp_num;
	d->qp_access_flags = s->qp_access_flags;
	d->pkey_index = s->pkey_index;
	d->port_num = s->port_num;
	d->min_rnr_timer = s->min_rnr_timer;
	d->timeout = s->timeout;
	d->retry_cnt = s->retry_cnt;
	d->rnr_retry = s->rnr_retry;
	d->max_rd_atomic = s->max_rd_atomic;
	d->max_dest_rd_atomic = s->max_dest_rd_atomic;
	d->sq_draining = s->sq_draining;
	d->en_sqd_async_notify = s->en_sqd_async_notify;
	cma_ah_from_abi(&d->ah_attr, &s->ah);
}

EXPORT int rdma_init_qp_attr(struct rdma_cm_id *id, struct ibv_qp_attr *qp_attr,
			     int *qp_attr_mask)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_init_qp_attr_req req;
	struct xenib_cm_init_qp_attr_resp resp;
	int err;

	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.qp_state = qp_attr->qp_state;
	err = cma_cmd(id->channel, XENIB_CM_INIT_QP_ATTR, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (err)
		return cma_err(err);
	qp_attr_from_abi(qp_attr, &resp.attr);
	*qp_attr_mask = resp.attr_mask;
	return 0;
}

static int modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask)
{
	int err = ibv_modify_qp(qp, a, mask);

	return err ? cma_err(err) : 0;
}

int cma_modify_qp_rtr(struct rdma_cm_id *id, uint8_t resp_res)
{
	struct ibv_qp_attr a;
	int mask;

	if (!id->qp)
		return 0;
	a.qp_state = IBV_QPS_INIT;
	if (rdma_init_qp_attr(id, &a, &mask) || modify(id->qp, &a, mask))
		return -1;
	a.qp_state = IBV_QPS_RTR;
	if (rdma_init_qp_attr(id, &a, &mask))
		return -1;
	if (resp_res != RDMA_MAX_RESP_RES)
		a.max_dest_rd_atomic = resp_res;
	return modify(id->qp, &a, mask);
}

int cma_modify_qp_rts(struct rdma_cm_id *id, uint8_t init_depth)
{
	struct ibv_qp_attr a;
	int mask;

	if (!id->qp)
		return 0;
	a.qp_state = IBV_QPS_RTS;
	if (rdma_init_qp_attr(id, &a, &mask))
		return -1;
	if (init_depth != RDMA_MAX_INIT_DEPTH)
		a.max_rd_atomic = init_depth;
	return modify(id->qp, &a, mask);
}

int cma_modify_qp_err(struct rdma_cm_id *id)
{
	struct ibv_qp_attr a;

	if (!id->qp)
		return 0;
	a.qp_state = IBV_QPS_ERR;
	return modify(id->qp, &a, IBV_QP_STATE);
}

int cma_init_conn_qp(struct cma_id_private *p, struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	int mask;

	a.qp_state = IBV_QPS_INIT;
	if (rdma_init_qp_attr(&p->id, &a, &mask))
		return -1;
	return modify(qp, &a, mask);
}

int cma_init_ud_qp(struct cma_id_private *p, struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	int mask;

	a.qp_state = IBV_QPS_INIT;
	if (rdma_init_qp_attr(&p->id, &a, &mask) || modify(qp, &a, mask))
		return -1;
	a.qp_state = IBV_QPS_RTR;
	if (modify(qp, &a, IBV_QP_STATE))
		return -1;
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = 0;
	return modify(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
}

/* As upstream: only RDMA_PS_TCP ids check the depths against the device. */
static int valid_param(struct cma_id_private *p, struct rdma_conn_param *c)
{
	if (p->id.ps != RDMA_PS_TCP)
		return 0;
	if (!p->id.qp && !c)
		return cma_err(EINVAL);
	if (!c)
		return 0;
	if (!p->cma_dev)
		return cma_err(EINVAL);
	if (c->responder_resources != RDMA_MAX_RESP_RES &&
	    c->responder_resources > p->cma_dev->max_responder_resources)
		return cma_err(EINVAL);
	if (c->initiator_depth != RDMA_MAX_INIT_DEPTH &&
	    c->initiator_depth > p->cma_dev->max_initiator_depth)
		return cma_err(EINVAL);
	return 0;
}

static int conn_to_abi(struct cma_id_private *p, struct xenib_cm_conn *d,
		       const struct rdma_conn_param *s, uint32_t qp_num,
		       uint8_t srq)
{
	d->qp_num = qp_num;
	d->srq = srq;
	d->responder_resources = p->responder_resources;
	d->initiator_depth = p->initiator_depth;
	d->ece_vendor_id = p->local_ece.vendor_id;
	d->ece_options = p->local_ece.options;
	if (p->connect_len) {
		if (p->connect_len > sizeof(d->private_data))
			return cma_err(EINVAL);
		memcpy(d->private_data, p->connect, p->connect_len);
		d->private_data_len = p->connect_len;
	}
	if (!s) {
		d->retry_count = 7;
		d->rnr_retry_count = 7;
		return 0;
	}
	d->flow_control = s->flow_control;
	d->retry_count = s->retry_count;
	d->rnr_retry_count = s->rnr_retry_count;
	if (s->private_data && s->private_data_len) {
		if (d->private_data_len + s->private_data_len >
		    sizeof(d->private_data))
			return cma_err(EINVAL);
		memcpy(d->private_data + d->private_data_len, s->private_data,
		       s->private_data_len);
		d->private_data_len += s->private_data_len;
	}
	return 0;
}

EXPORT int rdma_connect(struct rdma_cm_id *id,
			struct rdma_conn_param *conn_param)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	uint32_t qp_num = conn_param ? conn_param->qp_num : 0;
	uint8_t srq = conn_param ? conn_param->srq : 0;
	struct xenib_cm_conn_req req;
	struct xenib_ctrl_hdr resp;
	int err;

	if (valid_param(p, conn_param))
		return -1;
	if (!p->cma_dev)
		return cma_err(EINVAL);
	if (conn_param && conn_param->initiator_depth != RDMA_MAX_INIT_DEPTH)
		p->initiator_depth = conn_param->initiator_depth;
	else
		p->initiator_depth = p->cma_dev->max_initiator_depth;
	if (conn_param && conn_param->responder_resources != RDMA_MAX_RESP_RES)
		p->responder_resources = conn_param->responder_resources;
	else
		p->responder_resources = p->cma_dev->max_responder_resources;
	if (id->qp) {
		qp_num = id->qp->qp_num;
		srq = !!id->qp->srq;
	}
	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	if (conn_to_abi(p, &req.conn, conn_param, qp_num, srq))
		return -1;
	err = cma_cmd(id->channel, XENIB_CM_CONNECT, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (err)
		return cma_err(err);
	if (p->connect_len) {
		free(p->connect);
		p->connect = NULL;
		p->connect_len = 0;
	}
	return cma_complete(id);
}

EXPORT int rdma_accept(struct rdma_cm_id *id, struct rdma_conn_param *conn_param)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_conn_req req;
	struct xenib_ctrl_hdr resp;
	uint32_t qp_num;
	uint8_t srq;
	int err;

	if (!id->qp && !conn_param)
		return cma_err(EINVAL);
	qp_num = id->qp ? id->qp->qp_num : conn_param->qp_num;
	srq = id->qp ? !!id->qp->srq : conn_param->srq;
	if (valid_param(p, conn_param))
		return -1;
	if (!p->cma_dev)
		return cma_err(EINVAL);
	if (!conn_param || conn_param->initiator_depth == RDMA_MAX_INIT_DEPTH) {
		if (p->initiator_depth > p->cma_dev->max_initiator_depth)
			p->initiator_depth = p->cma_dev->max_initiator_depth;
	} else {
		p->initiator_depth = conn_param->initiator_depth;
	}
	if (!conn_param ||
	    conn_param->responder_resources == RDMA_MAX_RESP_RES) {
		if (p->responder_resources >
		    p->cma_dev->max_responder_resources)
			p->responder_resources =
				p->cma_dev->max_responder_resources;
	} else {
		p->responder_resources = conn_param->responder_resources;
	}
	if (id->qp_type != IBV_QPT_UD) {
		if (cma_modify_qp_rtr(id, p->responder_resources) ||
		    cma_modify_qp_rts(id, p->initiator_depth))
			return -1;
	}
	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	if (conn_to_abi(p, &req.conn, conn_param, qp_num, srq))
		return -1;
	err = cma_cmd(id->channel, XENIB_CM_ACCEPT, &req, sizeof(req),
		      &resp, sizeof(resp));
	if (err) {
		cma_modify_qp_err(id);
		return cma_err(err);
	}
	if (id->qp_type == IBV_QPT_UD) {
		if (p->sync && id->event) {
			rdma_ack_cm_event(id->event);
			id->event = NULL;
		}
		return 0;
	}
	return cma_complete(id);
}

static int reject(struct rdma_cm_id *id, const void *pdata, uint8_t len,
		  uint8_t kind)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_reject_req req;
	struct xenib_ctrl_hdr resp;
	int err;

	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.kind = kind;
	if (pdata && len) {
		memcpy(req.private_data, pdata, len);
		req.private_data_len = len;
	}
	err = cma_cmd(id->channel, XENIB_CM_REJECT, &req, sizeof(req), &resp,
		      sizeof(resp));
	return err ? cma_err(err) : 0;
}

EXPORT int rdma_reject(struct rdma_cm_id *id, const void *private_data,
		       uint8_t private_data_len)
{
	return reject(id, private_data, private_data_len, XENIB_CM_REJ_CONSUMER);
}

EXPORT int rdma_reject_ece(struct rdma_cm_id *id, const void *private_data,
			   uint8_t private_data_len)
{
	return reject(id, private_data, private_data_len, XENIB_CM_REJ_ECE);
}

EXPORT int rdma_notify(struct rdma_cm_id *id, enum ibv_event_type event)
{
	struct cma_id_private *p = container_of(id, struct cma_id_private, id);
	struct xenib_cm_notify_req req;
	struct xenib_ctrl_hdr resp;
	int err;

	memset(&req, 0, sizeof(req));
	req.id = p->handle;
	req.event = event;
	err = cma_cmd(id->channel, XENIB_CM_NOTIFY, &req, sizeof(req), &resp,
		      sizeof(resp));
	return err ? cma_err(err) : 0;
}

EXPORT int rdma_disconnect(struct rdma_cm_id *id)
{
	int err;

	/* An InfiniBand device: the QP goes to ERR (flushing) first. */
	if (!id->verbs || !id->verbs->device)
		return cma_err(EINVAL);
	if (cma_modify_qp_err(id))
		return -1;
	err = cma_id_cmd(id, XENIB_CM_DISCONNECT);
	if (err)
		return cma_err(err);
	return cma_complete(id);
}

int cma_process_conn_resp(struct cma_id_private *p)
{
	int err;

	if (cma_modify_qp_rtr(&p->id, RDMA_MAX_RESP_RES) ||
	    cma_modify_qp_rts(&p->id, RDMA_MAX_INIT_DEPTH)) {
		err = errno;
		cma_modify_qp_err(&p->id);
		return cma_err(err);
	}
	err = cma_id_cmd(&p->id, XENIB_CM_ESTABLISH);
	if (err) {
		cma_modify_qp_err(&p->id);
		return cma_err(err);
	}
	return 0;
}

EXPORT int rdma_establish(struct rdma_cm_id *id)
{
	if (id->qp)
		return cma_err(EINVAL);
	return cma_process_conn_resp(container_of(id, struct cma_id_private,
						  id));
}

EXPORT int rdma_set_local_ece(struct rdma_cm_id *id, struct ibv_ece *ece)
{
	struct cma_id_private *p;

	if (!id || !ece || id->qp)
		return cma_err(EINVAL);
	p = container_of(id, struct cma_id_private, id);
	p->local_ece = *ece;
	return 0;
}

EXPORT int rdma_get_remote_ece(struct rdma_cm_id *id, struct ibv_ece *ece)
{
	struct cma_id_private *p;

	if (!id || !ece || id->qp)
		return cma_err(EINVAL);
	p = container_of(id, struct cma_id_private, id);
	*ece = p->remote_ece;
	return 0;
}
