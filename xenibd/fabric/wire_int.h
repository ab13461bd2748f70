/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The wire's internals, shared by wire_*.c only.  See wire.h. */
#ifndef XENIBD_FABRIC_WIRE_INT_H
#define XENIBD_FABRIC_WIRE_INT_H

#include <net/if.h>
#include <stddef.h>
#include <ucp/api/ucp.h>

#include "util/list.h"
#include "xenibd/fabric/wire.h"

/* Active message ids (a small range: UCX sizes its handler table by id). */
enum {
	XW_AM_HELLO = 1,
	XW_AM_PING = 2,
	XW_AM_DATA = 3,
};

/* HELLO, the first message on an endpoint in each direction: the user
 * header of an AM with no payload.  Little-endian. */
#define XW_HELLO_MAGIC		0x58574831u	/* "XWH1" */
#define XW_HELLO_VERSION	1
struct xw_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;		/* XW_HELLO_REFUSED or 0 */
	uint32_t from;		/* sender's host id */
	uint32_t to;		/* host id the sender believes it talks to */
	uint64_t epoch;		/* sender's epoch */
	uint64_t reserved;	/* 0 */
};

/* Flag of a HELLO that answers one with a refusal; the endpoint closes. */
#define XW_HELLO_REFUSED	1

/* PING: keepalive, the user header of an AM with no payload. */
#define XW_PING_MAGIC		0x58575031u	/* "XWP1" */
struct xw_ping {
	uint32_t magic;
	uint32_t reserved;	/* 0 */
};

/* A completion to run from xw_progress (never inside the call that made it). */
struct xw_cmpl {
	struct xw_cmpl *next;
	void (*fire)(struct xw_ctx *ctx, struct xw_cmpl *c);
};

enum xw_conn_state {
	XC_WAIT_HELLO,		/* no (accepted) HELLO from the remote yet */
	XC_UP,			/* remote's HELLO accepted */
	XC_REFUSED,		/* its HELLO refused: ours says so, then close */
	XC_CLOSING,		/* close queued or in progress */
};

/* One UCP endpoint. */
struct xw_conn {
	struct xw_ctx *ctx;
	/* Outbound: the peer from creation.  Inbound: NULL until the HELLO is
	 * accepted.  Stays set while closing (it holds a reference). */
	struct xw_peer *peer;
	ucp_ep_h ep;
	struct xw_conn *hnext;		/* ctx->ep_hash chain */
	struct list_node node;		/* ctx->conns */
	struct list_node close_node;	/* ctx->close_todo */
	enum xw_conn_state state;
	unsigned int out : 1;		/* we initiated it */
	unsigned int attached : 1;	/* in peer->dir[] */
	unsigned int retiring : 1;	/* duplicate: close when drained */
	unsigned int ping_busy : 1;	/* a PING is in flight */
	unsigned int close_issued : 1;	/* ucp_ep_close_nbx called */
	unsigned int closed : 1;	/* UCX finished closing it */
	unsigned int stuck_logged : 1;	/* said its close takes too long */
	int close_err;			/* why it closes (0: retired) */
	uint32_t inflight;		/* sends and receives referencing it */
	uint64_t created_ns, last_rx_ns, closing_ns;
	struct sockaddr_storage remote;
	socklen_t remote_len;
};

enum xw_peer_state {
	XP_CONNECTING,		/* xw_connect: outbound endpoint, no HELLO yet */
	XP_UP,			/* an endpoint is authenticated */
	XP_DYING,		/* no endpoint left; peer_down once unreferenced */
};

struct xw_peer {
	struct xw_ctx *ctx;
	uint32_t host_id;
	uint64_t epoch;			/* 0 until authenticated */
	enum xw_peer_state state;
	struct xw_conn *dir[2];		/* [0] we initiated, [1] it initiated */
	struct xw_conn *tx;		/* where xw_send goes */
	unsigned int refs;		/* conns whose ->peer is this */
	int down_err;
	void *arg;
	struct xw_peer_stats st;
	struct xw_peer *hnext;		/* ctx->peer_hash chain (live only) */
	struct list_node node;		/* ctx->peers */
	struct list_node dead_node;	/* ctx->dead_peers */
};

/* The payload of one received message; lives on the stack of the AM
 * callback. */
