// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fabric's setup and its part of the event loop (fabric.h).
 *
 * The directory comes first: once this host has joined (and so has its
 * epoch), the wire listens and other hosts may connect.  A host is known
 * by the directory's hosts/<id> (address, epoch); the wire's peers are
 * authenticated against it: only a registered host, with the epoch the
 * directory names, from the address it registered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "xenibd/cm/cm_hook.h"
#include "xenibd/fabric/fint.h"

struct xf_state xf = { .hosts = LIST_INIT(xf.hosts) };
static bool enabled;

uint32_t xf_hid(const char *host_id)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*host_id)
		h = (h ^ (unsigned char)*host_id++) * 16777619u;
	return h ? h : 1;
}

struct xf_host *xf_host_by_hid(uint32_t hid)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xf.hosts) {
		struct xf_host *h = list_entry(pos, struct xf_host, link);

		if (h->hid == hid)
			return h;
	}
	return NULL;
}

struct xf_host *xf_host_by_name(const char *id)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xf.hosts) {
		struct xf_host *h = list_entry(pos, struct xf_host, link);

		if (!strcmp(h->id, id))
			return h;
	}
	return NULL;
}

bool xf_host_serves(const struct xf_host *h, uint16_t lid)
{
	struct xdir_route route;
	int err;

	if (!xf.dir)
		return false;
	err = xdir_resolve_cached(xf.dir, lid, &route);
	/* Not located (yet): a new guest whose location is being claimed
	 * may send before the watch brings it here. */
	if (err == -ENOENT)
		return true;
	return (!err || err == -EHOSTUNREACH) && xf_hid(route.host) == h->hid;
}

struct xw_peer *xf_host_peer(struct xf_host *h)
{
	if (!xf.wire)
		return NULL;
	if (!h->peer && h->in_dir) {
		h->peer = xw_connect(xf.wire, h->hid, h->addr);
		if (h->peer)
			xw_peer_set_arg(h->peer, h);
	}
	if (h->peer && xw_peer_is_up(h->peer)) {
		h->unreachable_ns = 0;
		return h->peer;
	}
	if (!h->unreachable_ns)
		h->unreachable_ns = xd.now_ns;
	return NULL;
}

bool xf_bounce_get(uint64_t n)
{
	if (xf.bounce_bytes + n > XF_BOUNCE_MAX)
		return false;
	xf.bounce_bytes += n;
	return true;
}

void xf_bounce_put(uint64_t n)
{
	xf.bounce_bytes -= n < xf.bounce_bytes ? n : xf.bounce_bytes;
}

/* A log line at most every second (another host may provoke them). */
void xf_log_rl(const char *fmt, ...)
{
	static uint64_t window;
	static unsigned int lines, dropped;
	uint64_t now = xd_now_ns();
	char buf[256];
	va_list ap;

	if (now - window >= 1000000000ull) {
		if (dropped)
			xd_log("fabric: %u more messages suppressed", dropped);
		window = now;
		lines = dropped = 0;
	}
	if (++lines > 20) {
		dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xd_log("fabric: %s", buf);
}

/* ------------------------------------------------------------------ */
/* The wire                                                            */

/* Does sa carry the IP address of "ip:port"? */
static bool same_ip(const char *addr, const struct sockaddr *sa)
{
	char ip[XDIR_ADDR_MAX + 1], got[INET6_ADDRSTRLEN];
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : 0;

	if (!colon || n >= sizeof(ip))
		return false;
	memcpy(ip, addr, n);
	ip[n] = 0;
	if (ip[0] == '[' && n > 2 && ip[n - 1] == ']') {
		memmove(ip, ip + 1, n - 2);
		ip[n - 2] = 0;
	}
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  got, sizeof(got));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, got,
			  sizeof(got));
	else
		return false;
	return !strcmp(ip, got);
}

static int wire_auth(void *arg, uint32_t hid, uint64_t epoch,
		     const struct sockaddr *remote, socklen_t remote_len)
{
	struct xf_host *h = xf_host_by_hid(hid);

	if (!h || !h->in_dir) {
		xf_log_rl("host %08x refused: not in the directory", hid);
		return -EACCES;
	}
	if (h->epoch != epoch) {
		xf_log_rl("host %s refused: epoch %llu, the directory says "
			  "%llu", h->id, (unsigned long long)epoch,
			  (unsigned long long)h->epoch);
		return -EACCES;
	}
	if (!same_ip(h->addr, remote)) {
		xf_log_rl("host %s refused: not from its address %s", h->id,
			  h->addr);
		return -EACCES;
	}
	return 0;
}

static void wire_up(void *arg, struct xw_peer *peer)
{
	struct xf_host *h = xf_host_by_hid(xw_peer_host_id(peer));

	if (!h)
		return;
	if (h->peer && h->peer != peer)
		xw_peer_close(h->peer);	/* an older one; its down follows */
	h->peer = peer;
	xw_peer_set_arg(peer, h);
	xd_log("fabric: host %s (%s) up", h->id, h->addr);
	xf_cm_flush(NULL);	/* CM messages that waited for it */
}

