// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, connection setup (protocol: rsocket.h): the hello each side
 * puts in its private data, the connection's CM events, rconnect and
 * raccept.
 *
 * Both sides make their ring (rsocket_ring.c) before they speak: the
 * active side once its route is resolved, so that its REQ can say how
 * many buffers it posted; the passive side on raccept, from the hello
 * the REQ carried, before its REP.  A listener keeps up to RS_MAX_PENDING
 * requests for raccept to take; one with no hello of ours is rejected at
 * once.
 */
#include <endian.h>
#include <poll.h>
#include <string.h>

#include <rdma/rsocket.h>

#include "rsocket.h"

#define RS_CM_TIMEOUT	2000		/* ms, address and route */

/* ------------------------------------------------------------------ */
/* Hello                                                               */

static void rs_hello_fill(const struct rsock *rs, struct rs_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = htole32(RS_MAGIC);
	h->version = htole16(RS_VERSION);
	h->nbuf = htole32(rs->nbuf);
	h->bufsz = htole32(rs->bufsz);
	h->iomap_size = htole32((uint32_t)rs->iomap_size);
}

/* The peer's hello, host order, if it is one of ours within bounds. */
static bool rs_hello_ok(const void *pdata, uint8_t len, struct rs_hello *out)
{
	struct rs_hello h;

	if (!pdata || len < sizeof(h))
		return false;
	memcpy(&h, pdata, sizeof(h));
	out->magic = le32toh(h.magic);
	out->version = le16toh(h.version);
	out->nbuf = le32toh(h.nbuf);
	out->bufsz = le32toh(h.bufsz);
	out->iomap_size = le32toh(h.iomap_size);
	return out->magic == RS_MAGIC && out->version == RS_VERSION &&
	       out->nbuf >= 1 && out->nbuf <= RS_MAX_NBUF &&
	       out->bufsz >= RS_MIN_BUFSZ && out->bufsz <= RS_MAX_BUFSZ &&
	       out->iomap_size <= RS_MAX_IOMAP;
}

/* ------------------------------------------------------------------ */
/* CM events                                                           */

static int event_err(const struct rdma_cm_event *ev)
{
	switch (ev->event) {
	case RDMA_CM_EVENT_REJECTED:
		return ECONNREFUSED;
	case RDMA_CM_EVENT_UNREACHABLE:
		return ETIMEDOUT;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
		return ev->status < 0 ? -ev->status : EHOSTUNREACH;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		return ENODEV;
	default:
		return ECONNREFUSED;
	}
}

static void rs_connect_params(struct rsock *rs, struct rdma_conn_param *p,
			      struct rs_hello *h)
{
	rs_hello_fill(rs, h);
	memset(p, 0, sizeof(*p));
	p->private_data = h;
	p->private_data_len = sizeof(*h);
	p->responder_resources = 1;
	p->initiator_depth = 1;
	p->flow_control = 1;
	p->retry_count = 7;
	p->rnr_retry_count = 7;
}

static void on_route(struct rsock *rs)
{
	struct rdma_conn_param p;
	struct rs_hello h;
	int err;

	err = rs_resources(rs);
	if (err) {
		rs_ctl_fail(rs, err);
		return;
	}
	rs_connect_params(rs, &p, &h);
	if (rdma_connect(rs->id, &p)) {
		rs_ctl_fail(rs, errno);
		return;
	}
	rs->state = RS_CONNECTING;
}

static void on_established(struct rsock *rs, struct rdma_cm_event *ev)
{
	struct rs_hello h;
	int err;

	if (rs->state == RS_ACCEPTING) {
		rs->state = RS_CONNECTED;
		rs->established = true;
		return;
	}
	if (!rs_hello_ok(ev->param.conn.private_data,
			 ev->param.conn.private_data_len, &h)) {
		cma_dbg("rsocket %d: the peer is no rsocket of ours", rs->fd);
		rdma_disconnect(rs->id);
		rs->disconnected = true;
		rs_ctl_fail(rs, ECONNREFUSED);
		return;
	}
	err = rs_peer(rs, &h);
	if (err) {
		rdma_disconnect(rs->id);
		rs->disconnected = true;
		rs_ctl_fail(rs, err);
		return;
	}
	rs->state = RS_CONNECTED;
	rs->established = true;
}

static bool handshaking(const struct rsock *rs)
{
	return rs->state == RS_CONNECTING || rs->state == RS_ACCEPTING;
}

