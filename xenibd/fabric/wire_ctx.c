// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire's context: UCP context, worker and listener, the fd the main loop
 * waits on, progress, deferred completions, logging.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "xenibd/fabric/wire_int.h"

/* ucp_worker_progress rounds per xw_progress: bounded so one busy peer
 * cannot starve the rest of the main loop (xw_arm then says -EBUSY). */
#define XW_PROGRESS_ROUNDS	64
/* Log lines per second; the rest are counted (hostile peers can cause
 * them). */
#define XW_LOG_BURST		20
/* xw_destroy waits this long for UCX to finish closing endpoints. */
#define XW_DESTROY_WAIT_NS	(2ull * 1000000000ull)

uint64_t xw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void xw_log(struct xw_ctx *ctx, const char *fmt, ...)
{
	uint64_t now = xw_now_ns();
	char msg[512];
	va_list ap;
	int n;

	if (now - ctx->log_window_ns >= 1000000000ull) {
		if (ctx->log_dropped) {
			unsigned int d = ctx->log_dropped;

			ctx->log_dropped = 0;
			ctx->log_window_ns = now;
			ctx->log_lines = 0;
			xw_log(ctx, "(%u log lines dropped)", d);
		}
		ctx->log_window_ns = now;
		ctx->log_lines = 0;
	}
	if (ctx->log_lines >= XW_LOG_BURST) {
		ctx->log_dropped++;
		return;
	}
	ctx->log_lines++;

	n = snprintf(msg, sizeof(msg), "wire host %u: ", ctx->cfg.host_id);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (ctx->ops.log)
		ctx->ops.log(ctx->arg, msg);
	else
		fprintf(stderr, "xenib-%s\n", msg);
}

int xw_errno(ucs_status_t st)
{
	switch (st) {
	case UCS_OK:				return 0;
	case UCS_ERR_CONNECTION_RESET:		return -ECONNRESET;
	case UCS_ERR_ENDPOINT_TIMEOUT:
	case UCS_ERR_TIMED_OUT:			return -ETIMEDOUT;
	case UCS_ERR_UNREACHABLE:		return -EHOSTUNREACH;
	case UCS_ERR_REJECTED:			return -ECONNREFUSED;
	case UCS_ERR_CANCELED:			return -ECANCELED;
	case UCS_ERR_NO_MEMORY:			return -ENOMEM;
	case UCS_ERR_MESSAGE_TRUNCATED:		return -EMSGSIZE;
	case UCS_ERR_INVALID_PARAM:		return -EINVAL;
	case UCS_ERR_INVALID_ADDR:		return -EADDRNOTAVAIL;
	case UCS_ERR_NO_DEVICE:			return -ENODEV;
	case UCS_ERR_BUSY:			return -EADDRINUSE;
	case UCS_ERR_NOT_CONNECTED:		return -ENOTCONN;
	case UCS_ERR_UNSUPPORTED:		return -EOPNOTSUPP;
	default:				return -EIO;
	}
}

void xw_cmpl_queue(struct xw_ctx *ctx, struct xw_cmpl *c)
{
	c->next = NULL;
	*ctx->cq_tail = c;
	ctx->cq_tail = &c->next;
}

/* Run the completions queued so far (those they queue run next round). */
static void run_cq(struct xw_ctx *ctx)
{
	struct xw_cmpl *c = ctx->cq_head, *next;

	ctx->cq_head = NULL;
	ctx->cq_tail = &ctx->cq_head;
	for (; c; c = next) {
		next = c->next;
		c->fire(ctx, c);
	}
}

