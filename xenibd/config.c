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

#include "xenibd/xenibd.h"

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
};

void xd_config_defaults(struct xd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->hv_mode = XD_HV_AUTO;
	c->max_ctx = 64;
	c->resume_timeout = 300;
	c->devname = "xenib0";
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