/* A request we will not take: the peer hears so at once. */
static void drop_request(struct rdma_cm_id *id)
{
	rdma_reject(id, NULL, 0);
	rdma_destroy_id(id);
}

static void listener_event(struct rsock *rs, struct rdma_cm_event *ev)
{
	struct rs_req *r;
	unsigned int i;

	if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
		struct rs_hello h;
		struct rdma_cm_id *id = ev->id;
		bool ok = rs_hello_ok(ev->param.conn.private_data,
				      ev->param.conn.private_data_len, &h);

		rdma_ack_cm_event(ev);
		if (!ok || rs->npending >= RS_MAX_PENDING) {
			drop_request(id);
			return;
		}
		r = &rs->pending[rs->npending++];
		r->id = id;
		r->hello = h;
		r->dead = false;
		return;
	}
	/* A request not taken yet went away (the peer gave up). */
	for (i = 0; i < rs->npending; i++)
		if (rs->pending[i].id == ev->id)
			rs->pending[i].dead = true;
	rdma_ack_cm_event(ev);
}

bool rs_cm_pending(const struct rsock *rs)
{
	struct pollfd pfd = { .fd = rs->ch->fd, .events = POLLIN };

	/* The channel fd is readable exactly while events wait: looking at
	 * it is much cheaper than asking xenibd. */
	return poll(&pfd, 1, 0) > 0;
}

void rs_cm_progress(struct rsock *rs)
{
	struct rdma_cm_event *ev;

	if (!rs_cm_pending(rs))
		return;

	while (!(rs->state == RS_LISTEN && rs->npending >= RS_MAX_PENDING) &&
	       !rdma_get_cm_event(rs->ch, &ev)) {
		if (rs->state == RS_LISTEN) {
			listener_event(rs, ev);
			continue;
		}
		if (ev->id != rs->id) {
			rdma_ack_cm_event(ev);
			continue;
		}
		switch (ev->event) {
		case RDMA_CM_EVENT_ADDR_RESOLVED:
			if (rs->state == RS_ADDR_QUERY) {
				if (rdma_resolve_route(rs->id, RS_CM_TIMEOUT))
					rs_ctl_fail(rs, errno);
				else
					rs->state = RS_ROUTE_QUERY;
			}
			break;
		case RDMA_CM_EVENT_ROUTE_RESOLVED:
			if (rs->state == RS_ROUTE_QUERY)
				on_route(rs);
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			if (handshaking(rs))
				on_established(rs, ev);
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
			rs->peer_gone = true;
			if (!rs->disconnected) {
				rs->disconnected = true;
				rdma_disconnect(rs->id);	/* the DREP */
			}
			if (handshaking(rs))
				rs_ctl_fail(rs, ECONNRESET);
			break;
		case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		case RDMA_CM_EVENT_CONNECT_RESPONSE:
			break;
		case RDMA_CM_EVENT_ADDR_ERROR:
		case RDMA_CM_EVENT_ROUTE_ERROR:
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_UNREACHABLE:
		case RDMA_CM_EVENT_REJECTED:
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
			if (rs->state == RS_CONNECTED) {
				rs->peer_gone = true;
				rs->err = ECONNRESET;
			} else if (rs->state != RS_ERROR) {
				rs_ctl_fail(rs, event_err(ev));
			}
			break;
		default:
			break;
		}
		rdma_ack_cm_event(ev);
	}
}

/* ------------------------------------------------------------------ */
/* Connecting                                                          */

static int wait_connected(struct rsock *rs)
{
	int err;

	for (;;) {
		rs_progress(rs);
		if (rs->state == RS_CONNECTED)
			return 0;
		if (rs->state == RS_ERROR) {
			err = rs->err ? rs->err : ECONNREFUSED;
			rs->err = 0;
			return err;
		}
		rs_wait(rs, -1);
	}
}

