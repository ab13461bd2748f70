// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The fake inter-host wire of tests/common/fake_wire.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/fake_wire.h"

#define FW_LOG_MAX	(1u << 16)	/* sends recorded per log */

enum fp_state { FP_CONNECTING, FP_UP, FP_DYING };

struct xw_peer {
	struct xw_ctx *ctx;
	uint32_t host_id;
	uint64_t epoch;
	enum fp_state state;
	int down_err;
	void *arg;
	struct xw_peer_stats st;
	struct xw_peer *next;
};

/* A send in flight. */
struct fw_sreq {
	struct xw_peer *peer;
	xw_done_cb done;
	void *arg;
	struct iovec iov[XW_IOV_MAX];
	int iovcnt;
	size_t len;
	unsigned int log;	/* its entry in the log, or FW_LOG_MAX */
	struct fw_sreq *next;
};

/* A payload claimed with xw_rx_into. */
struct fw_rreq {
	struct xw_peer *peer;
	xw_rx_done_cb done;
	void *arg;
	struct iovec iov[XW_IOV_MAX];
	int iovcnt;
	char *data;		/* rendezvous: the bytes still to land */
	size_t len;
	bool ready;		/* eager: copied already, done due */
	struct fw_rreq *next;
};

enum { RX_UNCLAIMED, RX_CLAIMED, RX_DROPPED };

struct xw_rx {
	struct xw_peer *peer;
	char *data;		/* exactly len bytes; NULL once claimed */
	size_t len;
	bool rndv;
	int state;
};

struct xw_ctx {
	struct xw_ops ops;
	void *arg;
	uint32_t host_id;
	uint64_t epoch;
	char listen[64];
	unsigned int max_inflight;
	struct xw_peer *peers;
	struct fw_sreq *sends;		/* oldest first */
	struct fw_rreq *rxs;
	struct xw_stats st;
};

static struct xw_ctx *the_ctx;
static struct fw_send *log_;
static unsigned int nlog, log_cap;
static unsigned int max_inflight_override;
static uint64_t pending_bytes;
/* Payload bytes are read into here, so that a freed buffer is seen. */
static volatile uint8_t sink;

struct xw_ctx *fw_ctx(void)
{
	return the_ctx;
}

/* ------------------------------------------------------------------ */
/* Lists                                                               */

static void sreq_append(struct xw_ctx *ctx, struct fw_sreq *r)
{
	struct fw_sreq **pp = &ctx->sends;

	while (*pp)
		pp = &(*pp)->next;
	r->next = NULL;
	*pp = r;
}

static void rreq_append(struct xw_ctx *ctx, struct fw_rreq *r)
{
	struct fw_rreq **pp = &ctx->rxs;

	while (*pp)
		pp = &(*pp)->next;
	r->next = NULL;
	*pp = r;
}

static struct fw_sreq *sreq_take(struct xw_ctx *ctx, unsigned int i,
				 const struct xw_peer *of)
{
	struct fw_sreq **pp;

	for (pp = &ctx->sends; *pp; pp = &(*pp)->next) {
		struct fw_sreq *r = *pp;

		if ((of && r->peer != of) || (!of && i--))
			continue;
		*pp = r->next;
		return r;
	}
	return NULL;
}

/* The i-th rendezvous landing, or (of) any landing of peer of. */
static struct fw_rreq *rreq_take(struct xw_ctx *ctx, unsigned int i,
				 const struct xw_peer *of, bool ready)
{
	struct fw_rreq **pp;

	for (pp = &ctx->rxs; *pp; pp = &(*pp)->next) {
		struct fw_rreq *r = *pp;

		if (of ? r->peer != of : (r->ready != ready ||
					  (!ready && i--)))
			continue;
		*pp = r->next;
		return r;
	}
	return NULL;
}

static void read_iov(const struct iovec *iov, int n)
{
	int i;
	size_t k;

	for (i = 0; i < n; i++)
		for (k = 0; k < iov[i].iov_len; k += 64)
			sink ^= ((const uint8_t *)iov[i].iov_base)[k];
	for (i = 0; i < n; i++)
		if (iov[i].iov_len)
			sink ^= ((const uint8_t *)iov[i].iov_base)
				[iov[i].iov_len - 1];
}

