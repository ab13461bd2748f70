// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire's control messages: HELLO (identification, ops->auth, refusal),
 * PING (keepalive), and what an accepted HELLO does to the peer: attach the
 * endpoint, replace an older one or a peer of another epoch, resolve a
 * simultaneous connect.  The rules are in wire.h.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "xenibd/fabric/wire_int.h"

int xw_send_hello(struct xw_conn *c, uint32_t to, uint16_t flags)
{
	struct xw_hello h = {
		.magic = htole32(XW_HELLO_MAGIC),
		.version = htole16(XW_HELLO_VERSION),
		.flags = htole16(flags),
		.from = htole32(c->ctx->cfg.host_id),
		.to = htole32(to),
		.epoch = htole64(c->ctx->cfg.epoch),
	};

	return xw_send_internal(c, XW_AM_HELLO, &h, sizeof(h), NULL, 0,
				XW_SEND_EAGER, NULL, NULL, 0);
}

/* The endpoint a message came on, or NULL: UCX names it as the reply
 * endpoint (every sender sets UCP_AM_SEND_FLAG_REPLY); one without, or one
 * that is not ours, is not attributable. */
struct xw_conn *xw_conn_of(struct xw_ctx *ctx,
			   const ucp_am_recv_param_t *param)
{
	struct xw_conn *c = NULL;

	if (param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP)
		c = xw_conn_lookup(ctx, param->reply_ep);
	if (!c)
		ctx->st.unattributed++;
	return c;
}

/*
 * Simultaneous connect: both directions authenticated.  The higher host id
 * gives up its own outbound endpoint (once its sends drained), so both ends
 * keep the one the lower id initiated.
 */
static void retire_check(struct xw_peer *p)
{
	struct xw_conn *o = p->dir[0], *i = p->dir[1];

	if (!o || !i || o->state != XC_UP || p->ctx->cfg.host_id < p->host_id)
		return;
	p->dir[0] = NULL;
	o->attached = 0;
	o->retiring = 1;
	o->closing_ns = xw_now_ns();
	xw_conn_put(o);
}

/* c's HELLO was accepted: put it under the peer of host `from`. */
static void attach(struct xw_conn *c, uint32_t from, uint64_t epoch)
{
	struct xw_ctx *ctx = c->ctx;
	struct xw_peer *p = c->out ? c->peer : xw_peer_find(ctx, from);
	int d = c->out ? 0 : 1, was_up;

	if (p && p->epoch && p->epoch != epoch) {
		/* A new epoch: the remote restarted and lost its state.  The
		 * old peer goes down; c starts a new one. */
		struct xw_peer *old = p;

		p = NULL;
		if (c->out) {
			old->dir[0] = NULL;
			c->attached = 0;
			c->peer = NULL;
			old->refs--;
		}
		xw_peer_kill(old, -ESTALE);
	}
	if (!p) {
		p = xw_peer_new(ctx, from);
		if (!p) {
			xw_conn_kill(c, -ENOMEM);
			return;
		}
	}
	if (!c->peer) {
		c->peer = p;
		p->refs++;
	}
	if (p->dir[d] && p->dir[d] != c) {
		/* Only one endpoint per direction: the remote opened a new one
		 * because it gave the older one up. */
		struct xw_conn *old = p->dir[d];

		p->dir[d] = NULL;
		old->attached = 0;
		xw_conn_kill(old, 0);
	}
	p->dir[d] = c;
	c->attached = 1;
	p->epoch = epoch;
	p->st.conns++;
	retire_check(p);
	xw_peer_pick_tx(p);
	was_up = p->state == XP_UP;
	p->state = XP_UP;
	if (!was_up && ctx->ops.peer_up)
		ctx->ops.peer_up(ctx->arg, p);
}

/*
 * Tell the remote we refused it (a HELLO flagged REFUSED, so it can report
 * -EACCES rather than a bare reset), then close once that send drained or
 * at the HELLO deadline.  Nothing more from it is delivered meanwhile.
 */
