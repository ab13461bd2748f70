// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The IB CM exchange of connected ids (RC, UC, XRC): REQ, MRA, REP, RTU,
 * REJ, DREQ, DREP, with the timeouts and retries of IBTA vol. 1 ch. 12 and
 * the rdma_cm's use of them (Linux drivers/infiniband/core/cma.c, as seen
 * from user space: which events, statuses and private-data lengths result).
 *
 * Active:  CONNECT -> REQ ... MRA ... REP -> CONNECT_RESPONSE; ESTABLISH -> RTU
 * Passive: REQ -> MRA + CONNECT_REQUEST; ACCEPT -> REP ... RTU -> ESTABLISHED
 * Either:  DISCONNECT -> DREQ ... DREP -> DISCONNECTED, timewait, TIMEWAIT_EXIT
 *
 * Everything a message names is looked up and checked against the id's
 * state; a message that does not fit is dropped (or answered as the IB CM
 * would: REJ for an unknown service, DREP for an unknown connection).
 */
#include <errno.h>
#include <string.h>

#include "xenibd/cm/cm.h"

#define CM_RESP_TIMEOUT	20	/* 4.096 us * 2^20 = 4.3 s, as the rdma_cm */
#define CM_MRA_TIMEOUT	24	/* what we ask for in MRA: 68.7 s */
#define CM_MAX_RETRIES	15

uint64_t cm_timeout_ns(unsigned int t)
{
	return 4096ull << (t > 31 ? 31 : t);
}

static uint32_t random_psn(void)
{
	static uint64_t s;

	s = s * 6364136223846793005ull + 1442695040888963407ull + xd_now_ns();
	return (uint32_t)(s >> 40) & 0xffffff;
}

static void set_cs(struct cm_id *id, enum cm_conn_state cs)
{
	if (id->cs == CMC_ESTABLISHED && cs != CMC_ESTABLISHED)
		cm.stats.conns--;
	else if (id->cs != CMC_ESTABLISHED && cs == CMC_ESTABLISHED)
		cm.stats.conns++;
	id->cs = cs;
}

int cm_send(struct cm_id *id, struct cm_msg *m)
{
	m->slid = id->path.slid;
	m->dlid = id->path.dlid;
	memcpy(m->sgid, id->path.sgid, 16);
	memcpy(m->dgid, id->path.dgid, 16);
	m->pkey = id->path.pkey;
	if (m->type != CM_MSG_SIDR_REQ && m->type != CM_MSG_SIDR_REP) {
		m->local_comm_id = id->h.id;
		m->remote_comm_id = id->remote_comm_id;
	}
	return cm_send_raw(m);
}

/* Send m and keep it for retries. */
static void send_kept(struct cm_id *id, struct cm_msg *m)
{
	cm_send(id, m);
	id->last = *m;
	id->retries = 0;
}

/* Answer a message without an id (no listener, unknown connection). */
static void answer(const struct cm_msg *to, struct cm_msg *m)
{
	m->slid = to->dlid;
	m->dlid = to->slid;
	memcpy(m->sgid, to->dgid, 16);
	memcpy(m->dgid, to->sgid, 16);
	m->pkey = to->pkey;
	m->local_comm_id = 0;
	m->remote_comm_id = to->local_comm_id;
	cm_send_raw(m);
}

static void send_rej(const struct cm_msg *to, uint8_t ref, uint16_t reason)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_REJ;
	m.msg_ref = ref;
	m.rej_reason = reason;
	answer(to, &m);
}

static void id_rej(struct cm_id *id, uint8_t ref, uint16_t reason,
		   const uint8_t *pdata, uint8_t len)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_REJ;
	m.msg_ref = ref;
	m.rej_reason = reason;
	if (len)
		memcpy(m.pdata, pdata, len);
	cm_send(id, &m);
}

static void id_simple(struct cm_id *id, uint8_t type, uint8_t ref)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.msg_ref = ref;
	if (type == CM_MSG_MRA)
		m.service_timeout = CM_MRA_TIMEOUT;
	cm_send(id, &m);
}

