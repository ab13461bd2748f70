// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, a socket's life: the table of sockets, rsocket/rbind/rlisten,
 * rshutdown/rclose.  Connecting and accepting are rsocket_conn.c; names,
 * options and rfcntl rsocket_opt.c; the data path rsocket_ring.c (the
 * connection's ring of buffers and credits), rsocket_stream.c (the send
 * and receive calls) and rsocket_iomap.c; datagrams rsocket_dgram*.c; the
 * CQ both kinds share rsocket_cq.c; waiting rsocket_poll.c.
 *
 * What the calls do is what upstream's rsockets do (rsocket(7)): stream
 * sockets (and datagram ones, rsocket_dgram.c), AF_INET and AF_INET6; an
 * accepted socket inherits the listener's options and O_NONBLOCK; a
 * non-blocking rconnect answers EINPROGRESS and finishes in rpoll
 * (POLLOUT) with SO_ERROR telling how it went.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/rsocket.h>

#include "rsocket.h"

#define RS_DEF_BUF	(128 * 1024)
#define RS_DEF_INLINE	64
#define RS_CLOSE_WAIT	10000		/* ms a close waits for its sends */

static pthread_mutex_t tab_mut = PTHREAD_MUTEX_INITIALIZER;
static struct rsock **tab;

struct rsock *rs_get(int fd)
{
	struct rsock **t = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);

	if (fd < 0 || fd >= RS_MAX_FD || !t)
		return NULL;
	return __atomic_load_n(&t[fd], __ATOMIC_ACQUIRE);
}

int rs_insert(struct rsock *rs)
{
	int err = 0;

	if (rs->fd < 0 || rs->fd >= RS_MAX_FD)
		return EMFILE;
	pthread_mutex_lock(&tab_mut);
	if (!tab) {
		struct rsock **t = calloc(RS_MAX_FD, sizeof(*t));

		if (t)
			__atomic_store_n(&tab, t, __ATOMIC_RELEASE);
	}
	if (!tab)
		err = ENOMEM;
	else
		__atomic_store_n(&tab[rs->fd], rs, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_mut);
	return err;
}

void rs_remove(struct rsock *rs)
{
	pthread_mutex_lock(&tab_mut);
	if (tab && rs->fd >= 0 && rs->fd < RS_MAX_FD && tab[rs->fd] == rs)
		__atomic_store_n(&tab[rs->fd], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tab_mut);
}

int rs_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return errno;
	return 0;
}

static void rs_defaults(struct rsock *rs, const struct rsock *from)
{
	if (from) {
		rs->domain = from->domain;
		rs->fd_flags = from->fd_flags;
		rs->sndbuf = from->sndbuf;
		rs->rcvbuf = from->rcvbuf;
		rs->inline_req = from->inline_req;
		rs->iomap_size = from->iomap_size;
		rs->sqsize = from->sqsize;
		rs->rqsize = from->rqsize;
		rs->nodelay = from->nodelay;
		rs->keepalive = from->keepalive;
		rs->keepidle = from->keepidle;
		rs->keepintvl = from->keepintvl;
		rs->keepcnt = from->keepcnt;
		rs->oobinline = from->oobinline;
		rs->linger = from->linger;
		return;
	}
	rs->sndbuf = RS_DEF_BUF;
	rs->rcvbuf = RS_DEF_BUF;
	rs->inline_req = RS_DEF_INLINE;
	rs->keepidle = 7200;
	rs->keepintvl = 75;
	rs->keepcnt = 9;
}

void rs_destroy(struct rsock *rs)
{
	unsigned int i;

	for (i = 0; i < rs->npending; i++) {
		if (!rs->pending[i].dead)
			rdma_reject(rs->pending[i].id, NULL, 0);
		rdma_destroy_id(rs->pending[i].id);
	}
	rs->npending = 0;
	rs_dg_free(rs);
	rs_free_resources(rs);
	if (rs->id)
		rdma_destroy_id(rs->id);
	if (rs->ch)
		rdma_destroy_event_channel(rs->ch);
	pthread_cond_destroy(&rs->cond);
	pthread_mutex_destroy(&rs->mut);
	free(rs);
}

/* A socket with a channel of its own; id made by the caller. */
struct rsock *rs_alloc(const struct rsock *from)
{
	struct rsock *rs = calloc(1, sizeof(*rs));
	int err;

	if (!rs) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&rs->mut, NULL);
	pthread_cond_init(&rs->cond, NULL);
	rs->fd = -1;
	rs_defaults(rs, from);
	rs->ch = rdma_create_event_channel();
	if (!rs->ch)
		goto err;
	err = rs_set_nonblock(rs->ch->fd);
	if (err) {
		errno = err;
		goto err;
	}
	rs->fd = rs->ch->fd;
	return rs;
err:
	err = errno;
	rs_destroy(rs);
	errno = err;
	return NULL;
}