EXPORT int rconnect(int socket, const struct sockaddr *addr,
		    socklen_t addrlen)
{
	struct rsock *rs = rs_get(socket);
	int err;

	if (!rs)
		return cma_err(EBADF);
	err = rs_check_addr(addr, addrlen);
	if (err)
		return cma_err(err);
	pthread_mutex_lock(&rs->mut);
	if (rs->dg) {
		err = rs_dg_connect(rs, addr, addrlen);
		pthread_mutex_unlock(&rs->mut);
		return err ? cma_err(err) : 0;
	}
	switch (rs->state) {
	case RS_NEW:
	case RS_BOUND:
		if (rdma_resolve_addr(rs->id, NULL, (struct sockaddr *)addr,
				      RS_CM_TIMEOUT)) {
			err = errno;
			goto out;
		}
		rs->state = RS_ADDR_QUERY;
		break;
	case RS_ADDR_QUERY:
	case RS_ROUTE_QUERY:
	case RS_CONNECTING:
		if (rs_nonblock(rs, 0)) {
			err = EALREADY;
			goto out;
		}
		break;
	case RS_CONNECTED:
	case RS_ACCEPTING:
		err = EISCONN;
		goto out;
	case RS_ERROR:
		err = rs->err ? rs->err : ECONNREFUSED;
		rs->err = 0;
		goto out;
	default:
		err = EINVAL;
		goto out;
	}
	if (rs_nonblock(rs, 0)) {
		rs_progress(rs);
		err = rs->state == RS_CONNECTED ? 0 : EINPROGRESS;
		goto out;
	}
	err = wait_connected(rs);
out:
	pthread_mutex_unlock(&rs->mut);
	return err ? cma_err(err) : 0;
}

/* ------------------------------------------------------------------ */
static int take_request(struct rsock *l, struct rs_req *out, int *err)
{
	for (;;) {
		rs_cm_progress(l);
		while (l->npending) {
			*out = l->pending[0];
			l->npending--;
			memmove(&l->pending[0], &l->pending[1],
				l->npending * sizeof(l->pending[0]));
			if (!out->dead)
				return 0;
			rdma_destroy_id(out->id);
		}
		if (l->state != RS_LISTEN) {
			*err = EINVAL;
			return -1;
		}
		if (rs_nonblock(l, 0)) {
			*err = EAGAIN;
			return -1;
		}
		rs_wait(l, -1);
	}
}

EXPORT int raccept(int socket, struct sockaddr *addr, socklen_t *addrlen)
{
	struct rsock *l = rs_get(socket), *rs;
	struct rdma_conn_param p;
	struct rs_hello h;
	struct rs_req r;
	int err;

	if (!l)
		return cma_err(EBADF);
	if (l->dg)
		return cma_err(EOPNOTSUPP);
	pthread_mutex_lock(&l->mut);
	if (l->state != RS_LISTEN) {
		pthread_mutex_unlock(&l->mut);
		return cma_err(EINVAL);
	}
again:
	if (take_request(l, &r, &err)) {
		pthread_mutex_unlock(&l->mut);
		return cma_err(err);
	}
	rs = rs_alloc(l);
	if (!rs) {
		err = errno;
		drop_request(r.id);
		pthread_mutex_unlock(&l->mut);
		return cma_err(err);
	}
	if (rdma_migrate_id(r.id, rs->ch)) {
		drop_request(r.id);
		goto fail;
	}
	rs->id = r.id;
	rs->id->context = rs;
	err = rs_resources(rs);
	if (!err)
		err = rs_peer(rs, &r.hello);
	if (err) {
		rdma_reject(rs->id, NULL, 0);
		goto fail;
	}
	rs_connect_params(rs, &p, &h);
	if (rdma_accept(rs->id, &p))
		goto fail;
	rs->state = RS_ACCEPTING;
	err = rs_insert(rs);
	if (err) {
		rdma_disconnect(rs->id);
		goto fail;
	}
	pthread_mutex_unlock(&l->mut);

	pthread_mutex_lock(&rs->mut);
	if (!rs_nonblock(rs, 0)) {
		err = wait_connected(rs);
		if (err) {
			pthread_mutex_unlock(&rs->mut);
			rs_remove(rs);
			rs_destroy(rs);
			return cma_err(err == ECONNREFUSED ? ECONNABORTED :
				       err);
		}
	} else {
		rs_progress(rs);
	}
	rs_copy_addr(addr, addrlen, rdma_get_peer_addr(rs->id));
	pthread_mutex_unlock(&rs->mut);
	return rs->fd;
fail:
	cma_dbg("raccept: dropping a request: %s", strerror(errno));
	rs_destroy(rs);
	if (!rs_nonblock(l, 0))
		goto again;
	pthread_mutex_unlock(&l->mut);
	return cma_err(ECONNABORTED);
}
