// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Device contexts: allocation helpers for providers, the ops a provider
 * installs, and ibv_open_device()/ibv_close_device().
 */
#include <stdlib.h>
#include <string.h>

#include "ibverbs.h"

/* Installed until the provider calls verbs_set_ops(): every verb fails. */
static const struct verbs_context_ops no_ops;

struct verbs_ex_private *ibverbs_priv(struct ibv_context *ctx)
{
	struct verbs_context *vctx = verbs_get_ctx(ctx);

	return vctx ? vctx->priv : NULL;
}

const struct verbs_context_ops *ibverbs_ops(struct ibv_context *ctx)
{
	struct verbs_ex_private *priv = ctx ? ibverbs_priv(ctx) : NULL;

	return priv ? priv->ops : &no_ops;
}

const struct verbs_context_ops *verbs_context_ops_of(struct ibv_context *ctx)
{
	return ibverbs_ops(ctx);
}

void *_verbs_init_and_alloc_context(struct ibv_device *device, int cmd_fd,
				    size_t alloc_size,
				    struct verbs_context *context_offset,
				    uint32_t driver_id)
{
	size_t off = (uintptr_t)context_offset;
	struct verbs_ex_private *priv;
	struct verbs_context *vctx;
	void *base;

	if (!device || off + sizeof(*vctx) > alloc_size)
		return ibverbs_fail_ptr(EINVAL);

	base = calloc(1, alloc_size);
	priv = calloc(1, sizeof(*priv));
	if (!base || !priv) {
		free(base);
		free(priv);
		return ibverbs_fail_ptr(ENOMEM);
	}
	priv->ops = &no_ops;
	priv->alloc_base = base;
	priv->vdev = verbs_get_device(device);
	ibverbs_device_get(priv->vdev);

	vctx = (struct verbs_context *)((char *)base + off);
	vctx->sz = sizeof(*vctx);
	vctx->priv = priv;
	vctx->context.device = device;
	vctx->context.cmd_fd = cmd_fd;
	vctx->context.async_fd = -1;
	vctx->context.num_comp_vectors = 1;
	vctx->context.abi_compat = __VERBS_ABI_IS_EXTENDED;
	pthread_mutex_init(&vctx->context.mutex, NULL);
	return base;
}

/* Copy op into slot when the provider has it (upstream keeps the rest). */
#define SET_OP(slot, op)						\
	do {								\
		if (op)							\
			(slot) = (op);					\
	} while (0)
/* The same, a library wrapper that calls the provider's op. */
#define SET_WRAPPED(slot, op, wrapper)					\
	do {								\
		if (op)							\
			(slot) = (wrapper);				\
	} while (0)

void verbs_set_ops(struct verbs_context *vctx,
		   const struct verbs_context_ops *ops)
{
	struct ibv_context_ops *fast;

	if (!vctx || !vctx->priv)
		return;
	vctx->priv->ops = ops ? ops : &no_ops;
	if (!ops)
		return;

	/* Applications' verbs.h inline code calls these directly. */
	fast = &vctx->context.ops;
	SET_OP(fast->poll_cq, ops->poll_cq);
	SET_OP(fast->req_notify_cq, ops->req_notify_cq);
	SET_OP(fast->post_send, ops->post_send);
	SET_OP(fast->post_recv, ops->post_recv);
	SET_OP(fast->post_srq_recv, ops->post_srq_recv);
	SET_OP(fast->alloc_mw, ops->alloc_mw);
	SET_OP(fast->bind_mw, ops->bind_mw);
	SET_OP(fast->dealloc_mw, ops->dealloc_mw);

	/* The verbs_context slots verbs.h inline functions reach. */
	SET_OP(vctx->query_device_ex, ops->query_device_ex);
	SET_OP(vctx->open_xrcd, ops->open_xrcd);
	SET_OP(vctx->close_xrcd, ops->close_xrcd);
	SET_OP(vctx->get_srq_num, ops->get_srq_num);
	SET_WRAPPED(vctx->alloc_parent_domain, ops->alloc_parent_domain,
		    ibverbs_alloc_parent_domain);
	/* Wrapped: the library adapts lengths or fills common fields. */
	SET_WRAPPED(vctx->query_port, ops->query_port, ibverbs_query_port);
	SET_WRAPPED(vctx->create_cq_ex, ops->create_cq_ex,
		    ibverbs_create_cq_ex);
	SET_WRAPPED(vctx->create_qp_ex, ops->create_qp_ex,
		    ibverbs_create_qp_ex);
	SET_WRAPPED(vctx->create_srq_ex, ops->create_srq_ex,
		    ibverbs_create_srq_ex);
}

void verbs_uninit_context(struct verbs_context *vctx)
{
	struct verbs_ex_private *priv;

	if (!vctx || !vctx->priv)
		return;
	priv = vctx->priv;
	vctx->priv = NULL;
	pthread_mutex_destroy(&vctx->context.mutex);
	ibverbs_device_put(priv->vdev);
	free(priv);
}

/*
 * After the provider's alloc_context (which installed its ops with
 * verbs_set_ops()): the legacy slots upstream points at its exported
 * functions.
 */
void ibverbs_finish_context(struct verbs_context *vctx)
{
	vctx->context.ops._compat_query_device = ibv_query_device;
	vctx->context.ops._compat_query_port = ibv_query_port;
	if (vctx->context.num_comp_vectors < 1)
		vctx->context.num_comp_vectors = 1;
}

struct ibv_context *verbs_open_device(struct ibv_device *device,
				      void *private_data)
{
	struct verbs_device *vdev = verbs_get_device(device);
	struct verbs_context *vctx;

	if (!device)
		return ibverbs_fail_ptr(EINVAL);
	if (!ibverbs_is_discovery_ops(vdev->ops) || !vdev->ops->alloc_context)
		return ibverbs_fail_ptr(EOPNOTSUPP);

	vctx = vdev->ops->alloc_context(vdev);
	if (!vctx)
		return NULL;
	if (!vctx->priv || vctx->context.abi_compat != __VERBS_ABI_IS_EXTENDED) {
		/* not made by _verbs_init_and_alloc_context(): unusable */
		__verbs_log(NULL, VERBS_LOG_ERR,
			    "provider returned a foreign context\n");
		return ibverbs_fail_ptr(EPROTO);
	}
	ibverbs_finish_context(vctx);
	return &vctx->context;
}

struct ibv_context *ibv_open_device(struct ibv_device *device)
{
	return verbs_open_device(device, NULL);
}

int ibv_close_device(struct ibv_context *context)
{
	struct verbs_context *vctx = verbs_get_ctx(context);
	const struct verbs_context_ops *ops;
	void *base;

	if (!vctx || !vctx->priv)
		return ibverbs_fail(EINVAL);
	ops = vctx->priv->ops;
	if (ops->free_context) {
		ops->free_context(context);
		return 0;
	}
	base = vctx->priv->alloc_base;
	verbs_uninit_context(vctx);
	free(base);
	return 0;
}
