// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The etcd client's core: its epoll fd, libcurl's multi interface driven by
 * socket and timer callbacks, timers, endpoints, and unary requests with a
 * deadline, retries and failover.
 *
 * libcurl forbids calling it from its own callbacks, so those only record
 * (sockets into epoll, the timeout, received bytes); every callback of ours
 * runs after curl_multi_socket_action() has returned.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "xenibd/fabric/etcd_int.h"

#define RETRY_BACKOFF_MIN_MS	50
#define RETRY_BACKOFF_MAX_MS	1000

uint64_t etcd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void etcd_logf(struct etcd *e, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!e->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->log(e->log_arg, line);
}

/* Timers: an unsorted list; there are a handful (leases, watches, retries). */

void etcd_timer_init(struct etcd_timer *t, void (*fn)(struct etcd_timer *))
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
}

static uint64_t next_due(struct etcd *e)
{
	uint64_t due = e->curl_due_ns;
	struct etcd_timer *t;

	for (t = e->timers.next; t != &e->timers; t = t->next)
		if (!due || t->due_ns < due)
			due = t->due_ns;
	return due;
}

static void rearm(struct etcd *e)
{
	uint64_t due = next_due(e);
	struct itimerspec its = { 0 };

	if (due == e->armed_ns)
		return;
	e->armed_ns = due;
	if (due) {
		/* an absolute time in the past fires at once; 0 would disarm */
		its.it_value.tv_sec = (time_t)(due / 1000000000ull);
		its.it_value.tv_nsec = (long)(due % 1000000000ull);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void etcd_timer_disarm(struct etcd *e, struct etcd_timer *t)
{
	if (!t->armed)
		return;
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = NULL;
	t->armed = false;
	rearm(e);
}

void etcd_timer_arm(struct etcd *e, struct etcd_timer *t, uint64_t delay_ms)
{
	if (t->armed)
		etcd_timer_disarm(e, t);
	t->due_ns = etcd_now_ns() + delay_ms * 1000000ull;
	t->gen = ++e->timer_gen;
	t->next = e->timers.next;
	t->prev = &e->timers;
	e->timers.next->prev = t;
	e->timers.next = t;
	t->armed = true;
	rearm(e);
}

static void run_timers(struct etcd *e)
{
	uint64_t now = etcd_now_ns(), gen = e->timer_gen;
	struct etcd_timer *t;

	/*
	 * Rescan after each fn: it may disarm or re-arm any timer.  Only
	 * timers armed before this pass run, so one re-armed with no delay
	 * waits for the next pass.
	 */
	for (;;) {
		for (t = e->timers.next; t != &e->timers; t = t->next)
			if (t->due_ns <= now && t->gen <= gen)
				break;
		if (t == &e->timers)
			return;
		etcd_timer_disarm(e, t);
		t->fn(t);
	}
}

/* libcurl's callbacks: they only record. */

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
		   void *socketp)
{
	struct etcd *e = userp;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		/* the socket may be closed already: nothing to do then */
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(e->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (socketp) {
		if (!epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev))
			return 0;
	}
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) &&
	    (errno != EEXIST || epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev)))
		return -1;
	curl_multi_assign(e->multi, s, e);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct etcd *e = userp;

	e->curl_due_ns = timeout_ms < 0 ? 0 :
			 etcd_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	rearm(e);
	return 0;
}

static void ready_unlink(struct etcd *e, struct etcd_xfer *x)
{
	struct etcd_xfer **pp;

	if (!x->data_ready)
		return;
	for (pp = &e->ready; *pp; pp = &(*pp)->next_ready)
		if (*pp == x) {
			*pp = x->next_ready;
			break;
		}
	x->data_ready = false;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct etcd_xfer *x = arg;

	if (etcd_buf_add(&x->in, p, n)) {
		x->overflow = true;
		return 0;		/* aborts the transfer */
	}
	if (x->stream && !x->data_ready) {
		x->data_ready = true;
		x->next_ready = x->e->ready;
		x->e->ready = x;
	}
	return n;
}

