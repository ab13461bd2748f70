// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire's data path: one active message per xw_send (ucp_am_send_nbx),
 * delivery of received ones to ops->recv, and landing payloads in the
 * caller's buffers (copy for eager, ucp_am_recv_data_nbx for rendezvous).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/wire_int.h"

/* One send in flight.  The header and the iov array live here because UCX
 * reads them until the send completes (a queued send is packed later). */
struct xw_sreq {
	struct xw_cmpl cmpl;
	struct xw_conn *conn;
	xw_done_cb done;
	void *arg;
	int user;		/* an xw_send (peer accounting) */
	int status;
	ucp_dt_iov_t iov[XW_IOV_MAX];
	uint64_t hdr[XW_HDR_MAX / sizeof(uint64_t)];
};

/* One xw_rx_into in flight. */
struct xw_rreq {
	struct xw_cmpl cmpl;
	struct xw_conn *conn;
	xw_rx_done_cb done;
	void *arg;
	int status;
	size_t len;
	ucp_dt_iov_t iov[XW_IOV_MAX];
};

_Static_assert(XW_HDR_MAX % sizeof(uint64_t) == 0, "XW_HDR_MAX");
_Static_assert(XW_HDR_MAX <= UINT16_MAX, "UCX's AM header length is 16 bits");

/* Sum of iov lengths, or -1 when over XW_PAYLOAD_MAX (or overflowing). */
static int64_t iov_total(const struct iovec *iov, int iovcnt)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > XW_PAYLOAD_MAX)
			return -1;
		total += iov[i].iov_len;
		if (total > XW_PAYLOAD_MAX)
			return -1;
	}
	return (int64_t)total;
}

static void sreq_fire(struct xw_ctx *ctx, struct xw_cmpl *cm)
{
	struct xw_sreq *r = (struct xw_sreq *)cm;
	struct xw_conn *c = r->conn;

	if (r->user) {
		c->peer->st.inflight--;
		if (r->status)
			c->peer->st.tx_errors++;
	}
	if (r->done)
		r->done(r->arg, r->status);
	free(r);
	c->inflight--;
	xw_conn_put(c);
}

static void sreq_ucp_cb(void *req, ucs_status_t status, void *user_data)
{
	struct xw_sreq *r = user_data;

	r->status = xw_errno(status);
	ucp_request_free(req);
	xw_cmpl_queue(r->conn->ctx, &r->cmpl);
}

int xw_send_internal(struct xw_conn *c, unsigned int am_id,
		     const void *hdr, size_t hdr_len, const struct iovec *iov,
		     int iovcnt, unsigned int flags, xw_done_cb done,
		     void *arg, int user)
{
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
				UCP_OP_ATTR_FIELD_USER_DATA |
				UCP_OP_ATTR_FIELD_FLAGS,
		.cb.send = sreq_ucp_cb,
		/* the receiver attributes the message by its reply endpoint */
		.flags = UCP_AM_SEND_FLAG_REPLY,
	};
	const void *buf = NULL;
	struct xw_sreq *r;
	ucs_status_ptr_t sp;
	size_t count = 0;
	int64_t total;
	int i;

	if (hdr_len > XW_HDR_MAX || iovcnt > XW_IOV_MAX)
		return -EMSGSIZE;
	if (iovcnt < 0 || (hdr_len && !hdr) || (iovcnt && !iov) ||
	    (flags & ~(XW_SEND_EAGER | XW_SEND_RNDV)) ||
	    flags == (XW_SEND_EAGER | XW_SEND_RNDV))
		return -EINVAL;
	total = iov_total(iov, iovcnt);
	if (total < 0)
		return -EMSGSIZE;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->conn = c;
	r->done = done;
	r->arg = arg;
	r->user = user;
	r->status = 0;
	r->cmpl.fire = sreq_fire;
	if (hdr_len)
		memcpy(r->hdr, hdr, hdr_len);
	if (flags & XW_SEND_EAGER)
		p.flags |= UCP_AM_SEND_FLAG_EAGER;
	if (flags & XW_SEND_RNDV)
		p.flags |= UCP_AM_SEND_FLAG_RNDV;
	if (iovcnt == 1) {
		buf = iov[0].iov_base;
		count = iov[0].iov_len;
	} else if (iovcnt > 1) {
		for (i = 0; i < iovcnt; i++) {
			r->iov[i].buffer = iov[i].iov_base;
			r->iov[i].length = iov[i].iov_len;
		}
		p.op_attr_mask |= UCP_OP_ATTR_FIELD_DATATYPE;
		p.datatype = ucp_dt_make_iov();
		buf = r->iov;
		count = (size_t)iovcnt;
	}
	p.user_data = r;
	sp = ucp_am_send_nbx(c->ep, am_id, r->hdr, hdr_len, buf, count, &p);
	if (UCS_PTR_IS_ERR(sp)) {
		free(r);
		return xw_errno(UCS_PTR_STATUS(sp));
	}
	c->inflight++;
	if (user) {
		c->peer->st.inflight++;
		c->peer->st.tx_msgs++;
		c->peer->st.tx_bytes += hdr_len + (uint64_t)total;
	}
	/* done immediately: still reported from xw_progress, never from here */
	if (!sp)
		xw_cmpl_queue(c->ctx, &r->cmpl);
	return 0;
}

