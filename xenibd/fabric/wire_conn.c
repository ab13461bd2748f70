// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire's endpoints and peers: connect and accept, lookup tables,
 * keepalive, failure, close, and when peer_down comes (wire.h has the
 * rules; the HELLO exchange is in wire_hello.c).
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/wire_int.h"

static unsigned int hash_ptr(const void *p)
{
	uint64_t v = (uint64_t)(uintptr_t)p;

	v ^= v >> 29;
	v *= 0x9e3779b97f4a7c15ull;
	return (unsigned int)(v >> (64 - XW_HASH_BITS));
}

static unsigned int hash_host(uint32_t id)
{
	return (id * 2654435761u) >> (32 - XW_HASH_BITS);
}

struct xw_conn *xw_conn_lookup(struct xw_ctx *ctx, ucp_ep_h ep)
{
	struct xw_conn *c;

	for (c = ctx->ep_hash[hash_ptr(ep)]; c; c = c->hnext)
		if (c->ep == ep)
			return c;
	return NULL;
}

static void ep_hash_add(struct xw_conn *c)
{
	struct xw_conn **h = &c->ctx->ep_hash[hash_ptr(c->ep)];

	c->hnext = *h;
	*h = c;
}

static void ep_hash_del(struct xw_conn *c)
{
	struct xw_conn **pp = &c->ctx->ep_hash[hash_ptr(c->ep)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			return;
		}
	}
}

struct xw_peer *xw_peer_find(struct xw_ctx *ctx, uint32_t host_id)
{
	struct xw_peer *p;

	for (p = ctx->peer_hash[hash_host(host_id)]; p; p = p->hnext)
		if (p->host_id == host_id)
			return p;
	return NULL;
}

static void peer_hash_del(struct xw_peer *p)
{
	struct xw_peer **pp = &p->ctx->peer_hash[hash_host(p->host_id)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			return;
		}
	}
}

struct xw_peer *xw_peer_new(struct xw_ctx *ctx, uint32_t host_id)
{
	struct xw_peer *p = calloc(1, sizeof(*p)), **h;

	if (!p)
		return NULL;
	p->ctx = ctx;
	p->host_id = host_id;
	p->state = XP_CONNECTING;
	list_add_tail(&ctx->peers, &p->node);
	list_init(&p->dead_node);
	h = &ctx->peer_hash[hash_host(host_id)];
	p->hnext = *h;
	*h = p;
	return p;
}

static struct xw_conn *conn_new(struct xw_ctx *ctx, int out,
				const struct sockaddr_storage *remote,
				socklen_t remote_len)
{
	struct xw_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ctx = ctx;
	c->out = !!out;
	c->state = XC_WAIT_HELLO;
	c->created_ns = c->last_rx_ns = xw_now_ns();
	memcpy(&c->remote, remote, sizeof(c->remote));
	c->remote_len = remote_len;
	list_init(&c->close_node);
	return c;
}

/* Where sends go: authenticated before pending; of two authenticated ones
 * (one per direction), the one the lower host id initiated, which is the
 * one the duplicate rule keeps. */
void xw_peer_pick_tx(struct xw_peer *p)
{
	struct xw_conn *o = p->dir[0], *i = p->dir[1];

	if (o && o->state == XC_UP && i)
		p->tx = p->ctx->cfg.host_id < p->host_id ? o : i;
	else if (i)
		p->tx = i;
	else
		p->tx = o;
}

/* The peer has no endpoint left: off the host table; peer_down once no
 * endpoint refers to it any more (xw_peers_reap). */
static void peer_dying(struct xw_peer *p, int err)
{
	struct xw_ctx *ctx = p->ctx;
	struct list_node *n, *t;

	if (p->state == XP_DYING)
		return;
	p->state = XP_DYING;
	p->tx = NULL;
	if (!p->down_err)
		p->down_err = err ? err : -ECONNRESET;
	peer_hash_del(p);
	/* a retiring endpoint still refers to the peer: close it now */
	list_for_each_safe(n, t, &ctx->conns) {
		struct xw_conn *c = list_entry(n, struct xw_conn, node);

		if (c->peer == p && c->state != XC_CLOSING &&
		    c->state != XC_REFUSED)
			xw_conn_kill(c, p->down_err);
	}
	if (!p->refs)
		list_add_tail(&ctx->dead_peers, &p->dead_node);
}

void xw_conn_detach(struct xw_conn *c, int err)
{
	struct xw_peer *p = c->peer;

	p->dir[c->out ? 0 : 1] = NULL;
	c->attached = 0;
	xw_peer_pick_tx(p);
	if (!p->dir[0] && !p->dir[1])
		peer_dying(p, err);
}