bool rs_nonblock(const struct rsock *rs, int flags)
{
	return (rs->fd_flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
}

int rs_ctl_fail(struct rsock *rs, int err)
{
	if (rs->state != RS_ERROR)
		cma_dbg("rsocket %d: connection failed: %s", rs->fd,
			strerror(err));
	rs->state = RS_ERROR;
	if (!rs->err)
		rs->err = err;
	pthread_cond_broadcast(&rs->cond);
	return err;
}

EXPORT int rsocket(int domain, int type, int protocol)
{
	struct rsock *rs;
	int err;

	if (cma_init())
		return -1;
	if (domain != AF_INET && domain != AF_INET6)
		return cma_err(domain == AF_IB ? EAFNOSUPPORT : ENOTSUP);
	if ((type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    (type == SOCK_STREAM && protocol && protocol != IPPROTO_TCP) ||
	    (type == SOCK_DGRAM && protocol && protocol != IPPROTO_UDP))
		return cma_err(ENOTSUP);

	rs = rs_alloc(NULL);
	if (!rs)
		return -1;
	rs->domain = domain;
	rs->type = type;
	if (type == SOCK_DGRAM) {
		err = rs_dg_init(rs);
		if (err) {
			errno = err;
			goto err;
		}
	} else if (rdma_create_id(rs->ch, &rs->id, rs, RDMA_PS_TCP)) {
		goto err;
	}
	err = rs_insert(rs);
	if (err) {
		errno = err;
		goto err;
	}
	return rs->fd;
err:
	err = errno;
	rs_destroy(rs);
	return cma_err(err);
}

EXPORT int rbind(int socket, const struct sockaddr *addr, socklen_t addrlen)
{
	struct rsock *rs = rs_get(socket);
	int ret;

	if (!rs)
		return cma_err(EBADF);
	ret = rs_check_addr(addr, addrlen);
	if (ret)
		return cma_err(ret);
	pthread_mutex_lock(&rs->mut);
	if (rs->state != RS_NEW) {
		pthread_mutex_unlock(&rs->mut);
		return cma_err(EINVAL);
	}
	if (rs->dg) {
		ret = rs_dg_bind(rs, addr);
		pthread_mutex_unlock(&rs->mut);
		return ret ? cma_err(ret) : 0;
	}
	ret = rdma_bind_addr(rs->id, (struct sockaddr *)addr);
	if (!ret)
		rs->state = RS_BOUND;
	pthread_mutex_unlock(&rs->mut);
	return ret;
}

EXPORT int rlisten(int socket, int backlog)
{
	struct rsock *rs = rs_get(socket);
	int ret = 0;

	if (!rs)
		return cma_err(EBADF);
	if (rs->dg)
		return cma_err(EOPNOTSUPP);
	pthread_mutex_lock(&rs->mut);
	if (rs->state == RS_LISTEN)
		goto out;		/* a new backlog is not passed on */
	if (rs->state != RS_NEW && rs->state != RS_BOUND) {
		ret = cma_err(EINVAL);
		goto out;
	}
	if (backlog <= 0)
		backlog = 1;
	ret = rdma_listen(rs->id, backlog);
	if (!ret)
		rs->state = RS_LISTEN;
out:
	pthread_mutex_unlock(&rs->mut);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Shutting down                                                       */

static void wait_sends(struct rsock *rs, int ms)
{
	long deadline = rs_now_ms() + ms;

	for (;;) {
		long left;

		rs_progress(rs);
		if (rs_sends_done(rs) || rs->peer_gone ||
		    rs->state != RS_CONNECTED)
			return;
		left = deadline - rs_now_ms();
		if (left <= 0)
			return;
		rs_wait(rs, (int)left);
	}
}

static int close_wait_ms(const struct rsock *rs)
{
	if (rs->linger.l_onoff)
		return rs->linger.l_linger * 1000;
	return RS_CLOSE_WAIT;
}

static int do_shutdown(struct rsock *rs, int how)
{
	bool connected = rs->state == RS_CONNECTED ||
			 rs->state == RS_ACCEPTING;

	if (!connected && rs->state != RS_ERROR && rs->state != RS_CLOSED)
		return ENOTCONN;
	if (how == SHUT_RD || how == SHUT_RDWR)
		rs->rd_shut = true;
	if (how == SHUT_WR || how == SHUT_RDWR) {
		if (!rs->wr_shut && connected) {
			rs->wr_shut = true;
			rs_send_fin(rs);
		}
		rs->wr_shut = true;
	}
	if (how == SHUT_RDWR && connected) {
		wait_sends(rs, close_wait_ms(rs));
		if (!rs->disconnected) {
			rs->disconnected = true;
			rdma_disconnect(rs->id);
		}
		rs_progress(rs);
	}
	pthread_cond_broadcast(&rs->cond);
	return 0;
}

EXPORT int rshutdown(int socket, int how)
{
	struct rsock *rs = rs_get(socket);
	int err;

	if (!rs)
		return cma_err(EBADF);
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return cma_err(EINVAL);
	if (rs->dg)
		return 0;
	pthread_mutex_lock(&rs->mut);
	err = do_shutdown(rs, how);
	pthread_mutex_unlock(&rs->mut);
	return err ? cma_err(err) : 0;
}

EXPORT int rclose(int socket)
{
	struct rsock *rs = rs_get(socket);

	if (!rs)
		return cma_err(EBADF);
	rs_remove(rs);
	if (rs->dg)
		rs_dg_unregister(rs);
	pthread_mutex_lock(&rs->mut);
	if ((rs->state == RS_CONNECTED || rs->state == RS_ACCEPTING) &&
	    !rs->disconnected)
		do_shutdown(rs, SHUT_RDWR);
	pthread_mutex_unlock(&rs->mut);
	rs_destroy(rs);
	return 0;
}