/* ------------------------------------------------------------------ */
/* Completions (what progress delivers)                                */

static void send_done(struct fw_sreq *r, int status)
{
	struct xw_peer *p = r->peer;

	read_iov(r->iov, r->iovcnt);	/* still ours until done returns */
	pending_bytes -= r->len;
	p->st.inflight--;
	if (status)
		p->st.tx_errors++;
	if (r->log < nlog)
		log_[r->log].pending = false;
	r->done(r->arg, status);
	free(r);
}

static void rx_done(struct fw_rreq *r, int status)
{
	size_t off = 0;
	int i;

	if (!status && r->data) {
		for (i = 0; i < r->iovcnt; i++) {
			memcpy(r->iov[i].iov_base, r->data + off,
			       r->iov[i].iov_len);
			off += r->iov[i].iov_len;
		}
	}
	if (status)
		r->peer->st.rx_errors++;
	pending_bytes -= r->len;
	r->done(r->arg, status, status ? 0 : r->len);
	free(r->data);
	free(r);
}

uint64_t fw_pending_bytes(void)
{
	return pending_bytes;
}

unsigned int fw_pending_sends(void)
{
	struct fw_sreq *r;
	unsigned int n = 0;

	for (r = the_ctx ? the_ctx->sends : NULL; r; r = r->next)
		n++;
	return n;
}

bool fw_complete_send(unsigned int i, int status)
{
	struct fw_sreq *r = the_ctx ? sreq_take(the_ctx, i, NULL) : NULL;

	if (!r)
		return false;
	send_done(r, status);
	return true;
}

unsigned int fw_pending_rx(void)
{
	struct fw_rreq *r;
	unsigned int n = 0;

	for (r = the_ctx ? the_ctx->rxs : NULL; r; r = r->next)
		n += !r->ready;
	return n;
}

bool fw_land(unsigned int i, int status)
{
	struct fw_rreq *r = the_ctx ? rreq_take(the_ctx, i, NULL, false) :
				      NULL;

	if (!r)
		return false;
	rx_done(r, status);
	return true;
}

/* Everything due: eager landings, then peers that died (their sends and
 * landings cancelled first), until nothing is left (callbacks add work). */
void xw_progress(struct xw_ctx *ctx)
{
	bool again = true;

	while (again) {
		struct xw_peer **pp, *p;
		struct fw_rreq *rr;
		struct fw_sreq *sr;

		again = false;
		while ((rr = rreq_take(ctx, 0, NULL, true))) {
			rx_done(rr, 0);
			again = true;
		}
		for (pp = &ctx->peers; *pp; pp = &(*pp)->next)
			if ((*pp)->state == FP_DYING)
				break;
		p = *pp;
		if (!p)
			continue;
		again = true;
		if ((sr = sreq_take(ctx, 0, p))) {
			send_done(sr, -ECANCELED);
			continue;
		}
		if ((rr = rreq_take(ctx, 0, p, false))) {
			rx_done(rr, rr->ready ? 0 : -ECANCELED);
			continue;
		}
		*pp = p->next;
		ctx->ops.peer_down(ctx->arg, p, p->down_err);
		free(p);
	}
}