int etcd_xfer_start(struct etcd *e, struct etcd_xfer *x, unsigned int ep,
		    const char *path, const char *body, size_t len,
		    unsigned int timeout_ms)
{
	char url[ETCD_MAX_URL + 64];
	CURL *c;

	x->e = e;
	x->in.len = 0;
	x->overflow = false;
	x->os_errno = 0;
	x->errbuf[0] = 0;
	snprintf(url, sizeof(url), "%s%s", e->ep[ep], path);
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (x->hdrs)
		x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	/*
	 * gRPC metadata through the gateway: a member that loses its leader
	 * ends the watch instead of holding it silent, so we move on.
	 */
	if (x->hdrs && x->stream)
		x->hdrs = curl_slist_append(x->hdrs,
					    "Grpc-Metadata-hasleader: true");
	if (!x->hdrs) {
		curl_easy_cleanup(c);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_PROXY, "");	/* never an env proxy */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)e->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	/* A watch is silent for long: keepalives find a dead peer. */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
	if (curl_multi_add_handle(e->multi, c) != CURLM_OK) {
		curl_easy_cleanup(c);
		curl_slist_free_all(x->hdrs);
		x->hdrs = NULL;
		return -ENOMEM;
	}
	x->easy = c;
	return 0;
}

void etcd_xfer_stop(struct etcd *e, struct etcd_xfer *x)
{
	ready_unlink(e, x);
	if (x->easy) {
		curl_multi_remove_handle(e->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
}

int etcd_xfer_errno(struct etcd_xfer *x, CURLcode rc, char *msg, size_t msgsz)
{
	int err;

	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		err = x->os_errno > 0 ? (int)x->os_errno : ECONNREFUSED;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		err = EHOSTUNREACH;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		err = ETIMEDOUT;
		break;
	case CURLE_WRITE_ERROR:
		err = x->overflow ? EMSGSIZE : EIO;
		break;
	case CURLE_OUT_OF_MEMORY:
		err = ENOMEM;
		break;
	default:
		err = ECONNRESET;
		break;
	}
	snprintf(msg, msgsz, "%s (%s)",
		 x->overflow ? "reply over the size limit" :
		 x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc),
		 strerror(err));
	return err;
}

static void drain_done(struct etcd *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left))) {
		struct etcd_xfer *x = NULL;
		CURLcode rc = m->data.result;
		CURL *c = m->easy_handle;
		long http = 0, os_errno = 0, reqsize = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&x);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &reqsize);
		/* m is gone once the handle is removed */
		x->os_errno = os_errno;
		etcd_xfer_stop(e, x);
		x->done(x, rc, http, reqsize > 0);
	}
}

static void deliver_streams(struct etcd *e)
{
	while (e->ready) {
		struct etcd_xfer *x = e->ready;

		e->ready = x->next_ready;
		x->data_ready = false;
		x->data(x);
	}
}

/* Endpoints. */

void etcd_endpoint_failed(struct etcd *e, unsigned int ep)
{
	if (e->cur == ep && e->nep > 1) {
		e->cur = (ep + 1) % e->nep;
		etcd_logf(e, "etcd: %s failed, now using %s", e->ep[ep],
			  e->ep[e->cur]);
	}
}

const char *etcd_endpoint(struct etcd *e)
{
	return e->ep[e->cur];
}

static int parse_endpoints(struct etcd *e, const char *list)
{
	const char *p = list;

	if (!list || !*list)
		return -EINVAL;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		size_t i;

		while (n && *p == ' ') {
			p++;
			n--;
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '/'))
			n--;
		/* http://host:port, and nothing curl could take for more */
		if (e->nep == ETCD_MAX_ENDPOINTS || n <= 7 ||
		    n >= ETCD_MAX_URL || strncmp(p, "http://", 7))
			return -EINVAL;
		for (i = 7; i < n; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]",
				    p[i]))
				return -EINVAL;
		memcpy(e->ep[e->nep], p, n);
		e->ep[e->nep++][n] = 0;
		if (!end)
			break;
		p = end + 1;
	}
	return e->nep ? 0 : -EINVAL;
}

struct etcd *etcd_new(const struct etcd_config *cfg, int *err)
{
	static bool curl_ready;
	struct etcd *e;
	int r = -ENOMEM;