static void refuse(struct xw_conn *c, uint32_t to)
{
	int ret;

	if (!c->out)
		c->ctx->npending--;
	c->state = XC_REFUSED;
	c->closing_ns = xw_now_ns();
	if (c->attached)
		xw_conn_detach(c, -EACCES);
	ret = xw_send_hello(c, to, XW_HELLO_REFUSED);
	if (ret)
		xw_conn_kill(c, -EACCES);
}

static ucs_status_t drop_status(const ucp_am_recv_param_t *param)
{
	/* An eager message must be answered UCS_OK; a rendezvous one may be
	 * refused, which the sender's request then reports. */
	return (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) ?
	       UCS_ERR_CANCELED : UCS_OK;
}

ucs_status_t xw_hello_cb(void *arg, const void *hdr, size_t hdr_len,
			 void *data, size_t len,
			 const ucp_am_recv_param_t *param)
{
	struct xw_ctx *ctx = arg;
	struct xw_conn *c = xw_conn_of(ctx, param);
	struct xw_hello h;
	uint32_t from, to;
	uint64_t epoch;
	char a[64];
	int ret;

	if (!c || c->state == XC_CLOSING || c->state == XC_REFUSED)
		return drop_status(param);
	c->last_rx_ns = xw_now_ns();
	if (c->state != XC_WAIT_HELLO) {
		xw_conn_violation(c, "second HELLO");
		return drop_status(param);
	}
	if (hdr_len != sizeof(h) || len ||
	    (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV)) {
		xw_conn_violation(c, "malformed HELLO");
		return drop_status(param);
	}
	memcpy(&h, hdr, sizeof(h));
	from = le32toh(h.from);
	to = le32toh(h.to);
	epoch = le64toh(h.epoch);
	if (le32toh(h.magic) != XW_HELLO_MAGIC ||
	    le16toh(h.version) != XW_HELLO_VERSION) {
		xw_conn_violation(c, "HELLO of another protocol or version");
		return UCS_OK;
	}
	if (to != ctx->cfg.host_id || from == ctx->cfg.host_id || !epoch ||
	    (c->out && from != c->peer->host_id)) {
		xw_log(ctx, "HELLO from host %u epoch %llu to host %u", from,
		       (unsigned long long)epoch, to);
		xw_conn_violation(c, "HELLO with wrong host ids or no epoch");
		return UCS_OK;
	}
	xw_addr_str((struct sockaddr *)&c->remote, a, sizeof(a));
	if (le16toh(h.flags) & XW_HELLO_REFUSED) {
		xw_log(ctx, "host %u at %s refused our HELLO", from, a);
		xw_conn_kill(c, -EACCES);
		return UCS_OK;
	}
	ret = ctx->ops.auth(ctx->arg, from, epoch,
			    (struct sockaddr *)&c->remote, c->remote_len);
	if (ret) {
		ctx->st.auth_refused++;
		xw_log(ctx, "host %u epoch %llu at %s refused: %s", from,
		       (unsigned long long)epoch, a,
		       strerror(ret < 0 ? -ret : ret));
		refuse(c, from);
		return UCS_OK;
	}
	c->state = XC_UP;
	if (!c->out) {
		ctx->npending--;
		ret = xw_send_hello(c, from, 0);
		if (ret) {
			xw_conn_kill(c, ret);
			return UCS_OK;
		}
	}
	attach(c, from, epoch);
	return UCS_OK;
}

ucs_status_t xw_ping_cb(void *arg, const void *hdr, size_t hdr_len,
			void *data, size_t len,
			const ucp_am_recv_param_t *param)
{
	struct xw_ctx *ctx = arg;
	struct xw_conn *c = xw_conn_of(ctx, param);
	struct xw_ping pg;

	if (!c || c->state == XC_CLOSING || c->state == XC_REFUSED)
		return drop_status(param);
	c->last_rx_ns = xw_now_ns();
	if (c->state != XC_UP) {
		xw_conn_violation(c, "PING before HELLO");
		return drop_status(param);
	}
	if (hdr_len != sizeof(pg) || len ||
	    (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV)) {
		xw_conn_violation(c, "malformed PING");
		return drop_status(param);
	}
	memcpy(&pg, hdr, sizeof(pg));
	if (le32toh(pg.magic) != XW_PING_MAGIC)
		xw_conn_violation(c, "PING with a bad magic");
	return UCS_OK;
}