enum { XR_UNCLAIMED, XR_CLAIMED, XR_DROPPED };
struct xw_rx {
	struct xw_conn *conn;
	void *data;		/* eager bytes, or UCX's rendezvous descriptor */
	size_t len;
	int rndv;
	int state;
};

#define XW_HASH_BITS	8
#define XW_HASH_SIZE	(1u << XW_HASH_BITS)

struct xw_ctx {
	struct xw_config cfg;		/* strings below are our copies */
	char *listen_str, *transports, *net_devices, *cm;
	struct xw_ops ops;
	void *arg;
	char iface[IF_NAMESIZE];
	struct sockaddr_storage listen_ss;
	socklen_t listen_len;

	ucp_context_h ucp;
	ucp_worker_h worker;
	ucp_listener_h listener;
	int ucp_efd;		/* UCP's wakeup fd */
	int timer_fd;		/* keepalive tick */
	int ep_fd;		/* what xw_fd returns: epoll of the two */

	struct xw_conn *ep_hash[XW_HASH_SIZE];
	struct xw_peer *peer_hash[XW_HASH_SIZE];
	struct list_node conns;		/* every endpoint */
	struct list_node peers;		/* every peer (live and dying) */
	struct list_node close_todo;	/* conns to hand to ucp_ep_close_nbx */
	struct list_node dead_peers;	/* dying peers to check */
	unsigned int npending;		/* inbound conns without HELLO */
	struct xw_cmpl *cq_head, **cq_tail;	/* deferred completions */
	int destroying;
	struct xw_stats st;

	/* log rate limit */
	uint64_t log_window_ns;
	unsigned int log_lines, log_dropped;
};

/* wire_ctx.c */
uint64_t xw_now_ns(void);
void xw_log(struct xw_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xw_cmpl_queue(struct xw_ctx *ctx, struct xw_cmpl *c);
int xw_errno(ucs_status_t st);

/* wire_cfg.c */
int xw_parse_addr(const char *s, struct sockaddr_storage *ss,
		  socklen_t *len);
const char *xw_addr_str(const struct sockaddr *sa, char *buf, size_t len);
int xw_config_pin(struct xw_ctx *ctx, ucp_config_t *uc);

/* wire_conn.c */
struct xw_conn *xw_conn_lookup(struct xw_ctx *ctx, ucp_ep_h ep);
struct xw_peer *xw_peer_new(struct xw_ctx *ctx, uint32_t host_id);
void xw_peer_pick_tx(struct xw_peer *peer);
void xw_peer_kill(struct xw_peer *peer, int err);
void xw_conn_detach(struct xw_conn *conn, int err);
void xw_conn_kill(struct xw_conn *conn, int err);
void xw_conn_put(struct xw_conn *conn);
void xw_conn_violation(struct xw_conn *conn, const char *what);
void xw_conn_handler(ucp_conn_request_h req, void *arg);
void xw_conns_tick(struct xw_ctx *ctx, uint64_t now);
void xw_conns_close_pending(struct xw_ctx *ctx);
void xw_peers_reap(struct xw_ctx *ctx);
void xw_conns_destroy(struct xw_ctx *ctx);

/* wire_hello.c */
int xw_send_hello(struct xw_conn *conn, uint32_t to, uint16_t flags);
struct xw_conn *xw_conn_of(struct xw_ctx *ctx,
			   const ucp_am_recv_param_t *param);
ucs_status_t xw_hello_cb(void *arg, const void *hdr, size_t hdr_len,
			 void *data, size_t len,
			 const ucp_am_recv_param_t *param);
ucs_status_t xw_ping_cb(void *arg, const void *hdr, size_t hdr_len,
			void *data, size_t len,
			const ucp_am_recv_param_t *param);

/* wire_data.c */
int xw_send_internal(struct xw_conn *conn, unsigned int am_id,
		     const void *hdr, size_t hdr_len, const struct iovec *iov,
		     int iovcnt, unsigned int flags, xw_done_cb done,
		     void *arg, int user);
ucs_status_t xw_data_cb(void *arg, const void *hdr, size_t hdr_len,
			void *data, size_t len,
			const ucp_am_recv_param_t *param);

#endif /* XENIBD_FABRIC_WIRE_INT_H */
