// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The emulated device's character node, /dev/infiniband/xenibN: where an
 * administrator grants users the device, as with a kernel's uverbs node.
 *
 * xenibd makes the node when it starts serving (mknod, with the owner,
 * group and mode of xenibd.conf's node.* keys) and removes it when it
 * stops.  N is the first number no running xenibd holds: each number has
 * a lock file beside the nodes (<node.dir>/.xenibN.lock) that its xenibd
 * keeps flock()ed, so several emulated hosts on one machine never collide,
 * and the node of a xenibd that died is taken over by the next one to
 * start.  The run
 * directory's <device>.node symlink tells the guests' provider which node
 * is this device's (its ibv_device.dev_name).
 *
 * No kernel driver stands behind the node's number (major node.major,
 * 120 by default: devices.txt's LOCAL/EXPERIMENTAL range, which the kernel
 * never hands out dynamically), so opening it fails with ENXIO.  What it
 * gates is checked here instead: a guest process's HELLO (or ATTACH, or a
 * TAKEOVER after a move) is refused with EACCES unless the node's owner,
 * group and mode, as they are at that moment, let the process's uid and
 * groups (SO_PEERCRED, SO_PEERGROUPS) both read and write it; uid 0 is
 * let through, as the kernel lets a process with CAP_DAC_OVERRIDE.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util/devnode.h"
#include "util/hv.h"
#include "xenibd/daemon/log.h"
#include "xenibd/transport/emu_node.h"

#define NODE_MAX	256	/* xenib0 .. xenib255 per machine */

static struct {
	char path[256];		/* the node; "" when there is none */
	char link[512];		/* the run directory's symlink to it */
	dev_t rdev;
	int lock_fd;
} node = { .lock_fd = -1 };

/* "rdma", "1001" or "" (xenibd's own group) -> gid; false if unknown. */
static bool group_of(const char *name, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long v;

	if (!name || !*name) {
		*gid = getegid();
		return true;
	}
	v = strtoul(name, &end, 10);
	if (!*end) {
		*gid = (gid_t)v;
		return true;
	}
	g = getgrnam(name);
	if (!g)
		return false;
	*gid = g->gr_gid;
	return true;
}

/* Lock number n for us: its lock file's fd, -EBUSY if held, or -errno. */
static int take_number(const char *dir, unsigned int n)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/.xenib%u.lock", dir, n);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

int xd_emu_node_create(const struct xd_node_config *c, const char *run_dir,
		       const char *devname)
{
	unsigned int n;
	gid_t gid;
	int err = 0;

	if (!c->dir || !*c->dir || !strcmp(c->dir, "none"))
		return 0;
	if (!group_of(c->group, &gid)) {
		xd_log("node.group '%s': no such group", c->group);
		return EINVAL;
	}
	if (mkdir(c->dir, 0755) && errno != EEXIST) {
		err = errno;
		goto nonode;
	}
	for (n = 0; n < NODE_MAX; n++) {
		int fd = take_number(c->dir, n);

		if (fd == -EBUSY)
			continue;
		if (fd < 0) {
			err = -fd;
			goto nonode;
		}
		snprintf(node.path, sizeof(node.path), "%s/xenib%u", c->dir, n);
		node.rdev = makedev(c->major, n);
		err = xenib_node_make(node.path, node.rdev, c->mode, gid);
		if (err) {
			close(fd);
			node.path[0] = 0;
			goto nonode;
		}
		node.lock_fd = fd;
		break;
	}
	if (n == NODE_MAX) {
		err = ENOSPC;
		goto nonode;
	}
	if (hv_emu_node_link(node.link, sizeof(node.link), run_dir, devname))
		node.link[0] = 0;
	unlink(node.link);
	if (node.link[0] && symlink(node.path, node.link)) {
		err = errno;
		xd_log("cannot link %s to %s: %s", node.link, node.path,
		       strerror(err));
		xd_emu_node_remove();
		return err;
	}
	xd_log("device node %s (char %u:%u, mode %04o)", node.path,
	       major(node.rdev), minor(node.rdev), c->mode & 07777);
	return 0;

nonode:
	/* Unprivileged xenibd, read-only /dev: the device has no node. */
	xd_log("no device node in %s: %s (node.dir = none says so quietly); "
	       "guests are not gated by one, and UCX will not list %s",
	       c->dir, strerror(err), devname);
	return 0;
}

void xd_emu_node_remove(void)
{
	struct stat st;

	if (node.link[0])
		unlink(node.link);
	node.link[0] = 0;
	/* Never another's: only the node with our number still there. */
	if (node.path[0] && !lstat(node.path, &st) && S_ISCHR(st.st_mode) &&
	    st.st_rdev == node.rdev)
		unlink(node.path);
	node.path[0] = 0;
	if (node.lock_fd >= 0)
		close(node.lock_fd);
	node.lock_fd = -1;
}

static bool in_groups(const struct hv_peer *who, gid_t gid)
{
	unsigned int i;

	if (who->gid == gid)
		return true;
	for (i = 0; i < who->ngroups; i++)
		if (who->groups[i] == gid)
			return true;
	return false;
}

int xd_emu_node_allows(const struct hv_peer *who, char *why, size_t len)
{
	struct stat st;
	mode_t need;

	if (!node.path[0])
		return 0;		/* no node, no gate */
	if (!who->known) {
		snprintf(why, len, "its credentials are unknown");
		return EACCES;
	}
	if (who->uid == 0)
		return 0;
	if (stat(node.path, &st) || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != node.rdev) {
		snprintf(why, len, "%s is gone", node.path);
		return EACCES;
	}
	if (who->uid == st.st_uid)
		need = S_IRUSR | S_IWUSR;
	else if (in_groups(who, st.st_gid))
		need = S_IRGRP | S_IWGRP;
	else
		need = S_IROTH | S_IWOTH;
	if ((st.st_mode & need) == need)
		return 0;
	snprintf(why, len, "uid %u may not read and write %s (mode %04o, "
		 "owner %u, group %u)", who->uid, node.path,
		 st.st_mode & 07777, st.st_uid, st.st_gid);
	return EACCES;
}
