// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The wire's addresses and its UCX configuration: which transports and
 * devices it may use, pinned in code (wire.h says why and how).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/wire_int.h"

/* "a.b.c.d:port" or "[v6]:port" into ss. 0 or -EINVAL. */
int xw_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *hs, *he;
	unsigned long port;
	char *end;
	size_t n;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		hs = s + 1;
		he = strchr(hs, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		colon = he + 1;
	} else {
		hs = s;
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		he = colon;
	}
	n = (size_t)(he - hs);
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, hs, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	if (s[0] != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -EINVAL;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
	}
	return 0;
}

const char *xw_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

static int addr_is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* The interface that carries ss's IP address, into name. 0 or -errno. */
static int iface_of(const struct sockaddr_storage *ss, char *name)
{
	struct ifaddrs *ifa, *i;
	int ret = -EADDRNOTAVAIL;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)i->ifa_addr;
			const struct sockaddr_in *b = (const void *)ss;

			if (a->sin_addr.s_addr != b->sin_addr.s_addr)
				continue;
		} else {
			const struct sockaddr_in6 *a = (const void *)i->ifa_addr;
			const struct sockaddr_in6 *b = (const void *)ss;

			if (memcmp(&a->sin6_addr, &b->sin6_addr,
				   sizeof(a->sin6_addr)))
				continue;
		}
		if (strlen(i->ifa_name) >= IF_NAMESIZE) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(name, i->ifa_name);
		ret = 0;
		break;
	}
	freeifaddrs(ifa);
	return ret;
}

/*
 * Transports that would let the wire leave the network: shared memory
 * (posix, sysv, cma, knem, xpmem and their aliases), loopback to the same
 * worker, and "all".  The wire is inter-host by definition.
 */
static const char *const forbidden_tls[] = {
	"all", "sm", "shm", "mm", "posix", "sysv", "cma", "knem", "xpmem",
	"self", NULL
};

static int check_transports(struct xw_ctx *ctx, const char *list,
			    int *tcp_only)
{
	char *copy = strdup(list), *save = NULL, *t;
	int n = 0, ntcp = 0, i;

	if (!copy)
		return -ENOMEM;
	for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		const char *name = t[0] == '\\' ? t + 1 : t;

		for (i = 0; forbidden_tls[i]; i++)
			if (!strcmp(name, forbidden_tls[i]))
				break;
		/* "^x" means "all but x": it would admit shared memory */
		if (forbidden_tls[i] || name[0] == '^') {
			xw_log(ctx, "transport '%s' refused: the wire is "
			       "inter-host (no shared memory, no negation)", t);
			free(copy);
			return -EINVAL;
		}
		n++;
		ntcp += !strcmp(name, "tcp");
	}
	free(copy);
	if (!n) {
		xw_log(ctx, "empty transport list");
		return -EINVAL;
	}
	*tcp_only = ntcp == n;
	return 0;
}

static int modify(struct xw_ctx *ctx, ucp_config_t *uc, const char *name,
		  const char *value)
{
	ucs_status_t st = ucp_config_modify(uc, name, value);

	if (st != UCS_OK) {
		xw_log(ctx, "UCX config %s=%s: %s", name, value,
		       ucs_status_string(st));
		return -EINVAL;
	}
	return 0;
}

/*
 * Pin uc (fresh from ucp_config_read, i.e. holding whatever the environment
 * said) to the wire's transports, devices, connection manager and
 * keepalive.  ucp_config_modify overwrites the environment's values; names
 * that are not UCP's (TCP_*) are kept by UCP and applied over each UCT
 * interface's environment-read config when the interfaces open.
 */
int xw_config_pin(struct xw_ctx *ctx, ucp_config_t *uc)
{
	const char *tls = ctx->transports ? ctx->transports : "tcp";
	const char *devs = ctx->net_devices, *cm = ctx->cm;
	unsigned int ka = ctx->cfg.keepalive_ms;
	char buf[64];
	int tcp_only, ret;

	ret = check_transports(ctx, tls, &tcp_only);
	if (ret)
		return ret;
	if (!devs) {
		if (!tcp_only) {
			xw_log(ctx, "transports '%s' need net_devices (e.g. "
			       "mlx5_0:1)", tls);
			return -EINVAL;
		}
		if (addr_is_any(&ctx->listen_ss)) {
			xw_log(ctx, "listen on a wildcard address needs "
			       "net_devices");
			return -EINVAL;
		}
		ret = iface_of(&ctx->listen_ss, ctx->iface);
		if (ret) {
			xw_log(ctx, "no interface carries %s: %s",
			       ctx->listen_str, strerror(-ret));
			return ret;
		}
		devs = ctx->iface;
	}
	if (!cm)
		cm = tcp_only ? "tcp" : "rdmacm,tcp";

	ret = modify(ctx, uc, "TLS", tls);
	ret = ret ?: modify(ctx, uc, "NET_DEVICES", devs);
	ret = ret ?: modify(ctx, uc, "SOCKADDR_TLS_PRIORITY", cm);
	snprintf(buf, sizeof(buf), "%ums", ka);
	ret = ret ?: modify(ctx, uc, "KEEPALIVE_INTERVAL", buf);
	/*
	 * A restarted backend listens on its address at once: the previous
	 * process's connections wait out TIME_WAIT on that port for a minute
	 * (UCT's sockaddr CMs take "CM_REUSEADDR"; "REUSEADDR" reaches none).
	 */
	ret = ret ?: modify(ctx, uc, "CM_REUSEADDR", "y");
	/* Check every endpoint on every round (a backend has few peers). */
	ret = ret ?: modify(ctx, uc, "KEEPALIVE_NUM_EPS", "inf");
	if (ret)
		return ret;
	/*
	 * Socket keepalive for an idle TCP connection: first probe after one
	 * interval, then keepalive_misses probes one interval apart.  (With
	 * the wire's pings a connection is never idle that long; this covers
	 * a process that stops progressing.)  UCP keeps names it does not
	 * know and applies them to every UCT interface config that has them,
	 * without the component prefix: UCX_TCP_KEEPIDLE is "KEEPIDLE" here
	 * ("TCP_KEEPIDLE" is accepted, cached, and then only makes UCX warn
	 * "invalid configuration" when the worker opens its interfaces).
	 * Only UCT's tcp transport has these three.
	 */
	snprintf(buf, sizeof(buf), "%ums", ka);
	ret = modify(ctx, uc, "KEEPIDLE", buf);
	ret = ret ?: modify(ctx, uc, "KEEPINTVL", buf);
	snprintf(buf, sizeof(buf), "%u", ctx->cfg.keepalive_misses);
	ret = ret ?: modify(ctx, uc, "KEEPCNT", buf);
	return ret;
}
