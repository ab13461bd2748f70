// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Provider registration and loading.
 *
 * Providers are shared objects named by "driver NAME" lines in the *.driver
 * files of the configuration directory.  Loading one runs its constructor,
 * which calls verbs_register_driver_34().  Foreign providers (Debian's
 * libmlx5, libefa, ...) call it too, possibly before main() and before any
 * of our initialisation: registration therefore only touches static storage
 * guarded by a statically initialised mutex, and foreign descriptors are
 * recorded but never called.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "ibverbs.h"

#ifndef IBV_CONFIG_DIR
#define IBV_CONFIG_DIR "/etc/libibverbs.d"
#endif
#ifndef IBV_PROVIDER_DIR
#define IBV_PROVIDER_DIR "/usr/lib/libibverbs"
#endif

#define MAX_DRIVERS 32

bool verbs_allow_disassociate_destroy;

static pthread_mutex_t driver_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct verbs_device_ops *drivers[MAX_DRIVERS];
static unsigned int num_drivers;
static const struct verbs_device_ops *foreign[MAX_DRIVERS];
static unsigned int num_foreign;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

bool ibverbs_is_discovery_ops(const struct verbs_device_ops *ops)
{
	return ops && ops->match_min_abi_version == VERBS_DISCOVERY_ABI &&
	       ops->match_max_abi_version == VERBS_DISCOVERY_ABI;
}

static void add_unique(const struct verbs_device_ops **tbl, unsigned int *n,
		       const struct verbs_device_ops *ops)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (tbl[i] == ops)
			return;
	if (*n < MAX_DRIVERS)
		tbl[(*n)++] = ops;
}

void verbs_register_driver_34(const struct verbs_device_ops *ops)
{
	if (!ops)
		return;
	pthread_mutex_lock(&driver_lock);
	if (ibverbs_is_discovery_ops(ops))
		add_unique(drivers, &num_drivers, ops);
	else
		add_unique(foreign, &num_foreign, ops);
	pthread_mutex_unlock(&driver_lock);
}

/* The i-th discovery provider, NULL past the end. */
const struct verbs_device_ops *ibverbs_driver(unsigned int i)
{
	const struct verbs_device_ops *ops = NULL;

	pthread_mutex_lock(&driver_lock);
	if (i < num_drivers)
		ops = drivers[i];
	pthread_mutex_unlock(&driver_lock);
	return ops;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static void load_provider(const char *name)
{
	char path[PATH_MAX];
	const char *dir = env_or("IBV_PROVIDER_DIR", IBV_PROVIDER_DIR);
	void *handle;
	int n;

	if (strchr(name, '/'))
		n = snprintf(path, sizeof(path), "%s", name);
	else if (*dir)
		n = snprintf(path, sizeof(path), "%s/lib%s-rdmav%d.so", dir,
			     name, VERBS_PROVIDER_ABI);
	else
		n = snprintf(path, sizeof(path), "lib%s-rdmav%d.so", name,
			     VERBS_PROVIDER_ABI);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;

	handle = dlopen(path, RTLD_NOW);
	if (!handle)
		ibverbs_dbg("skipping provider %s: %s\n", name, dlerror());
	else
		ibverbs_dbg("loaded provider %s from %s\n", name, path);
}

/* One line of a driver file: "driver NAME", '#' starts a comment. */
static void parse_driver_line(char *line)
{
	char *p = line, *name, *end;

	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "driver", 6) || !isspace((unsigned char)p[6]))
		return;
	p += 6;
	while (isspace((unsigned char)*p))
		p++;
	name = p;
	end = name;
	while (*end && !isspace((unsigned char)*end) && *end != '#')
		end++;
	*end = '\0';
	if (*name)
		load_provider(name);
}

static void read_driver_file(const char *dir, const char *file)
{
	char path[PATH_MAX], line[PATH_MAX];
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		parse_driver_line(line);
	fclose(f);
}

static int is_driver_file(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return de->d_name[0] != '.' && len > 7 &&
	       !strcmp(de->d_name + len - 7, ".driver");
}

static void load_drivers(void)
{
	const char *dir = env_or("IBV_CONFIG_DIR", IBV_CONFIG_DIR);
	struct dirent **list;
	int i, n;

	n = scandir(dir, &list, is_driver_file, alphasort);
	if (n < 0) {
		ibverbs_dbg("cannot read driver directory %s\n", dir);
		return;
	}
	for (i = 0; i < n; i++) {
		read_driver_file(dir, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

static void do_init(void)
{
	if (getenv("RDMAV_ALLOW_DISASSOC_DESTROY"))
		verbs_allow_disassociate_destroy = true;
	load_drivers();
}

void ibverbs_init_once(void)
{
	pthread_once(&init_once, do_init);
}
