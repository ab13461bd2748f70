/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenibd's inter-host wire (DESIGN.md 8.3): UCX UCP active messages, one
 * UCP context and worker per backend, one logical peer per remote host.
 * This layer moves opaque messages (a bounded header plus a payload) between
 * authenticated backends; sequence numbers, ACK/NAK and replay belong to the
 * RC layer above it.
 *
 * Threading: single-threaded.  Every function must be called from the thread
 * that owns the context; callbacks run from inside xw_progress() (and
 * xw_destroy(), see there), never from inside xw_send(), xw_rx_into(),
 * xw_connect() or xw_peer_close().  From a
 * callback you may call xw_send, xw_rx_into/xw_rx_drop (recv only),
 * xw_connect, xw_peer_close and the accessors; never xw_progress, xw_arm or
 * xw_destroy.
 *
 * Main loop:
 *
 *	epoll_ctl(ADD, xw_fd(ctx), EPOLLIN)
 *	for (;;) {
 *		xw_progress(ctx);
 *		if (xw_arm(ctx) == -EBUSY)
 *			continue;		// more work: do not sleep
 *		epoll_wait(...);		// xw_fd readable => loop again
 *	}
 *
 * xw_fd() is an epoll fd of the wire's own (UCP's wakeup fd and the wire's
 * keepalive timer); it never needs reading, only xw_progress().
 *
 * Transport selection (pinned in code, not by environment).  By default the
 * wire uses UCX's tcp transport on the network interface that carries
 * cfg->listen's IP address (found with getifaddrs), TCP as the sockaddr
 * connection manager, and nothing else: UCX's shared-memory transports
 * (posix, sysv, cma) would otherwise connect two "hosts" that share one
 * kernel, e.g. network namespaces, bypassing the network.  A cluster with
 * IB/RoCE sets cfg->transports (UCX transport names or aliases such as
 * "rc_verbs,ud_verbs", "rc_mlx5,ud_mlx5", "rc", "ud", "dc") and
 * cfg->net_devices (UCX device names, e.g. "mlx5_0:1"); the connection
 * manager is then rdmacm with tcp as fallback (cfg->cm overrides).  A user
 * selects them in xenibd's configuration, which fills struct xw_config.
 * Shared-memory transport names, "^..." lists and "all" are refused in
 * cfg->transports (the wire is inter-host).
 *
 * Environment (UCX 1.13): ucp_config_read() fills the config object from
 * UCX_* variables (and ucx.conf) once; ucp_config_modify() then overwrites
 * the object's fields, so UCX_TLS, UCX_NET_DEVICES,
 * UCX_SOCKADDR_TLS_PRIORITY, UCX_KEEPALIVE_* cannot override the pinning.
 * Names UCP does not know (the tcp transport's KEEPIDLE, KEEPINTVL,
 * KEEPCNT: no "TCP_" prefix) are cached by ucp_config_modify and applied
 * over each transport's environment-read config when the worker opens its
 * interfaces, so UCX_TCP_KEEP* lose too.  What the environment still can:
 * tune what the wire does not pin (thresholds, buffer sizes, UCX_LOG_LEVEL,
 * UCX_MODULES...), and make xw_new fail with EINVAL through a malformed
 * value of any UCX_* variable (ucp_config_read refuses it; a private env
 * prefix does not isolate: UCX reads UCX_* and then <prefix>_UCX_*).
 * tests/fabric/test_wire.sh runs with UCX_TLS=posix,sysv,cma,self and
 * UCX_NET_DEVICES=lo and checks the wire stays on tcp over the link.
 *
 * Peers and connections.  A peer (struct xw_peer) is one remote host (host
 * id) as seen by this backend, with one epoch.  Under it are one or two UCP
 * endpoints ("connections"): the one this host initiated (xw_connect) and/or
 * the one the remote initiated (accepted by the listener).  The first message
 * on every endpoint, in both directions, is a HELLO (magic, version, host id,
 * epoch, and the host id the sender believes it talks to); the client sends
 * its HELLO at once, the server answers with its own only after ops->auth
 * accepted the client's.  Until an endpoint's HELLO was received and
 * accepted, nothing else that arrives on it is delivered: any other message
 * first, a second HELLO, a malformed one, a wrong target host id or a refusal
 * closes that endpoint.
 *
 * Duplicates (both hosts connect to each other at once): both endpoints are
 * usable while they exist; then the host with the higher id closes its own
 * outbound endpoint once the inbound one (initiated by the lower id) is
 * authenticated and the outbound one has no sends in flight.  End state: one
 * endpoint per pair, the one the lower host id initiated.  A peer keeps at
 * most one endpoint per direction: a newly authenticated inbound endpoint
 * from a host replaces an older inbound one (the remote reconnected).  Sends
 * go on the preferred endpoint: authenticated before pending, then the one
 * the lower host id initiated.  Messages are received from every
 * authenticated endpoint of the peer.  An endpoint that authenticates with
 * another epoch than the peer's replaces the peer: the old peer goes down
 * (-ESTALE) and a new one comes up.
 *
 * Liveness: UCX's endpoint keepalive (KEEPALIVE_INTERVAL, KEEPALIVE_NUM_EPS)
 * and TCP's socket keepalive (the tcp transport's KEEPIDLE, KEEPINTVL,
 * KEEPCNT) are set from cfg->keepalive_ms, and the wire sends its own PING
 * on every authenticated endpoint every keepalive_ms: an endpoint on which
 * nothing arrived for keepalive_ms * keepalive_misses is closed
 * (-ETIMEDOUT).  So the main loop must call xw_progress well within that
 * time: a backend that stalls longer is taken for dead by its peers.  A
 * killed peer process is seen at once (its sockets close: UCX reports it
 * within milliseconds); a silent link cut only by the wire's own pings:
 * with UCX 1.13 over TCP, UCX's keepalive at a 250 ms interval had not
 * noticed a cut link after 100 s (its checks sit in the socket's send
 * queue; data in flight suppresses TCP keepalive, leaving TCP's
 * retransmission timeout, ~15 minutes with Linux's default tcp_retries2).
 * The timeout must also exceed the time the link needs to carry the largest
 * message queued ahead of a ping (64 MiB on a 1 Gb/s link: ~0.5 s): the RC
 * layer should segment very large transfers.
 *
 * Ordering (UCX 1.13): UCP's API documents no ordering for active
 * messages.  In 1.13 every AM of one endpoint, eager (short, bcopy,
 * multi-fragment) and rendezvous alike, leaves through the endpoint's one AM
 * lane, a rendezvous message being announced by its RTS on that lane, and
 * the transports the wire uses deliver a lane in order; so on one endpoint
 * ops->recv() comes in send order: tests/fabric/wire_test.c checks it over
 * thousands of mixed eager/rendezvous/forced messages (and drops).  What is
 * not ordered: the completion of a rendezvous payload (the xw_rx_into() done
 * callback) may come after recv() for later messages; messages sent on
 * different endpoints of a peer (across a duplicate resolution or a
 * reconnect) are not ordered against each other; messages in flight when an
 * endpoint fails are lost or completed with an error.  The RC layer's
 * sequence numbers must cover these, and should treat in-order arrival as
 * the common case, not a promise.
 *
 * Identity: the HELLO identifies, it does not authenticate cryptographically;
 * the wire attributes each message to the endpoint UCX names as its reply
 * endpoint (UCX's endpoint id in the AM header, looked up in the worker's
 * table of live endpoints).  Trust in a host is the directory's business.
 *
 * Everything received is hostile: header lengths above XW_HDR_MAX, payloads
 * above XW_PAYLOAD_MAX, messages without a reply endpoint, from endpoints
 * the wire does not know, or before the HELLO are dropped and (when the
 * endpoint is known) close it; the content of a delivered header is the
 * caller's to validate.
 */
#ifndef XENIBD_FABRIC_WIRE_H
#define XENIBD_FABRIC_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Largest user header of one message (bytes). */
#define XW_HDR_MAX		256
/* Most payload segments of one xw_send() or xw_rx_into(). */
#define XW_IOV_MAX		32
/* Largest payload of one message: IB's largest message (2^31 bytes). */
#define XW_PAYLOAD_MAX		(1ull << 31)

/* Defaults of struct xw_config's zero fields. */
#define XW_KEEPALIVE_MS_DEFAULT		1000
#define XW_KEEPALIVE_MISSES_DEFAULT	5
#define XW_HELLO_TIMEOUT_MS_DEFAULT	5000
#define XW_MAX_PENDING_DEFAULT		64
#define XW_MAX_INFLIGHT_DEFAULT		4096

struct xw_ctx;
struct xw_peer;
struct xw_rx;

struct xw_config {
	/* "a.b.c.d:port" or "[v6addr]:port"; port 0 picks one (xw_listen_addr).
	 * Required; a wildcard address needs net_devices. */
	const char *listen;
	uint32_t host_id;	/* this backend's host id (directory) */
	uint64_t epoch;		/* this backend's epoch (directory) */
	/* UCX transports, comma separated; NULL: "tcp" */
	const char *transports;
	/* UCX network devices, comma separated; NULL: with tcp only, the
	 * interface that carries listen's address; required otherwise */
	const char *net_devices;
	/* UCX sockaddr connection managers in priority order; NULL: "tcp"
	 * with tcp only, "rdmacm,tcp" otherwise */
	const char *cm;
	unsigned int keepalive_ms;	/* ping interval; 0: default */
	unsigned int keepalive_misses;	/* silent intervals => down; 0: default */
	unsigned int hello_timeout_ms;	/* endpoint must say HELLO; 0: default */
	unsigned int max_pending;	/* unauthenticated inbound endpoints */
	unsigned int max_inflight;	/* sends in flight per peer */
};

/* Completion of a send: the payload buffers may be reused.  status is 0 or a
 * negative errno (-ECONNRESET, -ETIMEDOUT, -ECANCELED when the endpoint
 * failed or was closed; then the message may or may not have arrived). */
typedef void (*xw_done_cb)(void *arg, int status);

/* Completion of xw_rx_into(): status 0 and len bytes landed, or a negative
 * errno (the peer failed mid-transfer, -EMSGSIZE...). */
typedef void (*xw_rx_done_cb)(void *arg, int status, size_t len);

struct xw_ops {
	/*
	 * A remote host said HELLO.  remote is the address of the other end
	 * of the endpoint: for an inbound endpoint the client's source address
	 * (its port is ephemeral: compare the IP), for an outbound one the
	 * address given to xw_connect.  Return 0 to accept, a negative errno
	 * to refuse (the endpoint is closed).  Required.
	 */
	int (*auth)(void *arg, uint32_t host_id, uint64_t epoch,
		    const struct sockaddr *remote, socklen_t remote_len);
	/* The peer has an authenticated endpoint; called once per peer, before
	 * any recv() from it.  Optional. */
	void (*peer_up)(void *arg, struct xw_peer *peer);
	/*
	 * The peer has no endpoint left; err says why the last one went:
	 *   -ETIMEDOUT  keepalive or HELLO timeout, and also a remote that
	 *               closed or died (UCX 1.13 over TCP reports a closed
	 *               socket as an endpoint timeout)
	 *   -ECONNRESET the remote closed
	 *   -ENOTCONN, -EHOSTUNREACH, -ECONNREFUSED  connect failed (no
	 *               listener, no route)
	 *   -EACCES     a HELLO was refused, by us or by the remote (which
	 *               answers a refusal with a HELLO saying so)
	 *   -EPROTO     the remote broke the protocol
	 *   -ESTALE     replaced by a peer with a new epoch
	 *   -ESHUTDOWN  xw_peer_close or xw_destroy
	 * It is the last callback about this peer: every done callback of its
	 * sends and xw_rx_into receives has been called before, and the peer
	 * is freed when peer_down returns.  Called for every peer xw_connect
	 * returned and every peer that came up.  Reconnecting is the caller's
	 * choice (xw_connect again).  Required.
	 */
	void (*peer_down)(void *arg, struct xw_peer *peer, int err);
	/*
	 * A message from an authenticated peer.  hdr (hdr_len <= XW_HDR_MAX
	 * bytes, untrusted content, 8-byte aligned) is valid during the
	 * callback only.  The
	 * payload, xw_rx_len(rx) bytes, is claimed during the callback with
	 * xw_rx_into() or released with xw_rx_drop(); rx itself is valid
	 * during the callback only.  A payload neither claimed nor dropped
	 * when recv returns is dropped.  Required.
	 */
	void (*recv)(void *arg, struct xw_peer *peer, const void *hdr,
		     size_t hdr_len, struct xw_rx *rx);
	/* One diagnostic line (no newline).  Optional: NULL logs to stderr. */
	void (*log)(void *arg, const char *msg);
};

/*
 * Create the wire: UCP context (AM + WAKEUP), worker, listener on
 * cfg->listen.  ops and arg are kept; cfg's strings are copied.  NULL and
 * errno on failure (EINVAL bad config, EADDRNOTAVAIL no interface carries
 * the listen address, EADDRINUSE, ENODEV the transports/devices are not
 * usable here), with a log line saying why.
 */
struct xw_ctx *xw_new(const struct xw_config *cfg, const struct xw_ops *ops,
		      void *arg);
/*
 * Close every endpoint (forcibly) and free everything.  Before it returns,
 * outstanding done callbacks are called (with -ECANCELED) and then
 * peer_down(peer, -ESHUTDOWN) for every peer, so per-peer state can be
 * freed there; no other callback.  Not from inside a callback.
 */
void xw_destroy(struct xw_ctx *ctx);

int xw_fd(const struct xw_ctx *ctx);
/* Progress without blocking: UCX, the keepalive timer, closes, deferred
 * completions.  Runs the callbacks. */
void xw_progress(struct xw_ctx *ctx);
/* 0: armed, xw_fd() will become readable on the next event.  -EBUSY: there
 * is work pending, call xw_progress() again before sleeping. */
int xw_arm(struct xw_ctx *ctx);

/* The bound listen address (port filled in when cfg->listen had port 0). */
int xw_listen_addr(const struct xw_ctx *ctx, struct sockaddr_storage *ss,
		   socklen_t *len);
/* The interface name the wire is pinned to ("" if net_devices was given). */
const char *xw_iface(const struct xw_ctx *ctx);

/*
 * Connect to host host_id at addr ("ip:port" of its listener).  Returns the
 * peer of that host: an existing live one as it is (addr is then ignored;
 * xw_peer_close it first to move it), or a new one whose endpoint is being
 * established.  The peer is usable at once: sends are queued behind the
 * HELLO and delivered only if the remote accepts us.  peer_up follows when
 * the remote's HELLO was accepted, peer_down if it fails.  NULL and errno:
 * EINVAL (bad address, own host id), ENOMEM, or UCX's refusal.
 */
struct xw_peer *xw_connect(struct xw_ctx *ctx, uint32_t host_id,
			   const char *addr);
/* The live peer of host_id, or NULL. */
struct xw_peer *xw_peer_find(struct xw_ctx *ctx, uint32_t host_id);
/* Close the peer's endpoints (forcibly: sends in flight complete with
 * -ECANCELED); peer_down(peer, -ESHUTDOWN) follows from xw_progress. */
void xw_peer_close(struct xw_peer *peer);

uint32_t xw_peer_host_id(const struct xw_peer *peer);
/* The epoch the peer authenticated with; 0 before peer_up. */
uint64_t xw_peer_epoch(const struct xw_peer *peer);
int xw_peer_is_up(const struct xw_peer *peer);
void xw_peer_set_arg(struct xw_peer *peer, void *arg);
void *xw_peer_arg(const struct xw_peer *peer);

struct xw_peer_stats {
	uint64_t tx_msgs, tx_bytes;	/* posted by xw_send (header + payload) */
	uint64_t rx_msgs, rx_bytes;	/* delivered to recv (header + payload) */
	uint64_t tx_errors;		/* sends completed with an error */
	uint64_t rx_errors;		/* protocol violations, failed rx_into */
	uint64_t rx_dropped;		/* payloads dropped (xw_rx_drop, unclaimed) */
	uint64_t conns;			/* endpoints authenticated, ever */
	uint32_t inflight;		/* sends not yet completed */
	uint8_t out_conn, in_conn;	/* endpoints now: we / it initiated */
	uint8_t tx_out;			/* sends go on the one we initiated */
};
void xw_peer_stats(const struct xw_peer *peer, struct xw_peer_stats *st);

struct xw_stats {
	uint64_t accepted;	/* inbound endpoints created */
	uint64_t rejected;	/* inbound connections refused: max_pending */
	uint64_t auth_refused;	/* HELLOs ops->auth refused */
	uint64_t proto_errors;	/* endpoints closed for a protocol violation */
	uint64_t unattributed;	/* messages from no known endpoint: dropped */
	uint64_t timeouts;	/* endpoints closed: HELLO or keepalive timeout */
};
void xw_stats(const struct xw_ctx *ctx, struct xw_stats *st);

/* Send flags. */
#define XW_SEND_EAGER	(1u << 0)	/* force UCX's eager protocol */
#define XW_SEND_RNDV	(1u << 1)	/* force rendezvous */

/*
 * Send one active message: the header hdr (hdr_len <= XW_HDR_MAX; copied,
 * reusable when xw_send returns) and the payload iov[0..iovcnt) (iovcnt <=
 * XW_IOV_MAX, 0 for none; the array is copied, the buffers must stay valid
 * and unchanged until done).  UCX picks eager or rendezvous by size unless
 * flags force one.  0: done(arg, status) will be called exactly once, from
 * xw_progress.  Negative errno: done will not be called (-ENOTCONN peer
 * down or closing, -EMSGSIZE, -EINVAL, -EAGAIN max_inflight reached,
 * -ENOMEM).
 */
int xw_send(struct xw_peer *peer, const void *hdr, size_t hdr_len,
	    const struct iovec *iov, int iovcnt, unsigned int flags,
	    xw_done_cb done, void *arg);

/* The payload's length (remote-chosen: check it before claiming). */
size_t xw_rx_len(const struct xw_rx *rx);
/* Eager payload: its bytes, valid during the recv callback only.  NULL for a
 * rendezvous payload (not here yet: claim it with xw_rx_into). */
const void *xw_rx_data(const struct xw_rx *rx);
int xw_rx_is_rndv(const struct xw_rx *rx);

/*
 * Land the payload in iov[0..iovcnt) (filled in order; the total must be at
 * least xw_rx_len(rx)).  Only during the recv callback, at most once per rx.
 * Eager: copied now.  Rendezvous: UCX fetches it directly into the buffers
 * (ucp_am_recv_data_nbx), which must stay valid until done.  0: done(arg,
 * status, len) will be called exactly once, from xw_progress, never from
 * inside xw_rx_into.  Negative errno: done will not be called and the
 * payload is dropped (-EMSGSIZE iov too small, -EINVAL, -EALREADY claimed
 * already, -ENOMEM).
 */
int xw_rx_into(struct xw_rx *rx, const struct iovec *iov, int iovcnt,
	       xw_rx_done_cb done, void *arg);
/*
 * Release the payload unread.  A rendezvous payload is never transferred and
 * the sender's done callback receives -ECANCELED.  Unclaimed payloads are
 * dropped the same way when recv returns.
 */
void xw_rx_drop(struct xw_rx *rx);

#endif /* XENIBD_FABRIC_WIRE_H */
