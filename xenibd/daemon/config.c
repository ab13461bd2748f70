// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenibd.conf: "key = value" lines, '#' comments.  Format in xenibd.conf(5).
 * Unknown keys and malformed values are errors, so a typo never silently
 * leaves a limit unset.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/xenib-transport-abi.h>

#include "xenibd/dev/dev.h"

struct conf_key {
	const char *name;
	size_t off;		/* in struct xd_config */
	enum { K_UINT, K_U64, K_BOOL, K_STR, K_HV } type;
};

#define UINT_KEY(n, f) { n, offsetof(struct xd_config, f), K_UINT }
#define U64_KEY(n, f) { n, offsetof(struct xd_config, f), K_U64 }

static const struct conf_key keys[] = {
	{ "hypervisor", offsetof(struct xd_config, hv_mode), K_HV },
	{ "domains", offsetof(struct xd_config, domains), K_STR },
	UINT_KEY("limit.contexts", max_ctx),
	UINT_KEY("limit.cm_channels", max_cm_chans),
	UINT_KEY("resume_timeout", resume_timeout),
	{ "run_dir", offsetof(struct xd_config, dir), K_STR },
	{ "device", offsetof(struct xd_config, devname), K_STR },
	{ "verbose", offsetof(struct xd_config, verbose), K_BOOL },
	UINT_KEY("spin_us", spin_us),
	{ "spin_adaptive", offsetof(struct xd_config, spin_adaptive), K_BOOL },
	UINT_KEY("max_guests", max_guests),
	UINT_KEY("limit.qps", limits.qps),
	UINT_KEY("limit.cqs", limits.cqs),
	UINT_KEY("limit.srqs", limits.srqs),
	UINT_KEY("limit.xrcds", limits.xrcds),
	UINT_KEY("limit.pds", limits.pds),
	UINT_KEY("limit.mrs", limits.mrs),
	U64_KEY("limit.mr_bytes", limits.mr_bytes),
	U64_KEY("limit.region_bytes", limits.region_bytes),
	UINT_KEY("limit.regions", limits.regions),
	UINT_KEY("limit.notifiers", limits.notifiers),
	UINT_KEY("limit.ahs", limits.ahs),
	UINT_KEY("limit.fds", limits.fds),
	UINT_KEY("limit.mappings", limits.mappings),
	U64_KEY("limit.map_pages", limits.map_pages),
	UINT_KEY("limit.total_mappings", total_mappings),
	U64_KEY("limit.total_map_pages", total_map_pages),
	{ "fabric.etcd", offsetof(struct xd_config, fabric.etcd), K_STR },
	{ "fabric.host", offsetof(struct xd_config, fabric.host), K_STR },
	{ "fabric.listen", offsetof(struct xd_config, fabric.listen), K_STR },
	{ "fabric.transports", offsetof(struct xd_config, fabric.transports),
	  K_STR },
	{ "fabric.net_devices", offsetof(struct xd_config, fabric.net_devices),
	  K_STR },
	UINT_KEY("fabric.keepalive_ms", fabric.keepalive_ms),
	UINT_KEY("fabric.lease_ttl", fabric.lease_ttl),
	{ "node.dir", offsetof(struct xd_config, node.dir), K_STR },
	{ "node.group", offsetof(struct xd_config, node.group), K_STR },
	UINT_KEY("node.mode", node.mode),
	UINT_KEY("node.major", node.major),
};

void xd_config_defaults(struct xd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->hv_mode = XD_HV_AUTO;
	c->max_ctx = 64;
	c->max_cm_chans = 1024;
	c->resume_timeout = 300;
	c->devname = "xenib0";
	c->node.dir = XENIB_NODE_DIR;
	c->node.mode = 0666;
	c->node.major = XENIB_NODE_MAJOR;
	c->spin_us = 50;
	c->spin_adaptive = true;
	c->max_guests = 1024;
	c->limits.qps = 4096;
	c->limits.cqs = 4096;
	c->limits.srqs = 1024;
	c->limits.xrcds = 256;
	c->limits.pds = 1024;
	c->limits.mrs = 65536;
	c->limits.mr_bytes = 64ull << 30;
	c->limits.region_bytes = 128ull << 30;
	c->limits.regions = 65536;
	c->limits.notifiers = 1024;
	c->limits.ahs = 65536;
	/*
	 * Emulation: each region keeps the guest's memfd open and each
	 * notifier its socket (contexts: limit.contexts sockets).  With
	 * xenibd's usual limit of 524288 fds (LimitNOFILE, raised to the
	 * hard limit at start) that lets 120 guests use their whole limit;
	 * what is left of the process's fds is checked too (emu.c).
	 */
	c->limits.fds = 4096;
	/*
	 * Mappings.  Each region is one mapping in xenibd and each MR
	 * segment another (emulation: a VMA each, vm.max_map_count 65530 by
	 * default for the whole process; Xen: one gntdev mapping each, and
	 * every page a dom0 maptrack entry, 1024 frames x 512 = 524288 by
	 * default for all of dom0's backends).  A guest can make either run
	 * out with a tiny fraction of its byte limits (512 MRs of 128 one-page
	 * segments), so they are limited themselves.  Per guest: 4096
	 * mappings, 1/16 of the guests' share of vm.max_map_count (see
	 * xd_config_derive), so at least 14 guests at their limit fit before
	 * the backend-wide check refuses; 131072 pages (512 MiB mapped: 256
	 * MiB registered, MR pages are mapped twice), 1/4 of dom0's default
	 * maptrack and half of the backend-wide default, which keeps the
	 * other half of dom0's maptrack for netback, blkback and the rest.
	 * Those page defaults are Xen's: in the emulation pages cost no
	 * per-page resource of the backend's (region_bytes and mr_bytes
	 * bound them), so there they apply only when configured
	 * (xd_config_derive).
	 */
	c->limits.mappings = 4096;
	c->limits.map_pages = XD_LIMIT_AUTO;
	c->total_map_pages = XD_LIMIT_AUTO;
}