static void wire_down(void *arg, struct xw_peer *peer, int err)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &xf.hosts) {
		struct xf_host *h = list_entry(pos, struct xf_host, link);

		if (h->peer == peer) {
			h->peer = NULL;
			h->conn_failed = true;
			xf_log_rl("host %s down: %s", h->id, strerror(-err));
		}
	}
}

static void wire_recv(void *arg, struct xw_peer *peer, const void *hdr,
		      size_t hdr_len, struct xw_rx *rx)
{
	struct xf_host *h = xf_host_by_hid(xw_peer_host_id(peer));
	int kind = xf_kind(hdr, hdr_len);

	if (!h) {
		xw_rx_drop(rx);
		return;
	}
	xf.msgs++;
	if (kind == XF_REQ) {
		h->reqs_in++;
		xf_target_recv(h, hdr, hdr_len, rx);
	} else if (kind == XF_ANSWER || kind == XF_READ_RESP) {
		h->answers_in++;
		xf_answer_recv(h, hdr, hdr_len, rx);
	} else if (kind >= XF_MIG_OFFER && kind <= XF_MIG_RESUMED) {
		xf_mig_recv(h, hdr, hdr_len, rx);
	} else if (kind == XF_CM) {
		xf_cm_recv(h, hdr, hdr_len, rx);
	} else {
		xf.wire_errors++;
		xf_log_rl("host %s: message of unknown kind dropped", h->id);
		xw_rx_drop(rx);
	}
}

static void wire_log(void *arg, const char *msg)
{
	xd_log("fabric wire: %s", msg);
}

static const struct xw_ops wire_ops = {
	.auth = wire_auth,
	.peer_up = wire_up,
	.peer_down = wire_down,
	.recv = wire_recv,
	.log = wire_log,
};

static void wire_ready(struct xd_watch *w, uint32_t events)
{
	xw_progress(xf.wire);
}

static int wire_start(void)
{
	const struct xd_fabric_config *c = &xd.cfg.fabric;
	struct xw_config wc = {
		.listen = c->listen,
		.host_id = xf.self_hid,
		.epoch = xdir_epoch(xf.dir),
		.transports = c->transports,
		.net_devices = c->net_devices,
		.keepalive_ms = c->keepalive_ms,
	};

	xf.wire = xw_new(&wc, &wire_ops, NULL);
	if (!xf.wire)
		return errno ? errno : EIO;
	return xd_loop_watch(&xf.wire_w, xw_fd(xf.wire), EPOLLIN, wire_ready);
}

/* ------------------------------------------------------------------ */
/* The directory                                                       */

static void dir_log(void *arg, const char *msg)
{
	xd_log("fabric directory: %s", msg);
}

static void dir_state(struct xdir *d, enum xdir_state st, void *arg)
{
	static const char *const names[] = {
		"joining", "up", "degraded", "failed",
	};

	xd_log("fabric: directory %s (host %s, epoch %llu)",
	       names[st < 4 ? st : 3], xd.cfg.fabric.host,
	       (unsigned long long)xdir_epoch(d));
	if (st == XDIR_UP && !xf.wire) {
		int err = wire_start();

		if (err)
			xd_log("fabric: cannot listen on %s: %s",
			       xd.cfg.fabric.listen, strerror(err));
		else
			xd_log("fabric: listening on %s (%s)",
			       xd.cfg.fabric.listen, xw_iface(xf.wire));
	}
}

static void dir_host(struct xdir *d, const char *id,
		     const struct xdir_host *hd, void *arg)
{
	struct xf_host *h = xf_host_by_name(id);

	if (!strcmp(id, xd.cfg.fabric.host))
		return;		/* ourselves */
	/*
	 * Gone from the directory: no new connection to it is made or
	 * accepted, but one that is up stays, as long as the wire's
	 * keepalive says the host answers: a directory outage (etcd down,
	 * leases lost and taken again) must not cut the data paths, and a
	 * host that really died is found by the wire within its keepalive.
	 */
	if (!hd) {
		if (h)
			h->in_dir = false;
		return;
	}
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return;
		snprintf(h->id, sizeof(h->id), "%s", id);
		h->hid = xf_hid(id);
		if (xf_host_by_hid(h->hid)) {
			xd_log("fabric: host ids %s and another hash alike; "
			       "%s ignored", id, id);
			free(h);
			return;
		}
		list_add_tail(&xf.hosts, &h->link);
	}
	if (h->epoch != hd->epoch || strcmp(h->addr, hd->addr)) {
		if (h->peer)
			xw_peer_close(h->peer);	/* restarted or moved */
		h->conn_failed = false;	/* a new one: not failed yet */
	}
	snprintf(h->addr, sizeof(h->addr), "%s", hd->addr);
	h->epoch = hd->epoch;
	h->in_dir = true;
}

static void dir_ready(struct xd_watch *w, uint32_t events)
{
	xdir_process(xf.dir);
}

