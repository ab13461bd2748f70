// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, waiting: rpoll, rselect, and the wait of a blocking call.
 *
 * An rsocket is ready when its state says so (data or EOF to read, credit
 * and a buffer to send, a request to accept, a connection made or
 * failed); to sleep until that changes we poll its CM channel fd and its
 * CQ's completion channel fd, the CQ armed first and looked at once more
 * after arming so that no completion slips by.  Other fds in an rpoll set
 * are polled as they are.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include <rdma/rsocket.h>

#include "rsocket.h"

/* A blocking call never sleeps longer than this between looks. */
#define RS_WAIT_SLICE	1000

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

long rs_now_ms(void)
{
	return (long)(now_ns() / 1000000);
}

static int fill_fds(struct rsock *rs, struct pollfd *p)
{
	int n = 0;

	p[n].fd = rs->ch->fd;
	p[n].events = POLLIN;
	p[n++].revents = 0;
	if (rs->cc) {
		p[n].fd = rs->cc->fd;
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	return n;
}

int rs_wait(struct rsock *rs, int timeout_ms)
{
	struct pollfd p[2];
	int n, ret;

	if (timeout_ms < 0 || timeout_ms > RS_WAIT_SLICE)
		timeout_ms = RS_WAIT_SLICE;
	if (rs->polling) {
		/* Another thread sleeps in poll for this socket: it wakes
		 * us when it wakes. */
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += timeout_ms / 1000;
		t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		ret = pthread_cond_timedwait(&rs->cond, &rs->mut, &t);
		return ret == ETIMEDOUT ? ETIMEDOUT : 0;
	}
	if (rs_arm(rs))
		return 0;
	rs->polling = true;
	n = fill_fds(rs, p);
	pthread_mutex_unlock(&rs->mut);
	ret = poll(p, (nfds_t)n, timeout_ms);
	pthread_mutex_lock(&rs->mut);
	rs->polling = false;
	pthread_cond_broadcast(&rs->cond);
	return ret == 0 ? ETIMEDOUT : 0;
}

static short rs_revents(struct rsock *rs)
{
	short ev = 0;

	if (rs->dg)
		return rs_dg_revents(rs);
	switch (rs->state) {
	case RS_NEW:
	case RS_BOUND:
		return POLLOUT | POLLHUP;
	case RS_LISTEN:
		return rs->npending ? POLLIN : 0;
	case RS_ADDR_QUERY:
	case RS_ROUTE_QUERY:
	case RS_CONNECTING:
	case RS_ACCEPTING:
		return 0;
	case RS_CONNECTED:
		if (rs->rx_cnt || rs->fin_rcvd || rs->rd_shut ||
		    rs->peer_gone || rs->disconnected)
			ev |= POLLIN;
		if (rs_can_send(rs) || rs->wr_shut || rs->peer_gone ||
		    rs->disconnected)
			ev |= POLLOUT;
		if (rs->peer_gone || (rs->rd_shut && rs->wr_shut))
			ev |= POLLHUP;
		if (rs->fin_rcvd)
			ev |= POLLRDHUP;
		return ev;
	case RS_ERROR:
		return POLLIN | POLLOUT | POLLERR | POLLHUP;
	case RS_CLOSED:
	default:
		return POLLIN | POLLOUT | POLLHUP;
	}
}

static short ready_events(struct rsock *rs, short events)
{
	return rs_revents(rs) & (events | POLLERR | POLLHUP | POLLNVAL);
}

/* Look at every fd once, no waiting; the number ready. */
static int scan(struct pollfd *fds, nfds_t nfds, struct rsock **rss,
		bool *any_plain)
{
	nfds_t i;
	int cnt = 0, plain = 0;

	for (i = 0; i < nfds; i++) {
		struct rsock *rs = rss[i];

		fds[i].revents = 0;
		if (!rs) {
			plain += fds[i].fd >= 0;
			continue;
		}
		pthread_mutex_lock(&rs->mut);
		rs_progress(rs);
		fds[i].revents = ready_events(rs, fds[i].events);
		pthread_mutex_unlock(&rs->mut);
		cnt += !!fds[i].revents;
	}
	*any_plain = plain > 0;
	return cnt;
}

EXPORT int rpoll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct rsock **rss;
	struct pollfd *pf;
	nfds_t i, n;
	/* In ns: a timeout of 1 ms must not end after 0.1 ms. */
	int64_t deadline = timeout > 0 ? now_ns() + timeout * 1000000LL : 0;
	bool any_rs = false, plain;
	int cnt, ret;

	if (nfds && !fds)
		return cma_err(EFAULT);
	rss = calloc(nfds ? nfds : 1, sizeof(*rss));
	pf = calloc(nfds ? 2 * nfds : 1, sizeof(*pf));
	if (!rss || !pf) {
		free(rss);
		free(pf);
		return cma_err(ENOMEM);
	}
	for (i = 0; i < nfds; i++) {
		rss[i] = rs_get(fds[i].fd);
		any_rs |= rss[i] != NULL;
	}
	if (!any_rs) {
		free(rss);
		free(pf);
		return poll(fds, nfds, timeout);
	}
	for (;;) {
		int left;

		cnt = scan(fds, nfds, rss, &plain);
		if (cnt || timeout == 0) {
			if (plain) {
				/* The other fds' state now, too. */
				for (i = n = 0; i < nfds; i++)
					if (!rss[i])
						pf[n++] = fds[i];
				if (poll(pf, n, 0) > 0)
					for (i = n = 0; i < nfds; i++)
						if (!rss[i]) {
							fds[i].revents =
								pf[n++].revents;
							cnt += !!fds[i].revents;
						}
			}
			break;
		}
		/* Arm, then sleep on everything. */
		for (i = n = 0; i < nfds; i++) {
			struct rsock *rs = rss[i];

			if (!rs) {
				pf[n] = fds[i];
				pf[n++].revents = 0;
				continue;
			}
			pthread_mutex_lock(&rs->mut);
			if (rs_arm(rs) && ready_events(rs, fds[i].events)) {
				pthread_mutex_unlock(&rs->mut);
				break;
			}
			n += (nfds_t)fill_fds(rs, &pf[n]);
			pthread_mutex_unlock(&rs->mut);
		}
		if (i < nfds)
			continue;	/* became ready while arming */
		left = -1;
		if (timeout > 0) {
			int64_t l = deadline - now_ns();

			if (l <= 0) {
				timeout = 0;
				continue;
			}
			left = (int)((l + 999999) / 1000000);	/* rounded up */
		}
		ret = poll(pf, n, left);
		if (ret < 0) {
			cnt = -1;
			break;
		}
		if (ret == 0 && timeout > 0)
			timeout = 0;	/* one last look, then out */
	}
	free(rss);
	free(pf);
	return cnt;
}