/*
 * What xenibd itself keeps of vm.max_map_count: its libraries, heap and
 * stacks (about 100) and the Xen contexts' mailboxes (charged backend-wide
 * but to no guest), with a wide margin.
 */
#define XD_MAP_RESERVE_MIN	4096u

void xd_config_derive(struct xd_config *c, bool xen)
{
	unsigned long max = 65530, reserve;
	FILE *f;

	if (c->limits.map_pages == XD_LIMIT_AUTO)
		c->limits.map_pages = xen ? 131072 : 0;
	if (c->total_map_pages == XD_LIMIT_AUTO)
		c->total_map_pages = xen ? 262144 : 0;
	if (c->total_mappings)
		return;
	f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 65530;
		fclose(f);
	}
	reserve = max / 8 > XD_MAP_RESERVE_MIN ? max / 8 : XD_MAP_RESERVE_MIN;
	if (max > UINT32_MAX)
		max = UINT32_MAX;
	c->total_mappings = max > 2 * reserve ? max - reserve : max / 2;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int set_key(struct xd_config *c, const struct conf_key *k,
		   const char *val)
{
	char *end;
	unsigned long long v;
	void *p = (char *)c + k->off;

	switch (k->type) {
	case K_HV:
		if (!strcmp(val, "auto"))
			*(enum xd_hv_mode *)p = XD_HV_AUTO;
		else if (!strcmp(val, "xen"))
			*(enum xd_hv_mode *)p = XD_HV_XEN;
		else if (!strcmp(val, "emulated"))
			*(enum xd_hv_mode *)p = XD_HV_EMULATED;
		else
			return EINVAL;
		return 0;
	case K_STR:
		*(const char **)p = strdup(val);
		return *(const char **)p ? 0 : ENOMEM;
	case K_BOOL:
		if (!strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1"))
			*(bool *)p = true;
		else if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0"))
			*(bool *)p = false;
		else
			return EINVAL;
		return 0;
	case K_UINT:
	case K_U64:
		errno = 0;
		v = strtoull(val, &end, 0);
		if (errno || end == val)
			return EINVAL;
		/* K, M, G suffixes (binary) for sizes */
		if (*end == 'K' || *end == 'k')
			v <<= 10, end++;
		else if (*end == 'M' || *end == 'm')
			v <<= 20, end++;
		else if (*end == 'G' || *end == 'g')
			v <<= 30, end++;
		if (*end)
			return EINVAL;
		if (k->type == K_UINT) {
			if (v > UINT32_MAX)
				return ERANGE;
			*(unsigned int *)p = v;
		} else {
			*(uint64_t *)p = v;
		}
		return 0;
	}
	return EINVAL;
}

int xd_config_load(struct xd_config *c, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];
	int lineno = 0, err = 0;

	if (!f)
		return errno;
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val;
		size_t i;

		lineno++;
		s = strchr(line, '#');
		if (s)
			*s = 0;
		s = trim(line);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			xd_log("%s:%d: expected key = value", path, lineno);
			err = EINVAL;
			continue;
		}
		*eq = 0;
		key = trim(s);
		val = trim(eq + 1);
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(keys[i].name, key))
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			xd_log("%s:%d: unknown key '%s'", path, lineno, key);
			err = EINVAL;
			continue;
		}
		if (set_key(c, &keys[i], val)) {
			xd_log("%s:%d: bad value '%s' for %s", path, lineno, val,
			       key);
			err = EINVAL;
		}
	}
	fclose(f);
	return err;
}
