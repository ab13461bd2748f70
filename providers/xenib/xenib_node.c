// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xenib-node: make /dev/infiniband/xenibN for every xenib device a Xen
 * guest's xenstore offers (device/xenib/N), and remove the nodes of
 * devices no longer offered.  The node's mode says who may use the device
 * (xenib(7), "DEVICE NODE"); UCX and the MPIs on it take a device only
 * through it.  Run at boot by xenib-node.service, and by hand after
 * xenibctl attach.  With the emulated hypervisor xenibd makes the nodes
 * itself, and this does nothing.
 *
 * Usage: xenib-node [-m MODE] [-g GROUP] [-d DIR] [-n]
 *   -n: say what would be done, change nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <rdma/xenib-transport-abi.h>

#include "util/devnode.h"
#include "util/hv_guest.h"

#define MAX_DEV 256

static struct {
	const char *dir;
	mode_t mode;
	gid_t gid;
	bool dry;
	bool want[MAX_DEV];
} opt = { .dir = XENIB_NODE_DIR, .mode = 0666 };

static void found(void *arg, const char *devname)
{
	unsigned long n;
	char *end;

	(void)arg;
	if (strncmp(devname, "xenib", 5))
		return;
	n = strtoul(devname + 5, &end, 10);
	if (!*end && end != devname + 5 && n < MAX_DEV)
		opt.want[n] = true;
}

/* Is path our node of number n (char, our major, minor n)? */
static bool is_ours(const char *path, unsigned int n, struct stat *st)
{
	return !lstat(path, st) && S_ISCHR(st->st_mode) &&
	       major(st->st_rdev) == XENIB_NODE_MAJOR &&
	       minor(st->st_rdev) == n;
}

static int make(unsigned int n)
{
	char path[512];
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "%s/xenib%u", opt.dir, n);
	if (is_ours(path, n, &st) && (st.st_mode & 07777) == opt.mode &&
	    st.st_gid == opt.gid)
		return 0;
	printf("xenib-node: %s (char %u:%u, mode %04o, group %u)\n", path,
	       XENIB_NODE_MAJOR, n, (unsigned int)opt.mode,
	       (unsigned int)opt.gid);
	if (opt.dry)
		return 0;
	errno = 0;
	if (mkdir(opt.dir, 0755) && errno != EEXIST)
		err = errno;
	else
		err = xenib_node_make(path, makedev(XENIB_NODE_MAJOR, n),
				      opt.mode, opt.gid);
	if (!err)
		return 0;
	fprintf(stderr, "xenib-node: %s: %s\n", path, strerror(err));
	return 1;
}

/* Nodes of ours for devices the guest no longer has. */
static int sweep(void)
{
	DIR *d = opendir(opt.dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[512], *end;
		unsigned long n;
		struct stat st;

		if (strncmp(de->d_name, "xenib", 5))
			continue;
		n = strtoul(de->d_name + 5, &end, 10);
		if (*end || end == de->d_name + 5 || n >= MAX_DEV ||
		    opt.want[n])
			continue;
		snprintf(path, sizeof(path), "%s/%s", opt.dir, de->d_name);
		if (!is_ours(path, (unsigned int)n, &st))
			continue;
		printf("xenib-node: removing %s (no such device now)\n", path);
		if (!opt.dry && unlink(path)) {
			fprintf(stderr, "xenib-node: %s: %s\n", path,
				strerror(errno));
			err = 1;
		}
	}
	closedir(d);
	return err;
}

static int usage(FILE *f, int rc)
{
	fprintf(f, "usage: xenib-node [-m MODE] [-g GROUP] [-d DIR] [-n]\n"
		"  make " XENIB_NODE_DIR "/xenibN for each xenib device of "
		"this Xen guest\n  (default mode 0666, group root)\n");
	return rc;
}

int main(int argc, char **argv)
{
	const struct hv_ops *hv = hv_guest_select();
	unsigned int n;
	struct group *g;
	char *end;
	int c, err;

	while ((c = getopt(argc, argv, "m:g:d:nh")) != -1) {
		switch (c) {
		case 'm':
			opt.mode = (mode_t)strtoul(optarg, &end, 8);
			if (*end || opt.mode > 07777)
				return usage(stderr, 2);
			break;
		case 'g':
			opt.gid = (gid_t)strtoul(optarg, &end, 10);
			if (*end) {
				g = getgrnam(optarg);
				if (!g) {
					fprintf(stderr, "xenib-node: no group "
						"'%s'\n", optarg);
					return 2;
				}
				opt.gid = g->gr_gid;
			}
			break;
		case 'd':
			opt.dir = optarg;
			break;
		case 'n':
			opt.dry = true;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	if (strcmp(hv->name, "xen")) {
		printf("xenib-node: %s hypervisor: xenibd makes the nodes "
		       "itself; nothing to do\n", hv->name);
		return 0;
	}
	err = hv->discover(found, NULL);
	if (err == ENOENT)
		err = 0;	/* no device/xenib: no devices (yet) */
	if (err) {
		fprintf(stderr, "xenib-node: cannot list the devices in "
			"xenstore: %s\n", strerror(err));
		return 1;
	}
	err = 0;
	for (n = 0; n < MAX_DEV; n++)
		if (opt.want[n])
			err |= make(n);
	return err | sweep();
}
