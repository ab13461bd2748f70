/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenibd's connection manager (DESIGN.md 8.6): the backend half of our
 * librdmacm.  Guests reach it over event channels (xenib-cm-abi.h); it keeps
 * the rdma_cm ids, the port spaces and listeners, resolves addresses and
 * routes, and runs the IB CM exchange between ids through a peer seam
 * (cm_peer.c: local delivery today, another host's backend later).
 *
 * Layering, as in Linux (rdma_cm over ib_cm):
 *   cm_addr.c   addresses, port spaces, bind/listen/resolve (rdma_cm states)
 *   cm_conn.c   REQ/REP/RTU/REJ/MRA/DREQ/DREP state machine (IB CM states)
 *   cm_sidr.c   SIDR REQ/REP for UD ids
 *   cm_mcast.c  multicast joins
 *   cm_qp.c     QP attributes for the library's state transitions
 *   cm_dev.c    the only window on the device model (guests, QPs)
 *   cm_chan.c   event channels and their event queues
 *   cm_id.c     ids, quotas, timers, teardown
 *   cm_ctrl.c   the control messages: validation and dispatch
 */
#ifndef XENIBD_CM_H
#define XENIBD_CM_H

#include <stdbool.h>
#include <stdint.h>

#include <rdma/rdma_cma.h>

#include "xenibd/dev/dev.h"
#include "xenibd/cm/cm_hook.h"
#include "xenibd/cm/cm_msg.h"

/*
 * Per-guest limits: a guest can never hold more than this, whatever it
 * sends, and a guest connecting to another can never make it hold more
 * than its listeners' backlogs.
 */
#define CM_MAX_IDS		4096u	/* ids per guest (listeners and new ids too) */
#define CM_MAX_LISTEN		256u	/* listening ids per guest */
#define CM_MAX_PENDING		1024u	/* outgoing connections in progress per guest */
#define CM_MAX_BACKLOG		1024u	/* connection requests queued per listener */
#define CM_MAX_MCAST		256u	/* multicast joins per guest */
#define CM_MAX_ID_EVENTS	16u	/* events queued per id (a well-behaved id has 1-3) */
/* RDMA reads/atomics in flight per QP: the virtual device's limit. */
#define CM_MAX_RD_ATOMIC	16u

/* Ephemeral ports, as Linux's default ip_local_port_range. */
#define CM_PORT_LO		32768u
#define CM_PORT_HI		60999u

/* rdma_cm level states (the ids' address/route life). */
enum cm_state {
	CM_IDLE,
	CM_ADDR_BOUND,
	CM_ADDR_RESOLVED,
	CM_ROUTE_RESOLVED,
	CM_LISTEN,
	CM_CONNECT,		/* the IB CM exchange runs (conn below) */
	CM_DISCONNECT,		/* after DREQ/DREP, REJ or an error */
};

/* IB CM level states of a connection. */
enum cm_conn_state {
	CMC_IDLE,
	CMC_REQ_SENT,
	CMC_REQ_RCVD,		/* CONNECT_REQUEST queued or being decided */
	CMC_REP_SENT,		/* waiting for the RTU */
	CMC_REP_RCVD,		/* CONNECT_RESPONSE; waiting for ESTABLISH */
	CMC_ESTABLISHED,
	CMC_DREQ_SENT,
	CMC_DREQ_RCVD,
	CMC_TIMEWAIT,
	CMC_SIDR_REQ_SENT,
	CMC_SIDR_REQ_RCVD,
	CMC_DONE,		/* rejected, accepted (SIDR) or timed out */
};

enum cm_timer {
	CMT_NONE,
	CMT_REQ,		/* REQ (or SIDR REQ) waiting for an answer */
	CMT_REP,		/* REP waiting for the RTU */
	CMT_DREQ,		/* DREQ waiting for the DREP */
	CMT_TIMEWAIT,
	CMT_HELD,		/* bound, not listening: a REQ held (cm_hold.c) */
};

/* The path of a route (struct ibv_sa_path_rec, in host order). */
struct cm_path {
	uint8_t  sgid[16];
	uint8_t  dgid[16];
	uint16_t slid;
	uint16_t dlid;
	uint16_t pkey;
	uint8_t  mtu;
	uint8_t  sl;
	uint8_t  rate;
	uint8_t  packet_life_time;
	uint8_t  hop_limit;
	uint8_t  traffic_class;
	uint32_t flow_label;
};

struct cm_chan {
	struct xd_ctx *ctx;
	struct xd_notify *notify;	/* signalled once per queued event */
	struct list_node events;	/* struct cm_event, oldest first */
	unsigned int nevents;
	struct list_node ids;		/* struct cm_id.chan_link */
	struct list_node link;		/* cm.chans */
};

struct cm_mcast;

struct cm_event {
	struct list_node link;
	struct cm_id *owner;		/* the id (the listener for CONNECT_REQUEST) */
	struct cm_id *new_id;		/* CONNECT_REQUEST: the new id */
	struct cm_mcast *mc;		/* MULTICAST_*: the join */
	struct xenib_cm_event_resp resp;
};

struct cm_id {
	struct xd_handle h;		/* h.id: the id's handle and local comm id */
	struct cm_chan *chan;
	struct xd_guest *guest;		/* owner (constant across migration) */
	struct list_node chan_link;
	uint32_t ps;			/* enum rdma_port_space */
	uint32_t qp_type;		/* enum ibv_qp_type */
	enum cm_state state;
	bool dev_bound;			/* bound to the guest's device port */
	bool hidden;			/* new id whose CONNECT_REQUEST is queued */
	bool remote_dst;		/* dst is another host's (cm.remote) */
	struct xenib_cm_addr src, dst;

	/* rdma_set_option */
	uint8_t tos;
	uint8_t ack_timeout;
	bool ack_timeout_set;
	bool reuseaddr;
	bool afonly;

	/* port space (cm_addr.c) */
	bool port_bound;
	struct list_node port_link;
	uint32_t backlog;		/* listener */
	uint32_t pending_reqs;		/* listener: CONNECT_REQUESTs not taken yet */

	struct cm_path path;
	bool route_valid;

	/* IB CM (cm_conn.c, cm_sidr.c) */
	enum cm_conn_state cs;
	uint32_t remote_comm_id;
	uint32_t qpn, remote_qpn;
	uint32_t psn, remote_psn;
	uint32_t qkey;			/* UD: our qkey; active: the peer's */
	uint8_t srq, flow_control;
	uint8_t responder_resources, initiator_depth;
	uint8_t retry_count, rnr_retry_count;
	uint8_t remote_cm_timeout;	/* how long the peer lets us answer */
	uint32_t local_ece_vendor, local_ece_options;
	bool in_conn_hash;
	struct list_node conn_link;	/* cm.conn_hash by (peer LID, remote comm id) */
	bool pending_charged;		/* counted in the guest's CM_MAX_PENDING */

	/* one timer per id */
	enum cm_timer timer;
	uint64_t deadline_ns;
	unsigned int retries;
	struct list_node timer_link;
	struct cm_msg last;		/* what a retry resends */
	struct cm_msg *held_req;	/* came before rdma_listen (cm_hold.c) */

	unsigned int nevents;		/* queued events owned by this id */
	struct list_node mcs;		/* struct cm_mcast.id_link */
};

/* Per-guest usage, indexed by struct xd_guest.id. */
struct cm_usage {
	uint32_t ids, listens, pending, mcs;
};

struct cm_stats {
	long long chans, ids, listens, conns, mcs;
	long long msgs_sent, msgs_dropped, events, events_dropped;
};

/* The CM's peer seam: where a message for (dlid, dgid) goes. */
struct cm_peer_ops {
	/* Queue m for delivery (a port here) or hand it to cm.remote; 0, or
	 * EHOSTUNREACH if no port has that LID. */
	int (*send)(const struct cm_msg *m);
};

/*
 * A port whose listener went away lately (cm_hold.c): remembered for
 * CM_RELISTEN_MS, with at most one REQ kept for it.
 */
#define CM_RELISTEN_SLOTS	32u
struct cm_relisten {
	uint16_t port;			/* in any port space */
	uint64_t until_ns;		/* 0: a free slot */
	struct cm_msg *req;		/* kept until an id binds the port */
	uint64_t req_until_ns;
};

#define CM_PORT_BUCKETS	1024u
#define CM_CONN_BUCKETS	1024u

struct cm_global {
	bool ready;
	struct xd_table ids;
	struct xd_table mcs;
	struct list_node chans;
	struct list_node ports[CM_PORT_BUCKETS];	/* cm_id.port_link */
	struct list_node conns[CM_CONN_BUCKETS];	/* cm_id.conn_link */
	struct list_node timers;			/* cm_id.timer_link */
	uint64_t next_timer_ns;
	struct list_node inbox;				/* struct cm_inmsg */
	unsigned int ninbox;
	struct cm_usage *use;				/* xd.cfg.max_guests */
	const struct cm_peer_ops *peer;
	const struct xd_cm_remote_ops *remote;		/* NULL: one host */
	uint64_t (*clock)(void);	/* xd_now_ns; unit tests move time */
	struct cm_stats stats;
	struct cm_relisten relisten[CM_RELISTEN_SLOTS];	/* cm_hold.c */
};


extern struct cm_global cm;

static inline uint64_t cm_now(void)
{
	return cm.clock();
}

/* cm_id.c */
int cm_init(void);
struct cm_id *cm_id_get(struct cm_chan *ch, uint32_t handle);
struct cm_id *cm_id_by_comm(uint32_t comm_id);
int cm_id_create(struct cm_chan *ch, uint32_t ps, uint32_t qp_type,
		 struct cm_id **out);
void cm_id_destroy(struct cm_id *id);
int cm_id_migrate(struct cm_chan *to, uint32_t handle);
struct cm_usage *cm_use(const struct xd_guest *g);
void cm_timer_set(struct cm_id *id, enum cm_timer t, uint64_t after_ns);
void cm_timer_stop(struct cm_id *id);
void cm_route_fill(const struct cm_id *id, struct xenib_cm_route *r);
void cm_conn_hash_add(struct cm_id *id);
void cm_conn_hash_del(struct cm_id *id);
struct cm_id *cm_conn_find(uint16_t peer_lid, uint32_t remote_comm_id);
void cm_pending_charge(struct cm_id *id, bool on);
/* Log through the id's context (rate limited per context). */
void cm_log(const struct cm_id *id, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* cm_chan.c */
/* The notifier: *fd (set to -1 when taken) or port, as BIND_NOTIFY's. */
int cm_chan_open(struct xd_ctx *ctx, int *fd, uint32_t port);
void cm_chan_close(struct cm_chan *ch);
/* A new event of id; fill resp, then cm_ev_post().  NULL: dropped. */
struct cm_event *cm_ev_new(struct cm_id *owner, uint32_t event, int32_t status);
void cm_ev_post(struct cm_event *ev);
int cm_ev_get(struct cm_chan *ch, struct xenib_cm_event_resp *resp);
void cm_ev_purge(struct cm_id *id);
void cm_ev_purge_mc(struct cm_id *id, const struct cm_mcast *mc);
void cm_ev_migrate(struct cm_id *id, struct cm_chan *to);

/* cm_addr.c */
int cm_addr_check(struct xenib_cm_addr *a, bool allow_none);
bool cm_addr_is_any(const struct xenib_cm_addr *a);
int cm_bind(struct cm_id *id, const struct xenib_cm_addr *a);
void cm_unbind(struct cm_id *id);
int cm_resolve_addr(struct cm_id *id, const struct xenib_cm_addr *src,
		    const struct xenib_cm_addr *dst, uint32_t timeout_ms);
int cm_resolve_route(struct cm_id *id, uint32_t timeout_ms);
int cm_listen(struct cm_id *id, uint32_t backlog);
int cm_set_option(struct cm_id *id, uint32_t level, uint32_t name,
		  uint32_t value);
/* The id bound to (ps, port) covering dst and not listening, or NULL. */
struct cm_id *cm_find_bound(uint32_t ps, uint16_t port,
			    const struct xenib_cm_addr *dst);
struct cm_id *cm_find_listener(uint32_t ps, uint16_t port,
			       const struct xenib_cm_addr *dst);
void cm_dev_bind(struct cm_id *id);
void cm_path_init(struct cm_id *id, uint16_t dlid, const uint8_t *dgid);

/* cm_conn.c */
int cm_connect(struct cm_id *id, const struct xenib_cm_conn *p);
int cm_accept(struct cm_id *id, const struct xenib_cm_conn *p);
int cm_reject(struct cm_id *id, const uint8_t *pdata, uint8_t len,
	      uint8_t kind);
int cm_establish(struct cm_id *id);
int cm_disconnect(struct cm_id *id);
int cm_notify(struct cm_id *id, uint32_t event);
/* An id going away: tell the peer what the IB CM would (REJ, DREQ...). */
void cm_conn_abort(struct cm_id *id);
void cm_conn_recv(const struct cm_msg *m);
/* REJ (reason) to the sender of REQ m, no id of ours involved. */
void cm_conn_rej_req(const struct cm_msg *m, uint16_t reason);

/* cm_hold.c: a REQ (or SIDR REQ) that came before its listener. */
bool cm_hold_req(const struct cm_msg *m, uint32_t ps, uint16_t port,
		 const struct xenib_cm_addr *dst);
/* Receive the held REQ (listening) or reject it; none held: nothing. */
void cm_hold_release(struct cm_id *id, bool listening);
/* A listener stops listening: its port is remembered for a while. */
void cm_hold_remember(const struct cm_id *l);
/* An id was bound (rdma_bind_addr): a REQ kept for its port goes to it. */
void cm_hold_bound(struct cm_id *id);
/* Reject what waited too long; the next deadline (UINT64_MAX: none). */
uint64_t cm_hold_expire(uint64_t now);
void cm_conn_timeout(struct cm_id *id, enum cm_timer t);
/* Send m from id's port to its peer; fills addressing.  0 or errno. */
int cm_send(struct cm_id *id, struct cm_msg *m);
int cm_send_raw(struct cm_msg *m);
uint64_t cm_timeout_ns(unsigned int t);

/* cm_sidr.c */
int cm_sidr_connect(struct cm_id *id, const struct xenib_cm_conn *p);
int cm_sidr_accept(struct cm_id *id, const struct xenib_cm_conn *p);
int cm_sidr_reject(struct cm_id *id, const uint8_t *pdata, uint8_t len);
void cm_sidr_recv(const struct cm_msg *m);
/* SIDR REP (status) to the sender of SIDR REQ m, no id of ours involved. */
void cm_sidr_rej_req(const struct cm_msg *m, uint8_t status);
void cm_sidr_timeout(struct cm_id *id);
/* The IP header of REQ/SIDR REQ private data (IP port spaces). */
void cm_ip_hdr_put(uint8_t *pd, const struct xenib_cm_addr *src,
		   const struct xenib_cm_addr *dst);
int cm_ip_hdr_get(const uint8_t *pd, uint16_t port, struct xenib_cm_addr *src,
		  struct xenib_cm_addr *dst);
bool cm_ps_is_ip(uint32_t ps);
uint64_t cm_service_id(const struct cm_id *id);

/* cm_qp.c */
int cm_init_qp_attr(struct cm_id *id, uint32_t state, uint32_t *mask,
		    struct xenib_qp_attr *attr);

/* cm_mcast.c */
int cm_mcast_join(struct cm_id *id, const struct xenib_cm_addr *a,
		  uint32_t flags, uint32_t uid, uint32_t *handle);
int cm_mcast_leave(struct cm_chan *ch, uint32_t handle);
void cm_mcast_leave_all(struct cm_id *id);

/* cm_dev.c: the device model, as the CM needs it */
struct cm_port {
	uint16_t lid;
	uint8_t gid[16];
	uint64_t guid;			/* network order */
};
void cm_dev_port(const struct xd_guest *g, struct cm_port *p);
struct xd_guest *cm_dev_guest_by_lid(uint16_t lid);
struct xd_guest *cm_dev_guest_by_gid(const uint8_t gid[16]);
/* qpn is g's own QP of a type an id of id_qp_type connects: 0 or EINVAL. */
int cm_dev_check_qp(const struct xd_guest *g, uint32_t qpn,
		    uint32_t id_qp_type);

/* cm_peer.c */
extern const struct cm_peer_ops cm_local_peer;
void cm_inbox_run(void);
/*
 * May port slid answer id's request before the peer is known (REP, REJ,
 * MRA, SIDR REP)?  Only a port of the host the request went to: a guest
 * of this host, or of the other host that serves the route's LID.
 */
bool cm_may_answer(const struct cm_id *id, uint16_t slid);
void cm_inbox_clear(void);

#endif /* XENIBD_CM_H */
