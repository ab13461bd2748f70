// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, how datagram sockets find each other (rsocket_dgram.h): a
 * sender resolves a destination once with SIDR on a short-lived id of
 * its own and keeps what came back (address handle, QPN, Q_Key, and how
 * to name itself to that destination); a bound socket answers SIDR
 * requests for its address with its QP's number.
 *
 * SIDR requests are answered by a service thread of ours (started with the
 * first datagram socket, as upstream's rsockets start one), and by any
 * call on the socket: a sender is answered even while the receiving
 * program does something else, or is itself the sender, in one thread.
 */
#include <endian.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "rsocket_dgram.h"

#define RS_DG_RESOLVE	3000		/* ms, a destination's resolution */
#define RS_DG_MAX_DEST	4096

static bool addr_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
					  *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
	}
	return false;
}

static uint16_t port_of(const struct sockaddr *a)
{
	return a->sa_family == AF_INET6 ?
	       ((const struct sockaddr_in6 *)a)->sin6_port :
	       ((const struct sockaddr_in *)a)->sin_port;
}

static void hdr_of(struct rs_dg_hdr *h, const struct sockaddr *src,
		   uint16_t port)
{
	memset(h, 0, sizeof(*h));
	h->magic = htole32(RS_DG_MAGIC);
	h->family = htole16(src->sa_family);
	h->port = port;
	if (src->sa_family == AF_INET6)
		memcpy(h->addr, &((const struct sockaddr_in6 *)src)->sin6_addr,
		       16);
	else
		memcpy(h->addr, &((const struct sockaddr_in *)src)->sin_addr,
		       4);
}

/* ------------------------------------------------------------------ */
/* The service thread: SIDR answers for every bound datagram socket     */

static pthread_mutex_t svc_mut = PTHREAD_MUTEX_INITIALIZER;
static struct rsock **svc_socks;
static unsigned int svc_n, svc_cap;
static int svc_wake = -1;

static void svc_kick(void)
{
	uint64_t one = 1;

	if (svc_wake >= 0 && write(svc_wake, &one, sizeof(one)) < 0)
		cma_dbg("rsocket service: wake: %s", strerror(errno));
}

static void *svc_main(void *arg)
{
	struct pollfd *p = NULL;
	struct rsock **snap = NULL;
	unsigned int cap = 0;

	(void)arg;
	for (;;) {
		unsigned int n = 0, i;
		bool busy = false;
		uint64_t v;

		pthread_mutex_lock(&svc_mut);
		if (cap < svc_n + 1) {
			cap = svc_n + 16;
			free(p);
			free(snap);
			p = calloc(cap, sizeof(*p));
			snap = calloc(cap, sizeof(*snap));
			if (!p || !snap) {
				pthread_mutex_unlock(&svc_mut);
				cap = 0;
				sleep(1);
				continue;
			}
		}
		p[n].fd = svc_wake;
		p[n].events = POLLIN;
		snap[n++] = NULL;
		for (i = 0; i < svc_n; i++) {
			p[n].fd = svc_socks[i]->fd;
			p[n].events = POLLIN;
			snap[n++] = svc_socks[i];
		}
		pthread_mutex_unlock(&svc_mut);
		if (poll(p, n, -1) < 0)
			continue;
		if (p[0].revents && read(svc_wake, &v, sizeof(v)) < 0)
			v = 0;
		pthread_mutex_lock(&svc_mut);
		for (i = 1; i < n; i++) {
			unsigned int k;

			if (!p[i].revents)
				continue;
			for (k = 0; k < svc_n && svc_socks[k] != snap[i]; k++)
				;
			if (k == svc_n)
				continue;	/* closed meanwhile */
			if (pthread_mutex_trylock(&snap[i]->mut)) {
				busy = true;	/* its owner is at it */
				continue;
			}
			if (snap[i]->dg)
				rs_dg_cm(snap[i]);
			pthread_mutex_unlock(&snap[i]->mut);
		}
		pthread_mutex_unlock(&svc_mut);
		if (busy)
			usleep(1000);
	}
	return NULL;
}

int rs_dg_svc_add(struct rsock *rs)
{
	static bool started;
	pthread_t t;
	int err = 0;

	pthread_mutex_lock(&svc_mut);
	if (!started) {
		svc_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (svc_wake < 0) {
			err = errno;
			goto out;
		}
		err = pthread_create(&t, NULL, svc_main, NULL);
		if (err) {
			close(svc_wake);
			svc_wake = -1;
			goto out;
		}
		pthread_detach(t);
		started = true;
	}
	if (svc_n == svc_cap) {
		unsigned int cap = svc_cap ? 2 * svc_cap : 16;
		struct rsock **s = realloc(svc_socks, cap * sizeof(*s));

		if (!s) {
			err = ENOMEM;
			goto out;
		}
		svc_socks = s;
		svc_cap = cap;
	}
	svc_socks[svc_n++] = rs;
out:
	pthread_mutex_unlock(&svc_mut);
	if (!err)
		svc_kick();
	return err;
}