/* Fill an event's connection parameters from a REQ or REP. */
static void ev_conn(struct cm_event *ev, const struct cm_msg *m,
		    unsigned int off, unsigned int len)
{
	struct xenib_cm_conn *c = &ev->resp.conn;

	c->qp_num = m->qpn;
	c->srq = m->srq;
	/* From the receiver's side: the peer's depth is our resources. */
	c->responder_resources = m->initiator_depth;
	c->initiator_depth = m->responder_resources;
	c->flow_control = m->flow_control;
	c->retry_count = m->retry_count;
	c->rnr_retry_count = m->rnr_retry_count;
	c->ece_vendor_id = m->ece_vendor_id;
	c->ece_options = m->ece_options;
	c->private_data_len = len;
	memcpy(c->private_data, m->pdata + off, len);
}

static void post(struct cm_id *id, uint32_t event, int32_t status,
		 const struct cm_msg *m, unsigned int len)
{
	struct cm_event *ev = cm_ev_new(id, event, status);

	if (!ev)
		return;
	if (m)
		ev_conn(ev, m, 0, len);
	cm_ev_post(ev);
}

static void end_conn(struct cm_id *id)
{
	cm_timer_stop(id);
	cm_pending_charge(id, false);
	set_cs(id, CMC_DONE);
	id->state = CM_DISCONNECT;
}

static unsigned int ack_timeout(const struct cm_id *id)
{
	unsigned int t = id->path.packet_life_time + 1;

	return t > 31 ? 31 : t;
}

/* ------------------------------------------------------------------ */
/* Guest requests                                                      */

static int check_conn(struct cm_id *id, const struct xenib_cm_conn *p,
		      unsigned int max_pdata)
{
	if (p->private_data_len > max_pdata ||
	    p->responder_resources > CM_MAX_RD_ATOMIC ||
	    p->initiator_depth > CM_MAX_RD_ATOMIC)
		return EINVAL;
	return cm_dev_check_qp(id->guest, p->qp_num, id->qp_type);
}

int cm_connect(struct cm_id *id, const struct xenib_cm_conn *p)
{
	struct cm_usage *u = cm_use(id->guest);
	struct cm_msg m;
	int err;

	if (id->qp_type == IBV_QPT_UD)
		return cm_sidr_connect(id, p);
	if (id->state != CM_ROUTE_RESOLVED)
		return EINVAL;
	if (id->qp_type == IBV_QPT_XRC_RECV)
		return EINVAL;
	err = check_conn(id, p, XENIB_CM_REQ_PDATA - XENIB_CM_IP_HDR);
	if (err)
		return err;
	if (u->pending >= CM_MAX_PENDING) {
		cm_log(id, "%u connections in progress, the limit", u->pending);
		return EDQUOT;
	}
	id->qpn = p->qp_num;
	id->srq = p->srq;
	id->psn = random_psn();
	id->responder_resources = p->responder_resources;
	id->initiator_depth = p->initiator_depth;
	id->retry_count = p->retry_count > 7 ? 7 : p->retry_count;
	id->rnr_retry_count = p->rnr_retry_count > 7 ? 7 : p->rnr_retry_count;
	id->flow_control = p->flow_control;
	id->local_ece_vendor = p->ece_vendor_id;
	id->local_ece_options = p->ece_options;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_REQ;
	m.qp_type = id->qp_type;
	m.service_id = cm_service_id(id);
	m.qpn = id->qpn;
	m.psn = id->psn;
	m.responder_resources = id->responder_resources;
	m.initiator_depth = id->initiator_depth;
	m.retry_count = id->retry_count;
	m.rnr_retry_count = id->rnr_retry_count;
	m.flow_control = id->flow_control;
	m.srq = id->srq;
	m.mtu = id->path.mtu;
	m.packet_life_time = id->path.packet_life_time;
	m.service_timeout = CM_RESP_TIMEOUT;	/* how long we wait for REP */
	m.ece_vendor_id = p->ece_vendor_id;
	m.ece_options = p->ece_options;
	cm_ip_hdr_put(m.pdata, &id->src, &id->dst);
	memcpy(m.pdata + XENIB_CM_IP_HDR, p->private_data,
	       p->private_data_len);

	id->state = CM_CONNECT;
	set_cs(id, CMC_REQ_SENT);
	cm_pending_charge(id, true);
	send_kept(id, &m);
	cm_timer_set(id, CMT_REQ, cm_timeout_ns(CM_RESP_TIMEOUT) +
		     2 * cm_timeout_ns(id->path.packet_life_time));
	return 0;
}