/* Close an endpoint (UCX's close is issued from xw_progress, outside UCX's
 * callbacks).  err is why; 0 for a duplicate or replaced endpoint whose
 * peer lives on. */
void xw_conn_kill(struct xw_conn *c, int err)
{
	struct xw_ctx *ctx = c->ctx;

	if (c->state == XC_CLOSING)
		return;
	if (c->state == XC_WAIT_HELLO && !c->out)
		ctx->npending--;
	c->state = XC_CLOSING;
	c->close_err = err;
	c->closing_ns = xw_now_ns();
	list_add_tail(&ctx->close_todo, &c->close_node);
	if (c->attached)
		xw_conn_detach(c, err);
}

static void conn_free(struct xw_conn *c)
{
	struct xw_ctx *ctx = c->ctx;
	struct xw_peer *p = c->peer;

	ep_hash_del(c);
	list_del(&c->node);
	free(c);
	if (p && !--p->refs && p->state == XP_DYING)
		list_add_tail(&ctx->dead_peers, &p->dead_node);
}

/* A reference (send, receive, UCX's close) went away. */
void xw_conn_put(struct xw_conn *c)
{
	if (c->inflight)
		return;
	if (c->closed)
		conn_free(c);
	else if (c->state == XC_REFUSED)
		xw_conn_kill(c, -EACCES);
	else if (c->retiring && c->state != XC_CLOSING)
		xw_conn_kill(c, 0);
}

void xw_conn_violation(struct xw_conn *c, const char *what)
{
	struct xw_ctx *ctx = c->ctx;
	char a[64];

	ctx->st.proto_errors++;
	if (c->peer)
		c->peer->st.rx_errors++;
	xw_log(ctx, "endpoint %s (%s): %s: closing it",
	       xw_addr_str((struct sockaddr *)&c->remote, a, sizeof(a)),
	       c->out ? "outbound" : "inbound", what);
	xw_conn_kill(c, -EPROTO);
}

static void err_cb(void *arg, ucp_ep_h ep, ucs_status_t status)
{
	struct xw_conn *c = arg;
	int err = xw_errno(status);

	xw_conn_kill(c, err ? err : -ECONNRESET);
}

static void close_cb(void *req, ucs_status_t status, void *user_data)
{
	struct xw_conn *c = user_data;

	ucp_request_free(req);
	c->closed = 1;
	xw_conn_put(c);
}

void xw_conns_close_pending(struct xw_ctx *ctx)
{
	while (!list_empty(&ctx->close_todo)) {
		struct xw_conn *c = list_entry(ctx->close_todo.next,
					       struct xw_conn, close_node);
		ucp_request_param_t p = {
			.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS |
					UCP_OP_ATTR_FIELD_CALLBACK |
					UCP_OP_ATTR_FIELD_USER_DATA,
			.flags = UCP_EP_CLOSE_FLAG_FORCE,
			.cb.send = close_cb,
			.user_data = c,
		};
		ucs_status_ptr_t sp;

		list_del(&c->close_node);
		c->close_issued = 1;
		/* Forced: every request still on the endpoint completes with
		 * an error, so inflight drains. */
		sp = ucp_ep_close_nbx(c->ep, &p);
		if (!UCS_PTR_IS_PTR(sp)) {
			c->closed = 1;
			xw_conn_put(c);
		}
	}
}

static void ping_done(void *arg, int status)
{
	struct xw_conn *c = arg;

	c->ping_busy = 0;
}

static void send_ping(struct xw_conn *c)
{
	struct xw_ping pg = { .magic = htole32(XW_PING_MAGIC) };

	if (!xw_send_internal(c, XW_AM_PING, &pg, sizeof(pg), NULL, 0,
			      XW_SEND_EAGER, ping_done, c, 0))
		c->ping_busy = 1;
}

