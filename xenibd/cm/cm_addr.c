// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Addresses, port spaces, bind/listen and address/route resolution: the
 * rdma_cm half of the connection manager.
 *
 * The emulation's guests are processes of one network namespace, so the
 * port spaces are this host's: a (port space, port) is bound by at most one
 * id unless both asked for REUSEADDR, and an address of this namespace (or
 * a loopback address) resolves to this host's device.  Which guest an IP
 * address reaches is decided by who listens on it: address resolution
 * points the route at the listening guest if there is one (and at the
 * resolving guest itself otherwise, as loopback would); the REQ then finds
 * the listener by service id and address whatever the route said, and the
 * REP tells the active side who answered.
 *
 * An address of another host of the fabric (cm.remote) resolves to a port
 * that host serves, and the same holds there: its CM finds the listener,
 * and its REP names the port that answered.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "xenibd/cm/cm.h"

/* Path of the virtual fabric (what an SA would answer). */
#define CM_PATH_MTU		IBV_MTU_4096
#define CM_PATH_RATE		17	/* IBV_RATE_200_GBPS: 4X HDR, the port's */
#define CM_PATH_LIFE		14	/* 4.096 us * 2^14 = 67 ms */

bool cm_ps_is_ip(uint32_t ps)
{
	return ps == RDMA_PS_TCP || ps == RDMA_PS_UDP || ps == RDMA_PS_IPOIB;
}

static bool is_v4mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, pfx, 12);
}

bool cm_addr_is_any(const struct xenib_cm_addr *a)
{
	static const uint8_t zero[16];

	switch (a->family) {
	case AF_INET:
		return !memcmp(a->addr, zero, 4);
	case AF_INET6:
		return !memcmp(a->addr, zero, 16);
	}
	return false;
}

static bool is_loopback(const struct xenib_cm_addr *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->addr[0] == 127;
	if (a->family == AF_INET6)
		return !memcmp(a->addr, lo6, 16) ||
		       (is_v4mapped(a->addr) && a->addr[12] == 127);
	return false;
}

static bool is_mcast(const struct xenib_cm_addr *a)
{
	if (a->family == AF_INET)
		return (a->addr[0] & 0xf0) == 0xe0;
	if (a->family == AF_INET6)
		return a->addr[0] == 0xff;
	return false;
}

/*
 * Check an address from a guest and clear everything its family does not
 * use, so later comparisons never see guest garbage.
 */
int cm_addr_check(struct xenib_cm_addr *a, bool allow_none)
{
	switch (a->family) {
	case 0:
		if (!allow_none)
			return EINVAL;
		memset(a, 0, sizeof(*a));
		return 0;
	case AF_INET:
		memset(a->addr + 4, 0, 12);
		a->scope_id = 0;
		a->flowinfo = 0;
		break;
	case AF_INET6:
		break;
	case AF_IB:
		return EAFNOSUPPORT;	/* GID addressing: IP port spaces only */
	default:
		return EAFNOSUPPORT;
	}
	a->sid = 0;
	a->sid_mask = 0;
	a->reserved = 0;
	return 0;
}

/* An address of this network namespace (or loopback). */
static bool addr_is_local(const struct xenib_cm_addr *a)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (is_loopback(a))
		return true;
	if (getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		if (!sa)
			continue;
		if (a->family == AF_INET && sa->sa_family == AF_INET)
			found = !memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
					a->addr, 4);
		else if (a->family == AF_INET6 && sa->sa_family == AF_INET6)
			found = !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
					a->addr, 16);
		else if (a->family == AF_INET6 && sa->sa_family == AF_INET &&
			 is_v4mapped(a->addr))
			found = !memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
					a->addr + 12, 4);
	}
	freeifaddrs(ifa);
	return found;
}

/*
 * The source address this host's routing table picks towards dst (another
 * host's), as connect() on a datagram socket shows it.
 */
