/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenib connection-manager ABI: our librdmacm (guest) <-> xenibd.
 *
 * xenibd is the RDMA connection manager of its guests (DESIGN.md 8.6): it
 * owns the port spaces, resolves addresses and routes, and runs the IB CM
 * exchange (REQ/REP/RTU/REJ/MRA/DREQ/DREP, SIDR) for them.  This header is
 * what crosses the guest boundary; everything in it is validated by the
 * backend.  Fixed-size little-endian structures, no pointers.
 *
 * One event channel (rdma_create_event_channel) is one control channel of
 * its own, framed exactly like a verbs control channel (xenib-abi.h: struct
 * xenib_ctrl_hdr, one response per request, seq echoed, status an errno):
 *
 *   XENIB_CMD_HELLO        same guest identity as the process's verbs
 *                          contexts (so QPNs, LID and GID are the same guest's)
 *   XENIB_CM_OPEN          makes the channel an event channel and binds its
 *                          event notifier (emulation: the backend end of a
 *                          notifier pair, util/hv.h, passed with SCM_RIGHTS)
 *   XENIB_CM_*             everything else; ids live in the channel that
 *                          created them until XENIB_CM_MIGRATE_ID moves them
 *
 * Events are queued in the backend, per channel.  The backend signals the
 * notifier once for every event it queues; the guest takes events with
 * XENIB_CM_GET_EVENT (EAGAIN when none is queued).  The guest's end of the
 * notifier is the channel's fd: pollable, and O_NONBLOCK is the guest's own
 * business.  A guest keeps the fd readable exactly while events are queued
 * by draining it before GET_EVENT and signalling itself again when the
 * response says more are pending.
 *
 * Closing the channel destroys its ids as XENIB_CM_DESTROY_ID would
 * (connected peers get a DREQ, pending ones a REJ).
 */
#ifndef XENIB_CM_ABI_H
#define XENIB_CM_ABI_H

#include <linux/types.h>
#include <rdma/xenib-abi.h>

#define XENIB_CM_ABI_VERSION	1

/* Opcodes of the CM range; the verbs range (enum xenib_cmd) stays below. */
enum xenib_cm_cmd {
	XENIB_CM_OPEN		= 0x100,
	XENIB_CM_CREATE_ID	= 0x101,
	XENIB_CM_DESTROY_ID	= 0x102,
	XENIB_CM_MIGRATE_ID	= 0x103,
	XENIB_CM_BIND		= 0x104,
	XENIB_CM_QUERY		= 0x105,
	XENIB_CM_RESOLVE_ADDR	= 0x106,
	XENIB_CM_RESOLVE_ROUTE	= 0x107,
	XENIB_CM_SET_OPTION	= 0x108,
	XENIB_CM_LISTEN		= 0x109,
	XENIB_CM_CONNECT	= 0x10a,
	XENIB_CM_ACCEPT		= 0x10b,
	XENIB_CM_REJECT		= 0x10c,
	XENIB_CM_ESTABLISH	= 0x10d,
	XENIB_CM_DISCONNECT	= 0x10e,
	XENIB_CM_NOTIFY		= 0x10f,
	XENIB_CM_INIT_QP_ATTR	= 0x110,
	XENIB_CM_GET_EVENT	= 0x111,
	XENIB_CM_JOIN_MCAST	= 0x112,
	XENIB_CM_LEAVE_MCAST	= 0x113,
	XENIB_CM_OP_END
};

#define XENIB_CM_OP_FIRST	XENIB_CM_OPEN

/*
 * Private data an application may send (IB CM field sizes; for the IP port
 * spaces the first 36 bytes of REQ and SIDR REQ carry the addressing header,
 * which the backend adds and strips).  Events report these lengths exactly,
 * zero padded.
 */
#define XENIB_CM_IP_HDR		36u
#define XENIB_CM_REQ_PDATA	92u
#define XENIB_CM_REP_PDATA	196u
#define XENIB_CM_REJ_PDATA	148u
#define XENIB_CM_DREQ_PDATA	220u
#define XENIB_CM_DREP_PDATA	224u
#define XENIB_CM_SIDR_REQ_PDATA	216u
#define XENIB_CM_SIDR_REP_PDATA	136u
#define XENIB_CM_MAX_PDATA	224u	/* buffer size in the structures below */

/*
 * A socket address, normalized.  family AF_INET: addr[0..3] is the IPv4
 * address; AF_INET6: addr is the IPv6 address, scope_id and flowinfo as in
 * sockaddr_in6; AF_IB: addr is the GID, sid/sid_mask the service id (the
 * port is then sid & 0xffff).  family 0: no address.  Ports in host order.
 */
struct xenib_cm_addr {
	__u16 family;
	__u16 port;
	__u32 scope_id;
	__u8  addr[16];
	__u64 sid;
	__u64 sid_mask;
	__u32 flowinfo;
	__u32 reserved;
};

/* What an id knows of its addresses, device and path (all virtual). */
struct xenib_cm_route {
	struct xenib_cm_addr src;
	struct xenib_cm_addr dst;
	__u8  sgid[16];
	__u8  dgid[16];
	__u64 node_guid;	/* device the id is bound to, network order; 0: none */
	__u16 pkey;		/* host order */
	__u16 slid;
	__u16 dlid;
	__u8  port_num;		/* 0: not bound to a device */
	__u8  num_paths;	/* 1 once the route is resolved, else 0 */
	__u8  mtu;		/* enum ibv_mtu */
	__u8  sl;
	__u8  rate;		/* enum ibv_rate */
	__u8  packet_life_time;
	__u8  hop_limit;
	__u8  traffic_class;
	__u16 reserved0;
	__u32 flow_label;
	__u32 reserved1;
};

/* Connection parameters (rdma_conn_param), both ways. */
struct xenib_cm_conn {
	__u32 qp_num;		/* QPN the guest connects/accepts (its own) */
	__u8  srq;
	__u8  responder_resources;
	__u8  initiator_depth;
	__u8  flow_control;
	__u8  retry_count;
	__u8  rnr_retry_count;
	__u8  private_data_len;
	__u8  reserved;
	__u32 ece_vendor_id;	/* rdma_set_local_ece / rdma_get_remote_ece */
	__u32 ece_options;
	__u8  private_data[XENIB_CM_MAX_PDATA];
};

/*
 * OPEN: after HELLO.  Emulation: the notifier's backend end travels with the
 * message.  Xen: port is an unbound event-channel port for the backend.
 */
struct xenib_cm_open_req {
	struct xenib_ctrl_hdr hdr;
	__u32 abi_version;	/* XENIB_CM_ABI_VERSION */
	__u32 port;		/* Xen only, else 0 */
};

struct xenib_cm_open_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 abi_version;
	__u32 reserved;
};