int cm_accept(struct cm_id *id, const struct xenib_cm_conn *p)
{
	struct cm_msg m;
	int err;

	if (id->qp_type == IBV_QPT_UD)
		return cm_sidr_accept(id, p);
	if (id->cs != CMC_REQ_RCVD || id->hidden)
		return EINVAL;
	err = check_conn(id, p, XENIB_CM_REP_PDATA);
	if (err)
		return err;
	id->qpn = p->qp_num;
	id->srq = p->srq;
	/* id->psn: chosen with the REQ (the library's RTS came first). */
	id->responder_resources = p->responder_resources;
	id->initiator_depth = p->initiator_depth;
	id->flow_control = p->flow_control;
	id->local_ece_vendor = p->ece_vendor_id;
	id->local_ece_options = p->ece_options;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_REP;
	m.qpn = id->qpn;
	m.psn = id->psn;
	m.responder_resources = id->responder_resources;
	m.initiator_depth = id->initiator_depth;
	m.flow_control = id->flow_control;
	/* The RNR retries the active side's QP is to make. */
	m.rnr_retry_count = p->rnr_retry_count > 7 ? 7 : p->rnr_retry_count;
	m.srq = id->srq;
	m.ece_vendor_id = p->ece_vendor_id;
	m.ece_options = p->ece_options;
	memcpy(m.pdata, p->private_data, p->private_data_len);

	set_cs(id, CMC_REP_SENT);
	send_kept(id, &m);
	cm_timer_set(id, CMT_REP, cm_timeout_ns(id->remote_cm_timeout) +
		     2 * cm_timeout_ns(id->path.packet_life_time));
	return 0;
}

int cm_reject(struct cm_id *id, const uint8_t *pdata, uint8_t len,
	      uint8_t kind)
{
	uint16_t reason = kind == XENIB_CM_REJ_ECE ? CM_REJ_VENDOR_OPT :
						      CM_REJ_CONSUMER;

	if (id->qp_type == IBV_QPT_UD)
		return cm_sidr_reject(id, pdata, len);
	if (len > XENIB_CM_REJ_PDATA || kind > XENIB_CM_REJ_ECE)
		return EINVAL;
	if (id->cs == CMC_REQ_RCVD && !id->hidden)
		id_rej(id, CM_MSG_REQ, reason, pdata, len);
	else if (id->cs == CMC_REP_RCVD)
		id_rej(id, CM_MSG_REP, reason, pdata, len);
	else
		return EINVAL;
	cm_conn_hash_del(id);
	end_conn(id);
	return 0;
}

int cm_establish(struct cm_id *id)
{
	if (id->cs != CMC_REP_RCVD)
		return EINVAL;
	id_simple(id, CM_MSG_RTU, 0);
	set_cs(id, CMC_ESTABLISHED);
	return 0;
}

static void enter_timewait(struct cm_id *id)
{
	set_cs(id, CMC_TIMEWAIT);
	id->state = CM_DISCONNECT;
	cm_timer_set(id, CMT_TIMEWAIT, cm_timeout_ns(ack_timeout(id)));
}

int cm_disconnect(struct cm_id *id)
{
	struct cm_msg m;

	switch (id->cs) {
	case CMC_ESTABLISHED:
		memset(&m, 0, sizeof(m));
		m.type = CM_MSG_DREQ;
		m.qpn = id->remote_qpn;
		set_cs(id, CMC_DREQ_SENT);
		send_kept(id, &m);
		cm_timer_set(id, CMT_DREQ, cm_timeout_ns(ack_timeout(id)));
		return 0;
	case CMC_DREQ_RCVD:
		id_simple(id, CM_MSG_DREP, 0);
		enter_timewait(id);
		return 0;
	default:
		return EINVAL;
	}
}

int cm_notify(struct cm_id *id, uint32_t event)
{
	if (event != IBV_EVENT_COMM_EST)
		return EINVAL;
	if (id->cs == CMC_REP_SENT) {
		/* Data arrived before the RTU: the connection is up. */
		cm_timer_stop(id);
		set_cs(id, CMC_ESTABLISHED);
		post(id, RDMA_CM_EVENT_ESTABLISHED, 0, NULL, 0);
	}
	return 0;
}

