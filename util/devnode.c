// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A xenib device's character node (devnode.h). */
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>

#include "util/devnode.h"

int xenib_node_make(const char *path, dev_t rdev, mode_t mode, gid_t gid)
{
	int err;

	/* A leftover (a dead backend's node, a stale one): replaced. */
	if (unlink(path) && errno != ENOENT)
		return errno;
	/* 0600 until owner and mode are set: never briefly too open. */
	if (mknod(path, S_IFCHR | 0600, rdev))
		return errno;
	if (!chown(path, geteuid(), gid) && !chmod(path, mode & 07777))
		return 0;
	err = errno;
	unlink(path);
	return err;
}