struct xw_peer *xw_connect(struct xw_ctx *ctx, uint32_t host_id,
			   const char *addr)
{
	struct sockaddr_storage ss, local;
	ucp_ep_params_t ep = {
		.field_mask = UCP_EP_PARAM_FIELD_FLAGS |
			      UCP_EP_PARAM_FIELD_SOCK_ADDR |
			      UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
			      UCP_EP_PARAM_FIELD_ERR_HANDLER |
			      UCP_EP_PARAM_FIELD_NAME,
		.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER,
		.err_mode = UCP_ERR_HANDLING_MODE_PEER,
		.name = "xenib-wire",
	};
	struct xw_peer *p;
	struct xw_conn *c;
	ucs_status_t st;
	socklen_t len;
	int ret;

	if (ctx->destroying || host_id == ctx->cfg.host_id ||
	    xw_parse_addr(addr, &ss, &len)) {
		errno = EINVAL;
		return NULL;
	}
	p = xw_peer_find(ctx, host_id);
	if (p)
		return p;
	p = xw_peer_new(ctx, host_id);
	c = p ? conn_new(ctx, 1, &ss, len) : NULL;
	if (!c) {
		if (p) {
			peer_hash_del(p);
			list_del(&p->node);
			free(p);
		}
		errno = ENOMEM;
		return NULL;
	}
	ep.sockaddr.addr = (struct sockaddr *)&c->remote;
	ep.sockaddr.addrlen = c->remote_len;
	ep.err_handler.cb = err_cb;
	ep.err_handler.arg = c;
	/* Leave from the listen address, so the remote's auth sees the IP the
	 * directory has for us even on a multi-homed host. */
	if (ctx->iface[0] && ss.ss_family == ctx->listen_ss.ss_family) {
		local = ctx->listen_ss;
		if (local.ss_family == AF_INET)
			((struct sockaddr_in *)&local)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&local)->sin6_port = 0;
		ep.field_mask |= UCP_EP_PARAM_FIELD_LOCAL_SOCK_ADDR;
		ep.local_sockaddr.addr = (struct sockaddr *)&local;
		ep.local_sockaddr.addrlen = ctx->listen_len;
	}
	st = ucp_ep_create(ctx->worker, &ep, &c->ep);
	if (st != UCS_OK) {
		xw_log(ctx, "connect to host %u at %s: %s", host_id, addr,
		       ucs_status_string(st));
		peer_hash_del(p);
		list_del(&p->node);
		free(p);
		free(c);
		errno = -xw_errno(st);
		return NULL;
	}
	ep_hash_add(c);
	list_add_tail(&ctx->conns, &c->node);
	c->peer = p;
	p->refs = 1;
	p->dir[0] = c;
	c->attached = 1;
	p->tx = c;
	/* UCX queues it until the endpoint is wired up; user sends follow */
	ret = xw_send_hello(c, host_id, 0);
	if (ret)
		xw_conn_kill(c, ret);
	return p;
}

