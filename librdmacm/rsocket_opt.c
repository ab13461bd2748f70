// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, names, options and rfcntl: rgetsockname, rgetpeername,
 * rsetsockopt, rgetsockopt (the socket, TCP, IPv6 and SOL_RDMA levels
 * upstream's rsockets know), rfcntl (O_NONBLOCK is ours: the fds under a
 * socket stay non-blocking whatever the caller asks).
 *
 * The sizes (buffers, queues, inline, io mappings) count for a connection
 * set up after they are set: the ring is sized when it is made
 * (rsocket_ring.c), and an accepted socket starts with its listener's
 * options (rsocket.c).
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <rdma/rsocket.h>

#include "rsocket.h"

int rs_check_addr(const struct sockaddr *addr, socklen_t len)
{
	if (!addr || len < sizeof(sa_family_t) ||
	    (addr->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (addr->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return EINVAL;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return EAFNOSUPPORT;
	return 0;
}

socklen_t rs_addr_len(const struct sockaddr *a)
{
	return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					  sizeof(struct sockaddr_in);
}

void rs_copy_addr(struct sockaddr *dst, socklen_t *len,
		  const struct sockaddr *src)
{
	socklen_t size = rs_addr_len(src);

	if (!len)
		return;
	if (dst && *len)
		memcpy(dst, src, *len < size ? *len : size);
	*len = size;
}

EXPORT int rgetsockname(int socket, struct sockaddr *addr, socklen_t *addrlen)
{
	struct rsock *rs = rs_get(socket);
	struct sockaddr_storage ss;
	struct sockaddr *local;

	if (!rs)
		return cma_err(EBADF);
	if (!addrlen)
		return cma_err(EFAULT);
	local = rdma_get_local_addr(rs->id);
	if (local->sa_family == AF_UNSPEC) {
		/* Not bound yet: the wildcard address of its family. */
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)rs->domain;
		local = (struct sockaddr *)&ss;
	}
	rs_copy_addr(addr, addrlen, local);
	return 0;
}

EXPORT int rgetpeername(int socket, struct sockaddr *addr, socklen_t *addrlen)
{
	struct rsock *rs = rs_get(socket);

	if (!rs)
		return cma_err(EBADF);
	if (!addrlen)
		return cma_err(EFAULT);
	if (rs->dg) {
		int err;

		pthread_mutex_lock(&rs->mut);
		err = rs_dg_peername(rs, addr, addrlen);
		pthread_mutex_unlock(&rs->mut);
		return err ? cma_err(err) : 0;
	}
	if (rs->state != RS_CONNECTED && rs->state != RS_ACCEPTING &&
	    rs->state != RS_CLOSED)
		return cma_err(ENOTCONN);
	rs_copy_addr(addr, addrlen, rdma_get_peer_addr(rs->id));
	return 0;
}

/*
 * The options kept as an int in the socket.  A flag reads back as 0 or 1
 * whatever was set; a size must not be negative.
 */
enum opt_kind { OPT_INT, OPT_FLAG, OPT_SIZE };

#define INT_OPT(level, name, field, kind) \
	{ level, name, offsetof(struct rsock, field), kind }

static const struct int_opt {
	int level, name;
	size_t off;
	enum opt_kind kind;
} int_opts[] = {
	INT_OPT(SOL_SOCKET,   SO_REUSEADDR,   reuseaddr,  OPT_FLAG),
	INT_OPT(SOL_SOCKET,   SO_KEEPALIVE,   keepalive,  OPT_FLAG),
	INT_OPT(SOL_SOCKET,   SO_OOBINLINE,   oobinline,  OPT_FLAG),
	INT_OPT(SOL_SOCKET,   SO_SNDBUF,      sndbuf,     OPT_SIZE),
	INT_OPT(SOL_SOCKET,   SO_RCVBUF,      rcvbuf,     OPT_SIZE),
	INT_OPT(IPPROTO_TCP,  TCP_NODELAY,    nodelay,    OPT_FLAG),
	INT_OPT(IPPROTO_TCP,  TCP_KEEPIDLE,   keepidle,   OPT_INT),
	INT_OPT(IPPROTO_TCP,  TCP_KEEPINTVL,  keepintvl,  OPT_INT),
	INT_OPT(IPPROTO_TCP,  TCP_KEEPCNT,    keepcnt,    OPT_INT),
	INT_OPT(IPPROTO_IPV6, IPV6_V6ONLY,    v6only,     OPT_FLAG),
	INT_OPT(SOL_RDMA,     RDMA_SQSIZE,    sqsize,     OPT_SIZE),
	INT_OPT(SOL_RDMA,     RDMA_RQSIZE,    rqsize,     OPT_SIZE),
	INT_OPT(SOL_RDMA,     RDMA_INLINE,    inline_req, OPT_SIZE),
	INT_OPT(SOL_RDMA,     RDMA_IOMAPSIZE, iomap_size, OPT_SIZE),
};

static const struct int_opt *find_opt(int level, int name)
{
	size_t i;

	for (i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++)
		if (int_opts[i].level == level && int_opts[i].name == name)
			return &int_opts[i];
	return NULL;
}

static int *opt_in(struct rsock *rs, const struct int_opt *o)
{
	return (int *)((char *)rs + o->off);
}

EXPORT int rsetsockopt(int socket, int level, int optname,
		       const void *optval, socklen_t optlen)
{
	struct rsock *rs = rs_get(socket);
	const struct int_opt *o;
	int v, ret = 0;

	if (!rs)
		return cma_err(EBADF);
	if (level == SOL_RDMA && optname == RDMA_ROUTE)
		return 0;	/* xenibd makes the route; a given one is moot */
	if (level == SOL_SOCKET && optname == SO_LINGER) {
		if (!optval || optlen < sizeof(struct linger))
			return cma_err(EINVAL);
		pthread_mutex_lock(&rs->mut);
		memcpy(&rs->linger, optval, sizeof(rs->linger));
		pthread_mutex_unlock(&rs->mut);
		return 0;
	}
	o = find_opt(level, optname);
	if (!o)
		return cma_err(ENOTSUP);
	if (!optval || optlen < sizeof(int))
		return cma_err(EINVAL);
	memcpy(&v, optval, sizeof(v));
	pthread_mutex_lock(&rs->mut);
	if (level == SOL_SOCKET && optname == SO_REUSEADDR) {
		ret = rdma_set_option(rs->id, RDMA_OPTION_ID,
				      RDMA_OPTION_ID_REUSEADDR, &v, sizeof(v));
	} else if (level == IPPROTO_IPV6) {
		ret = rdma_set_option(rs->id, RDMA_OPTION_ID,
				      RDMA_OPTION_ID_AFONLY, &v, sizeof(v));
	} else if (o->kind == OPT_SIZE) {
		if (v < 0)
			ret = cma_err(EINVAL);
		else if (level == SOL_RDMA && optname == RDMA_IOMAPSIZE &&
			 (uint32_t)v > RS_MAX_IOMAP)
			v = RS_MAX_IOMAP;
	}
	if (!ret)
		*opt_in(rs, o) = o->kind == OPT_FLAG ? !!v : v;
	pthread_mutex_unlock(&rs->mut);
	return ret;
}

EXPORT int rgetsockopt(int socket, int level, int optname, void *optval,
		       socklen_t *optlen)
{
	struct rsock *rs = rs_get(socket);
	const struct int_opt *o;
	int v;

	if (!rs)
		return cma_err(EBADF);
	if (!optval || !optlen)
		return cma_err(EFAULT);
	pthread_mutex_lock(&rs->mut);
	if (level == SOL_SOCKET && optname == SO_LINGER) {
		socklen_t n = *optlen < sizeof(rs->linger) ?
			      *optlen : sizeof(rs->linger);

		memcpy(optval, &rs->linger, n);
		*optlen = n;
		pthread_mutex_unlock(&rs->mut);
		return 0;
	}
	if (level == SOL_SOCKET && optname == SO_ERROR) {
		rs_progress(rs);
		v = rs->err;
		rs->err = 0;
	} else if (level == SOL_SOCKET && optname == SO_TYPE) {
		v = rs->type;
	} else if (level == SOL_SOCKET && optname == SO_ACCEPTCONN) {
		v = rs->state == RS_LISTEN;
	} else if (level == IPPROTO_TCP && optname == TCP_MAXSEG) {
		v = rs->peer_bufsz ? (int)rs->peer_bufsz : 2048;
	} else {
		o = find_opt(level, optname);
		if (!o) {
			pthread_mutex_unlock(&rs->mut);
			return cma_err(ENOTSUP);
		}
		v = *opt_in(rs, o);
	}
	pthread_mutex_unlock(&rs->mut);
	if (*optlen < sizeof(int))
		return cma_err(EINVAL);
	memcpy(optval, &v, sizeof(v));
	*optlen = sizeof(v);
	return 0;
}

EXPORT int rfcntl(int socket, int cmd, ...)
{
	struct rsock *rs = rs_get(socket);
	va_list ap;
	long arg;
	int ret;

	if (!rs)
		return cma_err(EBADF);
	switch (cmd) {
	case F_GETFL:
		return rs->fd_flags | O_RDWR;
	case F_SETFL:
		va_start(ap, cmd);
		arg = va_arg(ap, long);
		va_end(ap);
		pthread_mutex_lock(&rs->mut);
		rs->fd_flags = (int)(arg & O_NONBLOCK);
		pthread_cond_broadcast(&rs->cond);
		pthread_mutex_unlock(&rs->mut);
		return 0;
	case F_GETFD:
		return fcntl(rs->fd, F_GETFD);
	case F_SETFD:
		va_start(ap, cmd);
		arg = va_arg(ap, long);
		va_end(ap);
		ret = fcntl(rs->fd, F_SETFD, arg);
		return ret;
	default:
		return cma_err(ENOTSUP);
	}
}
