// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Service ID resolution (SIDR) for UD ids, and the parts of the REQ/SIDR
 * REQ format shared with cm_conn.c: the service id and the IP addressing
 * header the rdma_cm puts in front of the private data (IBTA Annex A11,
 * "RDMA IP CM Service": version, IP version, source port, source and
 * destination addresses; 36 bytes).
 *
 * Active:  CONNECT -> SIDR REQ ... SIDR REP -> ESTABLISHED (qpn, qkey, ah)
 *                                           or UNREACHABLE (status)
 * Passive: SIDR REQ -> CONNECT_REQUEST; ACCEPT/REJECT -> SIDR REP
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "xenibd/cm/cm.h"

#define CM_RESP_TIMEOUT	20
#define CM_MAX_RETRIES	15
#define CM_IPOIB_QKEY	0x0000000bu	/* IPoIB broadcast group Q_Key */

uint64_t cm_service_id(const struct cm_id *id)
{
	return ((uint64_t)id->ps << 16) | id->dst.port;
}

/* The addresses as the header carries them (IPv4 in the last 4 bytes). */
static void hdr_addr_put(uint8_t *p, const struct xenib_cm_addr *a)
{
	memset(p, 0, 16);
	if (a->family == AF_INET)
		memcpy(p + 12, a->addr, 4);
	else
		memcpy(p, a->addr, 16);
}

static void hdr_addr_get(const uint8_t *p, int v4, struct xenib_cm_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = v4 ? AF_INET : AF_INET6;
	if (v4)
		memcpy(a->addr, p + 12, 4);
	else
		memcpy(a->addr, p, 16);
}

void cm_ip_hdr_put(uint8_t *pd, const struct xenib_cm_addr *src,
		   const struct xenib_cm_addr *dst)
{
	uint16_t port = htobe16(src->port);

	pd[0] = 0;					/* cma version */
	pd[1] = (src->family == AF_INET ? 4 : 6) << 4;	/* IP version */
	memcpy(pd + 2, &port, 2);
	hdr_addr_put(pd + 4, src);
	hdr_addr_put(pd + 20, dst);
}

int cm_ip_hdr_get(const uint8_t *pd, uint16_t port, struct xenib_cm_addr *src,
		  struct xenib_cm_addr *dst)
{
	uint16_t sport;

	if (pd[0] != 0 || (pd[1] >> 4 != 4 && pd[1] >> 4 != 6))
		return EINVAL;
	memcpy(&sport, pd + 2, 2);
	hdr_addr_get(pd + 4, pd[1] >> 4 == 4, src);
	hdr_addr_get(pd + 20, pd[1] >> 4 == 4, dst);
	src->port = be16toh(sport);
	dst->port = port;
	return 0;
}

static uint32_t ud_qkey(const struct cm_id *id)
{
	return id->ps == RDMA_PS_IPOIB ? CM_IPOIB_QKEY : RDMA_UDP_QKEY;
}

/* SIDR messages carry the request id, the requester's handle. */
static void sidr_send(struct cm_id *id, struct cm_msg *m, uint32_t req_id)
{
	m->local_comm_id = req_id;
	m->remote_comm_id = 0;
	cm_send(id, m);
}

int cm_sidr_connect(struct cm_id *id, const struct xenib_cm_conn *p)
{
	struct cm_usage *u = cm_use(id->guest);
	struct cm_msg m;

	if (id->state != CM_ROUTE_RESOLVED)
		return EINVAL;
	if (p->private_data_len > XENIB_CM_SIDR_REQ_PDATA - XENIB_CM_IP_HDR)
		return EINVAL;
	if (u->pending >= CM_MAX_PENDING) {
		cm_log(id, "%u connections in progress, the limit", u->pending);
		return EDQUOT;
	}
	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_SIDR_REQ;
	m.service_id = cm_service_id(id);
	m.packet_life_time = id->path.packet_life_time;
	cm_ip_hdr_put(m.pdata, &id->src, &id->dst);
	memcpy(m.pdata + XENIB_CM_IP_HDR, p->private_data,
	       p->private_data_len);
	id->state = CM_CONNECT;
	id->cs = CMC_SIDR_REQ_SENT;
	cm_pending_charge(id, true);
	sidr_send(id, &m, id->h.id);
	id->last = m;
	id->retries = 0;
	cm_timer_set(id, CMT_REQ, cm_timeout_ns(CM_RESP_TIMEOUT) +
		     2 * cm_timeout_ns(id->path.packet_life_time));
	return 0;
}