	if (!curl_ready) {
		/* not thread-safe, and xenibd is single-threaded */
		if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
			*err = ENOMEM;
			return NULL;
		}
		curl_ready = true;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto fail;
	e->epfd = e->tfd = -1;
	e->timers.next = e->timers.prev = &e->timers;
	e->reqs.next = e->reqs.prev = &e->reqs;
	e->request_timeout_ms = cfg->request_timeout_ms ?
				cfg->request_timeout_ms :
				ETCD_DEFAULT_REQUEST_TIMEOUT_MS;
	e->connect_timeout_ms = cfg->connect_timeout_ms ?
				cfg->connect_timeout_ms :
				ETCD_DEFAULT_CONNECT_TIMEOUT_MS;
	e->log = cfg->log;
	e->log_arg = cfg->log_arg;
	r = parse_endpoints(e, cfg->endpoints);
	if (r)
		goto fail;
	r = -errno;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->epfd < 0 || e->tfd < 0)
		goto fail;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->tfd, &(struct epoll_event){
			.events = EPOLLIN, .data.fd = e->tfd }))
		goto fail;
	r = -ENOMEM;
	e->multi = curl_multi_init();
	if (!e->multi)
		goto fail;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	return e;
fail:
	*err = -r;
	etcd_destroy(e);
	return NULL;
}

static void req_free(struct etcd_req *r)
{
	r->prev->next = r->next;
	r->next->prev = r->prev;
	etcd_timer_disarm(r->e, &r->retry);
	etcd_xfer_stop(r->e, &r->x);
	etcd_buf_free(&r->x.in);
	free(r->body);
	free(r);
}

void etcd_destroy(struct etcd *e)
{
	if (!e)
		return;
	etcd_watch_reap(e, true);
	etcd_lease_reap(e, true);
	while (e->reqs.next != &e->reqs)
		req_free(e->reqs.next);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	if (e->tfd >= 0)
		close(e->tfd);
	if (e->epfd >= 0)
		close(e->epfd);
	free(e);
}

int etcd_fd(struct etcd *e)
{
	return e->epfd;
}

int64_t etcd_timeout_ms(struct etcd *e)
{
	uint64_t due = next_due(e), now = etcd_now_ns();

	if (!due)
		return -1;
	return due <= now ? 0 : (int64_t)((due - now + 999999) / 1000000);
}

void etcd_process(struct etcd *e)
{
	struct epoll_event ev[32];
	int i, n, running;
	uint64_t buf;

	n = epoll_wait(e->epfd, ev, 32, 0);
	for (i = 0; i < n; i++) {
		int fd = ev[i].data.fd, mask = 0;

		if (fd == e->tfd) {
			if (read(fd, &buf, sizeof(buf)) < 0)
				continue;	/* EAGAIN: re-armed already */
			e->armed_ns = 0;
			continue;
		}
		if (ev[i].events & EPOLLIN)
			mask |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(e->multi, fd, mask, &running);
	}
	if (e->curl_due_ns && e->curl_due_ns <= etcd_now_ns()) {
		e->curl_due_ns = 0;
		curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0,
					 &running);
	}
	deliver_streams(e);
	drain_done(e);
	run_timers(e);
	if (e->dead_objs) {
		e->dead_objs = false;
		etcd_watch_reap(e, false);
		etcd_lease_reap(e, false);
	}
	e->armed_ns = ~0ull;		/* force: the timerfd may have fired */
	rearm(e);
}

int etcd_run_until(struct etcd *e, const bool *done, int timeout_ms)
{
	uint64_t end = etcd_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (!*done) {
		uint64_t now = etcd_now_ns();
		int64_t wait = etcd_timeout_ms(e);
		struct pollfd p = { .fd = e->epfd, .events = POLLIN };

		if (now >= end)
			return -ETIMEDOUT;
		if (wait < 0 || wait > (int64_t)((end - now) / 1000000) + 1)
			wait = (int64_t)((end - now) / 1000000) + 1;
		poll(&p, 1, (int)wait);
		etcd_process(e);
	}
	return 0;
}

/* Unary requests. */

static void req_attempt(struct etcd_req *r);

static void req_complete(struct etcd_req *r, const struct etcd_res *res)
{
	r->cb(r->e, res, r->arg);
	req_free(r);
}

static void req_fail(struct etcd_req *r, int err, const char *msg)
{
	struct etcd_res res = { .err = err, .msg = msg };

	req_complete(r, &res);
}

static void req_deadline_fail(struct etcd_req *r)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "etcd unreachable for %u ms: %s",
		 r->timeout_ms, r->last_msg);
	req_fail(r, r->last_err ? r->last_err : ETIMEDOUT, msg);
}