static char *dup_opt(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

/*
 * Say which UCX resources the context ended up with (a device or transport
 * name UCX does not have here only gets a UCX warning; with none usable at
 * all ucp_init already failed with UCS_ERR_NO_DEVICE).  Parsed from
 * ucp_context_print_info, so a format change only loses the log line.
 */
static void log_resources(struct xw_ctx *ctx)
{
	char *buf = NULL, *line, *save = NULL, list[256] = "";
	size_t len = 0, used = 0;
	int n = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return;
	ucp_context_print_info(ctx->ucp, f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *r = strstr(line, "resource");
		const char *tl = r ? strrchr(line, ' ') : NULL;

		if (!tl || !strchr(tl, '/'))
			continue;
		n++;
		if (used + strlen(tl) + 1 < sizeof(list))
			used += (size_t)snprintf(list + used,
						 sizeof(list) - used, "%s", tl);
	}
	free(buf);
	xw_log(ctx, "UCX resources:%s", n ? list : " (not listed)");
}

static int ucx_open(struct xw_ctx *ctx)
{
	ucp_worker_params_t wp = {
		.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
		.thread_mode = UCS_THREAD_MODE_SINGLE,
	};
	ucp_params_t p = {
		.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_NAME,
		.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
		.name = "xenib-wire",
	};
	ucp_config_t *uc;
	ucs_status_t st;
	int ret;

	st = ucp_config_read(NULL, NULL, &uc);
	if (st != UCS_OK) {
		xw_log(ctx, "ucp_config_read: %s", ucs_status_string(st));
		return xw_errno(st);
	}
	ret = xw_config_pin(ctx, uc);
	if (!ret) {
		st = ucp_init(&p, uc, &ctx->ucp);
		if (st != UCS_OK) {
			xw_log(ctx, "ucp_init: %s", ucs_status_string(st));
			ret = xw_errno(st);
		}
	}
	ucp_config_release(uc);
	if (ret)
		return ret;
	log_resources(ctx);
	st = ucp_worker_create(ctx->ucp, &wp, &ctx->worker);
	if (st != UCS_OK) {
		xw_log(ctx, "ucp_worker_create: %s", ucs_status_string(st));
		return xw_errno(st);
	}
	return 0;
}

static int set_handler(struct xw_ctx *ctx, unsigned int id,
		       ucp_am_recv_callback_t cb)
{
	ucp_am_handler_param_t hp = {
		.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID |
			      UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
			      UCP_AM_HANDLER_PARAM_FIELD_CB |
			      UCP_AM_HANDLER_PARAM_FIELD_ARG,
		.id = id,
		.flags = UCP_AM_FLAG_WHOLE_MSG,
		.cb = cb,
		.arg = ctx,
	};
	ucs_status_t st = ucp_worker_set_am_recv_handler(ctx->worker, &hp);

	if (st != UCS_OK) {
		xw_log(ctx, "AM handler %u: %s", id, ucs_status_string(st));
		return xw_errno(st);
	}
	return 0;
}

static int listen_open(struct xw_ctx *ctx)
{
	ucp_listener_params_t lp = {
		.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR |
			      UCP_LISTENER_PARAM_FIELD_CONN_HANDLER,
		.sockaddr = {
			.addr = (const struct sockaddr *)&ctx->listen_ss,
			.addrlen = ctx->listen_len,
		},
		.conn_handler = { .cb = xw_conn_handler, .arg = ctx },
	};
	ucp_listener_attr_t la = {
		.field_mask = UCP_LISTENER_ATTR_FIELD_SOCKADDR,
	};
	ucs_status_t st;

	st = ucp_listener_create(ctx->worker, &lp, &ctx->listener);
	if (st != UCS_OK) {
		xw_log(ctx, "listen on %s: %s", ctx->listen_str,
		       ucs_status_string(st));
		return xw_errno(st);
	}
	st = ucp_listener_query(ctx->listener, &la);
	if (st == UCS_OK) {
		memcpy(&ctx->listen_ss, &la.sockaddr, sizeof(ctx->listen_ss));
		ctx->listen_len = la.sockaddr.ss_family == AF_INET6 ?
				  sizeof(struct sockaddr_in6) :
				  sizeof(struct sockaddr_in);
	}
	return 0;
}

static int fds_open(struct xw_ctx *ctx)
{
	struct itimerspec its = { 0 };
	struct epoll_event ev = { .events = EPOLLIN };
	ucs_status_t st;

	st = ucp_worker_get_efd(ctx->worker, &ctx->ucp_efd);
	if (st != UCS_OK) {
		xw_log(ctx, "ucp_worker_get_efd: %s", ucs_status_string(st));
		return xw_errno(st);
	}
	ctx->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				       TFD_NONBLOCK | TFD_CLOEXEC);
	ctx->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ctx->timer_fd < 0 || ctx->ep_fd < 0)
		return -errno;
	its.it_interval.tv_sec = ctx->cfg.keepalive_ms / 1000;
	its.it_interval.tv_nsec = (long)(ctx->cfg.keepalive_ms % 1000) *
				  1000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(ctx->timer_fd, 0, &its, NULL) < 0 ||
	    epoll_ctl(ctx->ep_fd, EPOLL_CTL_ADD, ctx->ucp_efd, &ev) < 0 ||
	    epoll_ctl(ctx->ep_fd, EPOLL_CTL_ADD, ctx->timer_fd, &ev) < 0)
		return -errno;
	return 0;
}