int xw_arm(struct xw_ctx *ctx)
{
	struct xw_peer *p;
	struct fw_rreq *r;

	for (r = ctx->rxs; r; r = r->next)
		if (r->ready)
			return -EBUSY;
	for (p = ctx->peers; p; p = p->next)
		if (p->state == FP_DYING)
			return -EBUSY;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The log of sends                                                    */

unsigned int fw_nsent(void)
{
	return nlog;
}

const struct fw_send *fw_sent(unsigned int i)
{
	return i < nlog ? &log_[i] : NULL;
}

void fw_log_clear(void)
{
	struct fw_sreq *r;

	for (r = the_ctx ? the_ctx->sends : NULL; r; r = r->next)
		r->log = FW_LOG_MAX;
	nlog = 0;
}

static unsigned int log_add(uint32_t host_id, const void *hdr,
			    size_t hdr_len, size_t len)
{
	struct fw_send *s;

	if (nlog == FW_LOG_MAX)
		return FW_LOG_MAX;
	if (nlog == log_cap) {
		unsigned int cap = log_cap ? log_cap * 2 : 256;
		struct fw_send *n = realloc(log_, cap * sizeof(*n));

		if (!n)
			return FW_LOG_MAX;
		log_ = n;
		log_cap = cap;
	}
	s = &log_[nlog];
	memset(s, 0, sizeof(*s));
	s->host_id = host_id;
	s->hdr_len = hdr_len;
	s->len = len;
	if (hdr_len)
		memcpy(s->hdr, hdr, hdr_len);
	s->pending = true;
	return nlog++;
}

/* ------------------------------------------------------------------ */
/* Context and peers                                                   */

struct xw_ctx *xw_new(const struct xw_config *cfg, const struct xw_ops *ops,
		      void *arg)
{
	struct xw_ctx *ctx;

	if (the_ctx) {
		errno = EBUSY;
		return NULL;
	}
	if (!cfg->listen || !ops->auth || !ops->peer_down || !ops->recv) {
		errno = EINVAL;
		return NULL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	ctx->ops = *ops;
	ctx->arg = arg;
	ctx->host_id = cfg->host_id;
	ctx->epoch = cfg->epoch;
	strncpy(ctx->listen, cfg->listen, sizeof(ctx->listen) - 1);
	ctx->max_inflight = cfg->max_inflight ? cfg->max_inflight :
						XW_MAX_INFLIGHT_DEFAULT;
	the_ctx = ctx;
	return ctx;
}

void xw_destroy(struct xw_ctx *ctx)
{
	struct xw_peer *p;

	for (p = ctx->peers; p; p = p->next)
		xw_peer_close(p);
	xw_progress(ctx);
	free(ctx);
	the_ctx = NULL;
	fw_log_clear();
}

int xw_fd(const struct xw_ctx *ctx)
{
	return -1;	/* nothing to wait for: the program drives it */
}

int xw_listen_addr(const struct xw_ctx *ctx, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	char ip[64];
	const char *colon = strrchr(ctx->listen, ':');

	if (!colon || (size_t)(colon - ctx->listen) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, ctx->listen, colon - ctx->listen);
	ip[colon - ctx->listen] = 0;
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, ip, &in->sin_addr) != 1)
		return -EINVAL;
	*len = sizeof(*in);
	return 0;
}

const char *xw_iface(const struct xw_ctx *ctx)
{
	return "fake";
}

void fw_set_max_inflight(unsigned int n)
{
	max_inflight_override = n;
}

static struct xw_peer *live_peer(struct xw_ctx *ctx, uint32_t host_id)
{
	struct xw_peer *p;

	for (p = ctx ? ctx->peers : NULL; p; p = p->next)
		if (p->host_id == host_id && p->state != FP_DYING)
			return p;
	return NULL;
}

static struct xw_peer *peer_new(struct xw_ctx *ctx, uint32_t host_id)
{
	struct xw_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ctx = ctx;
	p->host_id = host_id;
	p->next = ctx->peers;
	ctx->peers = p;
	return p;
}

static void peer_dying(struct xw_peer *p, int err)
{
	if (p->state == FP_DYING)
		return;
	p->state = FP_DYING;
	p->down_err = err;
}

struct xw_peer *xw_connect(struct xw_ctx *ctx, uint32_t host_id,
			   const char *addr)
{
	struct xw_peer *p = live_peer(ctx, host_id);

	if (p)
		return p;
	if (host_id == ctx->host_id || !addr || !strchr(addr, ':')) {
		errno = EINVAL;
		return NULL;
	}
	p = peer_new(ctx, host_id);
	if (!p)
		errno = ENOMEM;
	return p;	/* FP_CONNECTING: up once the remote's HELLO passes */
}

