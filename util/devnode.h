/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A xenib device's character node (xenib(7), "DEVICE NODE"): made by
 * xenibd in the emulation (xenibd/transport/emu_node.c) and by xenib-node
 * in a Xen guest (providers/xenib/xenib_node.c).
 */
#ifndef XENIB_UTIL_DEVNODE_H
#define XENIB_UTIL_DEVNODE_H

#include <sys/types.h>

/*
 * Make path a character node of rdev owned by our euid and group gid,
 * with mode (umask aside), replacing whatever was there.  0 or errno
 * (nothing left at path on failure).
 */
int xenib_node_make(const char *path, dev_t rdev, mode_t mode, gid_t gid);

#endif /* XENIB_UTIL_DEVNODE_H */
