// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The hypervisor seam's real implementation: libxengnttab, libxenevtchn,
 * libxenstore and libxenctrl through util/hv_xen_backend.c.
 */
#include "xenibd/transport/xen/xen.h"

static char **real_xs_directory(xs_transaction_t t, const char *path,
				unsigned int *n)
{
	return xs_directory(hvx_xs(), t, path, n);
}

static xs_transaction_t real_xs_start(void)
{
	return xs_transaction_start(hvx_xs());
}

static bool real_xs_end(xs_transaction_t t, bool abort)
{
	return xs_transaction_end(hvx_xs(), t, abort);
}

static bool real_xs_watch(const char *path, const char *token)
{
	return xs_watch(hvx_xs(), path, token);
}

static bool real_xs_unwatch(const char *path, const char *token)
{
	return xs_unwatch(hvx_xs(), path, token);
}

static char **real_xs_check_watch(void)
{
	return xs_check_watch(hvx_xs());
}

const struct xd_hv_ops xd_hv_real = {
	.map = hvx_gnt_map,
	.unmap = hvx_gnt_unmap,
	.unmap_notify = hvx_gnt_unmap_notify,
	.unmap_notify_disarm = hvx_gnt_unmap_notify_disarm,
	.bind = hvx_evtchn_bind,
	.notify = hvx_evtchn_notify,
	.unbind = hvx_evtchn_unbind,
	.pending = hvx_evtchn_pending,
	.unmask = hvx_evtchn_unmask,
	.xs_read = hvx_xs_read,
	.xs_write = hvx_xs_write,
	.xs_rm = hvx_xs_rm,
	.xs_mkdir_perms = hvx_xs_mkdir_perms,
	.xs_directory = real_xs_directory,
	.xs_start = real_xs_start,
	.xs_end = real_xs_end,
	.xs_watch = real_xs_watch,
	.xs_unwatch = real_xs_unwatch,
	.xs_check_watch = real_xs_check_watch,
	.domain_info = hvx_domain_info,
};

const struct xd_hv_ops *xd_hv = &xd_hv_real;
