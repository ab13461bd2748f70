/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The IB CM messages one connection manager sends another (IBTA vol. 1
 * ch. 12: REQ, MRA, REJ, REP, RTU, DREQ, DREP, SIDR REQ, SIDR REP), as
 * xenibd's CM exchanges them.  Today both ends are on this host (the local
 * peer, cm_peer.c); the fabric peer will carry the same struct between
 * backends, so a received message is checked field by field (cm_msg_check)
 * as if another host had sent it.
 *
 * The fields are the IB CM fields the connection needs, plus the LRH/GRH
 * addressing of the MAD (slid/dlid, sgid/dgid) a real CM would see.
 */
#ifndef XENIBD_CM_MSG_H
#define XENIBD_CM_MSG_H

#include <stdint.h>
#include <rdma/xenib-cm-abi.h>

enum cm_msg_type {
	CM_MSG_REQ = 1,
	CM_MSG_MRA,
	CM_MSG_REJ,
	CM_MSG_REP,
	CM_MSG_RTU,
	CM_MSG_DREQ,
	CM_MSG_DREP,
	CM_MSG_SIDR_REQ,
	CM_MSG_SIDR_REP,
	CM_MSG_MAX
};

/* REJ reasons (IBTA table 112) we send or report. */
enum {
	CM_REJ_TIMEOUT		= 1,
	CM_REJ_INVALID_SID	= 8,	/* no listener */
	CM_REJ_STALE_CONN	= 10,
	CM_REJ_CONSUMER		= 28,
	CM_REJ_VENDOR_OPT	= 35,	/* ECE: vendor option not supported */
};

/* SIDR REP statuses. */
enum {
	CM_SIDR_SUCCESS		= 0,
	CM_SIDR_UNSUPPORTED	= 1,	/* no listener */
	CM_SIDR_REJECT		= 2,
	CM_SIDR_NO_QP		= 3,
};

struct cm_msg {
	uint8_t  type;			/* enum cm_msg_type */
	uint8_t  qp_type;		/* REQ: IBV_QPT_RC, UC or XRC_SEND */
	uint8_t  msg_ref;		/* REJ/MRA: CM_MSG_REQ, CM_MSG_REP or 0 */
	uint8_t  sidr_status;		/* SIDR REP */
	uint16_t rej_reason;		/* REJ */
	uint16_t pkey;
	/* The MAD's addressing: from port (slid, sgid) to port (dlid, dgid). */
	uint16_t slid;
	uint16_t dlid;
	uint8_t  sgid[16];
	uint8_t  dgid[16];
	uint32_t local_comm_id;		/* SIDR: the request id */
	uint32_t remote_comm_id;
	uint64_t service_id;
	uint32_t qpn;			/* REQ/REP: sender's QPN; SIDR REP: the QPN */
	uint32_t psn;			/* REQ/REP: starting PSN */
	uint32_t qkey;			/* SIDR REP */
	uint8_t  responder_resources;
	uint8_t  initiator_depth;
	uint8_t  retry_count;
	uint8_t  rnr_retry_count;
	uint8_t  flow_control;
	uint8_t  srq;
	uint8_t  mtu;			/* enum ibv_mtu of the path */
	uint8_t  packet_life_time;
	uint8_t  service_timeout;	/* MRA */
	uint8_t  reserved[3];
	uint32_t ece_vendor_id;
	uint32_t ece_options;
	uint8_t  pdata[XENIB_CM_MAX_PDATA];	/* size by type, zero padded */
};

/* Private-data size of a message type (IB CM field sizes). */
unsigned int cm_msg_pdata_len(uint8_t type);
/* 0 if m is well formed, else EINVAL (never trust a received message). */
int cm_msg_check(const struct cm_msg *m);

#endif /* XENIBD_CM_MSG_H */