struct xw_peer *xw_peer_find(struct xw_ctx *ctx, uint32_t host_id)
{
	return live_peer(ctx, host_id);
}

void xw_peer_close(struct xw_peer *peer)
{
	peer_dying(peer, -ESHUTDOWN);
}

uint32_t xw_peer_host_id(const struct xw_peer *peer)
{
	return peer->host_id;
}

uint64_t xw_peer_epoch(const struct xw_peer *peer)
{
	return peer->state == FP_CONNECTING ? 0 : peer->epoch;
}

int xw_peer_is_up(const struct xw_peer *peer)
{
	return peer->state == FP_UP;
}

void xw_peer_set_arg(struct xw_peer *peer, void *arg)
{
	peer->arg = arg;
}

void *xw_peer_arg(const struct xw_peer *peer)
{
	return peer->arg;
}

void xw_peer_stats(const struct xw_peer *peer, struct xw_peer_stats *st)
{
	*st = peer->st;
}

void xw_stats(const struct xw_ctx *ctx, struct xw_stats *st)
{
	*st = ctx->st;
}

int fw_hello(uint32_t host_id, uint64_t epoch, const char *ip)
{
	struct xw_ctx *ctx = the_ctx;
	struct xw_peer *p = live_peer(ctx, host_id);
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(*in);
	int err;

	if (!ctx)
		return -ENOTCONN;
	in->sin_family = AF_INET;
	in->sin_port = htons(40000);
	if (inet_pton(AF_INET, ip, &in->sin_addr) != 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(40000);
		len = sizeof(*in6);
		if (inet_pton(AF_INET6, ip, &in6->sin6_addr) != 1)
			return -EINVAL;
	}
	err = ctx->ops.auth(ctx->arg, host_id, epoch, (struct sockaddr *)&ss,
			    len);
	if (err) {
		ctx->st.auth_refused++;
		if (p && p->state == FP_CONNECTING)
			peer_dying(p, -EACCES);
		return err;
	}
	if (p && p->state == FP_UP) {
		if (p->epoch == epoch)
			return -EALREADY;
		peer_dying(p, -ESTALE);
		p = NULL;
	}
	if (!p) {
		ctx->st.accepted++;
		p = peer_new(ctx, host_id);
		if (!p)
			return -ENOMEM;
	}
	p->state = FP_UP;
	p->epoch = epoch;
	p->st.conns++;
	if (ctx->ops.peer_up)
		ctx->ops.peer_up(ctx->arg, p);
	return 0;
}

bool fw_fail(uint32_t host_id, int err)
{
	struct xw_peer *p = live_peer(the_ctx, host_id);

	if (!p)
		return false;
	peer_dying(p, err);
	return true;
}

bool fw_peer_up(uint32_t host_id)
{
	struct xw_peer *p = live_peer(the_ctx, host_id);

	return p && p->state == FP_UP;
}

unsigned int fw_npeers(void)
{
	struct xw_peer *p;
	unsigned int n = 0;

	for (p = the_ctx ? the_ctx->peers : NULL; p; p = p->next)
		n++;
	return n;
}

/* ------------------------------------------------------------------ */
/* Data                                                                */

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