static void sidr_rep(struct cm_id *id, uint8_t status, uint32_t qpn,
		     uint32_t qkey, const uint8_t *pdata, uint8_t len)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_SIDR_REP;
	m.sidr_status = status;
	m.qpn = qpn;
	m.qkey = qkey;
	if (len)
		memcpy(m.pdata, pdata, len);
	sidr_send(id, &m, id->remote_comm_id);
	id->last = m;
	id->cs = CMC_DONE;
}

int cm_sidr_accept(struct cm_id *id, const struct xenib_cm_conn *p)
{
	int err;

	if (id->cs != CMC_SIDR_REQ_RCVD || id->hidden)
		return EINVAL;
	if (p->private_data_len > XENIB_CM_SIDR_REP_PDATA)
		return EINVAL;
	err = cm_dev_check_qp(id->guest, p->qp_num, IBV_QPT_UD);
	if (err)
		return err;
	id->qpn = p->qp_num;
	id->qkey = ud_qkey(id);
	sidr_rep(id, CM_SIDR_SUCCESS, id->qpn, id->qkey, p->private_data,
		 p->private_data_len);
	return 0;
}

int cm_sidr_reject(struct cm_id *id, const uint8_t *pdata, uint8_t len)
{
	if (id->cs != CMC_SIDR_REQ_RCVD)
		return EINVAL;
	if (len > XENIB_CM_SIDR_REP_PDATA)
		return EINVAL;
	sidr_rep(id, CM_SIDR_REJECT, 0, 0, pdata, len);
	return 0;
}

void cm_sidr_rej_req(const struct cm_msg *to, uint8_t status)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_SIDR_REP;
	m.sidr_status = status;
	m.slid = to->dlid;
	m.dlid = to->slid;
	memcpy(m.sgid, to->dgid, 16);
	memcpy(m.dgid, to->sgid, 16);
	m.pkey = to->pkey;
	m.local_comm_id = to->local_comm_id;
	cm_send_raw(&m);
}

static void ev_ah(struct cm_event *ev, uint16_t lid, const uint8_t *gid)
{
	struct xenib_ah_attr *ah = &ev->resp.ah;

	memset(ah, 0, sizeof(*ah));
	ah->dlid = lid;
	memcpy(ah->dgid, gid, 16);
	ah->port_num = 1;
}

