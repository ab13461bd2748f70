// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, the stream calls: rsend, rsendto, rsendmsg, rwrite, rwritev,
 * and rrecv, rrecvfrom, rrecvmsg, rread, rreadv, over the connection's
 * ring (rsocket_ring.c).  A datagram socket's calls go to
 * rsocket_dgram.c.
 *
 * A send is cut into messages of at most the peer's buffer size, each as
 * soon as a credit allows; a receive copies out of the buffers that came
 * in, in order, and hands the emptied ones back to the peer.  A blocking
 * call that cannot go on sleeps in rs_wait (rsocket_poll.c).
 */
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/uio.h>

#include <rdma/rsocket.h>

#include "rsocket.h"

static bool connecting(const struct rsock *rs)
{
	return rs->state == RS_ADDR_QUERY || rs->state == RS_ROUTE_QUERY ||
	       rs->state == RS_CONNECTING || rs->state == RS_ACCEPTING;
}

/* Wait out a connection being made; 0 once connected, else an errno. */
int rs_ready(struct rsock *rs, int flags)
{
	while (connecting(rs)) {
		rs_progress(rs);
		if (!connecting(rs))
			break;
		if (rs_nonblock(rs, flags))
			return EAGAIN;
		rs_wait(rs, -1);
	}
	switch (rs->state) {
	case RS_CONNECTED:
		return 0;
	case RS_ERROR:
		return rs->established ? ECONNRESET : ENOTCONN;
	default:
		return ENOTCONN;
	}
}

/* The datagram calls set errno; unlocking must not change it. */
static ssize_t unlock_keep_errno(struct rsock *rs, ssize_t ret)
{
	int err = errno;

	pthread_mutex_unlock(&rs->mut);
	errno = err;
	return ret;
}

static ssize_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t t = 0;
	int i;

	if (iovcnt < 0 || (iovcnt && !iov))
		return -1;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - t)
			return -1;
		t += iov[i].iov_len;
	}
	return (ssize_t)t;
}

/* The socket, locked, and the bytes the iov holds; NULL (errno EBADF
 * or EINVAL) for a call that cannot be made. */
static struct rsock *enter(int socket, const struct iovec *iov, int iovcnt,
			   ssize_t *total)
{
	struct rsock *rs = rs_get(socket);

	*total = iov_total(iov, iovcnt);
	if (!rs) {
		cma_err(EBADF);
		return NULL;
	}
	if (*total < 0) {
		cma_err(EINVAL);
		return NULL;
	}
	pthread_mutex_lock(&rs->mut);
	return rs;
}

static ssize_t rs_sendv(int socket, const struct iovec *iov, int iovcnt,
			int flags, const struct sockaddr *to, socklen_t tolen)
{
	ssize_t total;
	struct rsock *rs = enter(socket, iov, iovcnt, &total);
	size_t sent = 0;
	int err = 0;

	if (!rs)
		return -1;
	if (rs->dg) {
		ssize_t r = rs_dg_sendv(rs, iov, iovcnt, (size_t)total, flags,
					to, tolen);

		return unlock_keep_errno(rs, r);
	}
	err = rs_ready(rs, flags);
	while (!err && sent < (size_t)total) {
		uint32_t chunk;

		err = rs_send_err(rs);
		if (err)
			break;
		if (!rs_can_send(rs)) {
			rs_progress(rs);
			if (rs_can_send(rs))
				continue;
			if (rs_nonblock(rs, flags))
				break;
			rs_wait(rs, -1);
			continue;
		}
		chunk = (size_t)total - sent > rs->sbufsz ?
			rs->sbufsz : (uint32_t)((size_t)total - sent);
		err = rs_send_msg(rs, RS_MSG_DATA, iov, iovcnt, sent, chunk,
				  false);
		if (!err)
			sent += chunk;
	}
	pthread_mutex_unlock(&rs->mut);
	if (sent)
		return (ssize_t)sent;
	if (!total && !err)
		return 0;
	if (!err)
		sched_yield();	/* a spinning caller: let the device run */
	return cma_err(err ? err : EAGAIN);
}

EXPORT ssize_t rsend(int socket, const void *buf, size_t len, int flags)
{
	struct iovec iov = { (void *)buf, len };

	return rs_sendv(socket, &iov, 1, flags, NULL, 0);
}

/* A stream socket ignores the address, as a connected TCP socket does. */
EXPORT ssize_t rsendto(int socket, const void *buf, size_t len, int flags,
		       const struct sockaddr *dest_addr, socklen_t addrlen)
{
	struct iovec iov = { (void *)buf, len };

	return rs_sendv(socket, &iov, 1, flags, dest_addr, addrlen);
}

EXPORT ssize_t rsendmsg(int socket, const struct msghdr *msg, int flags)
{
	if (!msg)
		return cma_err(EFAULT);
	if (msg->msg_iovlen > INT_MAX)
		return cma_err(EINVAL);
	return rs_sendv(socket, msg->msg_iov, (int)msg->msg_iovlen, flags,
			msg->msg_name, msg->msg_namelen);
}

EXPORT ssize_t rwrite(int socket, const void *buf, size_t count)
{
	return rsend(socket, buf, count, 0);
}