/* A QP is destroyed or reset: its requests and answers in the fabric. */
static void qp_gone(struct xd_qp *qp)
{
	xf_target_qp_gone(qp);
	xf_hold_drop(qp);
}

int xd_fabric_init(void)
{
	const struct xd_fabric_config *c = &xd.cfg.fabric;
	struct xdir_config dc = {
		.endpoints = c->etcd,
		.host_id = c->host,
		.host_addr = c->listen,
		.lease_ttl_s = c->lease_ttl,
		.log = dir_log,
		.on_state = dir_state,
		.on_host = dir_host,
	};
	int err;

	if (!c->etcd)
		return 0;	/* one host alone */
	if (!c->host || !c->listen) {
		xd_log("fabric: fabric.etcd needs fabric.host and "
		       "fabric.listen");
		return EINVAL;
	}
	xf.self_hid = xf_hid(c->host);
	xf.dir = xdir_new(&dc, &err);
	if (!xf.dir) {
		xd_log("fabric: cannot use etcd at %s: %s", c->etcd,
		       strerror(err));
		return err;
	}
	err = xd_loop_watch(&xf.dir_w, xdir_fd(xf.dir), EPOLLIN, dir_ready);
	if (err)
		return err;
	xd_identity = &xf_identity;
	xd_peer_ops = &xf_router;
	xd_qp_gone_hook = qp_gone;
	xm_resumed_hook = xf_mig_dst_resumed;
	xd_cm_set_remote(&xf_cm_remote);
	enabled = true;
	xd_log("fabric: host %s joining through etcd %s", c->host, c->etcd);
	return 0;
}

void xd_fabric_fini(void)
{
	if (!enabled)
		return;
	xd_cm_set_remote(NULL);
	xf_cm_fini();
	if (xf.wire) {
		xd_loop_unwatch(&xf.wire_w);
		xw_destroy(xf.wire);
		xf.wire = NULL;
	}
	xd_loop_unwatch(&xf.dir_w);
	xdir_destroy(xf.dir);
	xf.dir = NULL;
	while (!list_empty(&xf.hosts)) {
		struct xf_host *h = list_entry(xf.hosts.next, struct xf_host,
					       link);

		list_del(&h->link);
		free(h);
	}
	enabled = false;
}

bool xd_fabric_enabled(void)
{
	return enabled;
}

void xd_fabric_tick(uint64_t *next_ns)
{
	int64_t ms;

	if (!enabled)
		return;
	ms = xdir_timeout_ms(xf.dir);
	if (ms >= 0 && xd.now_ns + (uint64_t)ms * 1000000ull < *next_ns)
		*next_ns = xd.now_ns + (uint64_t)ms * 1000000ull;
}

void xd_fabric_timers(uint64_t *next_ns)
{
	if (!enabled)
		return;
	xf_mig_tick(next_ns);
	xf_cm_flush(next_ns);
}

unsigned int xd_fabric_poll(void)
{
	uint64_t before = xf.msgs;

	if (!xf.wire || list_empty(&xf.hosts))
		return 0;
	xf_hold_run();		/* before what arrives now: in order */
	xw_progress(xf.wire);
	return (unsigned int)(xf.msgs - before);
}

bool xd_fabric_busy(void)
{
	if (!xf.wire)
		return false;
	xw_progress(xf.wire);
	return xw_arm(xf.wire) == -EBUSY;
}

int xd_fabric_fmt_hosts(char *buf, size_t len)
{
	struct list_node *pos, *tmp;
	int n = 0;

	if (!enabled)
		return snprintf(buf, len, "error not in a fabric\n");
	n += snprintf(buf + n, len - n, "self %s epoch %llu listen %s\n",
		      xd.cfg.fabric.host,
		      (unsigned long long)xdir_epoch(xf.dir),
		      xd.cfg.fabric.listen);
	list_for_each_safe(pos, tmp, &xf.hosts) {
		struct xf_host *h = list_entry(pos, struct xf_host, link);
		struct xw_peer_stats st = { 0 };

		if (n >= (int)len)
			break;
		if (h->peer)
			xw_peer_stats(h->peer, &st);
		n += snprintf(buf + n, len - n,
			      "host %s addr %s epoch %llu %s%s reqs_out %llu "
			      "reqs_in %llu answers_in %llu answers_out %llu "
			      "drops %llu tx_bytes %llu rx_bytes %llu\n",
			      h->id, h->addr, (unsigned long long)h->epoch,
			      !h->peer ? "down" : xw_peer_is_up(h->peer) ?
						  "up" : "connecting",
			      h->in_dir ? "" : " (left)",
			      (unsigned long long)h->reqs_out,
			      (unsigned long long)h->reqs_in,
			      (unsigned long long)h->answers_in,
			      (unsigned long long)h->answers_out,
			      (unsigned long long)h->drops,
			      (unsigned long long)st.tx_bytes,
			      (unsigned long long)st.rx_bytes);
	}
	return n < (int)len ? n : (int)len;
}