static void req_retry_timer(struct etcd_timer *t)
{
	struct etcd_req *r = (void *)((char *)t -
				      offsetof(struct etcd_req, retry));

	if (etcd_now_ns() >= r->deadline_ns)
		req_deadline_fail(r);
	else
		req_attempt(r);
}

/* This endpoint did not do: the next one, or a pause after a round. */
static void req_retry(struct etcd_req *r, int err, const char *msg)
{
	struct etcd *e = r->e;
	uint64_t now = etcd_now_ns(), left_ms;

	r->last_err = err;
	snprintf(r->last_msg, sizeof(r->last_msg), "%s: %s", e->ep[r->ep],
		 msg);
	etcd_endpoint_failed(e, r->ep);
	if (now >= r->deadline_ns) {
		req_deadline_fail(r);
		return;
	}
	if (++r->tried < e->nep) {
		req_attempt(r);
		return;
	}
	r->tried = 0;
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 :
			RETRY_BACKOFF_MIN_MS;
	if (r->backoff_ms > RETRY_BACKOFF_MAX_MS)
		r->backoff_ms = RETRY_BACKOFF_MAX_MS;
	left_ms = (r->deadline_ns - now) / 1000000 + 1;
	etcd_timer_arm(e, &r->retry, r->backoff_ms < left_ms ? r->backoff_ms :
			left_ms);
}

static void req_done(struct etcd_xfer *x, CURLcode rc, long http, bool sent)
{
	struct etcd_req *r = (void *)((char *)x - offsetof(struct etcd_req, x));
	struct etcd_arena a = { 0 };
	struct etcd_res res;
	char msg[256];
	int err;

	if (rc != CURLE_OK) {
		err = etcd_xfer_errno(x, rc, msg, sizeof(msg));
		if (err == ETIMEDOUT && etcd_now_ns() >= r->deadline_ns)
			req_fail(r, ETIMEDOUT, msg);
		else if (err == EMSGSIZE || err == ENOMEM)
			req_fail(r, err, msg);
		else if (!sent || r->idempotent)
			req_retry(r, err, msg);
		else
			req_fail(r, ECONNRESET, msg);
		return;
	}
	err = etcd_reply_decode(&r->expect, http, x->in.p, x->in.len, &res,
				&a, msg, sizeof(msg));
	if (err == EAGAIN && r->idempotent) {
		/* UNAVAILABLE: this member cannot serve now, another may */
		etcd_arena_free(&a);
		req_retry(r, err, msg);
		return;
	}
	req_complete(r, &res);
	etcd_arena_free(&a);
}

static void req_attempt(struct etcd_req *r)
{
	uint64_t now = etcd_now_ns();
	unsigned int left_ms;
	int err;

	left_ms = now >= r->deadline_ns ? 1 :
		  (unsigned int)((r->deadline_ns - now) / 1000000 + 1);
	r->ep = r->e->cur;
	err = etcd_xfer_start(r->e, &r->x, r->ep, r->path, r->body,
			      r->body_len, left_ms);
	if (err)
		req_fail(r, -err, "cannot start a transfer");
}

struct etcd_req *etcd_req_new(struct etcd *e, enum etcd_kind kind,
			      const char *path, char *body, etcd_cb cb,
			      void *arg)
{
	struct etcd_req *r;

	if (!body)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(body);
		return NULL;
	}
	r->e = e;
	r->path = path;
	r->body = body;
	r->body_len = strlen(body);
	r->expect.kind = kind;
	r->expect.limit = ETCD_MAX_KVS;
	/* A txn's replay may not be harmless; everything else's is. */
	r->idempotent = kind != ETCD_K_TXN;
	r->timeout_ms = e->request_timeout_ms;
	r->cb = cb;
	r->arg = arg;
	r->x.done = req_done;
	etcd_timer_init(&r->retry, req_retry_timer);
	r->next = r->prev = r;
	return r;
}

int etcd_req_submit(struct etcd_req *r)
{
	struct etcd *e = r->e;
	int err;

	r->deadline_ns = etcd_now_ns() + (uint64_t)r->timeout_ms * 1000000ull;
	r->next = &e->reqs;
	r->prev = e->reqs.prev;
	e->reqs.prev->next = r;
	e->reqs.prev = r;
	r->ep = e->cur;
	err = etcd_xfer_start(e, &r->x, r->ep, r->path, r->body, r->body_len,
			      r->timeout_ms);
	if (err)
		req_free(r);
	return err;
}