static void recv_req(const struct cm_msg *m)
{
	uint16_t port = m->service_id & 0xffff;
	uint32_t ps = (m->service_id >> 16) & 0xffff;
	struct xenib_cm_addr src, dst;
	struct cm_id *l, *nid;
	struct cm_event *ev;
	bool addressed;

	nid = cm_conn_find(m->slid, m->local_comm_id);
	if (nid) {
		if (nid->cs == CMC_DONE)	/* our answer was lost */
			sidr_send(nid, &nid->last, nid->remote_comm_id);
		return;
	}
	l = NULL;
	addressed = !(m->service_id >> 32) &&
		    (ps == RDMA_PS_UDP || ps == RDMA_PS_IPOIB ||
		     ps == RDMA_PS_IB) &&
		    !cm_ip_hdr_get(m->pdata, port, &src, &dst);
	if (addressed)
		l = cm_find_listener(ps, port, &dst);
	if (!l && addressed && cm_hold_req(m, ps, port, &dst))
		return;
	if (!l || l->qp_type != IBV_QPT_UD) {
		cm_sidr_rej_req(m, CM_SIDR_UNSUPPORTED);
		return;
	}
	if (l->pending_reqs >= l->backlog ||
	    cm_id_create(l->chan, l->ps, IBV_QPT_UD, &nid)) {
		cm_sidr_rej_req(m, CM_SIDR_REJECT);
		return;
	}
	nid->hidden = true;
	nid->src = dst;
	nid->dst = src;
	cm_dev_bind(nid);
	cm_path_init(nid, m->slid, m->sgid);
	nid->path.pkey = m->pkey;
	nid->route_valid = true;
	nid->remote_comm_id = m->local_comm_id;
	nid->state = CM_CONNECT;
	nid->cs = CMC_SIDR_REQ_RCVD;
	cm_conn_hash_add(nid);
	ev = cm_ev_new(l, RDMA_CM_EVENT_CONNECT_REQUEST, 0);
	if (!ev) {
		cm_id_destroy(nid);
		return;
	}
	ev->new_id = nid;
	ev_ah(ev, m->slid, m->sgid);
	ev->resp.conn.private_data_len = XENIB_CM_SIDR_REQ_PDATA -
					 XENIB_CM_IP_HDR;
	memcpy(ev->resp.conn.private_data, m->pdata + XENIB_CM_IP_HDR,
	       XENIB_CM_SIDR_REQ_PDATA - XENIB_CM_IP_HDR);
	cm_ev_post(ev);
}

static void recv_rep(const struct cm_msg *m)
{
	struct cm_id *id = cm_id_by_comm(m->local_comm_id);
	struct cm_event *ev;

	if (!id || id->qp_type != IBV_QPT_UD || id->cs != CMC_SIDR_REQ_SENT ||
	    !cm_may_answer(id, m->slid))
		return;
	cm_timer_stop(id);
	cm_pending_charge(id, false);
	id->cs = CMC_DONE;
	if (m->sidr_status == CM_SIDR_SUCCESS) {
		id->path.dlid = m->slid;
		memcpy(id->path.dgid, m->sgid, 16);
		id->remote_qpn = m->qpn;
		id->qkey = m->qkey;
		ev = cm_ev_new(id, RDMA_CM_EVENT_ESTABLISHED, 0);
	} else {
		ev = cm_ev_new(id, RDMA_CM_EVENT_UNREACHABLE, m->sidr_status);
	}
	if (!ev)
		return;
	if (m->sidr_status == CM_SIDR_SUCCESS) {
		ev_ah(ev, m->slid, m->sgid);
		ev->resp.ud_qp_num = m->qpn;
		ev->resp.ud_qkey = m->qkey;
	}
	ev->resp.conn.private_data_len = XENIB_CM_SIDR_REP_PDATA;
	memcpy(ev->resp.conn.private_data, m->pdata, XENIB_CM_SIDR_REP_PDATA);
	cm_ev_post(ev);
}

void cm_sidr_recv(const struct cm_msg *m)
{
	if (m->type == CM_MSG_SIDR_REQ)
		recv_req(m);
	else if (m->type == CM_MSG_SIDR_REP)
		recv_rep(m);
}

void cm_sidr_timeout(struct cm_id *id)
{
	struct cm_event *ev;

	if (id->cs != CMC_SIDR_REQ_SENT)
		return;
	if (id->retries < CM_MAX_RETRIES) {
		id->retries++;
		sidr_send(id, &id->last, id->h.id);
		cm_timer_set(id, CMT_REQ, cm_timeout_ns(CM_RESP_TIMEOUT) +
			     2 * cm_timeout_ns(id->path.packet_life_time));
		return;
	}
	cm_pending_charge(id, false);
	id->cs = CMC_DONE;
	ev = cm_ev_new(id, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT);
	if (ev)
		cm_ev_post(ev);
}