/* Requests naming one id (DESTROY_ID, MIGRATE_ID, QUERY, ESTABLISH,
 * DISCONNECT) or one multicast join (LEAVE_MCAST). */
struct xenib_cm_id_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 reserved;
};

/*
 * CREATE_ID: ps is enum rdma_port_space, qp_type enum ibv_qp_type (RC, UC,
 * UD, XRC_SEND, XRC_RECV).  Response: struct xenib_handle_resp, handle = the
 * id.  MIGRATE_ID (sent on the channel the id moves to) moves an id of the
 * same guest with its queued events.
 */
struct xenib_cm_create_id_req {
	struct xenib_ctrl_hdr hdr;
	__u32 ps;
	__u32 qp_type;
};

/* BIND: response struct xenib_cm_route_resp.  QUERY and LISTEN answer so too. */
struct xenib_cm_bind_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 reserved;
	struct xenib_cm_addr addr;
};

struct xenib_cm_route_resp {
	struct xenib_ctrl_hdr hdr;
	struct xenib_cm_route route;
};

/* RESOLVE_ADDR: src family 0 for none.  Result: ADDR_RESOLVED/ADDR_ERROR. */
struct xenib_cm_resolve_addr_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 timeout_ms;
	struct xenib_cm_addr src;
	struct xenib_cm_addr dst;
};

/* RESOLVE_ROUTE: result ROUTE_RESOLVED/ROUTE_ERROR. */
struct xenib_cm_resolve_route_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 timeout_ms;
};

/* SET_OPTION: level/optname of rdma_set_option(3), integer options only. */
struct xenib_cm_set_option_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 level;
	__u32 optname;
	__u32 value;
};

struct xenib_cm_listen_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 backlog;		/* 0 or more than the backend's limit: the limit */
};

/* CONNECT and ACCEPT. */
struct xenib_cm_conn_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 reserved;
	struct xenib_cm_conn conn;
};

enum {
	XENIB_CM_REJ_CONSUMER	= 0,	/* IB CM reason 28 */
	XENIB_CM_REJ_ECE	= 1,	/* reason 35: vendor option not supported */
};

struct xenib_cm_reject_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u8  private_data_len;
	__u8  kind;		/* XENIB_CM_REJ_* */
	__u16 reserved;
	__u8  private_data[XENIB_CM_MAX_PDATA];
};

/* NOTIFY: event is enum ibv_event_type (IBV_EVENT_COMM_EST). */
struct xenib_cm_notify_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 event;
};

/* INIT_QP_ATTR: attributes for moving the id's QP to qp_state. */
struct xenib_cm_init_qp_attr_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 qp_state;		/* enum ibv_qp_state: INIT, RTR, RTS */
};

struct xenib_cm_init_qp_attr_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 attr_mask;	/* IBV_QP_* */
	__u32 reserved;
	struct xenib_qp_attr attr;
};

/*
 * GET_EVENT: bare header; EAGAIN if no event is queued.  id is the id the
 * event is for; for CONNECT_REQUEST a new id (already on this channel) and
 * listen_id the listener; for MULTICAST_* id is the id and mc the uid the
 * guest gave the join.
 * conn holds the IB CM message's parameters for connection events, ud_* and
 * ah the datagram/multicast peer for UD ids.  route is the id's route after
 * the event.
 */
struct xenib_cm_event_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 listen_id;
	__u32 mc;		/* MULTICAST_*: the join's uid */
	__u32 event;		/* enum rdma_cm_event_type */
	__s32 status;
	__u32 pending;		/* events still queued on the channel */
	__u32 ud_qp_num;
	__u32 ud_qkey;
	struct xenib_ah_attr ah;
	struct xenib_cm_conn conn;
	struct xenib_cm_route route;
};

/*
 * JOIN_MCAST: addr is the group's IP (or AF_IB MGID) address; join_flags
 * enum rdma_cm_mc_join_flags.  Response: struct xenib_handle_resp (the
 * join's handle, for LEAVE_MCAST); MULTICAST_JOIN or MULTICAST_ERROR
 * follows as an event naming uid (the event may be taken before the
 * response is read).
 */
struct xenib_cm_join_req {
	struct xenib_ctrl_hdr hdr;
	__u32 id;
	__u32 join_flags;
	__u32 uid;
	__u32 reserved;
	struct xenib_cm_addr addr;
};

#endif /* XENIB_CM_ABI_H */