int xw_send(struct xw_peer *peer, const void *hdr, size_t hdr_len,
	    const struct iovec *iov, int iovcnt, unsigned int flags,
	    xw_done_cb done, void *arg)
{
	if (!peer || peer->state == XP_DYING || !peer->tx)
		return -ENOTCONN;
	if (peer->st.inflight >= peer->ctx->cfg.max_inflight)
		return -EAGAIN;
	return xw_send_internal(peer->tx, XW_AM_DATA, hdr, hdr_len, iov,
				iovcnt, flags, done, arg, 1);
}

ucs_status_t xw_data_cb(void *arg, const void *hdr, size_t hdr_len,
			void *data, size_t len,
			const ucp_am_recv_param_t *param)
{
	struct xw_ctx *ctx = arg;
	struct xw_conn *c = xw_conn_of(ctx, param);
	int rndv = !!(param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV);
	/* Refusing a rendezvous tells the sender; an eager message can only
	 * be consumed. */
	ucs_status_t drop = rndv ? UCS_ERR_CANCELED : UCS_OK;
	struct xw_rx rx = {
		.conn = c, .data = data, .len = len, .rndv = rndv,
		.state = XR_UNCLAIMED,
	};
	struct xw_peer *p;
	union {
		uint64_t align;
		char b[XW_HDR_MAX];
	} ahdr;

	if (!c || c->state == XC_CLOSING || c->state == XC_REFUSED)
		return drop;
	c->last_rx_ns = xw_now_ns();
	if (c->state != XC_UP) {
		xw_conn_violation(c, "message before HELLO");
		return drop;
	}
	if (hdr_len > XW_HDR_MAX || len > XW_PAYLOAD_MAX) {
		xw_conn_violation(c, hdr_len > XW_HDR_MAX ?
				  "header over XW_HDR_MAX" :
				  "payload over XW_PAYLOAD_MAX");
		return drop;
	}
	p = c->peer;
	p->st.rx_msgs++;
	p->st.rx_bytes += hdr_len + len;
	/*
	 * UCX gives the header where it lies in its receive buffer, at any
	 * alignment; the fabric reads it as its structs: an aligned copy.
	 */
	memcpy(ahdr.b, hdr, hdr_len);
	ctx->ops.recv(ctx->arg, p, hdr_len ? ahdr.b : NULL, hdr_len, &rx);
	if (rx.state == XR_CLAIMED)
		return UCS_OK;
	if (len || rndv)
		p->st.rx_dropped++;
	return drop;
}

size_t xw_rx_len(const struct xw_rx *rx)
{
	return rx->len;
}

