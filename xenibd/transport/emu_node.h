/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The emulated device's character node and the gate it is (emu_node.c).
 */
#ifndef XENIBD_TRANSPORT_EMU_NODE_H
#define XENIBD_TRANSPORT_EMU_NODE_H

#include <stddef.h>

#include "xenibd/daemon/config.h"

struct hv_peer;

/*
 * Make devname's node in c->dir (none: no node) and the run directory's
 * link to it.  0, or errno for a configuration that cannot work (a group
 * that does not exist); a node that cannot be made (no privilege) is
 * logged and leaves the device without one.
 */
int xd_emu_node_create(const struct xd_node_config *c, const char *run_dir,
		       const char *devname);
/* Remove the node and the link, if they are still ours. */
void xd_emu_node_remove(void);
/*
 * May the process with credentials who use the device: 0, or EACCES with
 * why (for the log) set.  0 when there is no node.
 */
int xd_emu_node_allows(const struct hv_peer *who, char *why, size_t len);

#endif /* XENIBD_TRANSPORT_EMU_NODE_H */