void xw_conn_handler(ucp_conn_request_h req, void *arg)
{
	struct xw_ctx *ctx = arg;
	ucp_conn_request_attr_t ca = {
		.field_mask = UCP_CONN_REQUEST_ATTR_FIELD_CLIENT_ADDR,
	};
	ucp_ep_params_t ep = {
		.field_mask = UCP_EP_PARAM_FIELD_CONN_REQUEST |
			      UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
			      UCP_EP_PARAM_FIELD_ERR_HANDLER |
			      UCP_EP_PARAM_FIELD_NAME,
		.conn_request = req,
		.err_mode = UCP_ERR_HANDLING_MODE_PEER,
		.err_handler.cb = err_cb,
		.name = "xenib-wire",
	};
	struct xw_conn *c;
	ucs_status_t st;
	char a[64];

	/* Bounded: unauthenticated endpoints cost memory and a socket. */
	if (ctx->destroying || ctx->npending >= ctx->cfg.max_pending ||
	    ucp_conn_request_query(req, &ca) != UCS_OK) {
		ctx->st.rejected++;
		ucp_listener_reject(ctx->listener, req);
		if (!ctx->destroying)
			xw_log(ctx, "connection refused: %u endpoints await "
			       "HELLO", ctx->npending);
		return;
	}
	c = conn_new(ctx, 0, &ca.client_address,
		     ca.client_address.ss_family == AF_INET6 ?
		     sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	if (!c) {
		ctx->st.rejected++;
		ucp_listener_reject(ctx->listener, req);
		return;
	}
	ep.err_handler.arg = c;
	st = ucp_ep_create(ctx->worker, &ep, &c->ep);
	if (st != UCS_OK) {
		xw_log(ctx, "accept from %s: %s",
		       xw_addr_str((struct sockaddr *)&c->remote, a, sizeof(a)),
		       ucs_status_string(st));
		free(c);
		return;
	}
	ep_hash_add(c);
	list_add_tail(&ctx->conns, &c->node);
	ctx->npending++;
	ctx->st.accepted++;
}

void xw_peer_kill(struct xw_peer *p, int err)
{
	struct xw_ctx *ctx = p->ctx;
	struct list_node *n, *t;

	if (!p->down_err)
		p->down_err = err;
	list_for_each_safe(n, t, &ctx->conns) {
		struct xw_conn *c = list_entry(n, struct xw_conn, node);

		if (c->peer == p && c->state != XC_CLOSING)
			xw_conn_kill(c, err);
	}
	peer_dying(p, err);
}

void xw_peer_close(struct xw_peer *p)
{
	if (p->state != XP_DYING)
		xw_peer_kill(p, -ESHUTDOWN);
}

/* Every keepalive_ms: HELLO deadlines, silent endpoints, pings. */
void xw_conns_tick(struct xw_ctx *ctx, uint64_t now)
{
	uint64_t ka = (uint64_t)ctx->cfg.keepalive_ms * 1000000ull;
	uint64_t dead = ka * ctx->cfg.keepalive_misses;
	uint64_t hello = (uint64_t)ctx->cfg.hello_timeout_ms * 1000000ull;
	struct list_node *n, *t;
	char a[64];

	list_for_each_safe(n, t, &ctx->conns) {
		struct xw_conn *c = list_entry(n, struct xw_conn, node);
		const char *why = NULL;

		xw_addr_str((struct sockaddr *)&c->remote, a, sizeof(a));
		if (c->state == XC_CLOSING) {
			if (!c->stuck_logged && now - c->closing_ns > hello) {
				c->stuck_logged = 1;
				xw_log(ctx, "endpoint %s: close pending for %llu "
				       "ms (UCX %s, %u operations outstanding)",
				       a, (unsigned long long)((now -
						c->closing_ns) / 1000000ull),
				       c->closed ? "closed it" : "closing",
				       c->inflight);
			}
			continue;
		}
		if ((c->retiring || c->state == XC_REFUSED) &&
		    now - c->closing_ns > hello) {
			/* its sends did not drain: give up on them */
			xw_conn_kill(c, c->retiring ? 0 : -EACCES);
			continue;
		}
		if (c->state == XC_REFUSED)
			continue;
		if (c->state == XC_WAIT_HELLO && now - c->created_ns > hello)
			why = "no HELLO";
		else if (c->state == XC_UP && now - c->last_rx_ns > dead)
			why = "silent";
		if (why) {
			ctx->st.timeouts++;
			xw_log(ctx, "endpoint %s (%s%s): %s for %llu ms: closing",
			       a, c->out ? "outbound" : "inbound",
			       c->peer ? "" : ", unauthenticated", why,
			       (unsigned long long)((now - (c->state == XC_UP ?
					c->last_rx_ns : c->created_ns)) /
					1000000ull));
			xw_conn_kill(c, -ETIMEDOUT);
			continue;
		}
		/* not on a retiring endpoint: a ping in flight would keep it */
		if (c->state == XC_UP && !c->ping_busy && !c->retiring)
			send_ping(c);
	}
}

void xw_peers_reap(struct xw_ctx *ctx)
{
	while (!list_empty(&ctx->dead_peers)) {
		struct xw_peer *p = list_entry(ctx->dead_peers.next,
					       struct xw_peer, dead_node);

		list_del(&p->dead_node);
		ctx->ops.peer_down(ctx->arg, p, p->down_err);
		list_del(&p->node);
		free(p);
	}
}

/* xw_destroy: every peer goes down (-ESHUTDOWN), every endpoint closes. */
void xw_conns_destroy(struct xw_ctx *ctx)
{
	struct list_node *n, *t;

	list_for_each_safe(n, t, &ctx->peers) {
		struct xw_peer *p = list_entry(n, struct xw_peer, node);

		if (p->state != XP_DYING)
			xw_peer_kill(p, -ESHUTDOWN);
	}
	list_for_each_safe(n, t, &ctx->conns) {
		struct xw_conn *c = list_entry(n, struct xw_conn, node);

		if (c->state != XC_CLOSING)
			xw_conn_kill(c, -ECANCELED);
	}
}

uint32_t xw_peer_host_id(const struct xw_peer *p)
{
	return p->host_id;
}

uint64_t xw_peer_epoch(const struct xw_peer *p)
{
	return p->epoch;
}

int xw_peer_is_up(const struct xw_peer *p)
{
	return p->state == XP_UP;
}

void xw_peer_set_arg(struct xw_peer *p, void *arg)
{
	p->arg = arg;
}

void *xw_peer_arg(const struct xw_peer *p)
{
	return p->arg;
}

void xw_peer_stats(const struct xw_peer *p, struct xw_peer_stats *st)
{
	*st = p->st;
	st->out_conn = !!p->dir[0];
	st->in_conn = !!p->dir[1];
	st->tx_out = p->tx && p->tx == p->dir[0];
}