void cm_conn_abort(struct cm_id *id)
{
	if (id->qp_type == IBV_QPT_UD) {
		if (id->cs == CMC_SIDR_REQ_RCVD)
			cm_sidr_reject(id, NULL, 0);
		return;
	}
	switch (id->cs) {
	case CMC_REQ_SENT:
		id_rej(id, CM_MSG_REQ, CM_REJ_TIMEOUT, NULL, 0);
		break;
	case CMC_REQ_RCVD:
		id_rej(id, CM_MSG_REQ, CM_REJ_CONSUMER, NULL, 0);
		break;
	case CMC_REP_RCVD:
		id_rej(id, CM_MSG_REP, CM_REJ_CONSUMER, NULL, 0);
		break;
	case CMC_REP_SENT:
		id_rej(id, CM_MSG_REP, CM_REJ_CONSUMER, NULL, 0);
		break;
	case CMC_ESTABLISHED:
		id_simple(id, CM_MSG_DREQ, 0);
		break;
	case CMC_DREQ_RCVD:
		id_simple(id, CM_MSG_DREP, 0);
		break;
	default:
		break;
	}
	set_cs(id, CMC_DONE);
}

/* ------------------------------------------------------------------ */
/* Received messages                                                   */

/* The listener a REQ or SIDR REQ is for, and its addresses; NULL: none. */
static struct cm_id *req_listener(const struct cm_msg *m,
				  struct xenib_cm_addr *src,
				  struct xenib_cm_addr *dst, uint32_t *ps,
				  bool *addressed)
{
	uint16_t port = m->service_id & 0xffff;

	*addressed = false;
	*ps = (m->service_id >> 16) & 0xffff;
	if (m->service_id >> 32)
		return NULL;
	if (*ps != RDMA_PS_TCP && *ps != RDMA_PS_UDP &&
	    *ps != RDMA_PS_IPOIB && *ps != RDMA_PS_IB)
		return NULL;
	if (cm_ip_hdr_get(m->pdata, port, src, dst))
		return NULL;
	*addressed = true;
	return cm_find_listener(*ps, port, dst);
}

void cm_conn_rej_req(const struct cm_msg *m, uint16_t reason)
{
	send_rej(m, CM_MSG_REQ, reason);
}

/* The listener's type a REQ's transport type may reach. */
static bool req_type_ok(uint32_t listen_type, uint8_t req_type)
{
	if (req_type == IBV_QPT_XRC_SEND)
		return listen_type == IBV_QPT_XRC_RECV;
	return listen_type == req_type;
}