int xw_send(struct xw_peer *peer, const void *hdr, size_t hdr_len,
	    const struct iovec *iov, int iovcnt, unsigned int flags,
	    xw_done_cb done, void *arg)
{
	struct xw_ctx *ctx;
	unsigned int max;
	struct fw_sreq *r;
	int64_t total;

	if (!peer || peer->state == FP_DYING)
		return -ENOTCONN;
	ctx = peer->ctx;
	max = max_inflight_override ? max_inflight_override :
				      ctx->max_inflight;
	if (peer->st.inflight >= max)
		return -EAGAIN;
	if (hdr_len > XW_HDR_MAX || iovcnt > XW_IOV_MAX)
		return -EMSGSIZE;
	if (iovcnt < 0 || (hdr_len && !hdr) || (iovcnt && !iov) || !done ||
	    (flags & ~(XW_SEND_EAGER | XW_SEND_RNDV)) ||
	    flags == (XW_SEND_EAGER | XW_SEND_RNDV))
		return -EINVAL;
	total = iov_total(iov, iovcnt);
	if (total < 0)
		return -EMSGSIZE;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->peer = peer;
	r->done = done;
	r->arg = arg;
	r->iovcnt = iovcnt;
	if (iovcnt)
		memcpy(r->iov, iov, iovcnt * sizeof(*iov));
	read_iov(r->iov, iovcnt);
	r->log = log_add(peer->host_id, hdr, hdr_len, (size_t)total);
	r->len = (size_t)total;
	pending_bytes += r->len;
	sreq_append(ctx, r);
	peer->st.inflight++;
	peer->st.tx_msgs++;
	peer->st.tx_bytes += hdr_len + (uint64_t)total;
	return 0;
}

bool fw_deliver(uint32_t host_id, const void *hdr, size_t hdr_len,
		const void *payload, size_t len, bool rndv)
{
	struct xw_peer *p = live_peer(the_ctx, host_id);
	struct xw_rx rx = { .len = len, .rndv = rndv };
	char *h;

	if (!p || p->state != FP_UP || hdr_len > XW_HDR_MAX)
		return false;
	/* Exact sizes: a read past the header or the payload is seen. */
	h = malloc(hdr_len ? hdr_len : 1);
	rx.data = malloc(len ? len : 1);
	if (!h || !rx.data) {
		free(h);
		free(rx.data);
		return false;
	}
	if (hdr_len)
		memcpy(h, hdr, hdr_len);
	if (len)
		memcpy(rx.data, payload, len);
	rx.peer = p;
	rx.state = RX_UNCLAIMED;
	p->st.rx_msgs++;
	p->st.rx_bytes += hdr_len + len;
	the_ctx->ops.recv(the_ctx->arg, p, hdr_len ? h : NULL, hdr_len, &rx);
	if (rx.state != RX_CLAIMED && (len || rndv))
		p->st.rx_dropped++;
	free(rx.data);		/* NULL if a landing took it */
	free(h);
	return true;
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
	if (rx->state == RX_UNCLAIMED)
		rx->state = RX_DROPPED;
}

int xw_rx_into(struct xw_rx *rx, const struct iovec *iov, int iovcnt,
	       xw_rx_done_cb done, void *arg)
{
	size_t rem = rx->len, off = 0;
	struct fw_rreq *r;
	int64_t total;
	int i;

	if (rx->state != RX_UNCLAIMED)
		return -EALREADY;
	rx->state = RX_DROPPED;		/* any failure below drops it */
	if (iovcnt < 0 || iovcnt > XW_IOV_MAX || (iovcnt && !iov) || !done)
		return -EINVAL;
	total = iov_total(iov, iovcnt);
	if (total < 0 || (size_t)total < rx->len)
		return -EMSGSIZE;
	if (rx->peer->state == FP_DYING)
		return -ENOTCONN;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->peer = rx->peer;
	r->done = done;
	r->arg = arg;
	r->len = rx->len;
	/* exactly len bytes, in order: trim the tail, skip empty segments */
	for (i = 0; i < iovcnt && rem; i++) {
		size_t take = iov[i].iov_len < rem ? iov[i].iov_len : rem;

		if (!take)
			continue;
		r->iov[r->iovcnt].iov_base = iov[i].iov_base;
		r->iov[r->iovcnt++].iov_len = take;
		rem -= take;
	}
	rx->state = RX_CLAIMED;
	pending_bytes += r->len;
	if (!rx->rndv) {
		for (i = 0; i < r->iovcnt; i++) {
			memcpy(r->iov[i].iov_base, rx->data + off,
			       r->iov[i].iov_len);
			off += r->iov[i].iov_len;
		}
		r->ready = true;
	} else {
		r->data = rx->data;	/* lands later (fw_land) */
		rx->data = NULL;
	}
	rreq_append(rx->peer->ctx, r);
	return 0;
}