void rs_dg_unregister(struct rsock *rs)
{
	unsigned int i;

	pthread_mutex_lock(&svc_mut);
	for (i = 0; i < svc_n; i++)
		if (svc_socks[i] == rs) {
			svc_socks[i] = svc_socks[--svc_n];
			break;
		}
	pthread_mutex_unlock(&svc_mut);
	svc_kick();
}

/* ------------------------------------------------------------------ */
/* Progress: completions, and SIDR requests for us                     */

void rs_dg_cm(struct rsock *rs)
{
	struct rdma_cm_event *ev;

	if (!rs_cm_pending(rs))
		return;
	while (!rdma_get_cm_event(rs->ch, &ev)) {
		struct rdma_cm_id *id = ev->id;
		bool req = ev->event == RDMA_CM_EVENT_CONNECT_REQUEST &&
			   id != rs->id;

		rdma_ack_cm_event(ev);
		if (!req)
			continue;
		if (rs->dg->qp) {
			struct rdma_conn_param p;

			memset(&p, 0, sizeof(p));
			p.qp_num = rs->dg->qp->qp_num;
			rdma_accept(id, &p);
		} else {
			rdma_reject(id, NULL, 0);
		}
		rdma_destroy_id(id);
	}
}

/* ------------------------------------------------------------------ */
/* Destinations                                                        */

static struct rdma_cm_event *wait_event(struct rdma_event_channel *ch,
					long deadline_ms)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	for (;;) {
		long now;

		if (!rdma_get_cm_event(ch, &ev))
			return ev;
		if (errno != EAGAIN)
			return NULL;
		now = rs_now_ms();
		if (now >= deadline_ms)
			return NULL;
		poll(&p, 1, (int)(deadline_ms - now));
	}
}

/* The next event on ch (acknowledged): is it `want'? */
static bool next_is(struct rdma_event_channel *ch, long deadline_ms,
		    enum rdma_cm_event_type want)
{
	struct rdma_cm_event *ev = wait_event(ch, deadline_ms);
	bool ok = ev && ev->event == want;

	if (ev)
		rdma_ack_cm_event(ev);
	return ok;
}

struct rs_dest *rs_dg_resolve(struct rsock *rs, const struct sockaddr *to,
			      int *err)
{
	struct rs_dgram *d = rs->dg;
	struct rdma_event_channel *ch = NULL;
	struct rdma_cm_id *id = NULL;
	struct rdma_cm_event *ev = NULL;
	struct rdma_conn_param p;
	struct rs_dest *x;
	long deadline;

	for (x = d->dests; x; x = x->next)
		if (addr_eq((struct sockaddr *)&x->addr, to))
			return x;
	if (d->ndests >= RS_DG_MAX_DEST) {
		*err = ENOBUFS;
		return NULL;
	}
	deadline = rs_now_ms() + RS_DG_RESOLVE;
	*err = EHOSTUNREACH;
	x = calloc(1, sizeof(*x));
	ch = rdma_create_event_channel();
	if (!x || !ch)
		goto out;
	/* Should this fail, wait_event's rdma_get_cm_event blocks until an
	 * event comes, past the deadline if need be: slower, not wrong. */
	(void)rs_set_nonblock(ch->fd);
	if (rdma_create_id(ch, &id, NULL, RDMA_PS_UDP) ||
	    rdma_resolve_addr(id, NULL, (struct sockaddr *)to, RS_DG_RESOLVE) ||
	    !next_is(ch, deadline, RDMA_CM_EVENT_ADDR_RESOLVED) ||
	    rdma_resolve_route(id, RS_DG_RESOLVE) ||
	    !next_is(ch, deadline, RDMA_CM_EVENT_ROUTE_RESOLVED))
		goto out;
	memset(&p, 0, sizeof(p));
	p.qp_num = d->qp->qp_num;
	if (rdma_connect(id, &p))
		goto out;
	ev = wait_event(ch, deadline);
	if (!ev || ev->event != RDMA_CM_EVENT_ESTABLISHED) {
		*err = ev && ev->event == RDMA_CM_EVENT_UNREACHABLE ?
		       ECONNREFUSED : EHOSTUNREACH;
		goto out;
	}
	x->ah = ibv_create_ah(d->pd, &ev->param.ud.ah_attr);
	if (!x->ah)
		goto out;
	x->qpn = ev->param.ud.qp_num;
	x->qkey = ev->param.ud.qkey;
	memcpy(&x->addr, to, rs_addr_len(to));
	hdr_of(&x->src, rdma_get_local_addr(id),
	       port_of(rdma_get_local_addr(rs->id)));
	rdma_ack_cm_event(ev);
	ev = NULL;
	x->next = d->dests;
	d->dests = x;
	d->ndests++;
	rdma_destroy_id(id);
	rdma_destroy_event_channel(ch);
	return x;
out:
	if (ev)
		rdma_ack_cm_event(ev);
	if (id)
		rdma_destroy_id(id);
	if (ch)
		rdma_destroy_event_channel(ch);
	free(x);
	cma_dbg("rsocket %d: no datagram rsocket reached at that address",
		rs->fd);
	return NULL;
}