static void recv_req(const struct cm_msg *m)
{
	struct xenib_cm_addr src, dst;
	struct cm_id *l, *nid;
	struct cm_event *ev;
	bool addressed;
	uint32_t ps;

	nid = cm_conn_find(m->slid, m->local_comm_id);
	if (nid) {
		/* A retry: say again what we said. */
		if (nid->cs == CMC_REQ_RCVD)
			id_simple(nid, CM_MSG_MRA, CM_MSG_REQ);
		else if (nid->cs == CMC_REP_SENT)
			cm_send(nid, &nid->last);
		return;
	}
	l = req_listener(m, &src, &dst, &ps, &addressed);
	if (!l && addressed &&
	    cm_hold_req(m, ps, m->service_id & 0xffff, &dst))
		return;
	if (!l) {
		xd_dbg("cm: REQ from LID %u for service %#llx: no listener",
		       m->slid, (unsigned long long)m->service_id);
		send_rej(m, CM_MSG_REQ, CM_REJ_INVALID_SID);
		return;
	}
	if (!req_type_ok(l->qp_type, m->qp_type) ||
	    l->pending_reqs >= l->backlog ||
	    cm_id_create(l->chan, l->ps, l->qp_type, &nid)) {
		if (l->pending_reqs >= l->backlog)
			cm_log(l, "backlog of %u full: connection refused",
			       l->backlog);
		send_rej(m, CM_MSG_REQ, CM_REJ_CONSUMER);
		return;
	}
	nid->hidden = true;
	nid->src = dst;
	nid->dst = src;
	nid->afonly = l->afonly;
	cm_dev_bind(nid);
	cm_path_init(nid, m->slid, m->sgid);
	nid->path.pkey = m->pkey;
	nid->path.mtu = m->mtu;
	nid->path.packet_life_time = m->packet_life_time;
	nid->route_valid = true;
	nid->remote_comm_id = m->local_comm_id;
	nid->remote_qpn = m->qpn;
	nid->remote_psn = m->psn;
	/*
	 * Our starting PSN, now: the library moves the QP to RTS with
	 * INIT_QP_ATTR before it accepts, and the REP must carry the same
	 * PSN (the responder takes requests from its rq_psn on, in order).
	 */
	nid->psn = random_psn();
	/* As ib_cm: the peer's initiator depth is what we must answer. */
	nid->responder_resources = m->initiator_depth;
	nid->initiator_depth = m->responder_resources;
	nid->retry_count = m->retry_count;
	nid->rnr_retry_count = m->rnr_retry_count;
	nid->flow_control = m->flow_control;
	nid->remote_cm_timeout = m->service_timeout;
	nid->state = CM_CONNECT;
	set_cs(nid, CMC_REQ_RCVD);
	cm_conn_hash_add(nid);

	ev = cm_ev_new(l, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	if (!ev) {
		cm_id_destroy(nid);	/* rejects the requester */
		return;
	}
	ev->new_id = nid;
	ev_conn(ev, m, XENIB_CM_IP_HDR,
		XENIB_CM_REQ_PDATA - XENIB_CM_IP_HDR);
	cm_ev_post(ev);
	/* The application decides: give it the time it may need. */
	id_simple(nid, CM_MSG_MRA, CM_MSG_REQ);
}

/* The id a message for a connection is addressed to, or NULL. */
static struct cm_id *conn_id(const struct cm_msg *m)
{
	struct cm_id *id = cm_id_by_comm(m->remote_comm_id);

	if (!id || id->qp_type == IBV_QPT_UD)
		return NULL;
	/* Once the peer is known, only the peer may speak for it. */
	if (id->in_conn_hash && (id->path.dlid != m->slid ||
				 id->remote_comm_id != m->local_comm_id))
		return NULL;
	if (!id->in_conn_hash && !cm_may_answer(id, m->slid))
		return NULL;
	return id;
}

static void recv_rep(const struct cm_msg *m)
{
	struct cm_id *id = conn_id(m);
	struct cm_event *ev;

	if (!id)
		return;
	if (id->cs == CMC_REP_RCVD) {
		id_simple(id, CM_MSG_MRA, CM_MSG_REP);
		return;
	}
	if (id->cs == CMC_ESTABLISHED) {
		id_simple(id, CM_MSG_RTU, 0);	/* our RTU was lost */
		return;
	}
	if (id->cs != CMC_REQ_SENT)
		return;
	cm_timer_stop(id);
	cm_pending_charge(id, false);
	id->remote_comm_id = m->local_comm_id;
	id->remote_qpn = m->qpn;
	id->remote_psn = m->psn;
	id->initiator_depth = m->responder_resources;
	id->responder_resources = m->initiator_depth;
	id->rnr_retry_count = m->rnr_retry_count;
	/* Whoever answered is the peer: the route now leads there. */
	id->path.dlid = m->slid;
	memcpy(id->path.dgid, m->sgid, 16);
	cm_conn_hash_add(id);
	set_cs(id, CMC_REP_RCVD);
	ev = cm_ev_new(id, RDMA_CM_EVENT_CONNECT_RESPONSE, 0);
	if (ev) {
		ev_conn(ev, m, 0, XENIB_CM_REP_PDATA);
		cm_ev_post(ev);
	}
	/* The RTU waits for the library to move the QP: tell the peer. */
	id_simple(id, CM_MSG_MRA, CM_MSG_REP);
}

static void recv_rtu(const struct cm_msg *m)
{
	struct cm_id *id = conn_id(m);

	if (!id || id->cs != CMC_REP_SENT)
		return;
	cm_timer_stop(id);
	set_cs(id, CMC_ESTABLISHED);
	post(id, RDMA_CM_EVENT_ESTABLISHED, 0, NULL, 0);
}

static void recv_rej(const struct cm_msg *m)
{
	struct cm_id *id = conn_id(m);

	/* A REQ's sender gives up before it knows our comm id. */
	if (!id && !m->remote_comm_id)
		id = cm_conn_find(m->slid, m->local_comm_id);
	if (!id)
		return;
	switch (id->cs) {
	case CMC_REQ_RCVD:
		/* The requester gave up before the application answered. */
		if (id->hidden) {
			set_cs(id, CMC_DONE);	/* nothing to tell anyone */
			cm_id_destroy(id);
			return;
		}
		cm_conn_hash_del(id);
		end_conn(id);
		return;
	case CMC_REQ_SENT:
	case CMC_REP_RCVD:
	case CMC_REP_SENT:
		cm_conn_hash_del(id);
		end_conn(id);
		post(id, RDMA_CM_EVENT_REJECTED, m->rej_reason, m,
		     XENIB_CM_REJ_PDATA);
		return;
	default:
		return;
	}
}

static void recv_mra(const struct cm_msg *m)
{
	struct cm_id *id = conn_id(m);
	uint64_t t;

	if (!id)
		return;
	t = cm_timeout_ns(m->service_timeout) +
	    cm_timeout_ns(id->path.packet_life_time);
	if (id->cs == CMC_REQ_SENT && m->msg_ref == CM_MSG_REQ &&
	    id->timer == CMT_REQ) {
		id->retries = CM_MAX_RETRIES;	/* next expiry is final */
		cm_timer_set(id, CMT_REQ, t);
	} else if (id->cs == CMC_REP_SENT && m->msg_ref == CM_MSG_REP &&
		   id->timer == CMT_REP) {
		id->retries = CM_MAX_RETRIES;
		cm_timer_set(id, CMT_REP, t);
	}
}

static void recv_dreq(const struct cm_msg *m)
{
	struct cm_id *id = conn_id(m);
	struct cm_msg drep;

	if (!id || id->cs == CMC_DONE || id->cs == CMC_IDLE) {
		/* No such connection (any more): the CM answers anyway. */
		memset(&drep, 0, sizeof(drep));
		drep.type = CM_MSG_DREP;
		answer(m, &drep);
		return;
	}
	switch (id->cs) {
	case CMC_ESTABLISHED:
	case CMC_REP_SENT:
		cm_timer_stop(id);
		set_cs(id, CMC_DREQ_RCVD);
		id->state = CM_DISCONNECT;
		post(id, RDMA_CM_EVENT_DISCONNECTED, 0, NULL, 0);
		return;
	case CMC_DREQ_SENT:		/* both sides disconnect at once */
	case CMC_TIMEWAIT:		/* our DREP was lost */
		id_simple(id, CM_MSG_DREP, 0);
		return;
	default:
		return;
	}
}

static void recv_drep(const struct cm_msg *m)
{
	struct cm_id *id = conn_id(m);

	if (!id || id->cs != CMC_DREQ_SENT)
		return;
	enter_timewait(id);
	post(id, RDMA_CM_EVENT_DISCONNECTED, 0, NULL, 0);
}

void cm_conn_recv(const struct cm_msg *m)
{
	switch (m->type) {
	case CM_MSG_REQ:
		recv_req(m);
		break;
	case CM_MSG_MRA:
		recv_mra(m);
		break;
	case CM_MSG_REJ:
		recv_rej(m);
		break;
	case CM_MSG_REP:
		recv_rep(m);
		break;
	case CM_MSG_RTU:
		recv_rtu(m);
		break;
	case CM_MSG_DREQ:
		recv_dreq(m);
		break;
	case CM_MSG_DREP:
		recv_drep(m);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Timers                                                              */

static bool retry(struct cm_id *id, enum cm_timer t, uint64_t after)
{
	if (id->retries >= CM_MAX_RETRIES)
		return false;
	id->retries++;
	cm_send(id, &id->last);
	cm_timer_set(id, t, after);
	return true;
}

void cm_conn_timeout(struct cm_id *id, enum cm_timer t)
{
	uint64_t life = cm_timeout_ns(id->path.packet_life_time);

	switch (t) {
	case CMT_REQ:
		if (id->cs != CMC_REQ_SENT ||
		    retry(id, t, cm_timeout_ns(CM_RESP_TIMEOUT) + 2 * life))
			return;
		end_conn(id);
		post(id, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT, NULL, 0);
		return;
	case CMT_REP:
		if (id->cs != CMC_REP_SENT ||
		    retry(id, t, cm_timeout_ns(id->remote_cm_timeout) +
			  2 * life))
			return;
		/* Tell the active side too, so no half-open connection stays. */
		id_rej(id, CM_MSG_REP, CM_REJ_TIMEOUT, NULL, 0);
		cm_conn_hash_del(id);
		end_conn(id);
		post(id, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT, NULL, 0);
		return;
	case CMT_DREQ:
		if (id->cs != CMC_DREQ_SENT ||
		    retry(id, t, cm_timeout_ns(ack_timeout(id))))
			return;
		enter_timewait(id);
		post(id, RDMA_CM_EVENT_DISCONNECTED, 0, NULL, 0);
		return;
	case CMT_HELD:
		cm_hold_release(id, false);
		return;
	case CMT_TIMEWAIT:
		if (id->cs != CMC_TIMEWAIT)
			return;
		cm_conn_hash_del(id);
		set_cs(id, CMC_DONE);
		post(id, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0, NULL, 0);
		return;
	default:
		return;
	}
}