const void *xw_rx_data(const struct xw_rx *rx)
{
	return rx->rndv ? NULL : rx->data;
}

int xw_rx_is_rndv(const struct xw_rx *rx)
{
	return rx->rndv;
}

void xw_rx_drop(struct xw_rx *rx)
{
	if (rx->state == XR_UNCLAIMED)
		rx->state = XR_DROPPED;
}

static void rreq_fire(struct xw_ctx *ctx, struct xw_cmpl *cm)
{
	struct xw_rreq *r = (struct xw_rreq *)cm;
	struct xw_conn *c = r->conn;

	if (r->status)
		c->peer->st.rx_errors++;
	r->done(r->arg, r->status, r->status ? 0 : r->len);
	free(r);
	c->inflight--;
	xw_conn_put(c);
}

static void rreq_ucp_cb(void *req, ucs_status_t status, size_t length,
			void *user_data)
{
	struct xw_rreq *r = user_data;

	r->status = xw_errno(status);
	if (!r->status && length != r->len)
		r->status = -EMSGSIZE;
	ucp_request_free(req);
	xw_cmpl_queue(r->conn->ctx, &r->cmpl);
}

int xw_rx_into(struct xw_rx *rx, const struct iovec *iov, int iovcnt,
	       xw_rx_done_cb done, void *arg)
{
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
				UCP_OP_ATTR_FIELD_USER_DATA,
		.cb.recv_am = rreq_ucp_cb,
	};
	struct xw_conn *c = rx->conn;
	size_t rem = rx->len, n = 0, off = 0;
	struct xw_rreq *r;
	ucs_status_ptr_t sp;
	int64_t total;
	void *buf;
	int i;

	if (rx->state != XR_UNCLAIMED)
		return -EALREADY;
	rx->state = XR_DROPPED;		/* any failure below drops it */
	if (iovcnt < 0 || iovcnt > XW_IOV_MAX || (iovcnt && !iov) || !done)
		return -EINVAL;
	total = iov_total(iov, iovcnt);
	if (total < 0 || (size_t)total < rx->len)
		return -EMSGSIZE;
	if (c->state == XC_CLOSING)
		return -ENOTCONN;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->conn = c;
	r->done = done;
	r->arg = arg;
	r->status = 0;
	r->len = rx->len;
	r->cmpl.fire = rreq_fire;
	/* exactly len bytes, in order: trim the tail, skip empty segments */
	for (i = 0; i < iovcnt && rem; i++) {
		size_t take = iov[i].iov_len < rem ? iov[i].iov_len : rem;

		if (!take)
			continue;
		r->iov[n].buffer = iov[i].iov_base;
		r->iov[n].length = take;
		n++;
		rem -= take;
	}
	rx->state = XR_CLAIMED;
	c->inflight++;
	if (!rx->rndv) {
		for (i = 0; i < (int)n; i++) {
			memcpy(r->iov[i].buffer, (char *)rx->data + off,
			       r->iov[i].length);
			off += r->iov[i].length;
		}
		xw_cmpl_queue(c->ctx, &r->cmpl);
		return 0;
	}
	if (n == 1) {
		buf = r->iov[0].buffer;
		n = r->iov[0].length;
	} else {
		p.op_attr_mask |= UCP_OP_ATTR_FIELD_DATATYPE;
		p.datatype = ucp_dt_make_iov();
		buf = r->iov;
	}
	p.user_data = r;
	sp = ucp_am_recv_data_nbx(c->ctx->worker, rx->data, buf, n, &p);
	if (UCS_PTR_IS_ERR(sp)) {
		/* UCX owns the descriptor either way: the callback says OK */
		c->peer->st.rx_errors++;
		c->inflight--;
		free(r);
		xw_conn_put(c);
		return xw_errno(UCS_PTR_STATUS(sp));
	}
	if (!sp)
		xw_cmpl_queue(c->ctx, &r->cmpl);
	return 0;
}