EXPORT ssize_t rwritev(int socket, const struct iovec *iov, int iovcnt)
{
	return rs_sendv(socket, iov, iovcnt, 0, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* rrecv and friends                                                   */

/*
 * Copy out of the received buffers, `done' bytes into iov already; the
 * buffers emptied go back to the peer (not when peeking).
 */
static size_t copy_out(struct rsock *rs, const struct iovec *iov, int iovcnt,
		       size_t want, size_t done, bool peek)
{
	uint32_t k = 0, off = rs->rxq[rs->rx_head].off;
	size_t ioff = done;
	int i = 0;

	while (i < iovcnt && ioff >= iov[i].iov_len) {
		ioff -= iov[i].iov_len;
		i++;
	}
	while (done < want && k < rs->rx_cnt && i < iovcnt) {
		struct rs_rx *e = &rs->rxq[(rs->rx_head + k) % rs->nrwqe];
		size_t n = e->len - off;

		if (n > iov[i].iov_len - ioff)
			n = iov[i].iov_len - ioff;
		if (n > want - done)
			n = want - done;
		memcpy((char *)iov[i].iov_base + ioff,
		       rs->rbuf + (size_t)e->idx * rs->bufsz + off, n);
		done += n;
		ioff += n;
		off += (uint32_t)n;
		if (ioff == iov[i].iov_len) {
			i++;
			ioff = 0;
		}
		if (!peek)
			e->off = off;
		if (off < e->len)
			continue;
		off = 0;
		if (peek) {
			k++;
			continue;
		}
		rs_repost(rs, e->idx);
		rs->rx_head = (rs->rx_head + 1) % rs->nrwqe;
		rs->rx_cnt--;
	}
	return done;
}

static bool at_eof(const struct rsock *rs)
{
	return rs->rd_shut || rs->fin_rcvd || rs->peer_gone ||
	       rs->disconnected || rs->state == RS_ERROR ||
	       rs->state == RS_CLOSED;
}

static ssize_t rs_recvv(int socket, const struct iovec *iov, int iovcnt,
			int flags, struct sockaddr *from, socklen_t *fromlen)
{
	ssize_t total;
	struct rsock *rs = enter(socket, iov, iovcnt, &total);
	bool peek = flags & MSG_PEEK;
	size_t got = 0;
	int err;

	if (!rs)
		return -1;
	if (rs->dg) {
		ssize_t r = rs_dg_recvv(rs, iov, iovcnt, flags, from, fromlen);

		return unlock_keep_errno(rs, r);
	}
	err = rs_ready(rs, flags);
	if (err == ECONNRESET && rs->rx_cnt)
		err = 0;		/* what came before the reset first */
	while (!err && got < (size_t)total) {
		if (!rs->rx_cnt)
			rs_progress(rs);
		if (rs->rx_cnt) {
			got = copy_out(rs, iov, iovcnt, (size_t)total,
				       peek ? 0 : got, peek);
			if (peek || !(flags & MSG_WAITALL))
				break;
			continue;
		}
		if (at_eof(rs)) {
			if (!got && rs->state == RS_ERROR && !rs->peer_gone)
				err = ECONNRESET;
			break;
		}
		if (rs_nonblock(rs, flags)) {
			if (!got)
				err = EAGAIN;
			break;
		}
		rs_wait(rs, -1);
	}
	if (rs->nrepost) {
		rs_flush_reposts(rs);
		rs_flush_ctrl(rs);
	}
	pthread_mutex_unlock(&rs->mut);
	if (err == EAGAIN && !got)
		sched_yield();	/* a spinning caller: let the device run */
	if (err && !got)
		return cma_err(err);
	return (ssize_t)got;
}

EXPORT ssize_t rrecv(int socket, void *buf, size_t len, int flags)
{
	struct iovec iov = { buf, len };

	return rs_recvv(socket, &iov, 1, flags, NULL, NULL);
}

EXPORT ssize_t rrecvfrom(int socket, void *buf, size_t len, int flags,
			 struct sockaddr *src_addr, socklen_t *addrlen)
{
	struct rsock *rs = rs_get(socket);
	struct iovec iov = { buf, len };
	ssize_t ret;

	if (rs && rs->dg)
		return rs_recvv(socket, &iov, 1, flags, src_addr, addrlen);
	ret = rs_recvv(socket, &iov, 1, flags, NULL, NULL);
	if (ret >= 0 && src_addr && addrlen) {
		int e = errno;

		if (rgetpeername(socket, src_addr, addrlen))
			*addrlen = 0;
		errno = e;
	}
	return ret;
}

EXPORT ssize_t rrecvmsg(int socket, struct msghdr *msg, int flags)
{
	struct rsock *rs;
	ssize_t ret;

	if (!msg)
		return cma_err(EFAULT);
	if (msg->msg_iovlen > INT_MAX)
		return cma_err(EINVAL);
	rs = rs_get(socket);
	if (rs && rs->dg) {
		ret = rs_recvv(socket, msg->msg_iov, (int)msg->msg_iovlen,
			       flags, msg->msg_name, &msg->msg_namelen);
		if (ret >= 0) {
			msg->msg_controllen = 0;
			msg->msg_flags = 0;
		}
		return ret;
	}
	ret = rs_recvv(socket, msg->msg_iov, (int)msg->msg_iovlen, flags,
		       NULL, NULL);
	if (ret >= 0) {
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
		if (msg->msg_name && rgetpeername(socket, msg->msg_name,
						  &msg->msg_namelen))
			msg->msg_namelen = 0;
	}
	return ret;
}

EXPORT ssize_t rread(int socket, void *buf, size_t count)
{
	return rrecv(socket, buf, count, 0);
}

EXPORT ssize_t rreadv(int socket, const struct iovec *iov, int iovcnt)
{
	return rs_recvv(socket, iov, iovcnt, 0, NULL, NULL);
}