EXPORT int rselect(int nfds, fd_set *readfds, fd_set *writefds,
		   fd_set *exceptfds, struct timeval *timeout)
{
	struct pollfd *fds;
	int fd, n = 0, ret, cnt = 0, to;

	if (nfds < 0 || nfds > FD_SETSIZE)
		return cma_err(EINVAL);
	fds = calloc(nfds ? (size_t)nfds : 1, sizeof(*fds));
	if (!fds)
		return cma_err(ENOMEM);
	for (fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (readfds && FD_ISSET(fd, readfds))
			ev |= POLLIN;
		if (writefds && FD_ISSET(fd, writefds))
			ev |= POLLOUT;
		if (ev || (exceptfds && FD_ISSET(fd, exceptfds))) {
			fds[n].fd = fd;
			fds[n++].events = ev;
		}
	}
	to = !timeout ? -1 :
	     (int)(timeout->tv_sec * 1000 + timeout->tv_usec / 1000);
	ret = rpoll(fds, (nfds_t)n, to);
	if (readfds)
		FD_ZERO(readfds);
	if (writefds)
		FD_ZERO(writefds);
	if (exceptfds)
		FD_ZERO(exceptfds);
	if (ret > 0) {
		int i;

		for (i = 0; i < n; i++) {
			if ((fds[i].events & POLLIN) &&
			    (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				FD_SET(fds[i].fd, readfds);
				cnt++;
			}
			if ((fds[i].events & POLLOUT) &&
			    (fds[i].revents & (POLLOUT | POLLERR))) {
				FD_SET(fds[i].fd, writefds);
				cnt++;
			}
			if (exceptfds &&
			    (fds[i].revents & ~(POLLIN | POLLOUT | POLLHUP |
						POLLERR))) {
				FD_SET(fds[i].fd, exceptfds);
				cnt++;
			}
		}
	}
	free(fds);
	return ret < 0 ? ret : cnt;
}
