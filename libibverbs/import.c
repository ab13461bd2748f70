// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sharing objects between processes through a kernel uverbs file
 * descriptor.  Discovery-provider devices have no such descriptor, so every
 * import fails with EOPNOTSUPP and the unimports have nothing to undo.
 */
#include "ibverbs.h"

struct ibv_context *ibv_import_device(int cmd_fd)
{
	return ibverbs_fail_ptr(EOPNOTSUPP);
}

struct ibv_pd *ibv_import_pd(struct ibv_context *context, uint32_t pd_handle)
{
	return ibverbs_fail_ptr(EOPNOTSUPP);
}

void ibv_unimport_pd(struct ibv_pd *pd)
{
}

struct ibv_mr *ibv_import_mr(struct ibv_pd *pd, uint32_t mr_handle)
{
	return ibverbs_fail_ptr(EOPNOTSUPP);
}

void ibv_unimport_mr(struct ibv_mr *mr)
{
}

struct ibv_dm *ibv_import_dm(struct ibv_context *context, uint32_t dm_handle)
{
	return ibverbs_fail_ptr(EOPNOTSUPP);
}

void ibv_unimport_dm(struct ibv_dm *dm)
{
}