static int route_src(const struct xenib_cm_addr *dst,
		     struct xenib_cm_addr *src)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, err = 0;

	memset(&ss, 0, sizeof(ss));
	if (dst->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(9);
		memcpy(&sin->sin_addr, dst->addr, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(9);
		memcpy(&sin6->sin6_addr, dst->addr, 16);
		sin6->sin6_scope_id = dst->scope_id;
		sl = sizeof(*sin6);
	}
	fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl))
		err = errno;
	close(fd);
	if (err)
		return err;
	if (dst->family == AF_INET)
		memcpy(src->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(src->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Port spaces                                                         */

static struct list_node *port_bucket(uint32_t ps, uint16_t port)
{
	return &cm.ports[(ps * 31u + port) % CM_PORT_BUCKETS];
}

static bool addr_equal(const struct xenib_cm_addr *a,
		       const struct xenib_cm_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return !memcmp(a->addr, b->addr, 4);
	return !memcmp(a->addr, b->addr, 16) &&
	       (a->scope_id == b->scope_id || !a->scope_id || !b->scope_id);
}

/* Does a listener bound to l take a connection to dst? */
static bool addr_covers(const struct cm_id *l, const struct xenib_cm_addr *dst)
{
	const struct xenib_cm_addr *a = &l->src;

	if (a->family == dst->family)
		return cm_addr_is_any(a) || addr_equal(a, dst);
	/* A wildcard of either family takes the other one's requests too,
	 * unless AFONLY: Linux's rdma_cm (cma_match_private_data). */
	return cm_addr_is_any(a) && !l->afonly;
}

/* 0, or EADDRINUSE / EADDRNOTAVAIL as Linux's rdma_cm answers. */
static int port_conflict(const struct cm_id *id, uint16_t port,
			 bool reuseaddr)
{
	struct list_node *pos, *tmp, *head = port_bucket(id->ps, port);

	list_for_each_safe(pos, tmp, head) {
		const struct cm_id *cur = list_entry(pos, struct cm_id,
						     port_link);

		if (cur == id || cur->ps != id->ps || cur->src.port != port)
			continue;
		if (reuseaddr && cur->reuseaddr && cur->state != CM_LISTEN)
			continue;
		if (id->afonly && cur->afonly &&
		    id->src.family != cur->src.family)
			continue;
		if (cm_addr_is_any(&id->src) || cm_addr_is_any(&cur->src))
			return EADDRNOTAVAIL;
		if (addr_equal(&id->src, &cur->src))
			return EADDRINUSE;
	}
	return 0;
}

static bool port_used(uint32_t ps, uint16_t port)
{
	struct list_node *pos, *tmp, *head = port_bucket(ps, port);

	list_for_each_safe(pos, tmp, head) {
		const struct cm_id *cur = list_entry(pos, struct cm_id,
						     port_link);

		if (cur->ps == ps && cur->src.port == port)
			return true;
	}
	return false;
}

static int port_take(struct cm_id *id, uint16_t port)
{
	static uint32_t rnd = 0x9e3779b9u;
	uint32_t span = CM_PORT_HI - CM_PORT_LO + 1, i, start;
	int err;

	if (port) {
		err = port_conflict(id, port, id->reuseaddr);
		if (err)
			return err;
	} else {
		/* Ephemeral: a port nobody in this port space holds. */
		rnd = rnd * 1103515245u + 12345u + (uint32_t)xd_now_ns();
		start = rnd % span;
		for (i = 0; i < span; i++) {
			port = CM_PORT_LO + (start + i) % span;
			if (!port_used(id->ps, port))
				break;
		}
		if (i == span)
			return EADDRNOTAVAIL;
	}
	id->src.port = port;
	list_add_tail(port_bucket(id->ps, port), &id->port_link);
	id->port_bound = true;
	return 0;
}

void cm_unbind(struct cm_id *id)
{
	struct cm_usage *u = cm_use(id->guest);

	if (id->state == CM_LISTEN) {
		xd_dbg("cm: id %#x stops listening on port %u", id->h.id,
		       id->src.port);
		cm_hold_remember(id);
		if (u->listens)
			u->listens--;
		cm.stats.listens--;
		id->state = CM_IDLE;
	}
	if (!id->port_bound)
		return;
	list_del(&id->port_link);
	id->port_bound = false;
}

void cm_dev_bind(struct cm_id *id)
{
	id->dev_bound = true;
}

int cm_bind(struct cm_id *id, const struct xenib_cm_addr *a)
{
	int err;

	if (id->state != CM_IDLE)
		return EINVAL;
	if (a->family != AF_INET && a->family != AF_INET6)
		return EAFNOSUPPORT;
	if (is_mcast(a))
		return EADDRNOTAVAIL;
	if (!cm_addr_is_any(a) && !addr_is_local(a))
		return EADDRNOTAVAIL;
	id->src = *a;
	err = port_take(id, a->port);
	if (err) {
		memset(&id->src, 0, sizeof(id->src));
		return err;
	}
	if (!cm_addr_is_any(a))
		cm_dev_bind(id);
	id->state = CM_ADDR_BOUND;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Resolution                                                          */

struct cm_id *cm_find_bound(uint32_t ps, uint16_t port,
			    const struct xenib_cm_addr *dst)
{
	struct list_node *pos, *head = port_bucket(ps, port);

	list_for_each(pos, head) {
		struct cm_id *b = list_entry(pos, struct cm_id, port_link);

		if (b->state == CM_ADDR_BOUND && b->ps == ps &&
		    b->src.port == port && addr_covers(b, dst))
			return b;
	}
	return NULL;
}

struct cm_id *cm_find_listener(uint32_t ps, uint16_t port,
			       const struct xenib_cm_addr *dst)
{
	struct list_node *pos, *tmp, *head = port_bucket(ps, port);
	struct cm_id *wild = NULL;

	list_for_each_safe(pos, tmp, head) {
		struct cm_id *l = list_entry(pos, struct cm_id, port_link);

		if (l->state != CM_LISTEN || l->ps != ps ||
		    l->src.port != port || !addr_covers(l, dst))
			continue;
		if (!cm_addr_is_any(&l->src))
			return l;	/* the exact address wins */
		if (!wild)
			wild = l;
	}
	return wild;
}

/* The guest an IP address of this host reaches for id (see the top). */
static const struct xd_guest *ip_target(const struct cm_id *id)
{
	const struct cm_id *l = NULL;

	if (cm_ps_is_ip(id->ps) || id->ps == RDMA_PS_IB)
		l = cm_find_listener(id->ps, id->dst.port, &id->dst);
	return l ? l->guest : id->guest;
}

void cm_path_init(struct cm_id *id, uint16_t dlid, const uint8_t *dgid)
{
	struct cm_port me;

	cm_dev_port(id->guest, &me);
	memset(&id->path, 0, sizeof(id->path));
	memcpy(id->path.sgid, me.gid, 16);
	memcpy(id->path.dgid, dgid, 16);
	id->path.slid = me.lid;
	id->path.dlid = dlid;
	id->path.pkey = 0xffff;
	id->path.mtu = CM_PATH_MTU;
	id->path.rate = CM_PATH_RATE;
	id->path.packet_life_time = CM_PATH_LIFE;
	id->path.traffic_class = id->tos;
}

static void aim_at(struct cm_id *id, const struct xd_guest *g)
{
	struct cm_port p;

	cm_dev_port(g, &p);
	cm_path_init(id, p.lid, p.gid);
}

static void post_simple(struct cm_id *id, uint32_t event, int32_t status)
{
	struct cm_event *ev = cm_ev_new(id, event, status);

	if (ev)
		cm_ev_post(ev);
}

/* Is id->dst another host's?  Aim there (cm_addr.c's top) and say so. */
static int aim_remote(struct cm_id *id)
{
	uint16_t lid;
	uint8_t gid[16];

	if (!cm.remote || cm.remote->resolve(&id->dst, &lid, gid))
		return EHOSTUNREACH;
	cm_path_init(id, lid, gid);
	return 0;
}

static int resolve_remote(struct cm_id *id)
{
	int err = aim_remote(id);

	if (!err && cm_addr_is_any(&id->src)) {
		uint16_t port = id->src.port;

		err = route_src(&id->dst, &id->src);
		id->src.port = port;
	}
	if (err) {
		cm_log(id, "address resolution: neither this host's address nor another host's of the fabric (%s)",
		       strerror(err));
		post_simple(id, RDMA_CM_EVENT_ADDR_ERROR, -EHOSTUNREACH);
		return 0;
	}
	id->remote_dst = true;
	cm_dev_bind(id);
	id->state = CM_ADDR_RESOLVED;
	post_simple(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0);
	return 0;
}

int cm_resolve_addr(struct cm_id *id, const struct xenib_cm_addr *src,
		    const struct xenib_cm_addr *dst, uint32_t timeout_ms)
{
	struct xenib_cm_addr any;
	int err;

	if (dst->family != AF_INET && dst->family != AF_INET6)
		return EAFNOSUPPORT;
	cm_hold_release(id, false);	/* an active id listens to no one */
	if (id->state == CM_IDLE) {
		if (src->family) {
			any = *src;
		} else {
			memset(&any, 0, sizeof(any));
			any.family = dst->family;
			if (dst->family == AF_INET6)
				any.scope_id = dst->scope_id;
		}
		err = cm_bind(id, &any);
		if (err)
			return err;
	}
	if (id->state != CM_ADDR_BOUND || id->src.family != dst->family)
		return EINVAL;
	id->dst = *dst;
	if (is_mcast(dst)) {
		/* Groups live on this host's fabric: resolved to our device. */
		cm_dev_bind(id);
		aim_at(id, id->guest);
		id->state = CM_ADDR_RESOLVED;
		post_simple(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0);
		return 0;
	}
	id->remote_dst = false;
	if (!cm_addr_is_any(dst) && !addr_is_local(dst))
		return resolve_remote(id);
	if (cm_addr_is_any(dst)) {
		/* As Linux: the wildcard destination is loopback. */
		memset(id->dst.addr, 0, 16);
		if (dst->family == AF_INET)
			id->dst.addr[0] = 127, id->dst.addr[3] = 1;
		else
			id->dst.addr[15] = 1;
	}
	if (cm_addr_is_any(&id->src)) {
		/* The source the routing table picks for a local address. */
		uint16_t port = id->src.port;

		memcpy(id->src.addr, id->dst.addr, 16);
		id->src.port = port;
	}
	cm_dev_bind(id);
	aim_at(id, ip_target(id));
	id->state = CM_ADDR_RESOLVED;
	post_simple(id, RDMA_CM_EVENT_ADDR_RESOLVED, 0);
	return 0;
}

int cm_resolve_route(struct cm_id *id, uint32_t timeout_ms)
{
	if (id->state != CM_ADDR_RESOLVED)
		return EINVAL;
	if (id->remote_dst) {
		if (aim_remote(id)) {
			post_simple(id, RDMA_CM_EVENT_ROUTE_ERROR, -EHOSTUNREACH);
			return 0;
		}
	} else if (!is_mcast(&id->dst)) {
		aim_at(id, ip_target(id));	/* who listens now */
	}
	id->route_valid = true;
	id->state = CM_ROUTE_RESOLVED;
	post_simple(id, RDMA_CM_EVENT_ROUTE_RESOLVED, 0);
	return 0;
}

int cm_listen(struct cm_id *id, uint32_t backlog)
{
	struct cm_usage *u = cm_use(id->guest);
	struct xenib_cm_addr any;
	int err;

	if (!backlog || backlog > CM_MAX_BACKLOG)
		backlog = CM_MAX_BACKLOG;
	if (id->state == CM_LISTEN) {
		id->backlog = backlog;
		return 0;
	}
	if (id->qp_type == IBV_QPT_XRC_SEND)
		return EINVAL;		/* XRC initiators never listen */
	if (id->state == CM_IDLE) {
		memset(&any, 0, sizeof(any));
		any.family = AF_INET;
		err = cm_bind(id, &any);
		if (err)
			return err;
	}
	if (id->state != CM_ADDR_BOUND)
		return EINVAL;
	if (u->listens >= CM_MAX_LISTEN) {
		cm_log(id, "%u listeners, the limit", u->listens);
		return EDQUOT;
	}
	if (id->reuseaddr) {
		err = port_conflict(id, id->src.port, false);
		if (err)
			return err;
	}
	id->backlog = backlog;
	id->state = CM_LISTEN;
	xd_dbg("cm: id %#x of guest %s listens on port space %#x port %u",
	       id->h.id, id->guest ? id->guest->name : "?", id->ps,
	       id->src.port);
	u->listens++;
	cm.stats.listens++;
	cm_hold_release(id, true);	/* a REQ that came early */
	return 0;
}

int cm_set_option(struct cm_id *id, uint32_t level, uint32_t name,
		  uint32_t value)
{
	if (level == RDMA_OPTION_IB)
		return name == RDMA_OPTION_IB_PATH ? EOPNOTSUPP : ENOSYS;
	if (level != RDMA_OPTION_ID)
		return ENOSYS;
	switch (name) {
	case RDMA_OPTION_ID_TOS:
		if (value > 255)
			return EINVAL;
		id->tos = value;
		return 0;
	case RDMA_OPTION_ID_REUSEADDR:
		if ((value && id->state != CM_LISTEN) || id->state == CM_IDLE) {
			id->reuseaddr = !!value;
			return 0;
		}
		return EINVAL;
	case RDMA_OPTION_ID_AFONLY:
		if (id->state != CM_IDLE && id->state != CM_ADDR_BOUND)
			return EINVAL;
		id->afonly = !!value;
		return 0;
	case RDMA_OPTION_ID_ACK_TIMEOUT:
		if (id->qp_type != IBV_QPT_RC && id->qp_type != IBV_QPT_XRC_SEND)
			return EINVAL;
		if (value > 31)
			return EINVAL;
		id->ack_timeout = value;
		id->ack_timeout_set = true;
		return 0;
	}
	return ENOSYS;
}
