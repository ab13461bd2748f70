// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest identities: the LID and port GUID a guest keeps for its life.
 * Behind an interface (xd_identity) so that a cluster directory can hand
 * out cluster-wide identities; the default, for one backend alone, derives
 * them from the guest's slot on this backend:
 *   LID  = 2 + slot (LID 1 is the subnet manager's)
 *   GUID = EUI-64 from Xen's OUI, 00:16:3e:ff:fe:xx:xx:xx with slot + 1
 */
#include "xenibd/dev/dev.h"

#define XD_OUI		0x00163eull	/* Xen's OUI */
#define XD_FIRST_LID	2

static int local_acquire(struct xd_guest *g, struct xd_identity *id)
{
	if (XD_FIRST_LID + g->id >= XD_MAX_UNICAST_LID)
		return EUSERS;
	id->lid = XD_FIRST_LID + g->id;
	id->guid = (XD_OUI << 40) | (0xfffeull << 24) | (g->id + 1);
	return 0;
}

static void local_release(struct xd_guest *g)
{
}

static const struct xd_identity_ops local_identity = {
	.name = "local",
	.acquire = local_acquire,
	.release = local_release,
};

const struct xd_identity_ops *xd_identity = &local_identity;