static int ctx_setup(struct xw_ctx *ctx, const struct xw_config *cfg)
{
	int ret = 0;

	ctx->cfg = *cfg;
	if (!ctx->cfg.keepalive_ms)
		ctx->cfg.keepalive_ms = XW_KEEPALIVE_MS_DEFAULT;
	if (!ctx->cfg.keepalive_misses)
		ctx->cfg.keepalive_misses = XW_KEEPALIVE_MISSES_DEFAULT;
	if (!ctx->cfg.hello_timeout_ms)
		ctx->cfg.hello_timeout_ms = XW_HELLO_TIMEOUT_MS_DEFAULT;
	if (!ctx->cfg.max_pending)
		ctx->cfg.max_pending = XW_MAX_PENDING_DEFAULT;
	if (!ctx->cfg.max_inflight)
		ctx->cfg.max_inflight = XW_MAX_INFLIGHT_DEFAULT;
	ctx->listen_str = dup_opt(cfg->listen, &ret);
	ctx->transports = dup_opt(cfg->transports, &ret);
	ctx->net_devices = dup_opt(cfg->net_devices, &ret);
	ctx->cm = dup_opt(cfg->cm, &ret);
	ctx->cfg.listen = ctx->listen_str;
	ctx->cfg.transports = ctx->transports;
	ctx->cfg.net_devices = ctx->net_devices;
	ctx->cfg.cm = ctx->cm;
	if (ret)
		return ret;
	if (xw_parse_addr(cfg->listen, &ctx->listen_ss, &ctx->listen_len)) {
		xw_log(ctx, "bad listen address '%s' (want ip:port or "
		       "[ip6]:port)", cfg->listen);
		return -EINVAL;
	}
	return 0;
}

struct xw_ctx *xw_new(const struct xw_config *cfg, const struct xw_ops *ops,
		      void *arg)
{
	struct xw_ctx *ctx;
	int ret;

	if (!cfg || !cfg->listen || !ops || !ops->auth || !ops->peer_down ||
	    !ops->recv || cfg->keepalive_ms > 3600000) {
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
	ctx->ucp_efd = ctx->timer_fd = ctx->ep_fd = -1;
	ctx->cq_tail = &ctx->cq_head;
	list_init(&ctx->conns);
	list_init(&ctx->peers);
	list_init(&ctx->close_todo);
	list_init(&ctx->dead_peers);

	ret = ctx_setup(ctx, cfg);
	ret = ret ?: ucx_open(ctx);
	ret = ret ?: set_handler(ctx, XW_AM_HELLO, xw_hello_cb);
	ret = ret ?: set_handler(ctx, XW_AM_PING, xw_ping_cb);
	ret = ret ?: set_handler(ctx, XW_AM_DATA, xw_data_cb);
	ret = ret ?: listen_open(ctx);
	ret = ret ?: fds_open(ctx);
	if (ret) {
		xw_destroy(ctx);
		errno = -ret;
		return NULL;
	}
	return ctx;
}

void xw_destroy(struct xw_ctx *ctx)
{
	uint64_t deadline = xw_now_ns() + XW_DESTROY_WAIT_NS;

	if (!ctx)
		return;
	ctx->destroying = 1;
	if (ctx->listener)
		ucp_listener_destroy(ctx->listener);
	if (ctx->worker) {
		xw_conns_destroy(ctx);
		while (!list_empty(&ctx->conns) && xw_now_ns() < deadline) {
			ucp_worker_progress(ctx->worker);
			xw_conns_close_pending(ctx);
			run_cq(ctx);
			xw_peers_reap(ctx);
		}
		run_cq(ctx);
		xw_peers_reap(ctx);
		if (!list_empty(&ctx->conns))
			xw_log(ctx, "destroy: UCX did not close every endpoint "
			       "in time; leaking them");
		else
			ucp_worker_destroy(ctx->worker);
	}
	if (ctx->ucp && list_empty(&ctx->conns))
		ucp_cleanup(ctx->ucp);
	if (ctx->ep_fd >= 0)
		close(ctx->ep_fd);
	if (ctx->timer_fd >= 0)
		close(ctx->timer_fd);
	free(ctx->listen_str);
	free(ctx->transports);
	free(ctx->net_devices);
	free(ctx->cm);
	free(ctx);
}

int xw_fd(const struct xw_ctx *ctx)
{
	return ctx->ep_fd;
}

void xw_progress(struct xw_ctx *ctx)
{
	uint64_t exp;
	int i;

	if (read(ctx->timer_fd, &exp, sizeof(exp)) == (ssize_t)sizeof(exp))
		xw_conns_tick(ctx, xw_now_ns());
	for (i = 0; i < XW_PROGRESS_ROUNDS; i++)
		if (!ucp_worker_progress(ctx->worker))
			break;
	xw_conns_close_pending(ctx);
	run_cq(ctx);
	xw_peers_reap(ctx);
}

int xw_arm(struct xw_ctx *ctx)
{
	ucs_status_t st;

	if (ctx->cq_head || !list_empty(&ctx->close_todo) ||
	    !list_empty(&ctx->dead_peers))
		return -EBUSY;
	st = ucp_worker_arm(ctx->worker);
	if (st == UCS_OK)
		return 0;
	if (st == UCS_ERR_BUSY)
		return -EBUSY;
	return xw_errno(st);
}

int xw_listen_addr(const struct xw_ctx *ctx, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	*ss = ctx->listen_ss;
	*len = ctx->listen_len;
	return 0;
}

const char *xw_iface(const struct xw_ctx *ctx)
{
	return ctx->iface;
}

void xw_stats(const struct xw_ctx *ctx, struct xw_stats *st)
{
	*st = ctx->st;
}
