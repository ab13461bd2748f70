// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: xenstore reads, the choice of Xen for this
 * process, and discovery of the devices xenibd offers us.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xen/xen.h"

char *xg_xs_get(struct xs_handle *h, const char *path)
{
	unsigned int len;

	return xs_read(h, XBT_NULL, path, &len);
}

int xg_xs_uint(struct xs_handle *h, const char *path, unsigned int *v)
{
	char *s = xg_xs_get(h, path), *end;
	unsigned long n;

	if (!s)
		return ENOENT;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n > UINT32_MAX) {
		free(s);
		return EINVAL;
	}
	free(s);
	*v = (unsigned int)n;
	return 0;
}

/*
 * Wait (watching path) until check() says done (> 0) or failed (< 0), at
 * most ms.  Returns 0, the negative check result's errno, or ETIMEDOUT.
 */
int xg_xs_wait(struct xs_handle *h, const char *path, int ms,
	       int (*check)(struct xs_handle *h, void *arg), void *arg)
{
	struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
	unsigned int n;
	char **ev;
	int r, waited = 0;

	if (!xs_watch(h, path, "xenib-wait"))
		return errno ? errno : EIO;
	for (;;) {
		r = check(h, arg);
		if (r)
			break;
		if (waited >= ms) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, 200) > 0) {
			ev = xs_read_watch(h, &n);
			free(ev);
		}
		waited += 200;
	}
	xs_unwatch(h, path, "xenib-wait");
	return r < 0 ? -r : 0;
}

/* A domU: Xen underneath, and not the control domain. */
bool xg_present(void)
{
	return hv_xen_domu();
}

/* Device indexes N with a connected device/xenib/N; count or -errno. */
static int list_devices(unsigned int *idx, int max)
{
	struct xs_handle *h = xs_open(0);
	unsigned int n, i, v, st;
	char **ents, path[96], *end;
	int cnt = 0;

	if (!h)
		return -(errno ? errno : EIO);
	ents = xs_directory(h, XBT_NULL, XENIB_XS_FRONT_DIR, &n);
	for (i = 0; ents && i < n && cnt < max; i++) {
		char *bpath;

		v = (unsigned int)strtoul(ents[i], &end, 10);
		if (*end || end == ents[i] || v > 255)
			continue;
		snprintf(path, sizeof(path), XENIB_XS_FRONT_DIR "/%u/backend",
			 v);
		bpath = xg_xs_get(h, path);
		if (!bpath)
			continue;
		snprintf(path, sizeof(path), "%.80s/state", bpath);
		free(bpath);
		if (xg_xs_uint(h, path, &st) || st != XENIB_XS_CONNECTED)
			continue;
		idx[cnt++] = v;
	}
	free(ents);
	xs_close(h);
	/* Ascending: insertion sort, n is tiny. */
	for (int a = 1; a < cnt; a++)
		for (int b = a; b > 0 && idx[b - 1] > idx[b]; b--) {
			v = idx[b];
			idx[b] = idx[b - 1];
			idx[b - 1] = v;
		}
	return cnt;
}

int xg_discover(hv_found_fn found, void *arg)
{
	unsigned int idx[16];
	char name[16];
	int n, i;

	n = list_devices(idx, 16);
	if (n < 0)
		return -n;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "xenib%u", idx[i]);
		found(arg, name);
	}
	return 0;
}

/*
 * The guest package makes /dev/infiniband/xenibN for device/xenib/N
 * (xenib-node(8)); a device without one is used ungated, as before.
 */
bool xg_node(const char *devname, char *buf, size_t len)
{
	struct stat st;
	int n = snprintf(buf, len, "/dev/infiniband/%s", devname);

	return n > 0 && (size_t)n < len && !stat(buf, &st) &&
	       S_ISCHR(st.st_mode);
}

void xg_where(const char *devname, char *buf, size_t len)
{
	if (!strncmp(devname, "xenib", 5))
		devname += 5;
	snprintf(buf, len, "xenstore %s/%s", XENIB_XS_FRONT_DIR, devname);
}
