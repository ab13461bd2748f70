// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rdma_init_qp_attr(3): the attributes the library gives ibv_modify_qp to
 * move an id's QP to INIT, RTR and RTS, from what the IB CM exchange
 * established (ib_cm's cm_init_qp_*_attr rules: access flags from the
 * responder resources, the path's address vector and MTU, the peer's QPN and
 * starting PSN, ACK timeout = packet life time + 1 unless set by
 * RDMA_OPTION_ID_ACK_TIMEOUT).
 */
#include <errno.h>
#include <string.h>

#include "xenibd/cm/cm.h"

#define CM_IPOIB_QKEY	0x0000000bu

static bool conn_known(const struct cm_id *id)
{
	switch (id->cs) {
	case CMC_REQ_RCVD:
	case CMC_REP_SENT:
	case CMC_REP_RCVD:
	case CMC_ESTABLISHED:
		return true;
	default:
		return false;
	}
}

static bool is_ud(const struct cm_id *id)
{
	return id->qp_type == IBV_QPT_UD;
}

static void init_attr(const struct cm_id *id, uint32_t *mask,
		      struct xenib_qp_attr *a)
{
	a->pkey_index = 0;
	a->port_num = 1;
	*mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT;
	if (is_ud(id)) {
		a->qkey = id->ps == RDMA_PS_IPOIB ? CM_IPOIB_QKEY :
						    RDMA_UDP_QKEY;
		*mask |= IBV_QP_QKEY;
		return;
	}
	a->qp_access_flags = 0;
	if (id->cs != CMC_IDLE && id->cs != CMC_DONE) {
		a->qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
		if (id->responder_resources)
			a->qp_access_flags |= IBV_ACCESS_REMOTE_READ |
					      IBV_ACCESS_REMOTE_ATOMIC;
	}
	*mask |= IBV_QP_ACCESS_FLAGS;
}

static int rtr_attr(const struct cm_id *id, uint32_t *mask,
		    struct xenib_qp_attr *a)
{
	*mask = IBV_QP_STATE;
	if (is_ud(id))
		return 0;
	if (!conn_known(id))
		return EINVAL;
	a->path_mtu = id->path.mtu;
	a->dest_qp_num = id->remote_qpn;
	a->rq_psn = id->remote_psn;
	a->ah.dlid = id->path.dlid;
	a->ah.sl = id->path.sl;
	a->ah.static_rate = id->path.rate;
	a->ah.port_num = 1;
	if (id->path.hop_limit > 1) {
		a->ah.is_global = 1;
		memcpy(a->ah.dgid, id->path.dgid, 16);
		a->ah.hop_limit = id->path.hop_limit;
		a->ah.traffic_class = id->path.traffic_class;
		a->ah.flow_label = id->path.flow_label;
	}
	*mask |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	if (id->qp_type == IBV_QPT_RC || id->qp_type == IBV_QPT_XRC_RECV) {
		a->max_dest_rd_atomic = id->responder_resources;
		a->min_rnr_timer = 0;	/* as ib_cm: 655.36 ms */
		*mask |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	}
	return 0;
}

static int rts_attr(const struct cm_id *id, uint32_t *mask,
		    struct xenib_qp_attr *a)
{
	unsigned int t = id->path.packet_life_time + 1;

	*mask = IBV_QP_STATE | IBV_QP_SQ_PSN;
	if (is_ud(id)) {
		a->sq_psn = 0;
		return 0;
	}
	if (!conn_known(id))
		return EINVAL;
	a->sq_psn = id->psn;
	switch (id->qp_type) {
	case IBV_QPT_RC:
	case IBV_QPT_XRC_SEND:
		a->retry_cnt = id->retry_count;
		a->rnr_retry = id->rnr_retry_count;
		a->max_rd_atomic = id->initiator_depth;
		*mask |= IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			 IBV_QP_MAX_QP_RD_ATOMIC;
		/* fall through */
	case IBV_QPT_XRC_RECV:
		a->timeout = id->ack_timeout_set ? id->ack_timeout :
						   (t > 31 ? 31 : t);
		*mask |= IBV_QP_TIMEOUT;
		break;
	default:
		break;
	}
	return 0;
}

int cm_init_qp_attr(struct cm_id *id, uint32_t state, uint32_t *mask,
		    struct xenib_qp_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	if (!id->dev_bound)
		return EINVAL;
	attr->qp_state = state;
	switch (state) {
	case IBV_QPS_INIT:
		init_attr(id, mask, attr);
		return 0;
	case IBV_QPS_RTR:
		return rtr_attr(id, mask, attr);
	case IBV_QPS_RTS:
		return rts_attr(id, mask, attr);
	}
	return EINVAL;
}
