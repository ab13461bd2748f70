// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sharing a context between processes (ibv_import_device(3) and the
 * object imports).  Upstream's cmd_fd is a kernel uverbs file; a
 * discovery provider's is its own control channel, and the provider
 * (verbs_device_ops.import_context) makes a context that shares the
 * first one's objects.  Which device the fd belongs to is the provider's
 * to tell (ENODEV for every other device).  Device memory (ibv_import_dm)
 * has no discovery provider: EOPNOTSUPP.
 */
#include <errno.h>

#include "ibverbs.h"

struct ibv_context *ibv_import_device(int cmd_fd)
{
	struct ibv_device **list;
	struct verbs_context *vctx = NULL;
	int n, i, err = ENODEV;

	list = ibv_get_device_list(&n);
	if (!list)
		return NULL;
	for (i = 0; i < n && !vctx; i++) {
		struct verbs_device *vdev = verbs_get_device(list[i]);

		if (!ibverbs_is_discovery_ops(vdev->ops) ||
		    !vdev->ops->import_context)
			continue;
		vctx = vdev->ops->import_context(vdev, cmd_fd);
		if (!vctx && errno != ENODEV) {
			err = errno;
			break;
		}
	}
	ibv_free_device_list(list);
	if (!vctx)
		return ibverbs_fail_ptr(err);
	if (!vctx->priv || vctx->context.abi_compat != __VERBS_ABI_IS_EXTENDED) {
		__verbs_log(NULL, VERBS_LOG_ERR,
			    "provider returned a foreign context\n");
		return ibverbs_fail_ptr(EPROTO);
	}
	ibverbs_finish_context(vctx);
	return &vctx->context;
}

struct ibv_pd *ibv_import_pd(struct ibv_context *context, uint32_t pd_handle)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	struct ibv_pd *pd;

	if (!ops->import_pd)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	pd = ops->import_pd(context, pd_handle);
	if (pd)
		pd->context = context;
	return pd;
}

void ibv_unimport_pd(struct ibv_pd *pd)
{
	const struct verbs_context_ops *ops = ibverbs_ops(pd->context);

	if (ops->unimport_pd)
		ops->unimport_pd(pd);
}

struct ibv_mr *ibv_import_mr(struct ibv_pd *pd, uint32_t mr_handle)
{
	const struct verbs_context_ops *ops = ibverbs_ops(pd->context);
	struct ibv_mr *mr;

	if (!ops->import_mr)
		return ibverbs_fail_ptr(EOPNOTSUPP);
	mr = ops->import_mr(pd, mr_handle);
	if (mr) {
		mr->context = pd->context;
		mr->pd = pd;
	}
	return mr;
}

void ibv_unimport_mr(struct ibv_mr *mr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(mr->context);

	if (ops->unimport_mr)
		ops->unimport_mr(mr);
}

struct ibv_dm *ibv_import_dm(struct ibv_context *context, uint32_t dm_handle)
{
	return ibverbs_fail_ptr(EOPNOTSUPP);
}

void ibv_unimport_dm(struct ibv_dm *dm)
{
}
