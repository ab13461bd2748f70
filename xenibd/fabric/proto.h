/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The messages backends exchange over the wire (wire.h) to carry IB's
 * transport between hosts (DESIGN.md 8.3): every verb as an active message
 * with virtual addresses only (LIDs, QPNs, rkeys, the guest's addresses),
 * answered as IB's RC transport answers.  Fixed-size little-endian
 * structs, the header's magic, version, kind and length checked first;
 * every field is validated by the receiver (proto.c) before use: another
 * host's backend may be compromised.
 *
 *   REQ      one request of a message (<= XD_SLICE_BYTES): SEND, RDMA
 *            WRITE (payload follows), RDMA READ, atomics, UD datagrams
 *   ANSWER   ACK or NAK of a request, cumulative (RC, XRC)
 *   READ_RESP  the bytes a READ request asked for (payload follows), an
 *            ACK of it
 *   MIG_OFFER  a migration's source to its destination: a guest's
 *            snapshot (payload, migrate/snap.h) and its location's revision
 *   MIG_ANSWER the destination's answer: committed (with where the guest
 *            reaches it) or refused (errno)
 *   MIG_QUERY  the source asks again, after its answer was lost
 *   MIG_RESUMED  the destination to the source: every context of the
 *            guest runs there now (the end of its blackout)
 *   CM       an IB CM message (REQ, REP, RTU, REJ, MRA, DREQ, DREP, SIDR
 *            REQ/REP) from a guest's port here to one there; its private
 *            data follows as the payload (xenibd/cm/cm_msg.h, fcm.c)
 * (docs/migration.md)
 */
#ifndef XENIBD_FABRIC_PROTO_H
#define XENIBD_FABRIC_PROTO_H

#include <stdint.h>
#include <linux/types.h>

#define XF_MAGIC	0x4658	/* "XF" */
#define XF_VERSION	1
#define XF_MAX_LID	0xbfff		/* unicast */
#define XF_MAX_QPN	0xffffff	/* 24 bits, as IB's */

enum xf_kind {
	XF_REQ = 1,
	XF_ANSWER = 2,
	XF_READ_RESP = 3,
	XF_MIG_OFFER = 4,
	XF_MIG_ANSWER = 5,
	XF_MIG_QUERY = 6,
	XF_MIG_RESUMED = 7,
	XF_CM = 8,
};

struct xf_hdr {
	__u16 magic;
	__u8 version;
	__u8 kind;		/* enum xf_kind */
	__u32 len;		/* of the whole header struct */
};

/* REQ flags (as XD_REQ_* of the engine, plus the WQE's). */
enum {
	XF_FIRST	= 1,
	XF_LAST		= 2,
	XF_SOLICITED	= 4,
	XF_GRH		= 8,	/* UD: the sender's AH is global */
};

struct xf_req {
	struct xf_hdr h;
	__u16 src_lid, dst_lid;
	__u32 src_qpn, dst_qpn;
	__u32 seq;
	__u32 tx_epoch;		/* the sender's QP incarnation, echoed */
	__u32 qp_type;		/* the sender's QP type */
	__u32 opcode;		/* IBV_WR_* */
	__u32 flags;		/* XF_* */
	__u32 imm_data;		/* network order, as in the WQE */
	__u64 msg_len;
	__u64 offset;
	__u32 len;		/* payload (SEND, WRITE) or bytes asked (READ) */
	__u32 rkey;
	__u64 remote_addr;
	__u64 compare_add, swap;
	__u32 remote_srqn;	/* XRC */
	__u32 qkey;		/* UD */
	__u64 src_guid;		/* host order */
	__u8 sl, hop_limit, traffic_class, reserved;
	__u32 flow_label;
	__u8 dgid[16];
};

/* ANSWER / READ_RESP: to the requester's QP, about request seq. */
struct xf_answer {
	struct xf_hdr h;
	__u16 req_lid;		/* the requester (its host is the receiver) */
	__u16 reserved;
	__u32 req_qpn;
	__u32 tx_epoch;		/* as the request said */
	__u32 seq;
	__u8 ack;		/* enum xd_ack, or XF_NAK_SEQ */
	__u8 rnr_timer;
	__u16 reserved2;
	__u32 expected;		/* XF_NAK_SEQ: send again from here */
	__u64 atomic_orig;
	__u32 len;		/* READ_RESP: payload bytes */
	__u32 reserved3;
};

/* MIG_OFFER: payload snap_len bytes (<= XF_MIG_MAX_SNAP). */
#define XF_MIG_MAX_SNAP	(64u << 20)

struct xf_mig_offer {
	struct xf_hdr h;
	__u16 lid;
	__u16 reserved;
	__u32 xid;		/* the handover's id, chosen by the source */
	__s64 loc_rev;		/* mod revision of loc/<lid> the commit expects */
	__u64 loc_gen;
	char transport[16];	/* the guest's transport ("emulated") */
	char name[64];		/* the guest */
	__u32 snap_len;
	__u32 reserved2;
};

/* MIG_ANSWER, MIG_RESUMED (destination -> source), MIG_QUERY (source ->
 * destination). */
struct xf_mig_answer {
	struct xf_hdr h;
	__u16 lid;
	__u16 reserved;
	__u32 xid;
	__u32 status;		/* ANSWER: 0 committed, else errno; QUERY: 0 */
	__u32 reserved2;
	char addr[108];		/* ANSWER, committed: the transport's address */
};

/*
 * CM: the fields of struct cm_msg (xenibd/cm/cm_msg.h) the IB CM message
 * carries, in a fixed layout; payload: exactly the private data of its
 * type (cm_msg_pdata_len, <= XF_CM_MAX_PDATA).
 */
#define XF_CM_MAX_PDATA	224u

struct xf_cm {
	struct xf_hdr h;
	__u8 type;		/* enum cm_msg_type */
	__u8 qp_type;
	__u8 msg_ref;
	__u8 sidr_status;
	__u16 rej_reason;
	__u16 pkey;
	__u16 slid, dlid;
	__u32 pdata_len;
	__u8 sgid[16];
	__u8 dgid[16];
	__u32 local_comm_id;
	__u32 remote_comm_id;
	__u64 service_id;
	__u32 qpn;
	__u32 psn;
	__u32 qkey;
	__u8 responder_resources;
	__u8 initiator_depth;
	__u8 retry_count;
	__u8 rnr_retry_count;
	__u8 flow_control;
	__u8 srq;
	__u8 mtu;
	__u8 packet_life_time;
	__u8 service_timeout;
	__u8 reserved[3];
	__u32 ece_vendor_id;
	__u32 ece_options;
	__u32 reserved2[2];	/* 112 bytes, no padding */
};

/* Beyond enum xd_ack: the responder expected another sequence number. */
#define XF_NAK_SEQ	100

struct xd_req;

/*
 * Checks of a received header (proto.c): 0 if it is well formed for its
 * kind, with the payload length the wire says (len), else EPROTO/EINVAL.
 */
int xf_check_req(const void *hdr, size_t hdr_len, size_t payload);
int xf_check_answer(const void *hdr, size_t hdr_len, size_t payload);
int xf_check_mig_offer(const void *hdr, size_t hdr_len, size_t payload);
int xf_check_mig_answer(const void *hdr, size_t hdr_len, size_t payload);
/* The header only: the CM checks the message itself (cm_msg_check). */
int xf_check_cm(const void *hdr, size_t hdr_len, size_t payload);
/* The kind of a header that passed xf_check_hdr, or 0. */
int xf_kind(const void *hdr, size_t hdr_len);

#endif /* XENIBD_FABRIC_PROTO_H */
