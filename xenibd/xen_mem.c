// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest memory on real Xen: the hypervisor operations xenibd uses, and the
 * reading of a region's grant-ref directory (MAP_REGION, RESUME_REGION).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/xen.h"

const struct xd_hv_ops xd_hv_real = {
	.map = hvx_gnt_map,
	.unmap = hvx_gnt_unmap,
	.unmap_notify = hvx_gnt_unmap_notify,
	.unmap_notify_disarm = hvx_gnt_unmap_notify_disarm,
	.bind = hvx_evtchn_bind,
	.notify = hvx_evtchn_notify,
	.unbind = hvx_evtchn_unbind,
};

const struct xd_hv_ops *xd_hv = &xd_hv_real;

/*
 * The directory and the list pages are mapped read-only only for as long
 * as it takes to copy them: the guest may end those grants once we answer,
 * and may rewrite them while we read, so every ref is read exactly once
 * into private memory, and only that copy is used.
 */
int xd_xen_read_refs(uint32_t domid, uint32_t dir_ref, uint32_t npages,
		     uint32_t **refs)
{
	uint32_t nlist = (npages + XENIB_REFS_PER_PAGE - 1) / XENIB_REFS_PER_PAGE;
	uint32_t *lrefs, *out;
	struct hvx_gmap gm;
	int err;

	if (!npages || nlist > XENIB_REFS_PER_PAGE)
		return EINVAL;
	lrefs = malloc((size_t)nlist * sizeof(*lrefs));
	out = malloc((size_t)npages * sizeof(*out));
	if (!lrefs || !out) {
		err = ENOMEM;
		goto fail;
	}
	err = xd_hv->map(domid, &dir_ref, 1, NULL, false, &gm);
	if (err)
		goto fail;
	memcpy(lrefs, gm.va, (size_t)nlist * sizeof(*lrefs));
	xd_hv->unmap(&gm, false);
	/* List page i lands at i * 4096: the refs are contiguous. */
	err = xd_hv->map(domid, lrefs, nlist, NULL, false, &gm);
	if (err)
		goto fail;
	memcpy(out, gm.va, (size_t)npages * sizeof(*out));
	xd_hv->unmap(&gm, false);
	free(lrefs);
	*refs = out;
	return 0;
fail:
	free(lrefs);
	free(out);
	return err;
}
