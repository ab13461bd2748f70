// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Address handles and UD addressing.  A datagram names its destination by
 * (virtual LID, or GID when the AH has no LID, and virtual QPN); both are
 * resolved here against the guests this backend serves.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/dev.h"

int xd_ah_check(const struct xenib_ah_attr *ah)
{
	if (ah->port_num != 1 || ah->sl > 15 || ah->src_path_bits)
		return EINVAL;
	if (ah->is_global > 1 || (ah->is_global && ah->sgid_index != 0))
		return EINVAL;
	if (!ah->dlid && !ah->is_global)
		return EINVAL;
	if (ah->is_global && ah->flow_label > 0xfffff)
		return EINVAL;
	return 0;
}

int xd_ah_create(struct xd_ctx *ctx, const struct xenib_create_ah_req *req,
		 uint32_t *handle)
{
	struct xd_pd *pd;
	struct xd_ah *ah;
	int err;

	if (req->reserved || req->ah.reserved)
		return EINVAL;
	err = xd_ah_check(&req->ah);
	if (err)
		return err;
	pd = xd_pd_lookup(ctx, req->pd);
	if (!pd)
		return ENOENT;
	ah = calloc(1, sizeof(*ah));
	if (!ah)
		return ENOMEM;
	err = xd_obj_add(ctx, XD_KIND_AH, &ah->h, &ah->link);
	if (err) {
		free(ah);
		return err;
	}
	ah->pd = pd;
	ah->attr = req->ah;
	pd->refs++;
	*handle = ah->h.id;
	return 0;
}

struct xd_ah *xd_ah_get(const struct xd_ctx *ctx, const struct xd_pd *pd,
			uint32_t handle)
{
	struct xd_ah *ah = xd_obj_lookup(ctx, XD_KIND_AH, handle);

	return ah && ah->pd == pd ? ah : NULL;
}

void xd_ah_free(struct xd_ah *ah)
{
	ah->pd->refs--;
	xd_obj_del(XD_KIND_AH, &ah->h, &ah->link);
	free(ah);
}

int xd_ah_destroy(struct xd_ctx *ctx, uint32_t handle)
{
	struct xd_ah *ah = xd_obj_lookup(ctx, XD_KIND_AH, handle);

	if (!ah)
		return ENOENT;
	xd_ah_free(ah);
	return 0;
}

/* Does the GID name the port of guest g (fe80::/64 + its port GUID)? */
static bool gid_is_guest(const uint8_t *gid, const struct xd_guest *g)
{
	static const uint8_t prefix[8] = { 0xfe, 0x80 };
	uint64_t guid_be = htobe64(g->guid);

	return !memcmp(gid, prefix, 8) && !memcmp(gid + 8, &guid_be, 8);
}

/*
 * The guest whose port GID is gid.  A scan of the guests: only datagrams
 * through an AH without a LID come here.
 */
static struct xd_guest *guest_by_gid(const uint8_t *gid)
{
	uint32_t i;

	for (i = 0; i < xd.cfg.max_guests; i++)
		if (xd.guests[i].nctx && gid_is_guest(gid, &xd.guests[i]))
			return &xd.guests[i];
	return NULL;
}

struct xd_qp *xd_ud_resolve(const struct xenib_ah_attr *ah, uint32_t qpn)
{
	struct xd_guest *g = ah->dlid ? xd_guest_by_lid(ah->dlid) :
					guest_by_gid(ah->dgid);

	return g ? xd_qp_find(g->lid, qpn) : NULL;
}
